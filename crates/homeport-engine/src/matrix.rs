//! Matrix client-server wire formats (MSC1730 portal login,
//! docs/protocols/matrix-msc1730.md), sans I/O: server discovery
//! (`.well-known/matrix/client`, `/versions`), login flows, the login request and answer
//! (with the portal's `well_known` / `base_cs_url`), errors and `whoami`.

use serde::Deserialize;
use serde_json::json;
use url::Url;

use crate::address::ServerUrl;
use crate::error::{quoting, ConnectError};

pub const WELL_KNOWN_PATH: &str = ".well-known/matrix/client";
pub const VERSIONS_PATH: &str = "_matrix/client/versions";
pub const LOGIN_PATH: &str = "_matrix/client/v3/login";
pub const REFRESH_PATH: &str = "_matrix/client/v3/refresh";
pub const LOGOUT_PATH: &str = "_matrix/client/v3/logout";
pub const WHOAMI_PATH: &str = "_matrix/client/v3/account/whoami";
pub const SSO_REDIRECT_PATH: &str = "_matrix/client/v3/login/sso/redirect";
/// Followed by the user id as one path segment.
pub const PROFILE_PATH: &str = "_matrix/client/v3/profile/";
/// What the homeserver shows in the person's device list.
pub const DEVICE_DISPLAY_NAME: &str = "Homeport";

fn invalid(url: &Url, what: &'static str, reason: impl Into<String>) -> ConnectError {
    ConnectError::InvalidResponse { url: url.to_string(), what, reason: reason.into() }
}

fn parse_json<T: for<'de> Deserialize<'de>>(url: &Url, body: &[u8], what: &'static str) -> Result<T, ConnectError> {
    serde_json::from_slice(body).map_err(|e| invalid(url, what, quoting(&e, body)))
}

#[derive(Deserialize)]
struct HomeserverInfo {
    base_url: String,
}

#[derive(Deserialize)]
struct WellKnown {
    #[serde(rename = "m.homeserver")]
    homeserver: Option<HomeserverInfo>,
}

/// A base URL a Matrix server named (well-known, a login answer), as a server URL. Plain http is
/// left to the redirect/plain-http rules of the caller; only the form is checked here.
fn base_url(url: &Url, text: &str, what: &'static str) -> Result<ServerUrl, ConnectError> {
    let parsed = Url::parse(text.trim()).map_err(|e| invalid(url, what, format!("base URL {text:?}: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(invalid(url, what, format!("base URL {text:?} is not an http(s) URL")));
    }
    ServerUrl::from_url(parsed).map_err(|e| invalid(url, what, format!("base URL {text:?}: {e}")))
}

/// `m.homeserver.base_url` of `/.well-known/matrix/client` (Matrix spec, client discovery).
pub fn homeserver_from_well_known(url: &Url, body: &[u8]) -> Result<ServerUrl, ConnectError> {
    let known: WellKnown = parse_json(url, body, "Matrix well-known document")?;
    let info = known.homeserver.ok_or_else(|| invalid(url, "Matrix well-known document", "no m.homeserver"))?;
    base_url(url, &info.base_url, "Matrix well-known document")
}

/// The client-server API versions a server supports; an empty list is not a Matrix server.
pub fn versions(url: &Url, body: &[u8]) -> Result<Vec<String>, ConnectError> {
    #[derive(Deserialize)]
    struct Versions {
        versions: Vec<String>,
    }
    let versions: Versions = parse_json(url, body, "Matrix versions answer")?;
    if versions.versions.is_empty() {
        return Err(invalid(url, "Matrix versions answer", "it lists no client-server API version"));
    }
    Ok(versions.versions)
}

/// The login flows a server offers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoginFlows {
    pub password: bool,
    pub sso: bool,
    pub token: bool,
}

pub fn login_flows(url: &Url, body: &[u8]) -> Result<LoginFlows, ConnectError> {
    #[derive(Deserialize)]
    struct Flow {
        #[serde(rename = "type")]
        kind: String,
    }
    #[derive(Deserialize)]
    struct Flows {
        flows: Vec<Flow>,
    }
    let flows: Flows = parse_json(url, body, "Matrix login flows")?;
    let has = |kind: &str| flows.flows.iter().any(|flow| flow.kind == kind);
    Ok(LoginFlows { password: has("m.login.password"), sso: has("m.login.sso"), token: has("m.login.token") })
}

/// `POST /login` with a password, asking for a refresh token (spec v1.3+).
pub fn password_login_body(user: &str, password: &str) -> Vec<u8> {
    json!({
        "type": "m.login.password",
        "identifier": { "type": "m.id.user", "user": user },
        "password": password,
        "initial_device_display_name": DEVICE_DISPLAY_NAME,
        "refresh_token": true,
    })
    .to_string()
    .into_bytes()
}

/// `POST /login` with the `loginToken` an SSO login brought back.
pub fn token_login_body(token: &str) -> Vec<u8> {
    json!({
        "type": "m.login.token",
        "token": token,
        "initial_device_display_name": DEVICE_DISPLAY_NAME,
        "refresh_token": true,
    })
    .to_string()
    .into_bytes()
}

/// A successful login answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginAnswer {
    pub user_id: String,
    pub device_id: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// Where the client must go from now on: `well_known.m.homeserver.base_url` (the spec's form),
    /// else MSC1730's original `base_cs_url`; `None` means: stay.
    pub base: Option<ServerUrl>,
}

