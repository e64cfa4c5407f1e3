//! ownCloud's wire formats, sans I/O: status.php, WWW-Authenticate, PROPFIND, OCS. Each function
//! builds a request or parses a response; the wizard does the sending.

use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

use crate::address::ServerUrl;
use crate::error::{quoting, ConnectError, NotReady};
use crate::http::{Auth, HttpRequest};
use crate::trace::Participant;

pub const DAV_PATH: &str = "remote.php/webdav/";
pub const STATUS_PATH: &str = "status.php";
pub const CAPABILITIES_PATH: &str = "ocs/v1.php/cloud/capabilities?format=json";
pub const USER_PATH: &str = "ocs/v1.php/cloud/user?format=json";

/// A request to the OCS API (ownCloud's and Nextcloud's `ocs/…` endpoints): it answers only
/// with `OCS-APIRequest: true` (a CSRF guard), and JSON when asked.
pub fn ocs_request(method: Method, url: Url, to: Participant, auth: Auth) -> HttpRequest {
    HttpRequest::new(method, url, to).header("OCS-APIRequest", "true").header("Accept", "application/json").auth(auth)
}

pub fn propfind() -> Method {
    // A valid token: PROPFIND is an extension method made of ASCII letters.
    Method::from_bytes(b"PROPFIND").unwrap_or(Method::OPTIONS)
}

/// The smallest useful PROPFIND body: is it a collection, and what is the quota.
pub const PROPFIND_BODY: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/><d:quota-available-bytes/></d:prop></d:propfind>"#;

/// `status.php`, with booleans read leniently: servers send `true`, `"true"`, `1` or `"1"`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerStatus {
    #[serde(default, deserialize_with = "lenient_bool")]
    pub installed: bool,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub maintenance: bool,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub needs_db_upgrade: bool,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub versionstring: String,
    #[serde(default)]
    pub edition: String,
    #[serde(default)]
    pub productname: String,
    /// Nextcloud's alone: every Nextcloud since 18 sends `extendedSupport` (true or false) and
    /// neither ownCloud 10 nor oCIS does, so it tells a branded Nextcloud (whose `productname` is
    /// its theme's name) from ownCloud. Kept as it came, only its presence counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_support: Option<serde_json::Value>,
}

impl ServerStatus {
    pub fn parse(url: &Url, body: &[u8]) -> Result<Self, ConnectError> {
        serde_json::from_slice(body).map_err(|e| ConnectError::InvalidResponse {
            url: url.to_string(),
            what: "status.php (expected ownCloud's status JSON)",
            reason: quoting(&e, body),
        })
    }

    /// Whether the server can take a login now.
    pub fn not_ready(&self) -> Option<NotReady> {
        if !self.installed {
            Some(NotReady::NotInstalled)
        } else if self.maintenance {
            Some(NotReady::Maintenance)
        } else if self.needs_db_upgrade {
            Some(NotReady::NeedsDbUpgrade)
        } else {
            None
        }
    }

    /// "ownCloud 10.13.4 (Community)".
    pub fn describe(&self) -> String {
        let product = if self.productname.is_empty() { "ownCloud" } else { &self.productname };
        let version = if self.versionstring.is_empty() { &self.version } else { &self.versionstring };
        match (version.is_empty(), self.edition.is_empty()) {
            (true, _) => product.to_owned(),
            (false, true) => format!("{product} {version}"),
            (false, false) => format!("{product} {version} ({})", self.edition),
        }
    }
}

fn lenient_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Loose {
        Bool(bool),
        Number(i64),
        Text(String),
        Null(()),
    }
    Ok(match Loose::deserialize(deserializer)? {
        Loose::Bool(b) => b,
        Loose::Number(n) => n != 0,
        Loose::Text(s) => matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes"),
        Loose::Null(()) => false,
    })
}

/// The authentication schemes a 401 offers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "scheme", rename_all = "lowercase")]
pub enum AuthChallenge {
    Basic { realm: Option<String> },
    Bearer,
    Other { challenge: String },
}

