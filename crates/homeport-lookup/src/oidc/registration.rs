//! `POST /register`: RFC 7591 dynamic registration of native clients with loopback redirect URIs, public or
//! confidential — when the zone offers it (`Provider::offers_registration`; oCIS's IdP ships with it off).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::answers::{no_store, oauth_error, InZone};
use super::clients::{AuthMethod, Client, Redirects, RegisteredUri};
use super::{now_seconds, random_token, OAuthError, Provider, Zone};

/// RFC 7591 dynamic registration. Where registration is off the path is not served, as at lico (whose router has
/// no registration path then: Go's plain `404 page not found`).
pub(super) async fn register(State(provider): State<Arc<Provider>>, InZone(zone): InZone, body: Bytes) -> Response {
    if !provider.offers_registration(zone) {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))],
            "404 page not found\n",
        )
            .into_response();
    }
    let answer = if zone == Zone::Matrix {
        super::matrix_registration::register_matrix_client(&provider, &body)
    } else {
        registration(&provider, zone, &body)
    };
    match answer {
        Ok(answer) => (StatusCode::CREATED, no_store(), Json(answer)).into_response(),
        Err(error) => oauth_error(&error),
    }
}

fn registration(provider: &Provider, zone: Zone, body: &[u8]) -> Result<Value, OAuthError> {
    let metadata: Value = serde_json::from_slice(body)
        .map_err(|error| OAuthError::new("invalid_client_metadata", format!("the body is not JSON: {error}")))?;
    let Some(requested) = metadata["redirect_uris"].as_array().filter(|uris| !uris.is_empty()) else {
        return Err(OAuthError::new("invalid_redirect_uri", "redirect_uris must be a non-empty array"));
    };
    let mut redirect_uris = Vec::new();
    for uri in requested {
        match uri.as_str().and_then(RegisteredUri::parse) {
            Some(registered) => redirect_uris.push(registered),
            None => {
                return Err(OAuthError::new(
                    "invalid_redirect_uri",
                    format!(
                        "{uri} is not a loopback redirect URI (http://127.0.0.1:<port>/…, http://[::1]:<port>/… or \
                         http://localhost:<port>/…)"
                    ),
                ))
            }
        }
    }
    // RFC 7591 §2: without token_endpoint_auth_method a client is registered for client_secret_basic.
    let method = match &metadata["token_endpoint_auth_method"] {
        Value::Null => AuthMethod::ClientSecretBasic,
        Value::String(name) => AuthMethod::parse(name).ok_or_else(|| {
            OAuthError::new(
                "invalid_client_metadata",
                format!(
                    "token_endpoint_auth_method {name:?} is not supported; use none, client_secret_basic or \
                     client_secret_post"
                ),
            )
        })?,
        other => {
            return Err(OAuthError::new(
                "invalid_client_metadata",
                format!("token_endpoint_auth_method must be a string, not {other}"),
            ))
        }
    };
    let grant_types = string_list(&metadata["grant_types"], &["authorization_code", "refresh_token"], "grant_types")?
        .unwrap_or_else(|| vec!["authorization_code".to_owned()]);
    let response_types =
        string_list(&metadata["response_types"], &["code"], "response_types")?.unwrap_or_else(|| vec!["code".into()]);
    let client_name = metadata["client_name"].as_str().map(str::to_owned);
    let uris: Vec<String> = requested.iter().filter_map(|uri| uri.as_str().map(str::to_owned)).collect();
    let client_id = format!("homeport-{}", random_token(12)?);
    let secret = match method {
        AuthMethod::None => None,
        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => Some(random_token(32)?),
    };
    provider.register(
        zone,
        Client {
            id: client_id.clone(),
            name: client_name.clone().unwrap_or_else(|| client_id.clone()),
            secret: secret.clone(),
            methods: vec![method],
            redirects: Redirects::SamePath(redirect_uris),
        },
    )?;
    let mut answer = json!({
        "client_id": client_id,
        "client_id_issued_at": now_seconds(),
        "redirect_uris": uris,
        "token_endpoint_auth_method": method.name(),
        "grant_types": grant_types,
        "response_types": response_types,
    });
    if let Some(secret) = secret {
        answer["client_secret"] = Value::from(secret);
        // RFC 7591 §3.2.1: 0, the secret does not expire.
        answer["client_secret_expires_at"] = Value::from(0);
    }
    if let Some(name) = client_name {
        answer["client_name"] = Value::from(name);
    }
    Ok(answer)
}

