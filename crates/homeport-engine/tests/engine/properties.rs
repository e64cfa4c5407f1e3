//! Property tests (proptest, 256 cases per property in the suite, stable Rust): every parser of what a server
//! or a person sends never panics on arbitrary input, the address normaliser's server URL
//! round-trips, the redirect policy never lets credentials go to a downgraded or unapproved
//! origin, and `redact_url` never leaves a secret parameter's value behind. proptest runs in the
//! normal test suite; the coverage-guided fuzz targets of the same parsers (nightly, not in the
//! test command) are in `fuzz/`: docs/fuzzing.md.

use std::collections::HashSet;

use homeport_engine::oidc::{self, IdClaims, ProviderMetadata};
use homeport_engine::owncloud::{self, AuthChallenge, Capabilities, OcsUser, ServerStatus};
use homeport_engine::redirect::{RedirectAnswer, RedirectChain, RedirectPolicy, Verdict};
use homeport_engine::trace_export::redact_url;
use homeport_engine::{matrix, Address, Origin};
use proptest::prelude::*;
use reqwest::Method;
use url::Url;

/// 256 cases per property in the suite; `PROPTEST_CASES` asks for a longer run.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

fn base() -> Url {
    Url::parse("https://cloud.example.com/remote.php/webdav/").expect("url")
}

