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

/// Fields of a response body whose values are secrets, compared without case and without `_`/`-`
/// (`appPassword`, `app_password`): OAuth 2.0 and OpenID Connect token answers, device and
/// registration answers, Nextcloud's app password and Login Flow token, Matrix's login answer.
const SECRET_FIELDS: [&str; 23] = [
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "token",
    "code",
    "devicecode",
    "usercode",
    "clientsecret",
    "registrationaccesstoken",
    "password",
    "passwd",
    "apppassword",
    "logintoken",
    "codeverifier",
    "secret",
    "apikey",
    "assertion",
    "clientassertion",
    "sessionstate",
    "state",
    "nonce",
    "cookie",
    "authorization",
];

fn is_secret_field(name: &str) -> bool {
    let folded: String = name.chars().filter(|c| *c != '_' && *c != '-').collect::<String>().to_ascii_lowercase();
    SECRET_FIELDS.contains(&folded.as_str())
}

/// A quoted response body (an error's "the body starts with", a server's error text) with the
/// values of secret fields (JSON `"access_token": "…"`, a form's `code=…`, XML's
/// `<apppassword>…</apppassword>`) and every token-shaped value ([`is_token_shaped`]) replaced
/// by `[redacted]`; the rest stays readable for diagnosis. Redacting twice changes nothing more.
pub fn redact_body(text: &str) -> String {
    use std::sync::LazyLock;

    use regex::{Captures, Regex};
    // `"name" : "value"`, `name=value`, `'name': value` — a field name, a separator, a value
    // (quoted, with escapes, or up to the next delimiter).
    static FIELD: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(?P<name>[A-Za-z][A-Za-z0-9_-]*)(?P<close>["']?)(?P<sep>\s*[:=]\s*)(?P<value>"(?:[^"\\]|\\.)*"?|'[^']*'?|[^\s&,;}<>"')\[\]]+)"#)
            .expect("a valid pattern")
    });
    static XML: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"<(?P<name>[A-Za-z][A-Za-z0-9_:-]*)(?P<attrs>[^>]*)>(?P<value>[^<]+)").expect("a valid pattern")
    });
    // A field or element can only be secret by a name in SECRET_FIELDS, and that name, folded, is
    // part of the folded text: without one, both passes below would change nothing, and they are
    // the costly ones (captures over the whole text).
    if !may_name_a_secret_field(text) {
        return redact_token_shaped(text);
    }
    let fields = FIELD.replace_all(text, |c: &Captures| {
        let value = &c["value"];
        if !is_secret_field(&c["name"]) || value.trim_matches(['"', '\'']).is_empty() || value.contains(REDACTED) {
            return c[0].to_owned();
        }
        let quote = match value.chars().next() {
            Some(q @ ('"' | '\'')) => q.to_string(),
            _ => String::new(),
        };
        format!("{}{}{}{quote}{REDACTED}{quote}", &c["name"], &c["close"], &c["sep"])
    });
    let xml = XML.replace_all(&fields, |c: &Captures| {
        let local = c["name"].rsplit(':').next().unwrap_or_default();
        match is_secret_field(local) && !c["value"].trim().is_empty() && &c["value"] != REDACTED {
            true => format!("<{}{}>{REDACTED}", &c["name"], &c["attrs"]),
            false => c[0].to_owned(),
        }
    });
    redact_token_shaped(&xml)
}

/// Whether some name in [`SECRET_FIELDS`] occurs in `text` as [`is_secret_field`] compares names.
fn may_name_a_secret_field(text: &str) -> bool {
    let folded: String =
        text.chars().filter(|c| *c != '_' && *c != '-').map(|c| c.to_ascii_lowercase()).collect::<String>();
    SECRET_FIELDS.iter().any(|name| folded.contains(name))
}

