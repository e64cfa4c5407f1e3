//! The robot's part in Nextcloud's Login Flow v2: it opens the flow's login URL like a browser (with the session
//! cookie the GSS sets), presses "Log in", fills the login form, presses "Grant access" and stops at the "Account
//! connected" page. The client's poll then gets the app password (`docs/protocols/nextcloud-login-flow.md`).

use std::sync::LazyLock;

use regex::Regex;
use url::Url;

use super::{client_for, ensure_loopback, error_message, failed, form_of, read_page, redirect_target, Fields, FORM};
use crate::error::LookupError;

/// Pages and redirects one login may take: landing, picker, grant, login, grant again, done, with room to spare.
const MAX_STEPS: usize = 12;

static PICKER_FORM: LazyLock<Result<Regex, regex::Error>> =
    LazyLock::new(|| Regex::new(r#"(?s)<form\s[^>]*id="login-form"[^>]*>"#));
static GRANT_FORM: LazyLock<Result<Regex, regex::Error>> =
    LazyLock::new(|| Regex::new(r#"(?s)<form\s[^>]*id="grant"[^>]*>"#));
static DONE: LazyLock<Result<Regex, regex::Error>> = LazyLock::new(|| Regex::new(r#"id="done""#));

/// Opens `login_url` (Login Flow v2's `login`, as the engine would open it in the browser), logs in as `user` with
/// the account `password` and grants access. Returns once the GSS shows "Account connected".
///
/// Refuses URLs not on loopback, as [`auto_login`](crate::auto_login) does. Fails with [`LookupError::AutoLogin`]
/// when the flow is gone ("Your login token is invalid or has expired"), the password is wrong or a page is not
/// what the flow shows.
pub async fn auto_login_nextcloud(login_url: &Url, user: &str, password: &str) -> Result<(), LookupError> {
    auto_login_nextcloud_trusting(login_url, user, password, None).await
}

/// [`auto_login_nextcloud`] for a GSS serving TLS with the given (self-signed) certificate, DER.
pub async fn auto_login_nextcloud_trusting(
    login_url: &Url,
    user: &str,
    password: &str,
    certificate_der: Option<&[u8]>,
) -> Result<(), LookupError> {
    ensure_loopback(login_url)?;
    let client = client_for(login_url, certificate_der)?;
    let mut cookies: Vec<(String, String)> = Vec::new();
    let mut next = Request::Get(login_url.clone());
    let mut logins = 0;
    for _ in 0..MAX_STEPS {
        let url = next.url().clone();
        if url.origin() != login_url.origin() {
            return Err(LookupError::AutoLogin(format!("the flow left the server for {url}")));
        }
        let request = match &next {
            Request::Get(url) => client.get(url.clone()),
            Request::Post(url, fields) => {
                let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
                client
                    .post(url.clone())
                    .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(body)
            }
        };
        let request = match cookie_header(&cookies) {
            Some(header) => request.header(reqwest::header::COOKIE, header),
            None => request,
        };
        let answer = request.send().await.map_err(|error| failed("the Nextcloud login page", &error))?;
        remember_cookies(&answer, &mut cookies);
        if let Some(location) = redirect_target(&answer, &url)? {
            next = Request::Get(location);
            continue;
        }
        let status = answer.status();
        let html = read_page(answer).await?;
        if !status.is_success() {
            return Err(LookupError::AutoLogin(match error_message(&html) {
                Some(message) => format!("Nextcloud refused: {message}"),
                None => format!("the page {url} answered {status}"),
            }));
        }
        if matches(&DONE, &html)? {
            return Ok(());
        }
        if let Some((action, mut fields)) = form_of(&html, &FORM, &url)? {
            logins += 1;
            if logins > 1 {
                let message = error_message(&html).unwrap_or_else(|| "the login form came back".into());
                return Err(LookupError::AutoLogin(format!("the login failed: {message}")));
            }
            fields.push(("user".to_owned(), user.to_owned()));
            fields.push(("password".to_owned(), password.to_owned()));
            next = Request::Post(action, fields);
        } else if let Some((action, fields)) = form_of(&html, &GRANT_FORM, &url)? {
            next = Request::Post(action, fields);
        } else if let Some((mut action, fields)) = form_of(&html, &PICKER_FORM, &url)? {
            action.query_pairs_mut().extend_pairs(&fields);
            next = Request::Get(action);
        } else {
            return Err(LookupError::AutoLogin(format!("the page {url} is no step of Nextcloud's login flow")));
        }
    }
    Err(LookupError::AutoLogin(format!("no \"Account connected\" page after {MAX_STEPS} steps")))
}

/// Whether `url` is a Login Flow v2 login URL (`<server>/index.php/login/v2/flow/<token>`, or without `index.php`).
pub(super) fn is_flow_url(url: &Url) -> bool {
    url.path().rsplit_once("/login/v2/flow/").is_some_and(|(_, token)| !token.is_empty() && !token.contains('/'))
}

enum Request {
    Get(Url),
    Post(Url, Fields),
}

impl Request {
    fn url(&self) -> &Url {
        match self {
            Request::Get(url) | Request::Post(url, _) => url,
        }
    }
}

fn matches(pattern: &LazyLock<Result<Regex, regex::Error>>, html: &str) -> Result<bool, LookupError> {
    Ok(pattern.as_ref().map_err(|error| LookupError::AutoLogin(error.to_string()))?.is_match(html))
}

/// Keeps each `Set-Cookie`'s name and value (the GSS sets one session cookie; attributes do not matter here).
fn remember_cookies(answer: &reqwest::Response, cookies: &mut Vec<(String, String)>) {
    for value in answer.headers().get_all(reqwest::header::SET_COOKIE) {
        let Some((name, value)) = value.to_str().ok().and_then(|line| line.split(';').next()?.split_once('=')) else {
            continue;
        };
        cookies.retain(|(known, _)| known != name.trim());
        cookies.push((name.trim().to_owned(), value.trim().to_owned()));
    }
}

fn cookie_header(cookies: &[(String, String)]) -> Option<String> {
    (!cookies.is_empty())
        .then(|| cookies.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_urls_are_told_from_authorization_requests() {
        let url = |text: &str| Url::parse(text).expect("a URL");
        assert!(is_flow_url(&url("http://127.0.0.1:1/index.php/login/v2/flow/abc")), "Nextcloud's login URL");
        assert!(is_flow_url(&url("http://127.0.0.1:1/nc/login/v2/flow/abc")), "without index.php, under a path");
        assert!(!is_flow_url(&url("http://127.0.0.1:1/index.php/login/v2/flow")), "the picker is no start");
        assert!(!is_flow_url(&url("http://127.0.0.1:1/authorize?login/v2/flow/x")), "an OIDC request is not");
    }

    #[tokio::test]
    async fn non_loopback_servers_are_refused_before_any_request() {
        let refused = auto_login_nextcloud(
            &Url::parse("https://cloud.example.com/index.php/login/v2/flow/x").expect("URL"),
            "alice",
            "alice-pw",
        )
        .await;
        assert!(matches!(refused, Err(LookupError::AutoLogin(_))), "off loopback: {refused:?}");
    }
}
