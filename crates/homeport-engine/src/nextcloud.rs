//! Nextcloud's wire formats, sans I/O: Login Flow v2 (start, poll), app passwords (convert a
//! password, delete one) and the WebDAV URL of a user. Each function builds a request or parses a
//! response; the wizard and [`crate::ops`] do the sending. The protocol and its numbers:
//! docs/protocols/nextcloud-login-flow.md.

use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::address::{Origin, ServerUrl};
use crate::error::{quoting, snippet, ConnectError};
use crate::owncloud::ServerStatus;
use crate::secret::{Credentials, Secret};

pub const LOGIN_FLOW_PATH: &str = "index.php/login/v2";
/// JSON asked for by `format=json`: OCS answers XML by default.
pub const GET_APP_PASSWORD_PATH: &str = "ocs/v2.php/core/getapppassword?format=json";
pub const APP_PASSWORD_PATH: &str = "ocs/v2.php/core/apppassword";

/// How often the poll endpoint is asked. Nextcloud's desktop client counts down its remote poll
/// interval (30 s by default) and offers "poll now"; a person who has just clicked "Grant access"
/// should not wait that long, and a poll every few seconds is little load for one login.
pub const POLL_INTERVAL: Duration = Duration::from_secs(3);

/// A login flow lives 20 minutes at the server (Nextcloud's `LoginFlowV2Service`); polling longer
/// cannot succeed.
pub const FLOW_LIFETIME: Duration = Duration::from_secs(20 * 60);

/// Whether status.php is Nextcloud's: its `productname` (ownCloud 10 says "ownCloud"), or, for a
/// branded Nextcloud (its theme names the product: "ACME Files"), the `extendedSupport` field that
/// only Nextcloud's status.php has.
pub fn is_nextcloud(status: &ServerStatus) -> bool {
    status.productname.trim().eq_ignore_ascii_case("nextcloud") || status.extended_support.is_some()
}

/// `POST <server>/index.php/login/v2`'s answer: where the person logs in, and where to poll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginFlow {
    pub login: Url,
    pub endpoint: Url,
    pub token: Secret,
}

impl LoginFlow {
    /// The start's answer, from `url`. The poll endpoint must be on the server that started the
    /// flow: the poll's answer carries the app password, and the token is what claims it.
    pub fn parse(url: &Url, body: &[u8]) -> Result<Self, ConnectError> {
        #[derive(Deserialize)]
        struct Start {
            poll: Poll,
            login: String,
        }
        #[derive(Deserialize)]
        struct Poll {
            token: Secret,
            endpoint: String,
        }
        let invalid = |reason: String| ConnectError::InvalidResponse {
            url: url.to_string(),
            what: "Login Flow v2 start (index.php/login/v2)",
            reason,
        };
        let start: Start = serde_json::from_slice(body).map_err(|e| invalid(quoting(&e, body)))?;
        let parse = |what: &str, value: &str| {
            Url::parse(value)
                .ok()
                .filter(|u| matches!(u.scheme(), "https" | "http"))
                .ok_or_else(|| invalid(format!("the {what} {value:?} is not an http(s) URL")))
        };
        let login = parse("login URL", &start.login)?;
        let endpoint = parse("poll endpoint", &start.poll.endpoint)?;
        if Origin::of(&endpoint) != Origin::of(url) {
            return Err(invalid(format!(
                "the poll endpoint {} is not on {}: the app password would be fetched from another server",
                Origin::of(&endpoint),
                Origin::of(url)
            )));
        }
        if start.poll.token.is_empty() {
            return Err(invalid("the poll token is empty".into()));
        }
        Ok(LoginFlow { login, endpoint, token: start.poll.token })
    }

    /// The poll's form body, `token=<T>` (form-encoded).
    pub fn poll_body(&self) -> Vec<u8> {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("token", self.token.expose())
            .finish()
            .into_bytes()
    }
}

/// What one poll said.
#[derive(Debug, PartialEq, Eq)]
pub enum Polled {
    /// 404: the person has not granted access (yet), or the flow is gone.
    Waiting,
    /// 200: the node that holds the account, and the app password it made.
    Granted(Grant),
}

/// The poll's `{server, loginName, appPassword}`.
#[derive(Debug, PartialEq, Eq)]
pub struct Grant {
    /// Where the account lives (in Global Scale, a node, not the server typed).
    pub server: ServerUrl,
    pub credentials: Credentials,
}

