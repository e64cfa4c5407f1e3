//! The address normaliser (`Address::parse`): what a person types or pastes. Promise: no panic;
//! a parsed address has a server with an http(s) base URL without userinfo, query or fragment,
//! ending in `/`; that URL, typed again, normalises to itself (docs/fuzzing.md).
#![no_main]

use homeport_engine::address::{same_site, Address, Origin};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else { return };
    let _ = Origin::parse(input);
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
