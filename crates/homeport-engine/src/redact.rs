//! What never leaves Homeport as it was sent: credentials in headers, cookies, tokens and login
//! codes in URLs, a password in a URL's userinfo. [`crate::trace::Trace`] applies it once, when an
//! exchange is recorded, so the live diagram, `connect --json` and the trace files all carry the
//! same redacted data; the exports ([`crate::trace_export`]) apply it again, as they are pure
//! functions over any [`crate::trace::Exchange`].

use url::Url;

/// What stands for a secret value.
pub const REDACTED: &str = "[redacted]";

/// Query (and fragment) parameters whose values are secrets; compared without case.
const SECRET_PARAMETERS: [&str; 13] = [
    "code",
    "state",
    "logintoken",
    "login_token",
    "access_token",
    "id_token",
    "token",
    "password",
    "refresh_token",
    "client_secret",
    "nonce",
    "code_verifier",
    "session_state",
];

/// Header values that must never be recorded as they are: credentials keep their scheme only
/// (`Basic [redacted]`), cookies nothing.
pub(crate) fn redact_header(name: &str, value: &str) -> String {
    match name.to_ascii_lowercase().as_str() {
        "authorization" | "proxy-authorization" => match value.split_once(' ') {
            Some((scheme, _)) => format!("{scheme} {REDACTED}"),
            None => REDACTED.to_owned(),
        },
        "cookie" | "set-cookie" => REDACTED.to_owned(),
        _ => value.to_owned(),
    }
}

/// [`redact_header`], plus token-named headers and the URLs of URL-valued ones.
pub(crate) fn redact_any_header(name: &str, value: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if ["token", "secret", "password", "api-key", "apikey"].iter().any(|word| lower.contains(word)) {
        return REDACTED.to_owned();
    }
    match lower.as_str() {
        "location" | "content-location" | "referer" => redact_url(value),
        _ => redact_header(name, value),
    }
}

/// `url` with the values of secret query and fragment parameters replaced by `[redacted]` and a
/// password in the userinfo dropped. Text that is no URL is redacted as a query string would be.
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = Url::parse(url) else {
        return redact_text(url);
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(None);
    }
    if let Some(query) = parsed.query() {
        let query = redact_pairs(query);
        parsed.set_query(Some(&query));
    }
    if let Some(fragment) = parsed.fragment() {
        let fragment = redact_pairs(fragment);
        parsed.set_fragment(Some(&fragment));
    }
    parsed.to_string()
}

/// Free text (an error message, an unparsable URL): any `name=value` of a secret parameter in it
/// keeps its name only.
pub(crate) fn redact_text(text: &str) -> String {
    match text.split_once('?') {
        Some((before, query)) => format!("{before}?{}", redact_pairs(query)),
        None if text.contains('=') => redact_pairs(text),
        None => text.to_owned(),
    }
}

/// `a=1&code=xyz` → `a=1&code=[redacted]`, keeping every other byte as it was.
fn redact_pairs(pairs: &str) -> String {
    pairs
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_parameter(name) => format!("{name}={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn is_secret_parameter(name: &str) -> bool {
    // The name as a server would decode it (`%63ode` is `code`); a trailing word boundary is
    // enough to catch `token` in `foo token` of free text, and `#` the fragment of a URL in it.
    let decoded: String = url::form_urlencoded::parse(name.as_bytes()).map(|(key, _)| key.into_owned()).collect();
    let decoded = decoded.rsplit([' ', '\t', ',', ';', '(', ':', '#']).next().unwrap_or_default().to_ascii_lowercase();
    SECRET_PARAMETERS.contains(&decoded.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_cookies_are_redacted() {
        assert_eq!(redact_header("Authorization", "Basic dGVzdDpzZWNyZXQ="), "Basic [redacted]");
        assert_eq!(redact_header("authorization", "opaque"), "[redacted]");
        assert_eq!(redact_header("Set-Cookie", "oc_session=abc"), "[redacted]");
        assert_eq!(redact_header("Depth", "0"), "0", "ordinary headers stay readable");
    }

    #[test]
    fn redaction_keeps_everything_else_as_it_was() {
        assert_eq!(redact_url("https://h/a?format=json&x=%20y"), "https://h/a?format=json&x=%20y");
        assert_eq!(redact_url("https://h/cb?Code=1&%73tate=2"), "https://h/cb?Code=[redacted]&%73tate=[redacted]");
        assert_eq!(redact_text("token=abc"), "token=[redacted]");
        assert_eq!(redact_text("connection refused"), "connection refused");
    }

    #[test]
    fn redacting_twice_changes_nothing_more() {
        for url in [
            "https://alice:hunter2@h/cb?code=1&state=2#access_token=3",
            "https://h/a?format=json&x=%20y",
            "/login;jsessionid=1#top",
            "not a url?token=1",
        ] {
            let once = redact_url(url);
            assert_eq!(redact_url(&once), once, "an export of a recorded trace shows what was recorded");
        }
    }
}
