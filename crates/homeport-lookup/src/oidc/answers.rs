//! What every endpoint of the provider shares: the zone a request is for, and the shapes of its answers.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use url::Url;

use super::{page, OAuthError, Provider, Zone};
use crate::host::RequestHost;

pub(super) async fn fallback() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"error": "not_found"}))).into_response()
}

/// The identity zone named by the request's host; other hosts get a 404.
pub(crate) struct InZone(pub(crate) Zone);

impl FromRequestParts<Arc<Provider>> for InZone {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, provider: &Arc<Provider>) -> Result<InZone, Response> {
        let host = RequestHost::of(&parts.headers, &parts.uri);
        match host.as_ref().and_then(|host| provider.zone_for_host(host)) {
            Some(zone) => Ok(InZone(zone)),
            None => {
                let named = host.map(|host| host.authority()).unwrap_or_default();
                Err((
                    StatusCode::NOT_FOUND,
                    Json(json!({
                        "error": "unknown_zone",
                        "error_description": format!("no identity zone is served at host {named:?}"),
                    })),
                )
                    .into_response())
            }
        }
    }
}

pub(super) fn found(location: &Url) -> Response {
    match HeaderValue::from_str(location.as_str()) {
        Ok(value) => (StatusCode::FOUND, no_store(), [(header::LOCATION, value)]).into_response(),
        // A parsed URL is always a valid header value; refuse rather than send a broken Location.
        Err(_) => page::html(StatusCode::BAD_REQUEST, page::error("Error", "invalid redirect URI")),
    }
}

pub(crate) fn unauthorized(challenge: String) -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": "invalid_token", "error_description": "a valid bearer access token is required"})),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// An OAuth error answer; a `401` (`invalid_client`) carries a `Basic` challenge (RFC 6749 §5.2).
pub(super) fn oauth_error(error: &OAuthError) -> Response {
    let mut response = (error.status, no_store(), Json(error.body())).into_response();
    if error.status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"token\""));
    }
    response
}

/// RFC 6749 §5.1: token answers must not be cached.
pub(super) fn no_store() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}
