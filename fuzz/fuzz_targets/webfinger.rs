//! WebFinger JRD (RFC 7033): `oidc::issuer_from_webfinger` and `oidc::instances_from_webfinger`.
//! Promise: no panic; a found issuer is an http(s) URL with a host; instances are http(s) server
//! base URLs, at least one, for the subject asked about.
#![no_main]

use homeport_engine::oidc;
use libfuzzer_sys::fuzz_target;
use url::Url;

fuzz_target!(|data: &[u8]| {
    let url = Url::parse("https://cloud.example/.well-known/webfinger").expect("url");
    if let Ok(issuer) = oidc::issuer_from_webfinger(&url, data) {
        let parsed = Url::parse(&issuer).unwrap_or_else(|e| panic!("issuer {issuer:?} is no URL: {e}"));
        assert!(matches!(parsed.scheme(), "http" | "https"), "issuer {issuer:?}");
        assert!(parsed.host_str().is_some_and(|h| !h.is_empty()), "issuer {issuer:?} has no host");
    }
    if let Ok(instances) = oidc::instances_from_webfinger(&url, data, "acct:alice@cloud.example") {
        assert!(!instances.is_empty(), "Ok with no instance");
        for instance in &instances {
            let base = instance.url.as_url();
            assert!(matches!(base.scheme(), "http" | "https") && base.path().ends_with('/'), "{base}");
            assert!(base.username().is_empty() && base.password().is_none(), "{base}: userinfo kept");
            let named = oidc::InstanceLink::named(&instances, base.as_str());
            assert!(named.is_some(), "{base} is not found by its own URL");
        }
    }
});
