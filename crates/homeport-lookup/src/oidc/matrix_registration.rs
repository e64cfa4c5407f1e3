//! RFC 7591 registration at the Matrix zone, with the Matrix spec's client metadata rules ("Client registration"),
//! as MAS checks them: open to anyone, for `application_type: native` public clients (`token_endpoint_auth_method:
//! none`) with loopback `http` redirect URIs; `client_uri`, `logo_uri`, `tos_uri` and `policy_uri` https, the
//! others on `client_uri`'s host or under it; grant and response types the server does not know are ignored.

use serde_json::{json, Map, Value};
use url::Url;

use super::clients::{AuthMethod, Client, Redirects};
use super::{now_seconds, random_token, OAuthError, Provider, Zone};
use crate::scenario::Fault;

/// The grant types a Matrix client may register (the spec: `authorization_code` and `refresh_token`).
const GRANT_TYPES: [&str; 2] = ["authorization_code", "refresh_token"];

fn invalid(description: impl Into<String>) -> OAuthError {
    OAuthError::new("invalid_client_metadata", description)
}

/// Registers a Matrix client from `body`; the answer echoes what was registered, with the `client_id`.
pub(super) fn register_matrix_client(provider: &Provider, body: &[u8]) -> Result<Value, OAuthError> {
    if provider.fault == Some(Fault::MatrixOauthRegistrationRefused) {
        return Err(invalid("the server's policy refuses this client (fault matrix-oauth-registration-refused)"));
    }
    let Ok(Value::Object(metadata)) = serde_json::from_slice::<Value>(body) else {
        return Err(invalid("the body is not a JSON object"));
    };
    let text = |name: &str| -> Result<Option<&str>, OAuthError> {
        match metadata.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(value)) => Ok(Some(value.as_str())),
            Some(_) => Err(invalid(format!("{name} must be a string"))),
        }
    };
    // OpenID Connect Registration §2: without application_type a client is a web client, whose redirect URIs are
    // https; this server serves native clients only.
    match text("application_type")? {
        Some("native") => {}
        other => {
            return Err(invalid(format!(
                "application_type {} is not supported: register a native client (\"application_type\": \"native\")",
                other.map_or_else(|| "(missing: web)".to_owned(), |value| format!("{value:?}"))
            )))
        }
    }
    match text("token_endpoint_auth_method")? {
        Some("none") => {}
        other => {
            return Err(invalid(format!(
                "token_endpoint_auth_method {} is not supported: Matrix clients are public (\"none\")",
                other.map_or_else(|| "(missing: client_secret_basic)".to_owned(), |value| format!("{value:?}"))
            )))
        }
    }
    let client_uri = https_uri(text("client_uri")?, "client_uri", None)?;
    let client_host = client_uri.as_ref().and_then(|uri| uri.host_str().map(str::to_owned));
    let mut echoed = Map::new();
    for name in ["logo_uri", "tos_uri", "policy_uri"] {
        if let Some(uri) = https_uri(text(name)?, name, client_host.as_deref())? {
            echoed.insert(name.to_owned(), Value::from(uri.as_str()));
        }
    }
    let redirect_uris = redirect_uris(metadata.get("redirect_uris"))?;
    let grant_types = known_values(metadata.get("grant_types"), &GRANT_TYPES, "authorization_code", "grant_types")?;
    let response_types = known_values(metadata.get("response_types"), &["code"], "code", "response_types")?;
    if !grant_types.iter().any(|grant| grant == "authorization_code") || response_types.is_empty() {
        return Err(invalid("a Matrix client logs in with the authorization code grant and response type code"));
    }
    let client_name = text("client_name")?.map(str::to_owned);
    let client_id = random_token(12)?;
    provider.register(
        Zone::Matrix,
        Client {
            id: client_id.clone(),
            name: client_name.clone().unwrap_or_else(|| client_id.clone()),
            secret: None,
            methods: vec![AuthMethod::None],
            redirects: Redirects::AnyPort(redirect_uris.clone()),
        },
    )?;
    let mut answer = json!({
        "client_id": client_id,
        "client_id_issued_at": now_seconds(),
        "application_type": "native",
        "redirect_uris": redirect_uris.iter().map(Url::as_str).collect::<Vec<_>>(),
        "token_endpoint_auth_method": "none",
        "grant_types": grant_types,
        "response_types": response_types,
    });
    if let Some(name) = client_name {
        answer["client_name"] = Value::from(name);
    }
    if let Some(uri) = client_uri {
        answer["client_uri"] = Value::from(uri.as_str());
    }
    if let Value::Object(fields) = &mut answer {
        fields.extend(echoed);
    }
    Ok(answer)
}

/// An optional https URI without user or password; with `host`, on that host or a subdomain of it (the spec: the
/// client URI is the common base of the others).
fn https_uri(text: Option<&str>, name: &str, host: Option<&str>) -> Result<Option<Url>, OAuthError> {
    let Some(text) = text else { return Ok(None) };
    let uri = Url::parse(text).map_err(|error| invalid(format!("{name} is not a URL: {error}")))?;
    if uri.scheme() != "https" || !uri.username().is_empty() || uri.password().is_some() {
        return Err(invalid(format!("{name} must be an https URL without user or password")));
    }
    if let (Some(base), Some(own)) = (host, uri.host_str()) {
        if own != base && !own.ends_with(&format!(".{base}")) {
            return Err(invalid(format!("{name} must be on {base} (client_uri's host) or under it, not {own}")));
        }
    }
    Ok(Some(uri))
}

/// The redirect URIs: at least one, each an `http` URI on `localhost`, `127.0.0.1` or `[::1]`, without fragment
/// or user (the spec's native loopback URIs; any port is accepted at the authorization endpoint).
fn redirect_uris(value: Option<&Value>) -> Result<Vec<Url>, OAuthError> {
    let refused = |uri: &str| {
        OAuthError::new(
            "invalid_redirect_uri",
            format!("{uri} is not a loopback redirect URI (http://127.0.0.1/…, http://[::1]/… or http://localhost/…)"),
        )
    };
    let Some(uris) = value.and_then(Value::as_array).filter(|uris| !uris.is_empty()) else {
        return Err(OAuthError::new("invalid_redirect_uri", "redirect_uris must be a non-empty array"));
    };
    uris.iter()
        .map(|uri| {
            let text = uri.as_str().unwrap_or_default();
            let parsed = Url::parse(text).map_err(|_| refused(text))?;
            let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
            let plain = parsed.scheme() == "http" && parsed.fragment().is_none() && parsed.username().is_empty();
            if loopback && plain && parsed.password().is_none() {
                Ok(parsed)
            } else {
                Err(refused(text))
            }
        })
        .collect()
}

/// The values of an optional array of strings this server knows (the spec: others are ignored); `default` when
/// the field is missing (RFC 7591 §2).
fn known_values(value: Option<&Value>, known: &[&str], default: &str, name: &str) -> Result<Vec<String>, OAuthError> {
    match value {
        None | Some(Value::Null) => Ok(vec![default.to_owned()]),
        Some(Value::Array(items)) => {
            let mut values: Vec<String> = Vec::new();
            for item in items {
                let item = item.as_str().ok_or_else(|| invalid(format!("{name} must be an array of strings")))?;
                if known.contains(&item) && !values.iter().any(|value| value == item) {
                    values.push(item.to_owned());
                }
            }
            Ok(values)
        }
        Some(_) => Err(invalid(format!("{name} must be an array of strings"))),
    }
}