/// A poll's answer: 404 is "not yet" (as the desktop client reads it), 200 the grant, anything
/// else an error.
pub fn parse_poll(url: &Url, status: u16, body: &[u8]) -> Result<Polled, ConnectError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Answer {
        server: String,
        login_name: String,
        app_password: Secret,
    }
    match status {
        404 => return Ok(Polled::Waiting),
        200 => {}
        other => {
            return Err(ConnectError::UnexpectedStatus {
                url: url.to_string(),
                status: other,
                expected: "200 (access granted) or 404 (not yet) from the Login Flow v2 poll",
                snippet: snippet(body),
            })
        }
    }
    let invalid = |reason: String| ConnectError::InvalidResponse {
        url: url.to_string(),
        what: "Login Flow v2 poll answer",
        reason,
    };
    // Never the body in the error: it carries the app password.
    let answer: Answer = serde_json::from_slice(body).map_err(|e| invalid(format!("{e}")))?;
    let server = Url::parse(&answer.server)
        .ok()
        .and_then(|u| ServerUrl::from_url(u).ok())
        .ok_or_else(|| invalid(format!("the server {:?} is not a URL", answer.server)))?;
    if answer.login_name.trim().is_empty() || answer.app_password.is_empty() {
        return Err(invalid("the login name or the app password is empty".into()));
    }
    Ok(Polled::Granted(Grant {
        server,
        credentials: Credentials { user: answer.login_name, password: answer.app_password },
    }))
}

/// `ocs/v2.php/core/getapppassword`'s answer: the app password the account password bought. An
/// unreadable answer is named without its body: the body may carry the app password.
pub fn parse_app_password(url: &Url, body: &[u8]) -> Result<Secret, ConnectError> {
    #[derive(Deserialize)]
    struct Envelope {
        ocs: Body,
    }
    #[derive(Deserialize)]
    struct Body {
        meta: Meta,
        data: Option<Data>,
    }
    #[derive(Deserialize)]
    struct Meta {
        #[serde(default)]
        status: String,
        #[serde(default)]
        message: Option<String>,
    }
    #[derive(Deserialize)]
    struct Data {
        apppassword: Secret,
    }
    let invalid = |reason: String| ConnectError::InvalidResponse {
        url: url.to_string(),
        what: "app password (OCS core/getapppassword)",
        reason,
    };
    let envelope: Envelope = serde_json::from_slice(body).map_err(|e| {
        let form = if body.trim_ascii_start().starts_with(b"<") { "XML or HTML" } else { "no OCS JSON" };
        invalid(format!("{e} ({form}, {} bytes; not shown, it may hold the app password)", body.len()))
    })?;
    if envelope.ocs.meta.status != "ok" {
        let message = envelope.ocs.meta.message.unwrap_or_default();
        return Err(invalid(format!("OCS status {:?}: {message}", envelope.ocs.meta.status)));
    }
    match envelope.ocs.data {
        Some(data) if !data.apppassword.is_empty() => Ok(data.apppassword),
        _ => Err(invalid("the app password is empty".into())),
    }
}

