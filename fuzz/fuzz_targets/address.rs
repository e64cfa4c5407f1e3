//! The address normaliser (`Address::parse`): what a person types or pastes. Promise: no panic;
//! a parsed address has a server with an http(s) base URL without userinfo, query or fragment,
//! ending in `/`; that URL, typed again, normalises to itself; what is kept of the typed text
//! (`Address::entered`) never keeps a password and is kept the same when kept again
//! (docs/fuzzing.md).
#![no_main]

use homeport_engine::address::{same_site, Address, Origin};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else { return };
    let _ = Origin::parse(input);
    let entered = Address::entered(input);
    assert!(!has_password(&entered), "{input:?} → {entered:?}: a password in what is kept");
    assert_eq!(Address::entered(&entered), entered, "{input:?}: keeping what was kept changed it");
    let Ok(address) = Address::parse(input) else { return };
    let server = address.server().unwrap_or_else(|e| panic!("{input:?} parsed as {address:?} but has no server: {e}"));
    let url = server.as_url();
    assert!(matches!(url.scheme(), "http" | "https"), "{input:?} → {url}");
    assert!(url.username().is_empty() && url.password().is_none(), "{input:?} → {url}: userinfo kept");
    assert!(url.query().is_none() && url.fragment().is_none(), "{input:?} → {url}: query or fragment kept");
    assert!(url.path().ends_with('/'), "{input:?} → {url}: a base ends in /");
    assert!(same_site(url, url), "{input:?} → {url}: not the same site as itself");
    if let Address::Server { .. } = &address {
        let again = Address::parse(url.as_str());
        assert!(
            matches!(&again, Ok(Address::Server { server: s, login_hint: None }) if s == &server),
            "{input:?} → {url} → {again:?}: the normalised URL must normalise to itself"
        );
    }
});

/// Whether `text`'s authority (after `scheme://`, before the path) has `user:password@`: the
/// property, written from RFC 3986 §3.2 rather than from the code under test.
fn has_password(text: &str) -> bool {
    let text = text.trim();
    if text.starts_with('@') {
        return false; // a Matrix ID: `@user:server`, no authority
    }
    let rest = text.split_once("://").map_or(text, |(_, rest)| rest);
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    authority.rsplit_once('@').is_some_and(|(userinfo, _)| userinfo.contains(':'))
}