pub fn login_answer(url: &Url, body: &[u8]) -> Result<LoginAnswer, ConnectError> {
    #[derive(Deserialize)]
    struct Answer {
        user_id: String,
        access_token: String,
        #[serde(default)]
        device_id: String,
        #[serde(default)]
        refresh_token: Option<String>,
        #[serde(default)]
        well_known: Option<WellKnown>,
        #[serde(default)]
        base_cs_url: Option<String>,
    }
    let answer: Answer = parse_json(url, body, "Matrix login answer")?;
    if !answer.user_id.starts_with('@') || !answer.user_id.contains(':') {
        return Err(invalid(url, "Matrix login answer", format!("{:?} is not a Matrix user id", answer.user_id)));
    }
    let spec_base = answer.well_known.and_then(|known| known.homeserver).map(|info| info.base_url);
    let base = match spec_base.or(answer.base_cs_url) {
        Some(text) => Some(base_url(url, &text, "Matrix login answer")?),
        None => None,
    };
    Ok(LoginAnswer {
        user_id: answer.user_id,
        device_id: answer.device_id,
        access_token: answer.access_token,
        refresh_token: answer.refresh_token,
        base,
    })
}

/// A Matrix error answer: `{"errcode": "M_FORBIDDEN", "error": "…", "retry_after_ms": …}`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct MatrixError {
    pub errcode: String,
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub retry_after_ms: Option<u64>,
}

/// The Matrix error in a non-2xx answer, if the body is one.
pub fn error_of(body: &[u8]) -> Option<MatrixError> {
    serde_json::from_slice::<MatrixError>(body).ok().filter(|error| error.errcode.starts_with("M_"))
}

/// `whoami`: the user (and device) the access token belongs to.
pub fn whoami(url: &Url, body: &[u8]) -> Result<(String, Option<String>), ConnectError> {
    #[derive(Deserialize)]
    struct WhoAmI {
        user_id: String,
        #[serde(default)]
        device_id: Option<String>,
    }
    let who: WhoAmI = parse_json(url, body, "Matrix whoami answer")?;
    Ok((who.user_id, who.device_id))
}

/// `displayname` of a profile answer, if set.
pub fn display_name(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value
        .get("displayname")
        .and_then(|name| name.as_str())
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
}

/// The SSO start page for a loopback `redirect_uri` (Matrix spec, client login via SSO).
pub fn sso_redirect_url(base: &ServerUrl, redirect_uri: &Url) -> Url {
    let mut url = base.join(SSO_REDIRECT_PATH);
    url.query_pairs_mut().append_pair("redirectUrl", redirect_uri.as_str());
    url
}

/// The `loginToken` from the browser's return to the loopback listener.
pub fn login_token_from_callback(target: &str) -> Result<crate::secret::Secret, ConnectError> {
    let url = Url::parse("http://127.0.0.1/")
        .and_then(|base| base.join(target))
        .map_err(|_| ConnectError::LoginRefused { reason: "the browser returned an unreadable address".into() })?;
    url.query_pairs()
        .find(|(name, _)| name == "loginToken")
        .map(|(_, token)| token.into_owned())
        .filter(|token| !token.is_empty())
        .map(crate::secret::Secret::new)
        .ok_or_else(|| ConnectError::LoginRefused { reason: "the browser came back without a login token".into() })
}

