//! Matrix answers: the login answer (`matrix::login_answer`), the OAuth 2.0 server metadata
//! (`matrix_oauth::AuthMetadata::parse`), the well-known document, `versions`, login flows,
//! whoami, errors, profiles and `/refresh`. The first byte chooses the parser.
//! Promise: no panic; a login answer names a Matrix user id and an http(s) base; accepted
//! metadata has http(s) endpoints and PKCE S256.
#![no_main]

use homeport_engine::{matrix, matrix_oauth::AuthMetadata};
use libfuzzer_sys::fuzz_target;
use url::Url;

fuzz_target!(|data: &[u8]| {
    let [choice, body @ ..] = data else { return };
    let url = Url::parse("https://matrix.example/_matrix/client/v3/login").expect("url");
    match choice % 8 {
        0 => {
            let Ok(answer) = matrix::login_answer(&url, body) else { return };
            assert!(answer.user_id.starts_with('@') && answer.user_id.contains(':'), "{:?}", answer.user_id);
            if let Some(base) = &answer.base {
                assert!(matches!(base.as_url().scheme(), "http" | "https"), "base {base}");
            }
            let _ = matrix::localpart(&answer.user_id);
        }
        1 => {
            let Ok(metadata) = AuthMetadata::parse(&url, body) else { return };
            for endpoint in metadata.endpoints() {
                assert!(matches!(endpoint.scheme(), "http" | "https"), "endpoint {endpoint}");
            }
            assert!(metadata.code_challenge_methods_supported.iter().any(|m| m == "S256"), "no S256");
            if let Some(page) = metadata.account_management() {
                assert!(page.starts_with("http://") || page.starts_with("https://"), "account page {page}");
            }
        }
        2 => {
            if let Ok(base) = matrix::homeserver_from_well_known(&url, body) {
                assert!(matches!(base.as_url().scheme(), "http" | "https"), "homeserver {base}");
            }
        }
        3 => {
            if let Ok(versions) = matrix::versions(&url, body) {
                assert!(!versions.is_empty(), "Ok with no version");
            }
        }
        4 => {
            let _ = matrix::login_flows(&url, body);
        }
        5 => {
            let _ = matrix::whoami(&url, body);
            if let Some(error) = matrix::error_of(body) {
                assert!(error.errcode.starts_with("M_"), "{error:?}");
            }
        }
        6 => {
            if let Some(name) = matrix::display_name(body) {
                assert!(!name.is_empty() && name.trim() == name, "display name {name:?}");
            }
        }
        _ => {
            let _ = homeport_engine::matrix_oauth::refresh_answer(&url, body);
        }
    }
});
