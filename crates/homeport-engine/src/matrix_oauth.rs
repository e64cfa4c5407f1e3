//! Matrix's OAuth 2.0 API (spec v1.15, "OAuth 2.0 API"; docs/protocols/matrix-oauth.md), sans
//! I/O: the homeserver's authorization server metadata (`auth_metadata`, and MSC2965's unstable
//! path), the client metadata Homeport registers with (RFC 7591 with the Matrix fields), the
//! Matrix scopes with a new device id, the MSC4198 `login_hint`, and the token forms.

use serde::Deserialize;
use serde_json::json;
use url::Url;

use crate::error::{quoting, ConnectError};

/// Where a homeserver publishes its authorization server (spec v1.15).
pub const AUTH_METADATA_PATH: &str = "_matrix/client/v1/auth_metadata";
/// The same under MSC2965's unstable prefix, for servers that predate the stable path.
pub const UNSTABLE_AUTH_METADATA_PATH: &str = "_matrix/client/unstable/org.matrix.msc2965/auth_metadata";
/// Access to the whole client-server API.
pub const API_SCOPE: &str = "urn:matrix:client:api:*";
/// Followed by the device id the login creates.
pub const DEVICE_SCOPE_PREFIX: &str = "urn:matrix:client:device:";
/// What Homeport says it is to the authorization server (and the person, on its consent page).
pub const CLIENT_NAME: &str = "Homeport";
/// The client's home page: `client_uri` must be https, and the server shows it on its consent page.
pub const CLIENT_URI: &str = "https://github.com/homeport-app/homeport";

/// The parts of a homeserver's authorization server metadata Homeport uses (RFC 8414 fields, as
/// the Matrix spec requires them).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct AuthMetadata {
    pub issuer: String,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    #[serde(default)]
    pub registration_endpoint: Option<Url>,
    #[serde(default)]
    pub revocation_endpoint: Option<Url>,
    /// The server's page where the person manages their account and devices.
    #[serde(default)]
    pub account_management_uri: Option<Url>,
    #[serde(default)]
    pub response_modes_supported: Vec<String>,
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    #[serde(default)]
    pub grant_types_supported: Vec<String>,
    /// RFC 9207: the server names itself (`iss`) in every authorization response.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

fn invalid(url: &Url, reason: impl Into<String>) -> ConnectError {
    ConnectError::InvalidResponse { url: url.to_string(), what: "Matrix auth_metadata answer", reason: reason.into() }
}

impl AuthMetadata {
    /// Every endpoint the metadata names (each passes the https rule before it is used).
    pub fn endpoints(&self) -> Vec<&Url> {
        let optional = [&self.registration_endpoint, &self.revocation_endpoint];
        [&self.authorization_endpoint, &self.token_endpoint].into_iter().chain(optional.into_iter().flatten()).collect()
    }

    /// Parses `auth_metadata` and checks what Homeport relies on: http(s) endpoints, PKCE with
    /// S256, the authorization code grant, and a response mode a loopback listener receives.
    pub fn parse(url: &Url, body: &[u8]) -> Result<AuthMetadata, ConnectError> {
        let metadata: AuthMetadata = serde_json::from_slice(body).map_err(|e| invalid(url, quoting(&e, body)))?;
        if let Some(bad) =
            metadata.endpoints().into_iter().find(|endpoint| !matches!(endpoint.scheme(), "http" | "https"))
        {
            return Err(invalid(url, format!("the endpoint {bad} is not an http(s) URL")));
        }
        if !metadata.code_challenge_methods_supported.iter().any(|method| method == "S256") {
            return Err(invalid(url, "the server does not offer PKCE with S256, which the Matrix spec requires"));
        }
        if !metadata.grant_types_supported.is_empty()
            && !metadata.grant_types_supported.iter().any(|grant| grant == "authorization_code")
        {
            return Err(invalid(url, "the server does not offer the authorization code grant"));
        }
        // The browser comes back to a loopback listener: only a query reaches it (a fragment
        // stays in the browser). An empty list means the RFC 8414 default, query and fragment.
        if !metadata.response_modes_supported.is_empty()
            && !metadata.response_modes_supported.iter().any(|m| m == "query")
        {
            return Err(invalid(url, "the server does not offer response_mode=query, which a desktop app needs"));
        }
        Ok(metadata)
    }

    /// The account management page, if the server names one (and it is a web page).
    pub fn account_management(&self) -> Option<String> {
        self.account_management_uri.as_ref().filter(|uri| matches!(uri.scheme(), "http" | "https")).map(Url::to_string)
    }
}