/// Arbitrary JSON values, so the parsers get past the first byte and into their field checks.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        "\\PC{0,12}".prop_map(serde_json::Value::from),
        prop_oneof![
            Just("true"),
            Just("1"),
            Just("https://hs.example/"),
            Just("javascript:alert(1)"),
            Just("@alice:example.org"),
            Just("M_LIMIT_EXCEEDED"),
            Just("http://openid.net/specs/connect/1.0/issuer"),
            Just("http://webfinger.owncloud/rel/server-instance"),
        ]
        .prop_map(serde_json::Value::from),
    ];
    let keys = prop_oneof![
        "[a-z_.]{1,10}",
        Just("installed".to_owned()),
        Just("maintenance".to_owned()),
        Just("versionstring".to_owned()),
        Just("ocs".to_owned()),
        Just("meta".to_owned()),
        Just("data".to_owned()),
        Just("status".to_owned()),
        Just("id".to_owned()),
        Just("m.homeserver".to_owned()),
        Just("base_url".to_owned()),
        Just("versions".to_owned()),
        Just("flows".to_owned()),
        Just("type".to_owned()),
        Just("user_id".to_owned()),
        Just("access_token".to_owned()),
        Just("well_known".to_owned()),
        Just("base_cs_url".to_owned()),
        Just("errcode".to_owned()),
        Just("retry_after_ms".to_owned()),
        Just("issuer".to_owned()),
        Just("subject".to_owned()),
        Just("links".to_owned()),
        Just("rel".to_owned()),
        Just("href".to_owned()),
        Just("client_id".to_owned()),
        Just("sub".to_owned()),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..6)
                .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Arbitrary bytes, or arbitrary JSON (as bytes).
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        json_value().prop_map(|value| value.to_string().into_bytes()),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn address_parse_never_panics_and_its_server_url_round_trips(
        input in prop_oneof![
            "\\PC{0,64}",
            any::<String>(),
            ("(https?://|[a-z]{1,6}://|@|)", "[a-zA-Z0-9.:@%\\[\\]/?#_-]{0,40}").prop_map(|(a, b)| format!("{a}{b}")),
        ]
    ) {
        let Ok(address) = Address::parse(&input) else { return Ok(()) };
        let server = address.server();
        prop_assert!(server.is_ok(), "{input:?} parsed but has no server: {server:?}");
        let server = server.expect("checked");
        let url = server.as_url();
        prop_assert!(matches!(url.scheme(), "http" | "https"), "{input:?} → {url}");
        prop_assert!(url.username().is_empty() && url.password().is_none(), "{input:?} → {url}: no userinfo");
        prop_assert!(url.query().is_none() && url.fragment().is_none(), "{input:?} → {url}");
        prop_assert!(url.path().ends_with('/'), "{input:?} → {url}: a base ends in /");
        if let Address::Server { .. } = address {
            let again = Address::parse(url.as_str());
            let round_trip = matches!(&again, Ok(Address::Server { server: s, .. }) if s == &server);
            prop_assert!(round_trip, "{input:?} → {url} → {again:?}: the normalised URL must parse to itself");
        }
    }

    #[test]
    fn the_redirect_policy_never_sends_credentials_downgraded_or_unapproved(
        from_scheme in prop_oneof![Just("https"), Just("http")],
        from_host in prop_oneof![Just("127.0.0.1"), Just("a.example"), Just("localhost")],
        location in prop_oneof![
            ("(https?|ftp|javascript|file|HTTP|)", "(://|:|//|)", "([a-z]{1,4}(:[a-z]{0,4})?@)?",
             "(a\\.example|b\\.example|127\\.0\\.0\\.1|localhost|\\[::1\\]|)", "(:[0-9]{1,5})?", "[a-z/.?#%]{0,12}")
                .prop_map(|(s, sep, user, host, port, path)| format!("{s}{sep}{user}{host}{port}{path}")),
            "\\PC{0,24}",
        ],
        status in prop_oneof![Just(301u16), Just(302), Just(303), Just(307), Just(308)],
        credentials in any::<bool>(),
        approved in prop::collection::vec(
            prop_oneof![Just("https://b.example"), Just("http://b.example"), Just("https://a.example"), Just("http://localhost")], 0..3),
        plain_http in prop::collection::vec(prop_oneof![Just("http://a.example"), Just("http://b.example")], 0..2),
        hops in 0usize..12,
    ) {
        let from = Url::parse(&format!("{from_scheme}://{from_host}/remote.php/webdav/")).expect("from");
        let approved: HashSet<Origin> = approved.iter().map(|o| Origin::parse(o).expect("origin")).collect();
        let plain_http: HashSet<Origin> = plain_http.iter().map(|o| Origin::parse(o).expect("origin")).collect();
        let policy = RedirectPolicy { plain_http_origins: plain_http.clone(), ..RedirectPolicy::default() };
        let method = Method::from_bytes(b"PROPFIND").expect("method");
        let mut chain = RedirectChain::starting_at(&method, &from);
        for n in 0..hops {
            let to = Url::parse(&format!("{from_scheme}://{from_host}/hop{n}/")).expect("hop");
            chain.push(homeport_engine::redirect::Hop {
                from: from.clone(), to, status: 302, method: method.clone(), keeps_body: false,
                permanent: false, cross_origin: false, credentials,
            });
        }
        let answer = RedirectAnswer { method: &method, from: &from, status, location: Some(&location), carries_credentials: credentials };
        let verdict = policy.decide(&answer, &chain, &approved);
        let hop = match &verdict {
            Verdict::Follow(hop) | Verdict::Ask(hop) => hop,
            Verdict::Refuse(_) => return Ok(()),
        };
        prop_assert!(hops < policy.max_hops, "{location:?}: followed past the hop limit");
        prop_assert!(matches!(hop.to.scheme(), "http" | "https"), "{location:?} → {}", hop.to);
        prop_assert!(hop.to.username().is_empty() && hop.to.password().is_none(), "{location:?} → {}: userinfo kept", hop.to);
        prop_assert!(!(from.scheme() == "https" && hop.to.scheme() == "http"), "{location:?} → {}: a downgrade", hop.to);
        // `localhost.` (a trailing dot) and `*.localhost` are this machine too (RFC 6761).
        let host = hop.to.host_str().unwrap_or_default().trim_end_matches('.').to_ascii_lowercase();
        let loopback = matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]") || host.ends_with(".localhost");
        prop_assert!(hop.to.scheme() == "https" || loopback || plain_http.contains(&Origin::of(&hop.to)),
            "{location:?} → {}: plain http to an origin nobody allowed", hop.to);
        if let Verdict::Follow(hop) = &verdict {
            let new_origin = Origin::of(&hop.to) != Origin::of(&from);
            prop_assert!(!(credentials && new_origin) || approved.contains(&Origin::of(&hop.to)),
                "{location:?} → {}: credentials followed to an unapproved origin", hop.to);
        }
    }

    #[test]
    fn owncloud_parsers_never_panic(body in body(), header in "\\PC{0,40}") {
        let url = base();
        let _ = ServerStatus::parse(&url, &body);
        let _ = Capabilities::parse(&url, &body);
        let _ = OcsUser::parse(&url, &body);
        let _ = owncloud::check_multistatus(&url, &body);
        let _ = AuthChallenge::parse(&[header.as_str(), "Basic realm=\"x\""]);
        if let Ok(url) = Url::parse(&format!("https://h.example/{header}")) {
            let _ = owncloud::base_of_dav_url(&url);
        }
    }

    #[test]
    fn matrix_parsers_never_panic(body in body(), target in "\\PC{0,40}") {
        let url = base();
        let _ = matrix::homeserver_from_well_known(&url, &body);
        let _ = matrix::versions(&url, &body);
        let _ = matrix::login_flows(&url, &body);
        let _ = matrix::login_answer(&url, &body);
        let _ = matrix::error_of(&body);
        let _ = matrix::whoami(&url, &body);
        let _ = matrix::display_name(&body);
        let _ = matrix::login_token_from_callback(&target);
        let _ = matrix::localpart(&target);
    }

    #[test]
    fn oidc_and_webfinger_parsers_never_panic(body in body(), expected in "\\PC{0,24}") {
        let url = base();
        let _ = ProviderMetadata::parse(&url, &body, &expected);
        let _ = oidc::issuer_from_webfinger(&url, &body);
        let _ = oidc::instances_from_webfinger(&url, &body, &expected);
        let _ = oidc::registration_from_answer(&url, &body);
        let claims = IdClaims {
            iss: expected.clone(), sub: expected.clone(), name: None, preferred_username: None,
            email: None, nonce: None, zid: None,
        };
        let _ = oidc::userinfo_for(&url, &body, &claims);
    }

    #[test]
    fn issuers_and_endpoints_that_are_not_http_are_never_accepted(body in body()) {
        let url = base();
        if let Ok(issuer) = oidc::issuer_from_webfinger(&url, &body) {
            prop_assert!(issuer.starts_with("http://") || issuer.starts_with("https://"), "issuer {issuer:?}");
        }
        if let Ok(links) = oidc::instances_from_webfinger(&url, &body, "x") {
            prop_assert!(links.iter().all(|l| matches!(l.url.as_url().scheme(), "http" | "https")));
        }
    }

    #[test]
    fn redact_url_never_panics(text in any::<String>()) {
        let _ = redact_url(&text);
    }

    #[test]
    fn redact_url_never_leaves_a_secret_value(
        prefix in prop_oneof![Just("https://cloud.example.com/cb"), Just("http://127.0.0.1:9/homeport/callback"),
                              Just("error: see /cb"), Just("custom:/x"), Just("redirected to /cb"), Just("")],
        others in prop::collection::vec(("[a-z]{1,6}", "[a-z0-9]{0,6}"), 0..4),
        name in prop_oneof![
            Just("code"), Just("state"), Just("loginToken"), Just("login_token"), Just("access_token"),
            Just("id_token"), Just("token"), Just("password"), Just("refresh_token"), Just("client_secret"),
            Just("nonce"), Just("code_verifier"), Just("session_state"), Just("CODE"), Just("Access_Token"),
            Just("%63ode"), Just("acc%65ss_token"),
        ],
        value in "Z[A-Z0-9]{10,16}",
        position in 0usize..5,
        separator in prop_oneof![Just('?'), Just('#')],
    ) {
        let mut pairs: Vec<String> = others.iter().map(|(k, v)| format!("{k}={v}")).collect();
        pairs.insert(position.min(pairs.len()), format!("{name}={value}"));
        let url = format!("{prefix}{separator}{}", pairs.join("&"));
        let redacted = redact_url(&url);
        prop_assert!(!redacted.contains(&value), "{url:?} → {redacted:?} still holds the value of {name}");
    }
}
