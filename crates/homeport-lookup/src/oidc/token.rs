//! `POST /token` (authorization code with PKCE, refresh with rotation) and `POST /revoke` (RFC 7009).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::answers::{no_store, oauth_error, InZone};
use super::page::form_pairs;
use super::{OAuthError, Provider, Zone};
use crate::owncloud::BasicCredentials;

/// `POST /token`: authorization code (with PKCE) and refresh token grants.
pub(super) async fn token(
    State(provider): State<Arc<Provider>>,
    InZone(zone): InZone,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match token_grant(&provider, zone, &headers, &body) {
        Ok(tokens) => (StatusCode::OK, no_store(), Json(tokens)).into_response(),
        Err(error) => oauth_error(&error),
    }
}

fn token_grant(provider: &Provider, zone: Zone, headers: &HeaderMap, body: &[u8]) -> Result<Value, OAuthError> {
    if let Zone::Tenant(tenant) = zone {
        if !tenant.subscribed {
            return Err(OAuthError::new("unauthorized_client", tenant.refusal()));
        }
    }
    let params = form_pairs(body);
    for (name, _) in &params {
        if params.iter().filter(|(key, _)| key == name).count() > 1 {
            return Err(OAuthError::new("invalid_request", format!("the parameter {name} is repeated")));
        }
    }
    let get = |name: &str| params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
    let required =
        |name: &str| get(name).ok_or_else(|| OAuthError::new("invalid_request", format!("{name} is missing")));
    // A public client names itself in the body; some libraries send it as a Basic user with an empty secret.
    let basic_user = BasicCredentials::from_headers(headers).map(|credentials| credentials.user);
    let client_id = get("client_id").map(str::to_owned).or(basic_user);
    if let Some(client_id) = &client_id {
        if !provider.is_known_client(client_id) {
            return Err(OAuthError::new("invalid_client", format!("unknown client_id {client_id:?}")));
        }
    }
    match get("grant_type") {
        Some("authorization_code") => {
            let code = required("code")?;
            let redirect_uri = required("redirect_uri")?;
            let code_verifier = required("code_verifier")?;
            let client_id = client_id.ok_or_else(|| OAuthError::new("invalid_request", "client_id is missing"))?;
            provider.exchange_code(zone, code, &client_id, redirect_uri, code_verifier)
        }
        Some("refresh_token") => provider.refresh(zone, required("refresh_token")?, client_id.as_deref()),
        Some(other) => Err(OAuthError::new("unsupported_grant_type", format!("grant_type {other:?} is not supported"))),
        None => Err(OAuthError::new("invalid_request", "grant_type is missing")),
    }
}

/// `POST /revoke` (RFC 7009): always 200 for a well-formed request.
pub(super) async fn revoke(State(provider): State<Arc<Provider>>, InZone(_zone): InZone, body: Bytes) -> Response {
    let params = form_pairs(&body);
    let Some((_, token)) = params.iter().find(|(key, _)| key == "token") else {
        return oauth_error(&OAuthError::new("invalid_request", "token is missing"));
    };
    provider.revoke(token);
    (StatusCode::OK, no_store()).into_response()
}

#[cfg(test)]
mod tests {

    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    use serde_json::Value;

    use crate::testing::{
        access_token, authorization, code_of, get_json, localhost_client, log_in, start, token_request,
    };

    use crate::oidc::BUILT_IN_CLIENT_ID;
    use crate::robot::auto_login;
    use crate::scenario::Scenario;
    #[tokio::test]
    async fn the_code_flow_checks_pkce_and_codes_are_single_use() {
        let server = start(Scenario::default()).await;
        let issuer = server.idp_issuer();
        let request = authorization(&issuer, "flow");
        let callback = auto_login(&request.url, "marie", "radioactivity").await.expect("logged in");
        assert_eq!(callback.as_str().split('?').next(), Some("http://127.0.0.1:53682/callback"), "to the client");
        let code = code_of(&callback, &request);
        let exchange = |code: String, verifier: String| {
            let issuer = issuer.clone();
            let redirect_uri = request.redirect_uri.clone();
            async move {
                token_request(
                    &issuer,
                    &[
                        ("grant_type", "authorization_code"),
                        ("code", &code),
                        ("redirect_uri", &redirect_uri),
                        ("client_id", BUILT_IN_CLIENT_ID),
                        ("code_verifier", &verifier),
                    ],
                )
                .await
            }
        };
        let (status, tokens) = exchange(code.clone(), request.verifier.clone()).await;
        assert_eq!(status, 200, "the right verifier gets tokens: {tokens}");
        assert_eq!(tokens["token_type"], "Bearer", "bearer tokens");
        assert_eq!(tokens["expires_in"], 300, "the scenario's lifetime");
        assert_eq!(tokens["scope"], "openid profile email offline_access", "the granted scope");
        for field in ["access_token", "refresh_token", "id_token"] {
            assert!(tokens[field].as_str().is_some_and(|value| !value.is_empty()), "{field} is issued");
        }
        let (status, error) = exchange(code, request.verifier.clone()).await;
        assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")), "a used code is refused");

        let second = authorization(&issuer, "wrong-verifier");
        let callback = auto_login(&second.url, "marie", "radioactivity").await.expect("logged in");
        let (status, error) = exchange(code_of(&callback, &second), request.verifier.clone()).await;
        assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")), "a wrong verifier: {error}");

        let (status, error) = token_request(&issuer, &[("grant_type", "password")]).await;
        assert_eq!((status, error["error"].as_str()), (400, Some("unsupported_grant_type")), "no password grant");
        let (status, error) = token_request(&issuer, &[("grant_type", "authorization_code")]).await;
        assert_eq!((status, error["error"].as_str()), (400, Some("invalid_request")), "missing parameters");
        let (status, error) =
            token_request(&issuer, &[("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_id", "nobody")])
                .await;
        assert_eq!((status, error["error"].as_str()), (400, Some("invalid_client")), "an unknown client");
        server.shutdown().await;
    }
    #[tokio::test]
    async fn the_id_token_verifies_with_the_jwks_and_carries_the_nonce() {
        let server = start(Scenario::default()).await;
        let issuer = server.idp_issuer();
        let tokens = log_in(&issuer, "einstein", "relativity").await;
        let (_, jwks) = get_json(&format!("{issuer}/jwks")).await;
        let key = &jwks["keys"][0];
        let decoding = DecodingKey::from_ec_components(key["x"].as_str().expect("x"), key["y"].as_str().expect("y"))
            .expect("an EC key from the JWK");
        let id_token = tokens["id_token"].as_str().expect("an ID token");
        let header = jsonwebtoken::decode_header(id_token).expect("a JWS");
        assert_eq!((header.alg, header.kid.as_deref()), (Algorithm::ES256, Some("homeport-lookup-1")), "ES256 + kid");
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[&issuer]);
        validation.set_audience(&[BUILT_IN_CLIENT_ID]);
        let claims = jsonwebtoken::decode::<Value>(id_token, &decoding, &validation).expect("a valid ID token").claims;
        assert_eq!(claims["nonce"], "nonce-einstein", "the nonce of the authorization request");
        assert_eq!(claims["preferred_username"], "einstein", "the user");
        assert_eq!(claims["name"], "Albert Einstein", "the name");
        assert_eq!(claims["email"], "einstein@example.org", "the email");
        assert!(claims["exp"].as_u64() > claims["iat"].as_u64(), "expires after issue");

