//! The Global Site Selector's HTML pages of Login Flow v2, shaped like Nextcloud's `core/templates/loginflowv2/`
//! (auth picker, grant, done) and its login page: plain forms a person, `tests/peers/browser-robot.py` and the
//! lookup robot can fill.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::owncloud::xml_escape;

/// Nextcloud's paths of the flow's pages on the GSS.
pub(crate) const PICKER_PATH: &str = "/index.php/login/v2/flow";
pub(crate) const GRANT_PATH: &str = "/index.php/login/v2/grant";
pub(crate) const LOGIN_PATH: &str = "/index.php/login";

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{} - Nextcloud</title>\n\
         </head>\n<body class=\"guest\">\n<main>\n{body}</main>\n</body>\n</html>\n",
        xml_escape(title)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache, no-store, must-revalidate")),
            // Nextcloud's pages forbid framing (clickjacking of the grant button).
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        ],
        html,
    )
        .into_response()
}

/// The auth picker: "Connect to your account", a "Log in" button that goes on to the grant page (which asks for
/// the login first).
pub(crate) fn picker(client: &str, state_token: &str) -> Response {
    let body = format!(
        "<h2>Connect to your account</h2>\n\
         <p class=\"info\">Please log in before granting <strong>{client}</strong> access to your Nextcloud \
         account.</p>\n\
         <form id=\"login-form\" method=\"get\" action=\"{GRANT_PATH}\">\n\
         <input type=\"hidden\" name=\"stateToken\" value=\"{state}\">\n\
         <input type=\"submit\" class=\"login primary\" value=\"Log in\">\n</form>\n",
        client = xml_escape(client),
        state = xml_escape(state_token),
    );
    page(StatusCode::OK, "Connect to your account", &body)
}

/// The login page: login and password, the CSRF `requesttoken` and where to go on.
pub(crate) fn login_form(redirect_url: &str, request_token: &str, user: &str, error: Option<&str>) -> Response {
    let error = error.map(|message| format!("<p id=\"error\" role=\"alert\">{}</p>\n", xml_escape(message)));
    let body = format!(
        "<h2>Log in to Nextcloud</h2>\n{error}\
         <form id=\"login\" name=\"login\" method=\"post\" action=\"{LOGIN_PATH}\">\n\
         <label for=\"user\">Login or email</label>\n\
         <input type=\"text\" id=\"user\" name=\"user\" value=\"{user}\" autocomplete=\"username\" required>\n\
         <label for=\"password\">Password</label>\n\
         <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\n\
         <input type=\"hidden\" name=\"requesttoken\" value=\"{token}\">\n\
         <input type=\"hidden\" name=\"redirect_url\" value=\"{redirect}\">\n\
         <input type=\"hidden\" name=\"timezone\" value=\"UTC\">\n\
         <input type=\"submit\" value=\"Log in\">\n</form>\n",
        error = error.unwrap_or_default(),
        user = xml_escape(user),
        token = xml_escape(request_token),
        redirect = xml_escape(redirect_url),
    );
    page(StatusCode::OK, "Login", &body)
}

/// The grant page: who is logged in and the "Grant access" button.
pub(crate) fn grant(login: &str, display_name: &str, client: &str, state_token: &str, request_token: &str) -> Response {
    let body = format!(
        "<h2>Account access</h2>\n\
         <p class=\"info\">Currently logged in as <strong>{display_name} ({login})</strong>.</p>\n\
         <p class=\"info\">You are about to grant <strong>{client}</strong> access to your Nextcloud account.</p>\n\
         <form id=\"grant\" method=\"post\" action=\"{GRANT_PATH}\">\n\
         <input type=\"hidden\" name=\"stateToken\" value=\"{state}\">\n\
         <input type=\"hidden\" name=\"requesttoken\" value=\"{token}\">\n\
         <input type=\"submit\" class=\"login primary\" value=\"Grant access\">\n</form>\n",
        display_name = xml_escape(display_name),
        login = xml_escape(login),
        client = xml_escape(client),
        state = xml_escape(state_token),
        token = xml_escape(request_token),
    );
    page(StatusCode::OK, "Account access", &body)
}

/// The done page, as `loginflowv2/done.php` says it.
pub(crate) fn done() -> Response {
    page(
        StatusCode::OK,
        "Account connected",
        "<h2 id=\"done\">Account connected</h2>\n\
         <p class=\"info\">Your client should now be connected! You can close this window.</p>\n",
    )
}

/// Nextcloud's `403` template with its message ("Your login token is invalid or has expired", …).
pub(crate) fn forbidden(message: &str) -> Response {
    let body = format!("<h2>Access forbidden</h2>\n<p id=\"error\" role=\"alert\">{}</p>\n", xml_escape(message));
    page(StatusCode::FORBIDDEN, "Access forbidden", &body)
}

/// The message of an expired, unknown or finished flow.
pub(crate) const FLOW_GONE: &str = "Your login token is invalid or has expired";

/// A `500` as Nextcloud's error page shows it (fault `nextcloud-poll-error`).
pub(crate) fn internal_error() -> Response {
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal Server Error",
        "<h2>Internal Server Error</h2>\n<p>The server was unable to complete your request.</p>\n\
         <p>If this happens again, please send the technical details below to the server administrator.</p>\n",
    )
}
