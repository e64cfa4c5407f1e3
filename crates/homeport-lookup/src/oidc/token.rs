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
use super::{clients, OAuthError, Provider, Zone};

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
    // Every grant authenticates its client, as lico does: a confidential client with its secret (Basic or in the
    // body), a public one by naming itself.
    let presented = clients::presented(headers, &params)?;
    let client = match &presented {
        Some(presented) => {
            let client = provider
                .client(zone, &presented.client_id)
                .ok_or_else(|| clients::invalid_client(format!("unknown client_id {:?}", presented.client_id)))?;
            clients::authenticate(&client, presented)?;
            Some(client)
        }
        None => None,
    };
    match get("grant_type") {
        Some("authorization_code") => {
            let code = required("code")?;
            let redirect_uri = required("redirect_uri")?;
            let code_verifier = required("code_verifier")?;
            let client = client.ok_or_else(|| OAuthError::new("invalid_request", "client_id is missing"))?;
            provider.exchange_code(zone, code, &client.id, redirect_uri, code_verifier)
        }
        Some("refresh_token") => {
            // The tenants' zones always took a refresh without the client naming itself; the main zone (lico)
            // authenticates the client here too.
            if matches!(zone, Zone::Main | Zone::Matrix) && client.is_none() {
                return Err(clients::invalid_client("the client must authenticate to refresh"));
            }
            provider.refresh(zone, required("refresh_token")?, client.as_ref().map(|client| client.id.as_str()))
        }
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
        access_token, authorization, authorization_for, code_of, get_json, localhost_client, log_in, refresh_grant,
        start, token_request,
    };

    use crate::oidc::{OWNCLOUD_DESKTOP_CLIENT_ID, OWNCLOUD_DESKTOP_CLIENT_SECRET};
    use crate::robot::auto_login;
    use crate::scenario::Scenario;

    /// `POST /token` with form fields and, when given, `Authorization: Basic`: the status, the challenge and the JSON.
    async fn token_with_basic(
        issuer: &str,
        basic: Option<(&str, &str)>,
        fields: &[(&str, &str)],
    ) -> (u16, String, Value) {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let mut request = localhost_client()
            .post(format!("{issuer}/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        let response = request.send().await.expect("the token endpoint answers");
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, challenge, response.json().await.expect("JSON"))
    }

    #[tokio::test]
    async fn the_desktop_clients_secret_is_checked_by_basic_or_in_the_body() {
        let server = start(Scenario::default()).await;
        let issuer = server.idp_issuer();
        let code_for = |seed: &'static str| {
            let issuer = issuer.clone();
            async move {
                let request = authorization(&issuer, seed);
                let callback = auto_login(&request.url, "einstein", "relativity").await.expect("logged in");
                let code = code_of(&callback, &request);
                (request, code)
            }
        };
        let grant = |code: &str, request: &crate::testing::Authorization| -> Vec<(String, String)> {
            vec![
                ("grant_type".into(), "authorization_code".into()),
                ("code".into(), code.to_owned()),
                ("redirect_uri".into(), request.redirect_uri.clone()),
                ("code_verifier".into(), request.verifier.clone()),
            ]
        };
        let send = |basic: Option<(&'static str, &'static str)>, fields: Vec<(String, String)>| {
            let issuer = issuer.clone();
            async move {
                let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                token_with_basic(&issuer, basic, &refs).await
            }
        };

        let (request, code) = code_for("basic").await;
        let (status, _, tokens) =
            send(Some((OWNCLOUD_DESKTOP_CLIENT_ID, OWNCLOUD_DESKTOP_CLIENT_SECRET)), grant(&code, &request)).await;
        assert_eq!(status, 200, "client_secret_basic: {tokens}");

        let (request, code) = code_for("post").await;
        let mut fields = grant(&code, &request);
        fields.push(("client_id".into(), OWNCLOUD_DESKTOP_CLIENT_ID.into()));
        fields.push(("client_secret".into(), OWNCLOUD_DESKTOP_CLIENT_SECRET.into()));
        let (status, _, tokens) = send(None, fields).await;
        assert_eq!(status, 200, "client_secret_post: {tokens}");

        let (request, code) = code_for("wrong").await;
        let (status, challenge, error) =
            send(Some((OWNCLOUD_DESKTOP_CLIENT_ID, "not-the-secret")), grant(&code, &request)).await;
        assert_eq!((status, error["error"].as_str()), (401, Some("invalid_client")), "a wrong secret: {error}");
        assert!(challenge.starts_with("Basic"), "RFC 6749 §5.2: a 401 names the scheme: {challenge:?}");

        let mut fields = grant(&code, &request);
        fields.push(("client_id".into(), OWNCLOUD_DESKTOP_CLIENT_ID.into()));
        let (status, _, error) = send(None, fields).await;
        assert_eq!((status, error["error"].as_str()), (401, Some("invalid_client")), "no secret: {error}");

        let mut fields = grant(&code, &request);
        fields.push(("client_id".into(), "homeport-desktop".into()));
        let (status, _, error) = send(None, fields).await;
        assert_eq!((status, error["error"].as_str()), (401, Some("invalid_client")), "the old client id: {error}");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn offline_access_gives_a_refresh_token_only_with_prompt_consent() {
        let server = start(Scenario::default()).await;
        let issuer = server.idp_issuer();
        for (prompt, offline) in [
            (None, false),
            (Some("select_account"), false),
            (Some("consent"), true),
            (Some("select_account consent"), true),
        ] {
            let mut request = authorization_for(&issuer, "offline", OWNCLOUD_DESKTOP_CLIENT_ID, prompt);
            request.client_secret = Some(OWNCLOUD_DESKTOP_CLIENT_SECRET.to_owned());
            let callback = auto_login(&request.url, "marie", "radioactivity").await.expect("logged in");
            let code = code_of(&callback, &request);
            let (status, tokens) = token_request(
                &issuer,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", &request.redirect_uri),
                    ("client_id", OWNCLOUD_DESKTOP_CLIENT_ID),
                    ("client_secret", OWNCLOUD_DESKTOP_CLIENT_SECRET),
                    ("code_verifier", &request.verifier),
                ],
            )
            .await;
            assert_eq!(status, 200, "prompt {prompt:?}: {tokens}");
            let scope = tokens["scope"].as_str().expect("a scope");
            assert_eq!(tokens.get("refresh_token").is_some(), offline, "prompt {prompt:?}: a refresh token? {tokens}");
            assert_eq!(
                scope.contains("offline_access"),
                offline,
                "prompt {prompt:?}: the granted scope says so: {scope}"
            );
        }
        server.shutdown().await;
    }
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
                        ("client_id", OWNCLOUD_DESKTOP_CLIENT_ID),
                        ("client_secret", OWNCLOUD_DESKTOP_CLIENT_SECRET),
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
        assert_eq!((status, error["error"].as_str()), (401, Some("invalid_client")), "an unknown client");
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
        validation.set_audience(&[OWNCLOUD_DESKTOP_CLIENT_ID]);
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
        let (status, error) = token_request(
            &issuer,
            &[("grant_type", "refresh_token"), ("refresh_token", &old), ("client_id", OWNCLOUD_DESKTOP_CLIENT_ID)],
        )
        .await;
        assert_eq!((status, error["error"].as_str()), (401, Some("invalid_client")), "a refresh needs the secret too");
        let (status, error) = token_request(&issuer, &[("grant_type", "refresh_token"), ("refresh_token", &old)]).await;
        assert_eq!((status, error["error"].as_str()), (401, Some("invalid_client")), "and the client: {error}");
        let refresh = |token: String| {
            let issuer = issuer.clone();
            async move { refresh_grant(&issuer, &token).await }
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
            let (status, error) = refresh_grant(&issuer, refresh_token).await;
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
