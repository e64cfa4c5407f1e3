//! The `WWW-Authenticate` parser (`owncloud::AuthChallenge::parse`), one header value per line.
//! Promise: no panic; a challenge exactly when a value is not blank; Basic only when offered.
#![no_main]

use homeport_engine::owncloud::AuthChallenge;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let values: Vec<&str> = text.split('\n').collect();
    let challenge = AuthChallenge::parse(&values);
    let offered = values.iter().any(|v| !v.trim().is_empty());
    assert_eq!(challenge.is_some(), offered, "{values:?} → {challenge:?}");
    let basic = values
        .iter()
        .any(|v| v.split(|c: char| c == ',' || c.is_whitespace()).any(|token| token.eq_ignore_ascii_case("basic")));
    // Bearer wins over Basic (the browser login, as the ownCloud client does: docs/security.md).
    if matches!(challenge, Some(AuthChallenge::Basic { .. })) {
        assert!(basic, "{values:?} → {challenge:?}");
    }
});
