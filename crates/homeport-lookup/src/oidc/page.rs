//! The HTML a browser shows at the lookup server's login services (the OpenID Provider, the Matrix portal's SSO):
//! the login form and the error page. Both services use one form shape so that one robot logs in at either.

use std::fmt::Write as _;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::owncloud::xml_escape;

/// What differs between the services' login forms.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LoginForm<'a> {
    /// The heading and the page title.
    pub(crate) title: &'a str,
    /// The path the form posts to, on the page's own origin.
    pub(crate) action: &'a str,
    /// The demo users and their passwords, shown under the form.
    pub(crate) hint: &'a str,
}

/// The login page for a request: `params` go into hidden inputs (all of the request's query parameters), `error`
/// into `<p id="error">`.
pub(crate) fn login(form: &LoginForm<'_>, params: &[(String, String)], error: Option<&str>, username: &str) -> String {
    let mut hidden = String::new();
    for (name, value) in params {
        // Writing into a String cannot fail.
        let _ = writeln!(
            hidden,
            "      <input type=\"hidden\" name=\"{}\" value=\"{}\">",
            xml_escape(name),
            xml_escape(value)
        );
    }
    let error = error.map(|message| format!("    <p id=\"error\" role=\"alert\">{}</p>\n", xml_escape(message)));
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n  \
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n  <title>Log in · {title}</title>\n  \
         <style>{STYLE}</style>\n</head>\n<body>\n  <main>\n    <h1>{title}</h1>\n    \
         <p>Log in to continue to Homeport.</p>\n{error}    \
         <form id=\"login\" method=\"post\" action=\"{action}\">\n{hidden}      \
         <label for=\"username\">Username</label>\n      \
         <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" value=\"{username}\" \
         required{user_focus}>\n      \
         <label for=\"password\">Password</label>\n      \
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" \
         required{password_focus}>\n      \
         <button id=\"submit\" type=\"submit\">Log in</button>\n    </form>\n    \
         <p class=\"hint\">{hint}</p>\n  \
         </main>\n</body>\n</html>\n",
        title = xml_escape(form.title),
        action = xml_escape(form.action),
        hint = xml_escape(form.hint),
        error = error.unwrap_or_default(),
        username = xml_escape(username),
        // With the user name known (typed before, or a `login_hint`), the password is next, as at lico.
        user_focus = if username.is_empty() { " autofocus" } else { "" },
        password_focus = if username.is_empty() { "" } else { " autofocus" },
    )
}

/// The consent page: `client` asks for `scopes` on behalf of `user`. Two forms post the `ticket`: `#consent`
/// (its button `#allow`) with `consent=allow`, `#cancel` (its button `#deny`) with `consent=deny` — each answer in
/// hidden fields, so a browser robot that submits the first form without its button allows.
pub(crate) fn consent(title: &str, client: &str, user: &str, scopes: &[String], ticket: &str) -> String {
    let mut items = String::new();
    for scope in scopes {
        // Writing into a String cannot fail.
        let _ = writeln!(items, "      <li>{}</li>", xml_escape(scope));
    }
    let form = |id: &str, answer: &str, button: &str, label: &str| {
        format!(
            "    <form id=\"{id}\" method=\"post\" action=\"/authorize/consent\">\n      \
             <input type=\"hidden\" name=\"ticket\" value=\"{ticket}\">\n      \
             <input type=\"hidden\" name=\"consent\" value=\"{answer}\">\n      \
             <button id=\"{button}\" type=\"submit\">{label}</button>\n    </form>\n",
            ticket = xml_escape(ticket),
        )
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n  \
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n  <title>Consent · {title}</title>\n  \
         <style>{STYLE}</style>\n</head>\n<body>\n  <main>\n    <h1>{title}</h1>\n    \
         <p>Hello {user}. <strong>{client}</strong> asks for access to your account:</p>\n    \
         <ul id=\"scopes\">\n{items}    </ul>\n{allow}{deny}  </main>\n</body>\n</html>\n",
        title = xml_escape(title),
        user = xml_escape(user),
        client = xml_escape(client),
        allow = form("consent", "allow", "allow", "Allow"),
        deny = form("cancel", "deny", "deny", "Cancel"),
    )
}

/// A page for a request that cannot be redirected back to the client (unknown client, bad redirect URI, a zone
/// that refuses); the message is in `<p id="error">`.
pub(crate) fn error(title: &str, message: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n  <title>Error · {title}</title>\n  \
         <style>{STYLE}</style>\n</head>\n<body>\n  <main>\n    <h1>{title}</h1>\n    \
         <p id=\"error\" role=\"alert\">{message}</p>\n  </main>\n</body>\n</html>\n",
        title = xml_escape(title),
        message = xml_escape(message),
    )
}

/// An HTML answer that no cache keeps and no other site frames.
pub(crate) fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        ],
        body,
    )
        .into_response()
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f6f8;margin:0}\
main{max-width:22rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;\
box-shadow:0 1px 4px rgba(0,0,0,.15)}label,input,button{display:block;width:100%;box-sizing:border-box}\
input{margin:.25rem 0 1rem;padding:.5rem}button{padding:.6rem;background:#0d5b9d;color:#fff;border:0;\
border-radius:4px}#error{color:#b00020;font-weight:600}.hint{color:#666;font-size:.8rem}";

/// The fields of a form-urlencoded body or query, in order (the login form's, or a token request's).
pub(crate) fn form_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

/// Takes the user name and password (empty when missing) out of a submitted login form's fields, leaving the
/// request the form carried in its hidden fields.
pub(crate) fn take_credentials(params: &mut Vec<(String, String)>) -> (String, String) {
    let username = take(params, "username").unwrap_or_default();
    let password = take(params, "password").unwrap_or_default();
    (username, password)
}

/// Removes every `name` parameter, returning the first value.
fn take(params: &mut Vec<(String, String)>, name: &str) -> Option<String> {
    let value = params.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    params.retain(|(key, _)| key != name);
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_carries_escaped_hidden_fields() {
        let form = LoginForm { title: "Zone <1>", action: "/authorize", hint: "Demo users: a / b" };
        let page = login(
            &form,
            &[("state".into(), "a\"b<c".into()), ("client_id".into(), "x".into())],
            Some("Wrong <password>"),
            "mar\"ie",
        );
        assert!(page.contains("<form id=\"login\" method=\"post\" action=\"/authorize\">"), "the form: {page}");
        assert!(page.contains("name=\"state\" value=\"a&quot;b&lt;c\""), "hidden values are escaped: {page}");
        assert!(page.contains("<p id=\"error\" role=\"alert\">Wrong &lt;password&gt;</p>"), "the error: {page}");
        assert!(page.contains("value=\"mar&quot;ie\""), "the user name is kept, escaped: {page}");
        assert!(page.contains("type=\"password\""), "a password input");
        assert!(page.contains("id=\"submit\""), "a submit button");
        assert!(page.contains("<h1>Zone &lt;1&gt;</h1>"), "the title is escaped: {page}");
        assert!(page.contains("<p class=\"hint\">Demo users: a / b</p>"), "the hint: {page}");
        assert!(!login(&form, &[], None, "").contains("id=\"error\""), "no error element without an error");
    }
}
