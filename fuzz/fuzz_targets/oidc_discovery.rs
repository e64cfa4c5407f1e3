//! OpenID Connect discovery (`ProviderMetadata::parse`), and the other answers of the provider a
//! login reads as JSON: client registration, userinfo. The first byte chooses the parser.
//! Promise: no panic; accepted metadata speaks for the expected issuer, names only http(s)
//! endpoints and offers PKCE S256 (or says nothing); userinfo is about the ID token's subject.
#![no_main]

use homeport_engine::oidc::{self, IdClaims, ProviderMetadata};
use libfuzzer_sys::fuzz_target;
use url::Url;

const ISSUER: &str = "https://idp.example/realms/acme";

fuzz_target!(|data: &[u8]| {
    let [choice, body @ ..] = data else { return };
    let url = Url::parse("https://idp.example/realms/acme/.well-known/openid-configuration").expect("url");
    match choice % 3 {
        0 => {
            let Ok(metadata) = ProviderMetadata::parse(&url, body, ISSUER) else { return };
            assert_eq!(metadata.issuer, ISSUER, "another issuer accepted");
            for endpoint in metadata.endpoints() {
                assert!(matches!(endpoint.scheme(), "http" | "https"), "endpoint {endpoint}");
                assert!(endpoint.host_str().is_some_and(|h| !h.is_empty()), "endpoint {endpoint} has no host");
            }
            let methods = &metadata.code_challenge_methods_supported;
            assert!(methods.is_empty() || methods.iter().any(|m| m == "S256"), "no S256 in {methods:?}");
            let _ = ProviderMetadata::discovery_url(&metadata.token_endpoint);
        }
        1 => {
            if let Ok(registration) = oidc::registration_from_answer(&url, body) {
                assert!(registration.client_secret.as_ref().is_none_or(|s| !s.is_empty()), "an empty secret kept");
            }
        }
        _ => {
            let claims = IdClaims::subject(ISSUER, "alice");
            if let Ok(merged) = oidc::userinfo_for(&url, body, &claims) {
                assert_eq!(merged.sub, "alice", "userinfo for another subject accepted");
            }
        }
    }
});
