//! `POST /register`: RFC 7591 dynamic registration of public native clients.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use url::Url;

use super::answers::{fallback, no_store, oauth_error, InZone};
use super::{is_loopback_redirect, now_seconds, OAuthError, Provider};

/// RFC 7591 dynamic registration of a public native client with loopback redirect URIs.
pub(super) async fn register(State(provider): State<Arc<Provider>>, InZone(_zone): InZone, body: Bytes) -> Response {
    if !provider.offers_registration() {
        return fallback().await;
    }
    match registration(&provider, &body) {
        Ok(answer) => (StatusCode::CREATED, no_store(), Json(answer)).into_response(),
        Err(error) => oauth_error(&error),
    }
}

fn registration(provider: &Provider, body: &[u8]) -> Result<Value, OAuthError> {
    let metadata: Value = serde_json::from_slice(body)
        .map_err(|error| OAuthError::new("invalid_client_metadata", format!("the body is not JSON: {error}")))?;
    let Some(requested) = metadata["redirect_uris"].as_array().filter(|uris| !uris.is_empty()) else {
        return Err(OAuthError::new("invalid_redirect_uri", "redirect_uris must be a non-empty array"));
    };
    let mut redirect_uris = Vec::new();
    for uri in requested {
        let parsed = uri.as_str().and_then(|text| Url::parse(text).ok());
        match parsed {
            Some(url) if is_loopback_redirect(&url) => redirect_uris.push(url),
            _ => {
                return Err(OAuthError::new(
                    "invalid_redirect_uri",
                    format!(
                        "{uri} is not a loopback redirect URI (http://127.0.0.1:<port>/… or http://[::1]:<port>/…)"
                    ),
                ))
            }
        }
    }
    match &metadata["token_endpoint_auth_method"] {
        Value::Null => {}
        Value::String(method) if method == "none" => {}
        other => {
            return Err(OAuthError::new(
                "invalid_client_metadata",
                format!("token_endpoint_auth_method {other} is not supported; only \"none\" (a public client)"),
            ))
        }
    }
    let grant_types = string_list(&metadata["grant_types"], &["authorization_code", "refresh_token"], "grant_types")?
        .unwrap_or_else(|| vec!["authorization_code".to_owned()]);
    let response_types =
        string_list(&metadata["response_types"], &["code"], "response_types")?.unwrap_or_else(|| vec!["code".into()]);
    let client_name = metadata["client_name"].as_str().map(str::to_owned);
    let uris: Vec<String> = redirect_uris.iter().map(Url::to_string).collect();
    let client_id = provider.register(redirect_uris)?;
    let mut answer = json!({
        "client_id": client_id,
        "client_id_issued_at": now_seconds(),
        "redirect_uris": uris,
        "token_endpoint_auth_method": "none",
        "grant_types": grant_types,
        "response_types": response_types,
    });
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
    use crate::scenario::Scenario;
    use crate::testing::{authorization, localhost_client, start};
    async fn register(issuer: &str, metadata: &Value) -> (u16, Value) {
        let response =
            localhost_client().post(format!("{issuer}/register")).json(metadata).send().await.expect("answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON"))
    }
    #[tokio::test]
    async fn registration_accepts_loopback_redirects_only() {
        let server = start(Scenario::default()).await;
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
        assert_eq!(client["redirect_uris"][0], "http://127.0.0.1:40123/callback", "the redirect URIs");

        for bad in ["https://example.com/callback", "http://localhost:4000/cb", "http://10.0.0.1/cb", "not a url"] {
            let (status, error) = register(&issuer, &json!({"redirect_uris": [bad]})).await;
            assert_eq!((status, error["error"].as_str()), (400, Some("invalid_redirect_uri")), "{bad} refused");
        }
        let (status, error) = register(
            &issuer,
            &json!({"redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "client_secret_basic"}),
        )
        .await;
        assert_eq!((status, error["error"].as_str()), (400, Some("invalid_client_metadata")), "public only");

        // The registered client may use another port (RFC 8252 §7.3) but not another path.
        let mut request = authorization(&issuer, "registered");
        let other_port = "http://127.0.0.1:51000/callback";
        let url = request.url.as_str().replace(BUILT_IN_CLIENT_ID, client_id).replace(
            &url::form_urlencoded::byte_serialize(request.redirect_uri.as_bytes()).collect::<String>(),
            &url::form_urlencoded::byte_serialize(other_port.as_bytes()).collect::<String>(),
        );
        request.url = Url::parse(&url).expect("URL");
        let callback = auto_login(&request.url, "einstein", "relativity").await.expect("another port is fine");
        assert_eq!(callback.port(), Some(51000), "the callback goes to the port asked for: {callback}");
        let wrong_path = Url::parse(&url.replace("%2Fcallback", "%2Felsewhere")).expect("URL");
        let refused = auto_login(&wrong_path, "einstein", "relativity").await;
        assert!(matches!(refused, Err(LookupError::AutoLogin(ref m)) if m.contains("not registered")), "{refused:?}");
        server.shutdown().await;
    }
}