/// `remote.php/dav/files/<user>/`, the user percent-encoded as one path segment: the WebDAV root
/// Nextcloud's clients use.
pub fn files_url(base: &ServerUrl, user: &str) -> Url {
    let mut url = base.join("remote.php/dav/files/");
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().push(user).push("");
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("https://gss.example:8443/index.php/login/v2").expect("url")
    }

    #[test]
    fn the_flow_start_names_the_login_page_and_the_poll() {
        let body = br#"{"poll":{"token":"T0k","endpoint":"https://gss.example:8443/index.php/login/v2/poll"},
            "login":"https://gss.example:8443/index.php/login/v2/flow/F2"}"#;
        let flow = LoginFlow::parse(&url(), body).expect("Nextcloud's documented answer");
        assert_eq!(flow.login.as_str(), "https://gss.example:8443/index.php/login/v2/flow/F2");
        assert_eq!(flow.endpoint.path(), "/index.php/login/v2/poll");
        assert_eq!(flow.poll_body(), b"token=T0k", "the poll sends the token as a form body");
        assert!(!format!("{flow:?}").contains("T0k"), "the token is a secret: {flow:?}");
    }

    #[test]
    fn a_poll_endpoint_on_another_server_is_refused() {
        let body = br#"{"poll":{"token":"T","endpoint":"https://evil.example/index.php/login/v2/poll"},
            "login":"https://gss.example:8443/index.php/login/v2/flow/F2"}"#;
        let refused = LoginFlow::parse(&url(), body);
        assert!(
            matches!(&refused, Err(ConnectError::InvalidResponse { reason, .. }) if reason.contains("evil.example")),
            "the app password must not be fetched from another server: {refused:?}"
        );
        let not_json = LoginFlow::parse(&url(), b"<html>");
        assert!(matches!(not_json, Err(ConnectError::InvalidResponse { .. })), "{not_json:?}");
    }

    #[test]
    fn the_poll_waits_on_404_and_grants_on_200() {
        assert_eq!(parse_poll(&url(), 404, b"[]").expect("404 is not yet"), Polled::Waiting);
        let body = br#"{"server":"https://node1.example:9443","loginName":"alice","appPassword":"app-pw-1"}"#;
        let Polled::Granted(grant) = parse_poll(&url(), 200, body).expect("granted") else { panic!("not granted") };
        assert_eq!(grant.server.to_string(), "https://node1.example:9443/", "the node, as a base URL");
        assert_eq!(grant.credentials.user, "alice");
        assert_eq!(grant.credentials.password.expose(), "app-pw-1");
        let failed = parse_poll(&url(), 500, b"oops");
        assert!(matches!(failed, Err(ConnectError::UnexpectedStatus { status: 500, .. })), "{failed:?}");
    }

    #[test]
    fn a_broken_grant_does_not_show_the_app_password() {
        let body = br#"{"server":"not a url","loginName":"alice","appPassword":"app-pw-secret"}"#;
        let error = parse_poll(&url(), 200, body).expect_err("no server URL");
        assert!(!format!("{error} {error:?}").contains("app-pw-secret"), "{error:?}");
        let empty = parse_poll(&url(), 200, br#"{"server":"https://n.example","loginName":"","appPassword":"x"}"#);
        assert!(matches!(empty, Err(ConnectError::InvalidResponse { .. })), "{empty:?}");
    }

    #[test]
    fn the_app_password_comes_out_of_the_ocs_envelope() {
        let body = br#"{"ocs":{"meta":{"status":"ok","statuscode":200,"message":"OK"},"data":{"apppassword":"AP"}}}"#;
        assert_eq!(parse_app_password(&url(), body).expect("OCS ok").expose(), "AP");
        let failed = br#"{"ocs":{"meta":{"status":"failure","statuscode":403,"message":"no"},"data":[]}}"#;
        assert!(parse_app_password(&url(), failed).is_err(), "an OCS failure is no app password");
        let xml = b"<?xml version=\"1.0\"?><ocs><data><apppassword>AP-SECRET</apppassword></data></ocs>";
        let error = parse_app_password(&url(), xml).expect_err("XML is not what format=json asks for");
        assert!(!format!("{error} {error:?}").contains("AP-SECRET"), "the body is never shown: {error:?}");
    }

    #[test]
    fn nextcloud_is_told_apart_from_owncloud_by_its_product_name_or_its_extended_support_field() {
        let status = |name: &str| ServerStatus { productname: name.into(), ..ServerStatus::default() };
        assert!(is_nextcloud(&status("Nextcloud")));
        assert!(!is_nextcloud(&status("ownCloud")), "ownCloud 10 stays ownCloud");
        assert!(!is_nextcloud(&status("")));
        let url = Url::parse("https://files.acme.example/status.php").expect("url");
        let branded = br#"{"installed":true,"maintenance":false,"needsDbUpgrade":false,"version":"30.0.4.1","versionstring":"30.0.4","edition":"","productname":"ACME Files","extendedSupport":false}"#;
        let branded = ServerStatus::parse(&url, branded).expect("a Nextcloud status");
        assert!(is_nextcloud(&branded), "a branded Nextcloud is Nextcloud by its extendedSupport field");
        let owncloud = br#"{"installed":"true","maintenance":"false","needsDbUpgrade":"false","version":"10.15.0.2","versionstring":"10.15.0","edition":"Community","productname":"ACME Files"}"#;
        let owncloud = ServerStatus::parse(&url, owncloud).expect("an ownCloud status");
        assert!(!is_nextcloud(&owncloud), "a branded ownCloud 10 stays ownCloud");
    }

    #[test]
    fn the_files_url_encodes_the_user() {
        let base = ServerUrl::from_url(Url::parse("https://node1.example/nc/").expect("url")).expect("base");
        assert_eq!(files_url(&base, "alice").as_str(), "https://node1.example/nc/remote.php/dav/files/alice/");
        assert_eq!(files_url(&base, "a b/c").as_str(), "https://node1.example/nc/remote.php/dav/files/a%20b%2Fc/");
    }
}