/// The localpart of a Matrix user id (`@alice:example.org` → `alice`).
pub fn localpart(user_id: &str) -> &str {
    user_id.trim_start_matches('@').split(':').next().unwrap_or(user_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("http://127.0.0.1:4000/_matrix/client/v3/login").expect("url")
    }

    #[test]
    fn well_known_and_versions() {
        let body = br#"{"m.homeserver":{"base_url":"https://matrix.example.org"},"m.identity_server":{}}"#;
        let base = homeserver_from_well_known(&url(), body).expect("base");
        assert_eq!(base.as_url().as_str(), "https://matrix.example.org/");
        assert!(homeserver_from_well_known(&url(), br#"{"m.homeserver":{"base_url":"ftp://x"}}"#).is_err());
        assert!(homeserver_from_well_known(&url(), br#"{}"#).is_err(), "no m.homeserver");
        assert_eq!(versions(&url(), br#"{"versions":["v1.1","v1.11"]}"#).expect("ok").len(), 2);
        assert!(versions(&url(), br#"{"versions":[]}"#).is_err(), "no versions: not Matrix");
        assert!(versions(&url(), b"<html>").is_err(), "HTML is not Matrix");
    }

    #[test]
    fn flows_and_login_bodies() {
        let flows = login_flows(
            &url(),
            br#"{"flows":[{"type":"m.login.password"},{"type":"m.login.sso","identity_providers":[]}]}"#,
        )
        .expect("flows");
        assert_eq!(flows, LoginFlows { password: true, sso: true, token: false });
        let body: serde_json::Value = serde_json::from_slice(&password_login_body("alice", "pw")).expect("json");
        assert_eq!(body["identifier"], json!({"type": "m.id.user", "user": "alice"}), "m.id.user identifier");
        assert_eq!(body["refresh_token"], true, "asks for a refresh token");
        assert_eq!(body["initial_device_display_name"], "Homeport");
        let body: serde_json::Value = serde_json::from_slice(&token_login_body("t")).expect("json");
        assert_eq!((body["type"].as_str(), body["token"].as_str()), (Some("m.login.token"), Some("t")));
    }

    #[test]
    fn the_login_answer_names_the_new_base_in_either_form() {
        let spec = br#"{"user_id":"@alice:hs1","access_token":"a","device_id":"D",
            "well_known":{"m.homeserver":{"base_url":"https://hs1.example.org"}},"base_cs_url":"https://other/"}"#;
        let answer = login_answer(&url(), spec).expect("answer");
        assert_eq!(answer.base.map(|b| b.to_string()).as_deref(), Some("https://hs1.example.org/"), "spec form first");
        let original =
            br#"{"user_id":"@alice:hs1","access_token":"a","device_id":"D","base_cs_url":"https://hs2.example.org/"}"#;
        let answer = login_answer(&url(), original).expect("answer");
        assert_eq!(answer.base.map(|b| b.to_string()).as_deref(), Some("https://hs2.example.org/"), "MSC1730 form");
        let plain = br#"{"user_id":"@alice:hs1","access_token":"a","device_id":"D","refresh_token":"r"}"#;
        let answer = login_answer(&url(), plain).expect("answer");
        assert_eq!((answer.base, answer.refresh_token.as_deref()), (None, Some("r")), "stay; a refresh token");
        assert!(login_answer(&url(), br#"{"user_id":"alice","access_token":"a"}"#).is_err(), "not a user id");
    }

    #[test]
    fn errors_tokens_and_localparts() {
        let limited = error_of(br#"{"errcode":"M_LIMIT_EXCEEDED","error":"slow down","retry_after_ms":400}"#);
        assert_eq!(limited.and_then(|e| e.retry_after_ms), Some(400));
        assert_eq!(error_of(b"<html>"), None, "not a Matrix error");
        assert_eq!(error_of(br#"{"errcode":"nope"}"#), None, "errcodes start with M_");
        let token = login_token_from_callback("/homeport/callback?loginToken=abc").expect("token");
        assert_eq!(token.expose(), "abc");
        assert!(login_token_from_callback("/homeport/callback?error=x").is_err(), "no token");
        assert_eq!(localpart("@alice:hs1.localhost:4000"), "alice");
        let sso = sso_redirect_url(
            &ServerUrl::from_url(Url::parse("http://127.0.0.1:4000/").expect("url")).expect("server"),
            &Url::parse("http://127.0.0.1:5000/homeport/callback").expect("url"),
        );
        assert!(sso.as_str().contains("redirectUrl=http%3A%2F%2F127.0.0.1%3A5000%2Fhomeport%2Fcallback"), "{sso}");
    }
}
