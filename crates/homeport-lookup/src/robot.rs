//! The one browser robot: it logs in on the lookup server's login pages (the IdP's and the Matrix portals' SSO page
//! share one form; Nextcloud's Login Flow v2 pages: `robot/nextcloud.rs`) like a person in a browser would, for the tests, QA, the CLI's `--browser auto-login` and the
//! desktop's autopilot. It refuses any login page that is not on loopback: it is not a password-spraying tool.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;
use url::{Host, Url};

use crate::error::LookupError;

mod nextcloud;
pub use nextcloud::{auto_login_nextcloud, auto_login_nextcloud_trusting};

/// Each request of the robot gives up after this long.
const TIMEOUT: Duration = Duration::from_secs(10);
/// A login page larger than this is not the lookup server's.
const MAX_PAGE_BYTES: usize = 256 * 1024;

static INPUT: LazyLock<Result<Regex, regex::Error>> = LazyLock::new(|| Regex::new(r"(?s)<input\s[^>]*>"));
static FORM: LazyLock<Result<Regex, regex::Error>> =
    LazyLock::new(|| Regex::new(r#"(?s)<form\s[^>]*id="login"[^>]*>"#));
static CONSENT_FORM: LazyLock<Result<Regex, regex::Error>> =
    LazyLock::new(|| Regex::new(r#"(?s)<form\s[^>]*id="consent"[^>]*>"#));
static ATTRIBUTE: LazyLock<Result<Regex, regex::Error>> =
    LazyLock::new(|| Regex::new(r#"([A-Za-z_:-]+)\s*=\s*"([^"]*)""#));
static ERROR: LazyLock<Result<Regex, regex::Error>> =
    LazyLock::new(|| Regex::new(r#"(?s)<p id="error"[^>]*>(.*?)</p>"#));

/// Opens `authorize_url` (the IdP's authorization request, as the engine would open it in the browser), submits
/// the login form with `user` and `password`, allows on the consent page when the IdP shows one (oCIS's IdP does),
/// and returns the redirect the IdP answers with — the loopback callback URL with `code` and `state` — without
/// following it.
///
/// Refuses IdPs that are not on loopback (`127.0.0.0/8`, `::1`, `localhost`, `*.localhost`; the latter are
/// connected to at 127.0.0.1, RFC 6761). Fails with [`LookupError::AutoLogin`] when the IdP refuses (the
/// message of its error page), the credentials are wrong, or the page is not a login form.
pub async fn auto_login(authorize_url: &Url, user: &str, password: &str) -> Result<Url, LookupError> {
    auto_login_trusting(authorize_url, user, password, None).await
}

/// [`auto_login`] for an IdP serving TLS with the given (self-signed) certificate, DER.
pub async fn auto_login_trusting(
    authorize_url: &Url,
    user: &str,
    password: &str,
    certificate_der: Option<&[u8]>,
) -> Result<Url, LookupError> {
    ensure_loopback(authorize_url)?;
    let client = client_for(authorize_url, certificate_der)?;

    let page = client.get(authorize_url.clone()).send().await.map_err(|error| failed("the login page", &error))?;
    if let Some(location) = redirect_target(&page, authorize_url)? {
        // The IdP answered without a form (an error sent back to the client): that is the callback.
        return Ok(location);
    }
    let status = page.status();
    let html = read_page(page).await?;
    if !status.is_success() {
        return Err(LookupError::AutoLogin(match error_message(&html) {
            Some(message) => format!("the IdP refused: {message}"),
            None => format!("the login page answered {status}"),
        }));
    }
    let (action, hidden) = form_of(&html, &FORM, authorize_url)?
        .ok_or_else(|| LookupError::AutoLogin("the page has no login form".into()))?;
    let mut fields = hidden;
    fields.push(("username".to_owned(), user.to_owned()));
    fields.push(("password".to_owned(), password.to_owned()));
    let answer = post_form(&client, &action, &fields, "the login form").await?;
    if let Some(location) = redirect_target(&answer, &action)? {
        return Ok(location);
    }
    let status = answer.status();
    let html = read_page(answer).await?;
    // The consent page: allowed, as a person who wants to connect would.
    if status.is_success() {
        if let Some((consent_action, fields)) = form_of(&html, &CONSENT_FORM, &action)? {
            let answer = post_form(&client, &consent_action, &fields, "the consent page").await?;
            if let Some(location) = redirect_target(&answer, &consent_action)? {
                return Ok(location);
            }
            let status = answer.status();
            let html = read_page(answer).await?;
            return Err(LookupError::AutoLogin(match error_message(&html) {
                Some(message) => format!("the consent failed: {message}"),
                None => format!("the consent page answered {status} without a redirect"),
            }));
        }
    }
    Err(LookupError::AutoLogin(match error_message(&html) {
        Some(message) => format!("the login failed: {message}"),
        None => format!("the login form answered {status} without a redirect"),
    }))
}

/// A form's fields, in order.
type Fields = Vec<(String, String)>;

/// The form `pattern` finds on the page: where it posts (on the page's own origin only) and its hidden fields (the
/// consent page's answer among them).
fn form_of(
    html: &str,
    pattern: &LazyLock<Result<Regex, regex::Error>>,
    page_url: &Url,
) -> Result<Option<(Url, Fields)>, LookupError> {
    let Some(form) = pattern.as_ref().map_err(|error| LookupError::AutoLogin(error.to_string()))?.find(html) else {
        return Ok(None);
    };
    let action = attributes(form.as_str())
        .into_iter()
        .find(|(name, _)| name == "action")
        .map(|(_, value)| value)
        .unwrap_or_default();
    let action = page_url
        .join(&action)
        .map_err(|error| LookupError::AutoLogin(format!("the form's action is not a URL: {error}")))?;
    if action.origin() != page_url.origin() {
        return Err(LookupError::AutoLogin(format!("the form posts to another origin: {action}")));
    }
    // The inputs of this form only: up to its `</form>`.
    let inside = &html[form.end()..];
    let inside = &inside[..inside.find("</form>").unwrap_or(inside.len())];
    let mut hidden = Vec::new();
    for input in INPUT.as_ref().map_err(|error| LookupError::AutoLogin(error.to_string()))?.find_iter(inside) {
        let attributes = attributes(input.as_str());
        let get = |wanted: &str| attributes.iter().find(|(name, _)| name == wanted).map(|(_, value)| value.as_str());
        if get("type") == Some("hidden") {
            if let Some(name) = get("name") {
                hidden.push((name.to_owned(), get("value").unwrap_or_default().to_owned()));
            }
        }
    }
    Ok(Some((action, hidden)))
}

async fn post_form(
    client: &reqwest::Client,
    action: &Url,
    fields: &[(String, String)],
    what: &str,
) -> Result<reqwest::Response, LookupError> {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
    client
        .post(action.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|error| failed(what, &error))
}

/// What the browser saw of a whole login ([`browser_login`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BrowserLogin {
    /// Where the IdP sent the browser: the client's loopback callback, with `code` and `state` (or `error`).
    pub callback: Url,
    /// The status of the client's answer to the callback.
    pub status: u16,
    /// The page the client answered the callback with.
    pub page: String,
}

/// The whole browser part of a login: [`auto_login`], then the browser's last step — loading the callback URL the
/// IdP redirected to, which is the client's loopback listener (RFC 8252 §7.3).
pub async fn browser_login(authorize_url: &Url, user: &str, password: &str) -> Result<BrowserLogin, LookupError> {
    let (callback, answer) = load_callback(authorize_url, user, password).await?;
    let status = answer.status().as_u16();
    let page = read_page(answer).await?;
    Ok(BrowserLogin { callback, status, page })
}

/// [`browser_login`], telling only the status the client answered the callback with (its page is not read).
pub async fn complete_browser_login(authorize_url: &Url, user: &str, password: &str) -> Result<u16, LookupError> {
    let (_, answer) = load_callback(authorize_url, user, password).await?;
    Ok(answer.status().as_u16())
}

/// [`auto_login`], then the client's answer to the callback, which must be on a loopback IP over http.
async fn load_callback(
    authorize_url: &Url,
    user: &str,
    password: &str,
) -> Result<(Url, reqwest::Response), LookupError> {
    let callback = auto_login(authorize_url, user, password).await?;
    let is_loopback_ip = matches!(callback.host(), Some(Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(callback.host(), Some(Host::Ipv6(ip)) if ip.is_loopback());
    if !is_loopback_ip || callback.scheme() != "http" {
        return Err(LookupError::AutoLogin(format!(
            "the IdP sent the browser to {callback}, not to a loopback client"
        )));
    }
    let client = client_for(&callback, None)?;
    let answer = client.get(callback.clone()).send().await.map_err(|error| failed("the client's callback", &error))?;
    Ok((callback, answer))
}

/// What [`while_browser_logs_in`] saw.
#[derive(Debug)]
#[non_exhaustive]
pub struct Raced<T> {
    /// What the waiting client came to.
    pub outcome: T,
    /// The status of the client's answer to the callback, when the robot was done before the client.
    pub callback_status: Option<u16>,
}

/// Runs `waiting` — a client waiting for the browser to come back to its loopback listener — while the robot does
/// the browser's part ([`complete_browser_login`] at `authorize_url`). The robot's failure (a wrong password, a
/// refused IdP) ends the wait at once, instead of the client waiting minutes for a browser that never comes back.
///
/// A Nextcloud Login Flow v2 login URL (`…/login/v2/flow/<token>`) gets [`auto_login_nextcloud`] instead: the
/// client is polling, not listening, and `callback_status` is the status of the "Account connected" page (200).
pub async fn while_browser_logs_in<T>(
    waiting: impl Future<Output = T>,
    authorize_url: &Url,
    user: &str,
    password: &str,
) -> Result<Raced<T>, LookupError> {
    let (url, user, password) = (authorize_url.clone(), user.to_owned(), password.to_owned());
    // Its own task: the robot and the client's listener must make progress together.
    let mut robot = tokio::spawn(async move {
        if nextcloud::is_flow_url(&url) {
            auto_login_nextcloud(&url, &user, &password).await.map(|()| 200)
        } else {
            complete_browser_login(&url, &user, &password).await
        }
    });
    tokio::pin!(waiting);
    let mut callback_status = None;
    loop {
        tokio::select! {
            outcome = &mut waiting => return Ok(Raced { outcome, callback_status }),
            finished = &mut robot, if callback_status.is_none() => match finished {
                Ok(Ok(status)) => callback_status = Some(status),
                Ok(Err(error)) => return Err(error),
                Err(error) => return Err(LookupError::AutoLogin(format!("the login robot stopped: {error}"))),
            },
        }
    }
}

fn ensure_loopback(url: &Url) -> Result<(), LookupError> {
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => is_localhost_name(name),
        None => false,
    };
    if loopback && matches!(url.scheme(), "http" | "https") {
        Ok(())
    } else {
        Err(LookupError::AutoLogin(format!("refusing to log in automatically at {url}: not a loopback IdP")))
    }
}

fn is_localhost_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// A client without redirects or proxies that connects `*.localhost` names to 127.0.0.1.
fn client_for(url: &Url, certificate_der: Option<&[u8]>) -> Result<reqwest::Client, LookupError> {
    let mut builder =
        reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).timeout(TIMEOUT);
    if let Some(Host::Domain(name)) = url.host() {
        // The port of the address is ignored: the URL's port is used.
        builder = builder.resolve(name, SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0));
    }
    if let Some(der) = certificate_der {
        let certificate = reqwest::Certificate::from_der(der)
            .map_err(|error| LookupError::AutoLogin(format!("unusable certificate: {error}")))?;
        builder = builder.add_root_certificate(certificate);
    }
    builder.build().map_err(|error| LookupError::AutoLogin(format!("cannot build an HTTP client: {error}")))
}

fn failed(what: &str, error: &reqwest::Error) -> LookupError {
    LookupError::AutoLogin(format!("cannot load {what}: {error}"))
}

/// The absolute `Location` of a redirect answer, `None` for other answers.
fn redirect_target(response: &reqwest::Response, base: &Url) -> Result<Option<Url>, LookupError> {
    if !response.status().is_redirection() {
        return Ok(None);
    }
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| LookupError::AutoLogin(format!("a {} without Location", response.status())))?;
    base.join(location)
        .map(Some)
        .map_err(|error| LookupError::AutoLogin(format!("the Location {location:?} is not a URL: {error}")))
}

async fn read_page(mut response: reqwest::Response) -> Result<String, LookupError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|error| failed("the page", &error))? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_PAGE_BYTES {
            return Err(LookupError::AutoLogin("the page is too large for a login page".into()));
        }
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `name="value"` pairs of one tag, values unescaped.
fn attributes(tag: &str) -> Vec<(String, String)> {
    let Ok(pattern) = ATTRIBUTE.as_ref() else {
        return Vec::new();
    };
    pattern
        .captures_iter(tag)
        .filter_map(|captures| {
            let name = captures.get(1)?.as_str().to_ascii_lowercase();
            let value = unescape(captures.get(2)?.as_str());
            Some((name, value))
        })
        .collect()
}

/// The text of the page's `<p id="error">`.
fn error_message(html: &str) -> Option<String> {
    let captures = ERROR.as_ref().ok()?.captures(html)?;
    Some(unescape(captures.get(1)?.as_str().trim()))
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn non_loopback_idps_are_refused_before_any_request() {
        for url in ["https://login.example.com/authorize?x=1", "http://10.1.2.3/authorize", "file:///etc/passwd"] {
            let url = Url::parse(url).expect("URL");
            let refused = auto_login(&url, "einstein", "relativity").await;
            assert!(matches!(refused, Err(LookupError::AutoLogin(_))), "{url} must be refused: {refused:?}");
        }
    }

    #[test]
    fn form_parsing_reads_attributes_and_errors() {
        let attrs = attributes(r#"<input type="hidden" name="state" value="a&amp;b&quot;c">"#);
        assert_eq!(
            attrs,
            vec![
                ("type".to_owned(), "hidden".to_owned()),
                ("name".to_owned(), "state".to_owned()),
                ("value".to_owned(), "a&b\"c".to_owned())
            ],
            "attributes in order, unescaped"
        );
        assert_eq!(
            error_message(r#"<p id="error" role="alert">tenant &lt;x&gt; refused</p>"#).as_deref(),
            Some("tenant <x> refused"),
            "the error text"
        );
        assert!(is_localhost_name("tenant1.auth.localhost."), "*.localhost is loopback");
        assert!(!is_localhost_name("localhost.example.com"), "a suffix match only");
    }
}