impl AuthChallenge {
    /// Reads the `WWW-Authenticate` values; Bearer (the browser login) wins when several are
    /// offered, as in the ownCloud client: the password then goes nowhere (docs/security.md).
    pub fn parse(values: &[&str]) -> Option<AuthChallenge> {
        let mut found: Vec<AuthChallenge> = values
            .iter()
            .flat_map(|value| challenges(value))
            .filter(|v| !v.trim().is_empty())
            .map(|value| {
                let value = value.trim();
                // The scheme ends at a space or at an empty list element (`Basic ,realm=x`, fuzzed).
                let (scheme, params) = value.split_once([' ', ',']).unwrap_or((value, ""));
                match scheme.to_ascii_lowercase().as_str() {
                    "basic" => AuthChallenge::Basic { realm: auth_param(params, "realm") },
                    "bearer" => AuthChallenge::Bearer,
                    _ => AuthChallenge::Other { challenge: scheme.to_owned() },
                }
            })
            .collect();
        found.sort_by_key(|c| match c {
            AuthChallenge::Bearer => 0,
            AuthChallenge::Basic { .. } => 1,
            AuthChallenge::Other { .. } => 2,
        });
        found.into_iter().next()
    }
}

/// One `WWW-Authenticate` value may hold several challenges (`Basic realm="oc", Bearer`, RFC 9110
/// §11.6.1): a comma-separated part that starts with a bare token (no `=`) starts the next one.
fn challenges(value: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for part in value.split(',') {
        let first = part.trim().split(' ').next().unwrap_or_default();
        match found.last_mut() {
            Some(current) if first.is_empty() || first.contains('=') || part.trim().starts_with('"') => {
                current.push(',');
                current.push_str(part);
            }
            _ => found.push(part.trim().to_owned()),
        }
    }
    found
}

fn auth_param(params: &str, name: &str) -> Option<String> {
    params.split(',').find_map(|part| {
        let (key, value) = part.trim().split_once('=')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// The DAV endpoint of an installation.
pub fn dav_url(base: &ServerUrl) -> Url {
    base.join(DAV_PATH)
}

/// The installation a DAV URL belongs to: the URL minus `remote.php/webdav/…`. None when the
/// URL is not a DAV URL, so the caller can tell the redirect went somewhere unexpected.
pub fn base_of_dav_url(url: &Url) -> Option<ServerUrl> {
    let path = url.path();
    // Nextcloud's own form is `remote.php/dav/files/<user>/` (docs/protocols/nextcloud-login-flow.md).
    let index = path.find("/remote.php/webdav").or_else(|| path.find("/remote.php/dav/files/"))?;
    let mut base = url.clone();
    base.set_path(&path[..=index]);
    ServerUrl::from_url(base).ok()
}

/// The OCS envelope `{"ocs": {"meta": …, "data": …}}`.
#[derive(Deserialize)]
struct Ocs<T> {
    ocs: OcsBody<T>,
}

#[derive(Deserialize)]
struct OcsBody<T> {
    meta: OcsMeta,
    data: T,
}

#[derive(Deserialize)]
struct OcsMeta {
    #[serde(default)]
    status: String,
    #[serde(default)]
    message: Option<String>,
}

fn parse_ocs<T: for<'de> Deserialize<'de>>(url: &Url, body: &[u8], what: &'static str) -> Result<T, ConnectError> {
    let invalid = |reason: String| ConnectError::InvalidResponse { url: url.to_string(), what, reason };
    let envelope: Ocs<T> = serde_json::from_slice(body).map_err(|e| invalid(quoting(&e, body)))?;
    if envelope.ocs.meta.status != "ok" {
        return Err(invalid(format!(
            "OCS status {:?}: {}",
            envelope.ocs.meta.status,
            envelope.ocs.meta.message.unwrap_or_default()
        )));
    }
    Ok(envelope.ocs.data)
}

/// `ocs/v1.php/cloud/user`: who the instance says we are.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct OcsUser {
    pub id: String,
    #[serde(rename = "display-name", default)]
    pub display_name: String,
    #[serde(default)]
    pub email: Option<String>,
}

impl OcsUser {
    pub fn parse(url: &Url, body: &[u8]) -> Result<Self, ConnectError> {
        let user: OcsUser = parse_ocs(url, body, "user information (OCS cloud/user)")?;
        if user.id.trim().is_empty() {
            return Err(ConnectError::InvalidResponse {
                url: url.to_string(),
                what: "user information (OCS cloud/user)",
                reason: "the user id is empty".into(),
            });
        }
        Ok(user)
    }
}

/// The parts of `ocs/v1.php/cloud/capabilities` the wizard shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    pub product: String,
    pub version: String,
    pub edition: String,
}

impl Capabilities {
    pub fn parse(url: &Url, body: &[u8]) -> Result<Self, ConnectError> {
        #[derive(Deserialize)]
        struct Data {
            #[serde(default)]
            version: Version,
        }
        #[derive(Default, Deserialize)]
        struct Version {
            #[serde(default)]
            string: String,
            #[serde(default)]
            edition: String,
            #[serde(default)]
            product: String,
        }
        let data: Data = parse_ocs(url, body, "capabilities (OCS cloud/capabilities)")?;
        Ok(Capabilities { product: data.version.product, version: data.version.string, edition: data.version.edition })
    }
}

/// `remote.php/dav/avatars/<id>/128.png`, the id percent-encoded as one path segment.
pub fn avatar_url(base: &ServerUrl, user_id: &str) -> Url {
    let mut url = base.join("remote.php/dav/avatars/");
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().push(user_id).push("128.png");
    }
    url
}