/// RFC 7591 registration with the Matrix spec's client metadata: a native public client with a
/// loopback redirect, the authorization code and refresh token grants. The loopback redirect is
/// registered without its port (RFC 8252 §7.3, as the Matrix spec asks): the server then accepts
/// any port, so a remembered client still works when the next login's listener gets another one.
pub fn registration_body(redirect_uri: &Url) -> serde_json::Value {
    let mut redirect_uri = redirect_uri.clone();
    if matches!(redirect_uri.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(redirect_uri.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
    {
        let _ = redirect_uri.set_port(None);
    }
    json!({
        "client_name": CLIENT_NAME,
        "client_uri": CLIENT_URI,
        "application_type": "native",
        "redirect_uris": [redirect_uri.as_str()],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
    })
}

/// A new device id: ten capital letters and digits, from the random state generator.
pub fn new_device_id() -> String {
    let random = oauth2::CsrfToken::new_random_len(32);
    random.secret().chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).take(10).collect()
}

/// The scopes of a login creating `device_id`: the whole client API, and the device.
pub fn scopes(device_id: &str) -> Vec<String> {
    vec![API_SCOPE.to_owned(), format!("{DEVICE_SCOPE_PREFIX}{device_id}")]
}

/// MSC4198's `login_hint` for a typed Matrix ID (`mxid:@alice:example.org`); anything else is
/// no hint.
pub fn login_hint(typed: &str) -> Option<String> {
    let typed = typed.trim();
    (typed.starts_with('@') && typed.contains(':')).then(|| format!("mxid:{typed}"))
}

/// `POST /_matrix/client/v3/refresh` (spec v1.3) for a password login's refresh token.
pub fn refresh_body(refresh_token: &str) -> Vec<u8> {
    json!({ "refresh_token": refresh_token }).to_string().into_bytes()
}

/// The answer to `/refresh`: a new access token and, when the server rotates it, a new refresh token.
pub fn refresh_answer(url: &Url, body: &[u8]) -> Result<(String, Option<String>), ConnectError> {
    #[derive(Deserialize)]
    struct Refreshed {
        access_token: String,
        #[serde(default)]
        refresh_token: Option<String>,
    }
    let refreshed: Refreshed = serde_json::from_slice(body).map_err(|e| ConnectError::InvalidResponse {
        url: url.to_string(),
        what: "Matrix refresh answer",
        reason: quoting(&e, body),
    })?;
    Ok((refreshed.access_token, refreshed.refresh_token))
}

/// RFC 7009 revocation form for a public client.
pub fn revocation_form(token: &str, hint: &str, client_id: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("token", token)
        .append_pair("token_type_hint", hint)
        .append_pair("client_id", client_id)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("http://127.0.0.1:4000/_matrix/client/v1/auth_metadata").expect("url")
    }

    fn metadata(extra: serde_json::Value) -> Vec<u8> {
        let mut base = json!({
            "issuer": "https://auth.example.org/",
            "authorization_endpoint": "https://auth.example.org/authorize",
            "token_endpoint": "https://auth.example.org/oauth2/token",
            "registration_endpoint": "https://auth.example.org/oauth2/registration",
            "revocation_endpoint": "https://auth.example.org/oauth2/revoke",
            "account_management_uri": "https://auth.example.org/account/",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "fragment"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
        });
        for (key, value) in extra.as_object().expect("object") {
            base[key] = value.clone();
        }
        base.to_string().into_bytes()
    }

    #[test]
    fn metadata_is_read_and_checked() {
        let read = AuthMetadata::parse(&url(), &metadata(json!({}))).expect("metadata");
        assert_eq!(read.issuer, "https://auth.example.org/");
        assert_eq!(read.endpoints().len(), 4, "authorize, token, registration, revocation");
        assert_eq!(read.account_management().as_deref(), Some("https://auth.example.org/account/"));
        let no_s256 = AuthMetadata::parse(&url(), &metadata(json!({"code_challenge_methods_supported": ["plain"]})));
        assert!(no_s256.is_err(), "PKCE S256 is required");
        let fragment_only = AuthMetadata::parse(&url(), &metadata(json!({"response_modes_supported": ["fragment"]})));
        assert!(fragment_only.is_err(), "a loopback listener never sees a fragment");
        let script = AuthMetadata::parse(&url(), &metadata(json!({"token_endpoint": "javascript:alert(1)"})));
        assert!(script.is_err(), "endpoints are http(s)");
        assert!(AuthMetadata::parse(&url(), br#"{"errcode":"M_UNRECOGNIZED"}"#).is_err(), "no metadata");
        let page = AuthMetadata::parse(&url(), &metadata(json!({"account_management_uri": "file:///etc/passwd"})));
        assert_eq!(page.expect("still metadata").account_management(), None, "only a web page is linked");
    }

    #[test]
    fn registration_scopes_and_hint() {
        let redirect = Url::parse("http://127.0.0.1:5000/homeport/callback").expect("url");
        let body = registration_body(&redirect);
        assert_eq!(body["application_type"], "native");
        assert_eq!(body["token_endpoint_auth_method"], "none", "a public client");
        assert_eq!(body["redirect_uris"][0], "http://127.0.0.1/homeport/callback", "a loopback redirect, any port");
        assert!(body["client_uri"].as_str().is_some_and(|uri| uri.starts_with("https://")), "client_uri is https");
        let device = new_device_id();
        assert_eq!(device.len(), 10, "{device}");
        assert!(device.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()), "{device}");
        assert_ne!(device, new_device_id(), "random");
        assert_eq!(scopes("ABC"), ["urn:matrix:client:api:*", "urn:matrix:client:device:ABC"]);
        assert_eq!(login_hint("@alice:example.org").as_deref(), Some("mxid:@alice:example.org"));
        assert_eq!(login_hint("alice"), None, "not a Matrix ID");
        let form = revocation_form("t&1", "refresh_token", "client");
        assert_eq!(form, "token=t%261&token_type_hint=refresh_token&client_id=client");
        let (access, refresh) =
            refresh_answer(&url(), br#"{"access_token":"a","refresh_token":"r","expires_in_ms":60000}"#)
                .expect("refresh answer");
        assert_eq!((access.as_str(), refresh.as_deref()), ("a", Some("r")));
    }
}
