//! The ownCloud multi-tenant deployment (`docs/protocols/owncloud-redirect.md`): a central server that only knows
//! `status.php` and `remote.php/webdav` and redirects by the user name's domain, and three ownCloud 10 instances.

pub(crate) mod central;
pub(crate) mod instance;
pub(crate) mod ocs;
pub(crate) mod webdav;

use std::borrow::Cow;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{json, Value};

use crate::people::{DemoUser, People};
use crate::scenario::Fault;

/// The instance a login name is routed to, by its domain alone (`felix@instance2.com` → `instance2`), like the
/// deployment's `remote.php`: the central server neither knows the users nor checks passwords.
pub(crate) fn instance_for_login(people: &People, login: &str) -> Option<&'static str> {
    let (_, domain) = login.rsplit_once('@')?;
    // Case-insensitive without allocating.
    people.instances.iter().find(|instance| instance.domain.eq_ignore_ascii_case(domain)).map(|instance| instance.name)
}

/// The demo user with this login on this instance, if the password is right.
pub(crate) fn authenticate(people: &People, headers: &HeaderMap, instance: &str) -> Option<&'static DemoUser> {
    let credentials = BasicCredentials::from_headers(headers)?;
    people.owncloud_users.iter().find(|user| {
        user.instance == instance && user.login == credentials.user && credentials.password == people.owncloud_password
    })
}

/// The buffer [`BasicCredentials::decode_user`] decodes a Basic header into.
pub(crate) const USER_BUFFER: usize = 192;

/// The user name and password of a Basic `Authorization` header.
pub(crate) struct BasicCredentials {
    pub(crate) user: String,
    password: String,
}

impl std::fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicCredentials").field("user", &self.user).field("password", &"<redacted>").finish()
    }
}

impl BasicCredentials {
    /// `None` for a missing header, another scheme, bad base64, non-UTF-8 or a missing `:`.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Option<BasicCredentials> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
        let (scheme, encoded) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (user, password) = decoded.split_once(':')?;
        Some(BasicCredentials { user: user.to_owned(), password: password.to_owned() })
    }

    /// The password (an app password, at a Nextcloud node).
    pub(crate) fn password(&self) -> &str {
        &self.password
    }

    /// The user name of [`BasicCredentials::from_headers`] (same rules), decoded into `buffer` so that the
    /// common short header allocates nothing: the recorder and the central server read it on every request.
    pub(crate) fn decode_user<'b>(headers: &HeaderMap, buffer: &'b mut [u8; USER_BUFFER]) -> Option<Cow<'b, str>> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
        let (scheme, encoded) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let Ok(length) = base64::engine::general_purpose::STANDARD.decode_slice(encoded.trim(), buffer) else {
            // Too long for the buffer (or invalid): the general path decides.
            return BasicCredentials::from_headers(headers).map(|credentials| Cow::Owned(credentials.user));
        };
        let decoded = std::str::from_utf8(buffer.get(..length)?).ok()?;
        let (user, _password) = decoded.split_once(':')?;
        Some(Cow::Borrowed(user))
    }
}

/// The body of `status.php`, shaped by the fault as real servers shape it.
pub(crate) fn status_document(people: &People, fault: Option<Fault>) -> Value {
    let mut status = json!({
        "installed": true,
        "maintenance": false,
        "needsDbUpgrade": false,
        "version": "10.13.4.1",
        "versionstring": "10.13.4",
        "edition": "Community",
        "productname": people.owncloud_product,
        "product": "ownCloud",
    });
    match fault {
        // Some servers send the flag as a string; the engine must parse it leniently.
        Some(Fault::Maintenance) => status["maintenance"] = json!("true"),
        Some(Fault::NeedsDbUpgrade) => status["needsDbUpgrade"] = json!(true),
        Some(Fault::NotInstalled) => status["installed"] = json!(false),
        _ => {}
    }
    status
}

/// `GET /status.php`, the same on the central server and every instance.
pub(crate) fn status_response(people: &People, fault: Option<Fault>) -> Response {
    axum::Json(status_document(people, fault)).into_response()
}

/// ownCloud refuses everything but `status.php` while in maintenance, needing an upgrade or not installed.
pub(crate) fn unavailable(fault: Option<Fault>) -> Option<Response> {
    let message = match fault? {
        Fault::Maintenance => "System in maintenance mode.",
        Fault::NeedsDbUpgrade => "Upgrade needed",
        Fault::NotInstalled => "ownCloud is not installed",
        _ => return None,
    };
    let mut response =
        sabre_error(StatusCode::SERVICE_UNAVAILABLE, "Sabre\\DAV\\Exception\\ServiceUnavailable", message);
    if fault == Some(Fault::Maintenance) {
        // ownCloud's maintenance mode tells clients when to come back.
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("120"));
    }
    Some(response)
}

