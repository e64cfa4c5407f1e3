//! The entry points the fuzz targets use (`fuzz/`, docs/fuzzing.md) read what the wizard reads,
//! and every input a fuzz target found crashing a parser, kept as a regression test.

use homeport_engine::fuzzing::{expires_at, read_token_answer};
use homeport_engine::{Address, ConnectError};
use oauth2::TokenResponse;
use url::Url;

fn token_endpoint() -> Url {
    Url::parse("https://idp.example/token").expect("url")
}

#[test]
fn a_token_answer_is_read_as_the_wizard_reads_it() {
    let body = br#"{"access_token":"at","token_type":"Bearer","expires_in":300,"refresh_token":"rt","scope":"openid email","id_token":"x.y.z"}"#;
    let answer = read_token_answer(&token_endpoint(), 200, body.to_vec()).expect("a valid token answer");
    assert_eq!(answer.access_token().secret(), "at");
    assert_eq!(answer.refresh_token().map(|t| t.secret().as_str()), Some("rt"));
    assert_eq!(answer.extra_fields().id_token.as_deref(), Some("x.y.z"));
    assert!(expires_at(&answer).is_some(), "expires_in 300 gives an end");
    let refused = read_token_answer(&token_endpoint(), 400, br#"{"error":"invalid_grant"}"#.to_vec());
    assert!(
        matches!(&refused, Err(ConnectError::BrowserLoginFailed { error, .. }) if error == "invalid_grant"),
        "a refusal is the provider's error: {refused:?}"
    );
    let unreadable = read_token_answer(&token_endpoint(), 200, b"<html>".to_vec());
    assert!(matches!(unreadable, Err(ConnectError::InvalidResponse { .. })), "{unreadable:?}");
}

/// Found with the `oidc_token` fuzz target (an input written for it, docs/fuzzing.md): `expires_in`
/// near `u64::MAX` overflowed `now + expires_in` (a panic in a debug build; in a release build a
/// wrapped end long past, so the login counted as ended). Saturated, it is an end that never comes.
#[test]
fn a_huge_expires_in_is_an_end_that_never_comes_not_an_overflow() {
    let body = br#"{"access_token":"a","token_type":"bearer","expires_in":18446744073709551615}"#;
    let answer = read_token_answer(&token_endpoint(), 200, body.to_vec()).expect("a valid token answer");
    assert_eq!(expires_at(&answer), Some(u64::MAX), "the end saturates instead of wrapping");
}

/// Found with the `address` fuzz target's round-trip property (an input written for it): a pasted
/// URL with two known suffixes (`…/remote.php/webdav/index.php`) lost only the last one, so the
/// normalised server URL typed again normalised to another server.
#[test]
fn a_normalised_server_url_normalises_to_itself_after_two_suffixes() {
    for typed in [
        "https://h.example/remote.php/webdav/index.php",
        "https://h.example/owncloud/index.php/status.php",
        "h.example/index.php/index.php",
    ] {
        let Ok(Address::Server { server, .. }) = Address::parse(typed) else { panic!("{typed:?} is a server URL") };
        let again = Address::parse(server.as_url().as_str());
        assert!(
            matches!(&again, Ok(Address::Server { server: s, .. }) if s == &server),
            "{typed:?} → {server} → {again:?}: typed again, the normalised URL must be the same server"
        );
    }
}

/// Found by the `www_authenticate` fuzz target: `Basic ,,,,` (a scheme, then empty list elements,
/// RFC 9110 §5.6.1) was read as an unknown scheme `Basic,,,,`.
#[test]
fn a_scheme_followed_by_empty_list_elements_is_that_scheme() {
    let challenge = homeport_engine::owncloud::AuthChallenge::parse(&["BasIc ,,,,"]);
    assert!(
        matches!(challenge, Some(homeport_engine::owncloud::AuthChallenge::Basic { realm: None })),
        "{challenge:?}"
    );
}
