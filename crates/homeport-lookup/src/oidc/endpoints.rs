//! The provider's HTTP endpoints, the same under every identity zone (chosen by the `Host` header): the router,
//! and discovery and the JWKS; the other endpoints have a file each.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::answers::{fallback, InZone};
use super::authorize::{authorize_page, authorize_submit};
use super::consent::consent_submit;
use super::matrix_account::{account_page, extend_for_matrix};
use super::registration::register;
use super::token::{revoke, token};
use super::userinfo::userinfo;
use super::{Provider, Zone};

/// The provider's routes; the caller adds the recorder.
pub(crate) fn router(provider: Arc<Provider>) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/register", post(register))
        .route("/authorize", get(authorize_page).post(authorize_submit))
        .route("/authorize/consent", post(consent_submit))
        .route("/token", post(token))
        .route("/userinfo", get(userinfo).post(userinfo))
        .route("/revoke", post(revoke))
        .route("/account", get(account_page))
        .route("/account/", get(account_page))
        .fallback(fallback)
        .with_state(provider)
}

/// The discovery document. The main zone's says what lico's says where it matters to a client:
/// `token_endpoint_auth_methods_supported` (`client_secret_basic` and `none`; lico takes `client_secret` in the body
/// too without saying so — here said once registration can register such clients), no `prompt_values_supported`,
/// `registration_endpoint` only when registration is on. Unlike lico (which sends no `iss` in the authorization
/// response) it says `authorization_response_iss_parameter_supported` and does send it (RFC 9207), as
/// node-oidc-provider and Keycloak do.
///
/// The Matrix zone's is what MAS's says where the Matrix spec needs it ([`extend_for_matrix`]); the OAuth-only
/// homeserver answers it at `auth_metadata`.
async fn discovery(State(provider): State<Arc<Provider>>, InZone(zone): InZone) -> Response {
    Json(discovery_document(&provider, zone)).into_response()
}

/// The discovery document of `zone`.
pub(crate) fn discovery_document(provider: &Provider, zone: Zone) -> Value {
    let issuer = provider.issuer(zone);
    let auth_methods: &[&str] = match zone {
        Zone::Main if provider.offers_registration(zone) => &["client_secret_basic", "client_secret_post", "none"],
        Zone::Main => &["client_secret_basic", "none"],
        Zone::Tenant(_) | Zone::Matrix => &["none"],
    };
    let mut document = json!({
        "issuer": provider.advertised_issuer(zone),
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks"),
        "registration_endpoint": format!("{issuer}/register"),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "code_challenge_methods_supported": ["S256"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "scopes_supported": super::SUPPORTED_SCOPES,
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": ["none"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "name", "preferred_username",
                             "email", "email_verified", "zid"],
        "authorization_response_iss_parameter_supported": true,
    });
    if !provider.offers_registration(zone) {
        if let Some(fields) = document.as_object_mut() {
            fields.remove("registration_endpoint");
        }
    }
    if zone == Zone::Matrix {
        extend_for_matrix(&mut document, &issuer);
    }
    document
}

async fn jwks(State(provider): State<Arc<Provider>>, InZone(_zone): InZone) -> Response {
    Json(provider.jwks()).into_response()
}

#[cfg(test)]
mod tests {

    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    use serde_json::{json, Value};
    use url::Url;

    use crate::testing::{access_token, get_json, localhost_client, log_in, refresh_grant, start};