/// The challenge ownCloud sends; the realm and charset are what real servers send.
const BASIC_CHALLENGE: &str = "Basic realm=\"ownCloud\", charset=\"UTF-8\"";

/// A 401 with the Basic challenge and SabreDAV's error body.
pub(crate) fn unauthorized(message: &str) -> Response {
    let mut response = sabre_error(StatusCode::UNAUTHORIZED, "Sabre\\DAV\\Exception\\NotAuthenticated", message);
    with_basic_challenge(&mut response);
    response
}

pub(crate) fn with_basic_challenge(response: &mut Response) {
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(BASIC_CHALLENGE));
}

/// SabreDAV's XML error document, as ownCloud's WebDAV endpoints send it.
pub(crate) fn sabre_error(status: StatusCode, exception: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <d:error xmlns:d=\"DAV:\" xmlns:s=\"http://sabredav.org/ns\">\n  \
         <s:exception>{}</s:exception>\n  <s:message>{}</s:message>\n</d:error>\n",
        xml_escape(exception),
        xml_escape(message)
    );
    xml_response(status, "application/xml; charset=utf-8", body)
}

pub(crate) fn xml_response(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], body).into_response()
}

pub(crate) fn not_found() -> Response {
    sabre_error(StatusCode::NOT_FOUND, "Sabre\\DAV\\Exception\\NotFound", "File not found")
}

pub(crate) fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::people::BUILT_IN;

    fn basic(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).expect("test header value is ASCII"));
        headers
    }

    fn encoded(user_and_password: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user_and_password))
    }

    #[test]
    fn users_are_routed_by_their_domain() {
        assert_eq!(instance_for_login(&BUILT_IN, "test@instance2.com"), Some("instance2"), "the seed's rule");
        assert_eq!(
            instance_for_login(&BUILT_IN, "felix@INSTANCE3.com"),
            Some("instance3"),
            "domains are case-insensitive; the local part is not checked by the central server"
        );
        assert_eq!(instance_for_login(&BUILT_IN, "test@instance9.com"), None, "no such instance");
        assert_eq!(instance_for_login(&BUILT_IN, "test"), None, "no domain, no instance");
        assert_eq!(instance_for_login(&BUILT_IN, "test@instance1.org"), None, "only the demo domains");
    }

    #[test]
    fn basic_credentials_parse_strictly_and_never_leak() {
        let parsed = BasicCredentials::from_headers(&basic(&encoded("test@instance1.com:se:cret")));
        let parsed = parsed.expect("a well-formed Basic header parses");
        assert_eq!(parsed.user, "test@instance1.com", "user is before the first colon");
        assert_eq!(parsed.password, "se:cret", "the password may contain colons");
        assert!(!format!("{parsed:?}").contains("se:cret"), "Debug must not print the password");
        for malformed in ["Bearer abc", "Basic", "Basic !!!", &encoded("no-colon")] {
            assert!(
                BasicCredentials::from_headers(&basic(malformed)).is_none(),
                "{malformed:?} is not usable Basic credentials"
            );
        }
    }

    #[test]
    fn authentication_needs_the_right_instance_and_password() {
        let headers = basic(&encoded("test@instance2.com:secret"));
        assert!(authenticate(&BUILT_IN, &headers, "instance2").is_some(), "right user, instance and password");
        assert!(authenticate(&BUILT_IN, &headers, "instance1").is_none(), "the user lives on instance2 only");
        let wrong = basic(&encoded("test@instance2.com:wrong"));
        assert!(authenticate(&BUILT_IN, &wrong, "instance2").is_none(), "wrong password");
        let stranger = basic(&encoded("felix@instance2.com:secret"));
        assert!(authenticate(&BUILT_IN, &stranger, "instance2").is_none(), "unknown user on the right domain");
    }

    #[test]
    fn status_document_reflects_faults() {
        assert_eq!(status_document(&BUILT_IN, None)["maintenance"], false, "healthy by default");
        assert_eq!(
            status_document(&BUILT_IN, Some(Fault::Maintenance))["maintenance"],
            "true",
            "maintenance is sent as a string, as some servers do"
        );
        assert_eq!(status_document(&BUILT_IN, Some(Fault::NeedsDbUpgrade))["needsDbUpgrade"], true, "upgrade flag");
        assert_eq!(status_document(&BUILT_IN, Some(Fault::NotInstalled))["installed"], false, "installed flag");
        assert!(unavailable(Some(Fault::RedirectLoop)).is_none(), "a loop is not an outage");
    }
}
