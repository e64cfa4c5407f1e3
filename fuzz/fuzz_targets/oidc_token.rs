//! The token endpoint's answers, read as the wizard reads them (oauth2's parsing and the engine's
//! error mapping, `fuzzing::read_token_answer`), with the access token's end (`expires_at`) and
//! the ID token checked against a key set (`oidc::validate_id_token`); also the keyring's form of
//! a login (`StoredTokens::from_secret`). The first byte chooses the HTTP status.
//! Promise: no panic; a refused or unreadable answer is an error, never tokens.
#![no_main]

use std::sync::OnceLock;

use homeport_engine::fuzzing::{expires_at, read_token_answer, StoredTokens};
use homeport_engine::oidc;
use homeport_engine::Secret;
use jsonwebtoken::jwk::JwkSet;
use libfuzzer_sys::fuzz_target;
use oauth2::TokenResponse;
use url::Url;

/// One RSA key, as a provider publishes it (the shape of the tests' JWKS).
fn jwks() -> &'static JwkSet {
    static JWKS: OnceLock<JwkSet> = OnceLock::new();
    JWKS.get_or_init(|| {
        serde_json::from_str(
            r#"{"keys":[{"kty":"RSA","kid":"k1","use":"sig","alg":"RS256","e":"AQAB",
            "n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw"}]}"#,
        )
        .expect("the JWKS parses")
    })
}

fuzz_target!(|data: &[u8]| {
    let [choice, body @ ..] = data else { return };
    let endpoint = Url::parse("https://idp.example/token").expect("url");
    let status = [200u16, 400, 401, 500, 204, 302][*choice as usize % 6];
    let answer = read_token_answer(&endpoint, status, body.to_vec());
    if status != 200 {
        assert!(answer.is_err(), "a {status} answer gave tokens");
    }
    if let Ok(answer) = &answer {
        let _ = expires_at(answer);
        let _ = answer.scopes();
        let _ = answer.refresh_token();
        if let Some(id_token) = &answer.extra_fields().id_token {
            let nonce = Secret::new("n-0S6_WzA2Mj");
            let _ = oidc::validate_id_token(id_token, jwks(), "https://idp.example", "homeport", &nonce);
        }
    }
    if let Ok(text) = std::str::from_utf8(body) {
        let stored = StoredTokens::from_secret(&Secret::new(text));
        if !text.trim_start().starts_with('{') {
            assert!(stored.refresh.is_some(), "an older account's bare refresh token was lost");
        }
    }
});