/// Initials for a missing avatar: "Test User Two" → "TT".
pub fn initials(display_name: &str) -> String {
    let words: Vec<&str> = display_name.split_whitespace().collect();
    let pick = |w: &&str| w.chars().next().map(|c| c.to_uppercase().to_string()).unwrap_or_default();
    match words.as_slice() {
        [] => "?".to_owned(),
        [one] => pick(one),
        [first, .., last] => format!("{}{}", pick(first), pick(last)),
    }
}

/// A 207 answer to PROPFIND must be a whole WebDAV multistatus document (RFC 4918 §13): one that
/// opens and closes `multistatus`. A body cut off mid-way (a PHP fatal error, a dropped proxy
/// stream) is not a verified account, whatever its status line says.
pub fn check_multistatus(url: &Url, body: &[u8]) -> Result<(), ConnectError> {
    let text = String::from_utf8_lossy(body);
    let invalid = |reason: &str| ConnectError::InvalidResponse {
        url: url.to_string(),
        what: "WebDAV multistatus (207)",
        reason: quoting(&reason, body),
    };
    let opens = text.find("multistatus").and_then(|at| text[..at].rfind('<').map(|lt| (lt, at)));
    let Some((open_at, name_at)) = opens else { return Err(invalid("it has no multistatus element")) };
    // `<d:multistatus` → the closing tag is `</d:multistatus>` with the same prefix.
    let qualified = &text[open_at + 1..name_at + "multistatus".len()];
    let closing = format!("</{qualified}>");
    if !text.trim_end().ends_with(&closing) {
        return Err(invalid(&format!("it does not end with {closing}: the document is cut off")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("https://cloud.example/status.php").expect("url")
    }

    #[test]
    fn status_booleans_are_lenient() {
        let body = br#"{"installed":"true","maintenance":"false","needsDbUpgrade":0,"version":"10.13.4.1","versionstring":"10.13.4","edition":"Community","productname":"ownCloud"}"#;
        let status = ServerStatus::parse(&url(), body).expect("valid status");
        assert!(status.installed && !status.maintenance && !status.needs_db_upgrade);
        assert_eq!(status.not_ready(), None, "installed, no maintenance: ready");
        assert_eq!(status.describe(), "ownCloud 10.13.4 (Community)");
        let status = ServerStatus::parse(&url(), br#"{"installed":true,"maintenance":"true"}"#).expect("valid");
        assert_eq!(status.not_ready(), Some(NotReady::Maintenance), "string \"true\" counts");
        let status = ServerStatus::parse(&url(), br#"{"installed":1,"needsDbUpgrade":true}"#).expect("valid");
        assert_eq!(status.not_ready(), Some(NotReady::NeedsDbUpgrade));
        let status = ServerStatus::parse(&url(), br#"{"installed":false}"#).expect("valid");
        assert_eq!(status.not_ready(), Some(NotReady::NotInstalled));
    }

    #[test]
    fn a_non_status_body_is_a_typed_error_with_a_snippet() {
        let err = ServerStatus::parse(&url(), b"<html>Welcome to nginx</html>").expect_err("HTML is no status");
        let message = err.to_string();
        assert!(message.contains("Welcome to nginx"), "the snippet helps diagnosis: {message}");
    }

    #[test]
    fn challenges_are_read_from_www_authenticate() {
        assert_eq!(
            AuthChallenge::parse(&[r#"Basic realm="ownCloud", charset="UTF-8""#]),
            Some(AuthChallenge::Basic { realm: Some("ownCloud".into()) })
        );
        assert_eq!(AuthChallenge::parse(&[r#"Bearer realm="ocis""#]), Some(AuthChallenge::Bearer));
        assert_eq!(
            AuthChallenge::parse(&["basic realm=x", "Bearer"]),
            Some(AuthChallenge::Bearer),
            "the browser login is preferred when offered, as in the ownCloud client"
        );
        assert_eq!(
            AuthChallenge::parse(&[r#"Basic realm="ownCloud", charset="UTF-8", Bearer realm="ownCloud""#]),
            Some(AuthChallenge::Bearer),
            "also when one header holds both"
        );
        assert!(
            matches!(
                AuthChallenge::parse(&[r#"Basic realm="a, b", charset="UTF-8""#]),
                Some(AuthChallenge::Basic { .. })
            ),
            "a comma inside a quoted realm starts no challenge"
        );
        assert_eq!(AuthChallenge::parse(&["Negotiate"]), Some(AuthChallenge::Other { challenge: "Negotiate".into() }));
        assert_eq!(AuthChallenge::parse(&[]), None);
    }

    #[test]
    fn the_base_url_is_the_dav_url_minus_its_suffix() {
        let dav = Url::parse("https://host/instance3/remote.php/webdav/").expect("url");
        assert_eq!(base_of_dav_url(&dav).map(|b| b.to_string()), Some("https://host/instance3/".into()));
        let other = Url::parse("https://host/login").expect("url");
        assert_eq!(base_of_dav_url(&other), None, "not a DAV URL");
        let nextcloud = Url::parse("https://node1.example/nc/remote.php/dav/files/alice/").expect("url");
        assert_eq!(base_of_dav_url(&nextcloud).map(|b| b.to_string()), Some("https://node1.example/nc/".into()));
    }

    #[test]
    fn ocs_user_and_capabilities_parse() {
        let body = br#"{"ocs":{"meta":{"status":"ok","statuscode":100},"data":{"id":"test@instance2.com","display-name":"Test User Two"}}}"#;
        let user = OcsUser::parse(&url(), body).expect("valid user");
        assert_eq!((user.id.as_str(), user.display_name.as_str()), ("test@instance2.com", "Test User Two"));
        let failed = br#"{"ocs":{"meta":{"status":"failure","message":"nope"},"data":[]}}"#;
        assert!(OcsUser::parse(&url(), failed).is_err(), "an OCS failure is an error");
        let caps = br#"{"ocs":{"meta":{"status":"ok"},"data":{"version":{"string":"10.13.4","edition":"Community","product":"ownCloud"},"capabilities":{}}}}"#;
        let caps = Capabilities::parse(&url(), caps).expect("valid capabilities");
        assert_eq!(caps.version, "10.13.4");
    }

    #[test]
    fn avatar_urls_encode_the_user_id_and_initials_fall_back() {
        let base = ServerUrl::from_url(Url::parse("http://127.0.0.1:9/oc/").expect("url")).expect("base");
        assert_eq!(
            avatar_url(&base, "test@instance1.com").as_str(),
            "http://127.0.0.1:9/oc/remote.php/dav/avatars/test@instance1.com/128.png"
        );
        assert_eq!(
            avatar_url(&base, "a/b").as_str(),
            "http://127.0.0.1:9/oc/remote.php/dav/avatars/a%2Fb/128.png",
            "one segment"
        );
        assert_eq!(initials("Test User Two"), "TT");
        assert_eq!(initials("émile"), "É");
        assert_eq!(initials(""), "?");
    }

    #[test]
    fn a_multistatus_must_be_whole() {
        let url = Url::parse("http://127.0.0.1/remote.php/webdav/").expect("url");
        let whole = br#"<?xml version="1.0"?><d:multistatus xmlns:d="DAV:"><d:response/></d:multistatus>
"#;
        assert!(check_multistatus(&url, whole).is_ok());
        let cut = br#"<?xml version="1.0"?><d:multistatus xmlns:d="DAV:"><d:response><oc:permiss<br>Fatal error"#;
        assert!(check_multistatus(&url, cut).is_err(), "cut off");
        assert!(check_multistatus(&url, b"<html>ok</html>").is_err(), "not WebDAV");
        let unprefixed = b"<multistatus xmlns=\"DAV:\"></multistatus>";
        assert!(check_multistatus(&url, unprefixed).is_ok(), "default namespace");
    }
}