/// An optional array of strings, each one of `allowed`.
fn string_list(value: &Value, allowed: &[&str], field: &str) -> Result<Option<Vec<String>>, OAuthError> {
    if value.is_null() {
        return Ok(None);
    }
    let invalid = || OAuthError::new("invalid_client_metadata", format!("{field} must be a subset of {allowed:?}"));
    let items = value.as_array().ok_or_else(invalid)?;
    items
        .iter()
        .map(|item| item.as_str().filter(|text| allowed.contains(text)).map(str::to_owned).ok_or_else(invalid))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

#[cfg(test)]
mod tests {

    use serde_json::{json, Value};
    use url::Url;

    use crate::error::LookupError;
    use crate::oidc::BUILT_IN_CLIENT_ID;
    use crate::robot::auto_login;
    use crate::scenario::{IdpSetup, Scenario};
    use crate::testing::{authorization_to, code_of, localhost_client, start, token_request, Authorization};

    async fn register(issuer: &str, metadata: &Value) -> (u16, Value) {
        let response =
            localhost_client().post(format!("{issuer}/register")).json(metadata).send().await.expect("answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON"))
    }

    fn registration_on() -> Scenario {
        Scenario { idp: IdpSetup { registration: true, ..IdpSetup::default() }, ..Scenario::default() }
    }

    /// A login of `request`'s client; the code exchanged with these extra fields and Basic credentials.
    async fn exchange(
        issuer: &str,
        request: &Authorization,
        extra: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> (u16, Value) {
        let callback = auto_login(&request.url, "einstein", "relativity").await.expect("logged in");
        let code = code_of(&callback, request);
        let mut fields = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", request.redirect_uri.as_str()),
            ("code_verifier", request.verifier.as_str()),
        ];
        fields.extend_from_slice(extra);
        let Some((id, secret)) = basic else {
            return token_request(issuer, &fields).await;
        };
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&fields).finish();
        let response = localhost_client()
            .post(format!("{issuer}/token"))
            .basic_auth(id, Some(secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("answers");
        (response.status().as_u16(), response.json().await.expect("JSON"))
    }

    #[tokio::test]
    async fn registration_accepts_loopback_redirects_only() {
        let server = start(registration_on()).await;
        let issuer = server.idp_issuer();
        let (status, client) = register(
            &issuer,
            &json!({
                "redirect_uris": ["http://127.0.0.1:40123/callback", "http://[::1]:40123/callback"],
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "client_name": "Homeport",
            }),
        )
        .await;
        assert_eq!(status, 201, "registered: {client}");
        let client_id = client["client_id"].as_str().expect("a client id");
        assert!(client_id.len() > 12 && client_id != BUILT_IN_CLIENT_ID, "a random client id: {client_id}");
        assert!(client["client_id_issued_at"].as_u64().is_some(), "issued at");
        assert_eq!(client["token_endpoint_auth_method"], "none", "a public client");
        assert_eq!(client.get("client_secret"), None, "without a secret");
        assert_eq!(client["redirect_uris"][0], "http://127.0.0.1:40123/callback", "the redirect URIs");

        for bad in ["https://example.com/callback", "http://10.0.0.1/cb", "http://127.0.0.1/cb#x", "not a url"] {
            let (status, error) = register(&issuer, &json!({"redirect_uris": [bad]})).await;
            assert_eq!((status, error["error"].as_str()), (400, Some("invalid_redirect_uri")), "{bad} refused");
        }
        let (status, error) = register(
            &issuer,
            &json!({"redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
        )
        .await;
        assert_eq!((status, error["error"].as_str()), (400, Some("invalid_client_metadata")), "{error}");

        // The registered client may use another port (RFC 8252 §7.3) but not another path.
        let request =
            authorization_to(&issuer, "registered", client_id, Some("consent"), "http://127.0.0.1:51000/callback");
        let (status, tokens) = exchange(&issuer, &request, &[("client_id", client_id)], None).await;
        assert_eq!(status, 200, "another port is fine: {tokens}");
        let wrong_path = authorization_to(&issuer, "path", client_id, None, "http://127.0.0.1:51000/elsewhere");
        let refused = auto_login(&wrong_path.url, "einstein", "relativity").await;
        assert!(matches!(refused, Err(LookupError::AutoLogin(ref m)) if m.contains("not registered")), "{refused:?}");

        // Registered without a path (lico: then any path), at a tenant's zone: the tenants' zones share their
        // clients, the main zone does not know it.
        let zone = server.tenant_issuer("tenant1").expect("tenant1's zone");
        let (status, tenant_client) =
            register(&zone, &json!({"redirect_uris": ["http://127.0.0.1"], "token_endpoint_auth_method": "none"}))
                .await;
        assert_eq!(status, 201, "the tenants' zones register too: {tenant_client}");
        assert_eq!(tenant_client["redirect_uris"][0], "http://127.0.0.1", "as registered");
        let tenant_client_id = tenant_client["client_id"].as_str().expect("an id");
        let other_zone = server.tenant_issuer("tenant2").expect("tenant2's zone");
        let any_path =
            authorization_to(&other_zone, "any", tenant_client_id, None, "http://127.0.0.1:5123/a/b/callback");
        let callback = auto_login(&any_path.url, "einstein", "relativity").await.expect("any port and path");
        assert!(callback.query().is_some_and(|query| query.contains("code=")), "{callback}");
        let elsewhere = authorization_to(&issuer, "zone", tenant_client_id, None, "http://127.0.0.1/cb");
        let response = localhost_client().get(elsewhere.url.clone()).send().await.expect("answers");
        assert_eq!(response.status(), 400, "unknown at the main zone, whose registration is its own");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn a_confidential_registration_returns_a_secret_the_token_endpoint_checks() {
        let server = start(registration_on()).await;
        let issuer = server.idp_issuer();
        let redirect = "http://127.0.0.1:41000/homeport/cb";
        for method in ["client_secret_basic", "client_secret_post"] {
            let (status, client) =
                register(&issuer, &json!({"redirect_uris": [redirect], "token_endpoint_auth_method": method})).await;
            assert_eq!(status, 201, "{method}: {client}");
            assert_eq!(client["token_endpoint_auth_method"], method, "the method as registered");
            assert_eq!(client["client_secret_expires_at"], 0, "RFC 7591: a secret that does not expire");
            let id = client["client_id"].as_str().expect("an id");
            let secret = client["client_secret"].as_str().expect("a secret");
            let request = authorization_to(&issuer, method, id, Some("select_account consent"), redirect);
            let (right, wrong) = if method == "client_secret_basic" {
                (exchange(&issuer, &request, &[], Some((id, secret))).await, {
                    exchange(&issuer, &request, &[("client_id", id), ("client_secret", secret)], None).await
                })
            } else {
                (exchange(&issuer, &request, &[("client_id", id), ("client_secret", secret)], None).await, {
                    exchange(&issuer, &request, &[], Some((id, secret))).await
                })
            };
            assert_eq!(right.0, 200, "{method}: the registered method works: {}", right.1);
            assert!(right.1["refresh_token"].as_str().is_some(), "{method}: a refresh token: {}", right.1);
            assert_eq!((wrong.0, wrong.1["error"].as_str()), (401, Some("invalid_client")), "{method}: only it");
            let (status, error) = exchange(&issuer, &request, &[("client_id", id)], None).await;
            assert_eq!((status, error["error"].as_str()), (401, Some("invalid_client")), "{method}: no secret");
        }
        let (status, client) = register(&issuer, &json!({"redirect_uris": [redirect]})).await;
        assert_eq!(
            (status, client["token_endpoint_auth_method"].as_str()),
            (201, Some("client_secret_basic")),
            "RFC 7591's default"
        );
        let _ = Url::parse(redirect).expect("URL");
        server.shutdown().await;
    }
}
