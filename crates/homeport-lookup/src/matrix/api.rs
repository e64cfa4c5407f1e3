//! The client-server API's shapes every Matrix server of the demo answers with: errors, well-known, versions,
//! login flows, and the parsed login request.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use url::Url;

/// The spec versions every server claims.
const SPEC_VERSIONS: [&str; 11] =
    ["v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v1.10", "v1.11"];
/// The portal's one SSO identity provider.
pub(crate) const SSO_IDP_ID: &str = "portal";
const SSO_IDP_NAME: &str = "Portal login";
/// What `retry_after_ms` tells a rate-limited client.
pub(crate) const RETRY_AFTER_MS: u64 = 400;

/// A Matrix error answer: `{"errcode", "error", …}` with its status.
#[derive(Debug, PartialEq)]
pub(crate) struct MatrixError {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
}

impl MatrixError {
    pub(crate) fn new(status: StatusCode, errcode: &str, error: impl Into<String>) -> MatrixError {
        MatrixError { status, body: json!({"errcode": errcode, "error": error.into()}) }
    }

    /// Wrong password, unknown user, or a user this homeserver does not own: one answer for all, as Synapse gives.
    pub(crate) fn forbidden() -> MatrixError {
        MatrixError::new(StatusCode::FORBIDDEN, "M_FORBIDDEN", "Invalid username or password")
    }

    pub(crate) fn invalid_login_token() -> MatrixError {
        MatrixError::new(StatusCode::FORBIDDEN, "M_FORBIDDEN", "Invalid login token")
    }

    pub(super) fn deactivated() -> MatrixError {
        MatrixError::new(StatusCode::FORBIDDEN, "M_USER_DEACTIVATED", "This account has been deactivated")
    }

    pub(super) fn limit_exceeded() -> MatrixError {
        let mut error = MatrixError::new(StatusCode::TOO_MANY_REQUESTS, "M_LIMIT_EXCEEDED", "Too many requests");
        error.body["retry_after_ms"] = Value::from(RETRY_AFTER_MS);
        error
    }

    pub(super) fn bad_json(error: impl Into<String>) -> MatrixError {
        MatrixError::new(StatusCode::BAD_REQUEST, "M_BAD_JSON", error)
    }

    pub(super) fn missing_token() -> MatrixError {
        MatrixError::new(StatusCode::UNAUTHORIZED, "M_MISSING_TOKEN", "Missing access token")
    }

    /// An unknown token; `soft_logout` when it was valid but expired (the client may refresh).
    pub(super) fn unknown_token(soft_logout: bool) -> MatrixError {
        let message = if soft_logout { "Access token has expired" } else { "Unknown access token" };
        let mut error = MatrixError::new(StatusCode::UNAUTHORIZED, "M_UNKNOWN_TOKEN", message);
        error.body["soft_logout"] = Value::from(soft_logout);
        error
    }

    pub(super) fn too_many(what: &str) -> MatrixError {
        MatrixError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "M_UNKNOWN",
            format!("too many {what}; restart the lookup server"),
        )
    }

    pub(super) fn no_randomness(error: &getrandom::Error) -> MatrixError {
        MatrixError::new(StatusCode::INTERNAL_SERVER_ERROR, "M_UNKNOWN", format!("no randomness: {error}"))
    }
}

impl IntoResponse for MatrixError {
    fn into_response(self) -> Response {
        json_response(self.status, self.body)
    }
}

/// A JSON answer no cache keeps (login answers carry tokens).
pub(crate) fn json_response(status: StatusCode, body: Value) -> Response {
    (status, [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))], Json(body)).into_response()
}

/// Anything the servers do not know: `404 M_UNRECOGNIZED`.
pub(crate) async fn unrecognized() -> Response {
    MatrixError::new(StatusCode::NOT_FOUND, "M_UNRECOGNIZED", "Unrecognized request").into_response()
}

/// A known endpoint asked with a method it does not take: `405 M_UNRECOGNIZED`, as the spec says.
pub(crate) async fn method_not_allowed() -> Response {
    MatrixError::new(StatusCode::METHOD_NOT_ALLOWED, "M_UNRECOGNIZED", "Unrecognized request").into_response()
}

/// `GET /.well-known/matrix/client` of a server at `base`.
pub(crate) fn well_known(base: &Url) -> Value {
    json!({"m.homeserver": {"base_url": without_slash(base)}})
}

/// `GET /_matrix/client/versions`.
pub(crate) fn versions() -> Value {
    json!({"versions": SPEC_VERSIONS, "unstable_features": {}})
}

/// `GET /_matrix/client/v3/login`: password and token everywhere, SSO only at the portals.
pub(crate) fn login_flows(with_sso: bool) -> Value {
    let mut flows = vec![json!({"type": "m.login.password"})];
    if with_sso {
        flows.push(json!({
            "type": "m.login.sso",
            "identity_providers": [{"id": SSO_IDP_ID, "name": SSO_IDP_NAME}],
        }));
    }
    flows.push(json!({"type": "m.login.token"}));
    json!({"flows": flows})
}