        let mut access_validation = Validation::new(Algorithm::ES256);
        access_validation.set_issuer(&[&issuer]);
        access_validation.set_audience(&["homeport"]);
        let access =
            jsonwebtoken::decode::<Value>(&access_token(&tokens), &decoding, &access_validation).expect("a JWT").claims;
        assert!(access["jti"].as_str().is_some() && access["scope"].as_str().is_some(), "jti and scope: {access}");
        assert_eq!(access.get("zid"), None, "the main zone has no tenant");

        let response = localhost_client()
            .get(format!("{issuer}/userinfo"))
            .bearer_auth(access_token(&tokens))
            .send()
            .await
            .expect("userinfo answers");
        assert_eq!(response.status(), 200, "userinfo with the access token");
        let info: Value = response.json().await.expect("JSON");
        assert_eq!(info["preferred_username"], "einstein", "userinfo's user");
        assert_eq!(info["sub"], claims["sub"], "the same subject as the ID token");

        let response =
            localhost_client().get(format!("{issuer}/userinfo")).bearer_auth("garbage").send().await.expect("answers");
        assert_eq!(response.status(), 401, "an invalid token");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\", error_description=\"invalid\"",
            "the Bearer error"
        );
        server.shutdown().await;
    }
    #[tokio::test]
    async fn refresh_rotates_and_revocation_ends_the_grant() {
        let server = start(Scenario::default()).await;
        let issuer = server.idp_issuer();
        let tokens = log_in(&issuer, "einstein", "relativity").await;
        let old = tokens["refresh_token"].as_str().expect("a refresh token").to_owned();
        let refresh = |token: String| {
            let issuer = issuer.clone();
            async move {
                token_request(
                    &issuer,
                    &[("grant_type", "refresh_token"), ("refresh_token", &token), ("client_id", BUILT_IN_CLIENT_ID)],
                )
                .await
            }
        };
        let (status, renewed) = refresh(old.clone()).await;
        assert_eq!(status, 200, "the refresh token works once: {renewed}");
        let new = renewed["refresh_token"].as_str().expect("a new refresh token").to_owned();
        assert_ne!(new, old, "rotation: a new refresh token");
        assert_ne!(renewed["access_token"], tokens["access_token"], "and a new access token");
        let (status, error) = refresh(old).await;
        assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")), "the old one is revoked");

        let response = localhost_client()
            .post(format!("{issuer}/revoke"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={new}&token_type_hint=refresh_token"))
            .send()
            .await
            .expect("revocation answers");
        assert_eq!(response.status(), 200, "revoked");
        let (status, error) = refresh(new).await;
        assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")), "a revoked token is refused");
        server.shutdown().await;
    }
    #[tokio::test]
    async fn revoked_refresh_token_refuses_every_refresh_but_keeps_the_access_token() {
        let server = start(Scenario { fault: Some(crate::Fault::RevokedRefreshToken), ..Scenario::default() }).await;
        let issuer = server.idp_issuer();
        let tokens = log_in(&issuer, "marie", "radioactivity").await;
        let refresh_token = tokens["refresh_token"].as_str().expect("the login still issues a refresh token");
        for attempt in ["first", "second"] {
            let (status, error) = token_request(
                &issuer,
                &[("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("client_id", BUILT_IN_CLIENT_ID)],
            )
            .await;
            assert_eq!(status, 400, "{attempt} refresh: refused");
            assert_eq!(error["error"], "invalid_grant", "{attempt} refresh: the grant is gone: {error}");
            assert!(error.get("access_token").is_none(), "{attempt} refresh: no new tokens");
        }
        let response = localhost_client()
            .get(format!("{issuer}/userinfo"))
            .bearer_auth(access_token(&tokens))
            .send()
            .await
            .expect("userinfo answers");
        assert_eq!(response.status(), 200, "the access token already issued still works until it expires");
        server.shutdown().await;
    }
}