    use crate::oidc::OWNCLOUD_DESKTOP_CLIENT_ID;
    use crate::scenario::{IdpSetup, Scenario};
    #[tokio::test]
    async fn discovery_names_every_endpoint_under_the_issuer() {
        let server = start(Scenario::default()).await;
        let issuer = server.idp_issuer();
        assert!(issuer.starts_with("http://127.0.0.1:") && !issuer.ends_with('/'), "issuer without slash: {issuer}");
        let (status, config) = get_json(&format!("{issuer}/.well-known/openid-configuration")).await;
        assert_eq!(status, 200, "discovery answers");
        assert_eq!(config["issuer"], issuer.as_str(), "the issuer is the IdP URL");
        for (field, path) in [
            ("authorization_endpoint", "/authorize"),
            ("token_endpoint", "/token"),
            ("userinfo_endpoint", "/userinfo"),
            ("jwks_uri", "/jwks"),
            ("revocation_endpoint", "/revoke"),
        ] {
            assert_eq!(config[field], format!("{issuer}{path}"), "{field}");
        }
        assert_eq!(config["response_types_supported"], json!(["code"]), "code flow only");
        assert_eq!(config["grant_types_supported"], json!(["authorization_code", "refresh_token"]), "grants");
        assert_eq!(config["code_challenge_methods_supported"], json!(["S256"]), "PKCE S256");
        assert_eq!(config["id_token_signing_alg_values_supported"], json!(["ES256"]), "ES256");
        assert_eq!(config["scopes_supported"], json!(["openid", "profile", "email", "offline_access"]), "scopes");
        assert_eq!(config.get("registration_endpoint"), None, "oCIS's IdP ships without dynamic registration");
        assert_eq!(
            config["token_endpoint_auth_methods_supported"],
            json!(["client_secret_basic", "none"]),
            "what lico says"
        );
        assert_eq!(config.get("prompt_values_supported"), None, "lico publishes no prompt values");
        assert_eq!(config["authorization_response_iss_parameter_supported"], true, "RFC 9207");
        let response = localhost_client().post(format!("{issuer}/register")).json(&json!({})).send().await.expect("ok");
        assert_eq!(response.status(), 404, "no registration path, as at lico");
        assert_eq!(response.text().await.expect("text"), "404 page not found\n", "Go's plain 404");

        let (status, jwks) = get_json(&format!("{issuer}/jwks")).await;
        assert_eq!(status, 200, "JWKS answers");
        let key = &jwks["keys"][0];
        assert_eq!((key["kty"].as_str(), key["crv"].as_str()), (Some("EC"), Some("P-256")), "a P-256 key");
        assert_eq!((key["alg"].as_str(), key["use"].as_str()), (Some("ES256"), Some("sig")), "for signatures");
        assert_eq!(key["kid"], "homeport-lookup-1", "its kid");

        let zone = server.tenant_issuer("tenant1").expect("tenant1's zone");
        let (status, config) = get_json(&format!("{zone}/.well-known/openid-configuration")).await;
        assert_eq!(status, 200, "a tenant zone answers on the same port by host");
        assert_eq!(config["issuer"], zone.as_str(), "with its own issuer");
        assert_eq!(config["token_endpoint"], format!("{zone}/token"), "and endpoints under its host");
        assert_eq!(config["registration_endpoint"], format!("{zone}/register"), "the tenants' zones register clients");
        assert_eq!(config["token_endpoint_auth_methods_supported"], json!(["none"]), "public clients there");
        let port = Url::parse(&zone).expect("URL").port().expect("a port");
        let (status, _) =
            get_json(&format!("http://tenant9.auth.localhost:{port}/.well-known/openid-configuration")).await;
        assert_eq!(status, 404, "an unknown zone is not served");
        server.shutdown().await;
    }
    #[tokio::test]
    async fn the_registration_switch_puts_registration_into_discovery() {
        let setup = IdpSetup { registration: true, ..IdpSetup::default() };
        let server = start(Scenario { idp: setup, ..Scenario::default() }).await;
        let issuer = server.idp_issuer();
        let (_, config) = get_json(&format!("{issuer}/.well-known/openid-configuration")).await;
        assert_eq!(config["registration_endpoint"], format!("{issuer}/register"), "registration is offered");
        assert_eq!(
            config["token_endpoint_auth_methods_supported"],
            json!(["client_secret_basic", "client_secret_post", "none"]),
            "every method a registration can ask for"
        );
        server.shutdown().await;
    }

    #[tokio::test]
    async fn idp_faults_mix_up_the_issuer_forge_the_signature_and_expire_the_first_access_token() {
        use crate::Fault;
        let mixed_up = start(Scenario { fault: Some(Fault::IdpIssuerMismatch), ..Scenario::default() }).await;
        let issuer = mixed_up.idp_issuer();
        let (_, config) = get_json(&format!("{issuer}/.well-known/openid-configuration")).await;
        assert_ne!(config["issuer"].as_str(), Some(issuer.as_str()), "the document speaks for another issuer");
        mixed_up.shutdown().await;

        let forged = start(Scenario { fault: Some(Fault::IdpBadSignature), ..Scenario::default() }).await;
        let issuer = forged.idp_issuer();
        let tokens = log_in(&issuer, "einstein", "relativity").await;
        let (_, jwks) = get_json(&format!("{issuer}/jwks")).await;
        let key = &jwks["keys"][0];
        let decoding = DecodingKey::from_ec_components(key["x"].as_str().expect("x"), key["y"].as_str().expect("y"))
            .expect("an EC key from the JWK");
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[&issuer]);
        validation.set_audience(&[OWNCLOUD_DESKTOP_CLIENT_ID]);
        let id_token = tokens["id_token"].as_str().expect("an ID token");
        assert!(jsonwebtoken::decode::<Value>(id_token, &decoding, &validation).is_err(), "the signature is forged");
        forged.shutdown().await;

        let expired = start(Scenario { fault: Some(Fault::ExpiredAccessToken), ..Scenario::default() }).await;
        let issuer = expired.idp_issuer();
        let tokens = log_in(&issuer, "einstein", "relativity").await;
        let userinfo = |token: String| {
            let issuer = issuer.clone();
            async move {
                let response = localhost_client()
                    .get(format!("{issuer}/userinfo"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .expect("userinfo answers");
                response.status().as_u16()
            }
        };
        assert_eq!(userinfo(access_token(&tokens)).await, 401, "the first access token is already expired");
        let refresh = tokens["refresh_token"].as_str().expect("a refresh token");
        let (status, renewed) = refresh_grant(&issuer, refresh).await;
        assert_eq!(status, 200, "refresh works: {renewed}");
        assert_eq!(userinfo(access_token(&renewed)).await, 200, "the refreshed access token is good");
        expired.shutdown().await;
    }
    #[tokio::test]
    async fn the_log_has_no_passwords_codes_or_tokens() {
        let server = start(Scenario::default()).await;
        let tokens = log_in(&server.idp_issuer(), "einstein", "relativity").await;
        let log = serde_json::to_string(&server.requests()).expect("the log serializes");
        assert!(log.contains("\"server\":\"idp\""), "the IdP's requests are recorded: {log}");
        assert!(!log.contains("relativity"), "no password: {log}");
        for field in ["access_token", "refresh_token", "id_token"] {
            let token = tokens[field].as_str().expect("a token");
            assert!(!log.contains(token), "no {field} in the log");
        }
        server.shutdown().await;
    }
}