/// A base URL without its trailing slash, as `m.homeserver.base_url` is written.
pub(crate) fn without_slash(base: &Url) -> &str {
    base.as_str().trim_end_matches('/')
}

/// `host:port` of a base URL: a homeserver's server name.
pub(crate) fn authority(base: &Url) -> String {
    let host = base.host_str().unwrap_or_default();
    match base.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// What a `POST /login` asks for. Not `Debug`: it holds the password.
pub(crate) enum LoginKind {
    /// `m.login.password` with an `m.id.user` identifier (a localpart or a full user id).
    Password { user: String, password: String },
    /// `m.login.token` (the SSO login token).
    Token { token: String },
}

/// A parsed `POST /login` body.
pub(crate) struct LoginRequest {
    pub(crate) kind: LoginKind,
    pub(super) device_id: Option<String>,
    /// `initial_device_display_name`, the device's name in the devices list.
    pub(super) display_name: Option<String>,
    pub(super) refresh_token: bool,
}

impl LoginRequest {
    /// Parses the body in the order Synapse checks it: JSON, `type`, then the fields that type needs.
    pub(crate) fn parse(body: &[u8]) -> Result<LoginRequest, MatrixError> {
        let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
            return Err(MatrixError::new(StatusCode::BAD_REQUEST, "M_NOT_JSON", "Content not JSON."));
        };
        let string = |fields: &Map<String, Value>, name: &str| -> Result<String, MatrixError> {
            fields
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| MatrixError::bad_json(format!("{name} must be a string")))
        };
        let kind = match fields.get("type").and_then(Value::as_str) {
            Some("m.login.password") => {
                let user = match fields.get("identifier") {
                    Some(Value::Object(identifier)) => {
                        if identifier.get("type").and_then(Value::as_str) != Some("m.id.user") {
                            return Err(MatrixError::new(
                                StatusCode::BAD_REQUEST,
                                "M_UNKNOWN",
                                "Unknown login identifier type",
                            ));
                        }
                        string(identifier, "user")?
                    }
                    Some(_) => return Err(MatrixError::bad_json("identifier must be an object")),
                    // The deprecated top-level `user` of r0 clients.
                    None => string(&fields, "user")?,
                };
                LoginKind::Password { user, password: string(&fields, "password")? }
            }
            Some("m.login.token") => LoginKind::Token { token: string(&fields, "token")? },
            Some(other) => {
                return Err(MatrixError::new(
                    StatusCode::BAD_REQUEST,
                    "M_UNKNOWN",
                    format!("Unknown login type {other}"),
                ))
            }
            None => return Err(MatrixError::new(StatusCode::BAD_REQUEST, "M_UNKNOWN", "Missing login type")),
        };
        let device_id = match fields.get("device_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) if !id.is_empty() => Some(id.clone()),
            Some(_) => return Err(MatrixError::bad_json("device_id must be a non-empty string")),
        };
        let display_name = match fields.get("initial_device_display_name") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => Some(name.clone()),
            Some(_) => return Err(MatrixError::bad_json("initial_device_display_name must be a string")),
        };
        let refresh_token = match fields.get("refresh_token") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(wanted)) => *wanted,
            Some(_) => return Err(MatrixError::bad_json("refresh_token must be a boolean")),
        };
        Ok(LoginRequest { kind, device_id, display_name, refresh_token })
    }
}

/// Adds the fields of the object `extra` to the object `target`.
pub(crate) fn merge(target: &mut Value, extra: Value) {
    if let (Value::Object(target), Value::Object(extra)) = (target, extra) {
        target.extend(extra);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_bodies_parse_strictly() {
        let parse = |body: &str| LoginRequest::parse(body.as_bytes()).err().map(|error| error.body["errcode"].clone());
        assert_eq!(parse("not json"), Some(Value::from("M_NOT_JSON")), "bad JSON");
        assert_eq!(parse("[1]"), Some(Value::from("M_NOT_JSON")), "JSON but no object");
        assert_eq!(parse(r#"{"type":"m.login.magic"}"#), Some(Value::from("M_UNKNOWN")), "unknown type");
        assert_eq!(parse("{}"), Some(Value::from("M_UNKNOWN")), "no type");
        assert_eq!(
            parse(r#"{"type":"m.login.password","identifier":{"type":"m.id.phone","user":"x"},"password":"p"}"#),
            Some(Value::from("M_UNKNOWN")),
            "only m.id.user identifiers"
        );
        assert_eq!(
            parse(r#"{"type":"m.login.password","identifier":{"type":"m.id.user","user":"x"}}"#),
            Some(Value::from("M_BAD_JSON")),
            "a password is required"
        );
        assert_eq!(parse(r#"{"type":"m.login.token"}"#), Some(Value::from("M_BAD_JSON")), "a token is required");
        let legacy = LoginRequest::parse(br#"{"type":"m.login.password","user":"alice","password":"p"}"#)
            .expect("the deprecated top-level user is accepted");
        assert!(matches!(legacy.kind, LoginKind::Password { ref user, .. } if user == "alice"), "its user");
        assert!(!legacy.refresh_token, "no refresh token unless asked for");
    }
}