/// Every run of token characters that [`is_token_shaped`] replaced by `[redacted]`.
fn redact_token_shaped(text: &str) -> String {
    use std::sync::LazyLock;

    use regex::Regex;
    static RUN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[A-Za-z0-9_~+/=.-]{20,}").expect("a valid pattern"));
    RUN.replace_all(text, |c: &regex::Captures| match is_token_shaped(&c[0]) {
        true => REDACTED.to_owned(),
        false => c[0].to_owned(),
    })
    .into_owned()
}

/// Whether a run of token characters (`[A-Za-z0-9_~+/=.-]`, 20 or more) looks like a credential
/// rather than a word, a path or a version: some part of it between `/` and `.` mixes letters with
/// digits over 12 characters or more, or switches case at least four times over 16 or more —
/// what random tokens (JWTs, app passwords, Matrix and MAS tokens, hex digests) do and
/// `/remote.php/dav/files/alice/` or `Content-Security-Policy` do not.
fn is_token_shaped(run: &str) -> bool {
    run.split(['/', '.']).any(|part| {
        let letters = part.chars().any(|c| c.is_ascii_alphabetic());
        let digits = part.chars().any(|c| c.is_ascii_digit());
        let bytes = part.as_bytes();
        let switches = bytes
            .windows(2)
            .filter(|w| w[0].is_ascii_alphabetic() && w[1].is_ascii_alphabetic())
            .filter(|w| w[0].is_ascii_uppercase() != w[1].is_ascii_uppercase())
            .count();
        (part.len() >= 12 && letters && digits) || (part.len() >= 16 && switches >= 4)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_bodies_keep_no_secret_field_nor_token_shaped_value() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz";
        let cases = [
            (format!(r#"{{"access_token":"{jwt}","token_type":"Bearer"}}"#), r#"{"access_token":"[redacted]","token_type":"Bearer"}"#.to_owned()),
            (r#"{"refresh_token": "short1", "expires_in": 300}"#.into(), r#"{"refresh_token": "[redacted]", "expires_in": 300}"#.into()),
            (r#"{"appPassword":"x","loginToken":"y","device_code":"z","client_secret":"w"}"#.into(), r#"{"appPassword":"[redacted]","loginToken":"[redacted]","device_code":"[redacted]","client_secret":"[redacted]"}"#.into()),
            ("code=abc&state=def&scope=openid".into(), "code=[redacted]&state=[redacted]&scope=openid".into()),
            ("<ocs><data><apppassword>pw</apppassword></data></ocs>".into(), "<ocs><data><apppassword>[redacted]</apppassword></data></ocs>".into()),
            ("Authorization: Bearer syt_YWxpY2U_ZGV2aWNlX3Rva2Vu_1a2b3c".into(), "Authorization: [redacted] [redacted]".into()),
            (format!("<p>token {jwt}</p>"), "<p>token [redacted]</p>".into()),
            (r#"a truncated {"password":"hunter2"#.into(), r#"a truncated {"password":"[redacted]""#.into()),
        ];
        for (body, expected) in cases {
            assert_eq!(redact_body(&body), expected, "body {body}");
            assert_eq!(redact_body(&expected), expected, "redacting twice changes nothing more: {expected}");
        }
    }

    #[test]
    fn quoted_bodies_stay_readable() {
        for body in [
            r#"{"error":"invalid_grant","error_description":"Token is not active"}"#,
            "<html><head><title>502 Bad Gateway</title></head><body>nginx/1.24.0</body></html>",
            "see https://cloud.example.com/remote.php/dav/files/alice/ and /ocs/v2.php/cloud/capabilities",
            r#"{"errcode":"M_FORBIDDEN","error":"Invalid username or password"}"#,
            "Content-Security-Policy: default-src 'none'; version 10.13.4.3",
            r#"{"installed":true,"version":"10.13.4.3","productname":"ownCloud"}"#,
        ] {
            assert_eq!(redact_body(body), body, "nothing secret in {body}");
        }
    }

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
