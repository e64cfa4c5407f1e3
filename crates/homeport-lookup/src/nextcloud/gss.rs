//! The Global Site Selector: `status.php`, Login Flow v2 (init, poll, the login, grant and done pages) and the
//! WebDAV entry that sends a password login to the user's node (`docs/protocols/nextcloud-login-flow.md`).
//!
//! The pages follow Nextcloud's `ClientFlowLoginV2Controller`: the flow URL stores the login token in the browser
//! session and redirects to the auth picker; its "Log in" goes to the grant page, which needs a logged-in session
//! and so sends the browser to the login page first; the grant creates the app password at the account's node.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use serde_json::json;

use super::pages::{self, FLOW_GONE, GRANT_PATH, LOGIN_PATH, PICKER_PATH};
use super::state::{random_token, Nextcloud, STATE_TOKEN_LENGTH};
use super::status_response;
use crate::dav::{DAV_FILES_ROUTES, LEGACY_WEBDAV_ROUTES};
use crate::owncloud::{unauthorized, BasicCredentials};
use crate::Fault;

/// The session cookie of the GSS's pages (Nextcloud names it after the instance id).
const SESSION_COOKIE: &str = "ocgss";

pub(crate) fn router(state: Arc<Nextcloud>) -> Router {
    let mut router = Router::new()
        .route("/status.php", get(status))
        .route("/index.php/login/v2", post(init))
        .route("/index.php/login/v2/poll", post(poll))
        .route("/index.php/login/v2/flow/{token}", get(landing))
        // Nextcloud with pretty URLs answers the same without `index.php`.
        .route("/login/v2", post(init))
        .route("/login/v2/poll", post(poll))
        .route("/login/v2/flow/{token}", get(landing))
        .route(PICKER_PATH, get(picker))
        .route(GRANT_PATH, get(grant_page).post(grant))
        .route(LOGIN_PATH, get(login_page).post(login));
    for route in LEGACY_WEBDAV_ROUTES.into_iter().chain(DAV_FILES_ROUTES) {
        router = router.route(route, any(webdav));
    }
    router.fallback(|| async { (StatusCode::NOT_FOUND, "Not Found").into_response() }).with_state(state)
}

async fn status(State(state): State<Arc<Nextcloud>>) -> Response {
    status_response(state.people)
}

/// `POST /index.php/login/v2`: a new flow, named after the client's `User-Agent`.
async fn init(State(state): State<Arc<Nextcloud>>, headers: HeaderMap) -> Response {
    let client = headers.get(header::USER_AGENT).and_then(|value| value.to_str().ok()).unwrap_or("unknown client");
    let Ok((poll_token, login_token)) = state.start_flow(client) else {
        return pages::internal_error();
    };
    let gss = state.gss_url().as_str().trim_end_matches('/');
    axum::Json(json!({
        "poll": { "token": poll_token, "endpoint": format!("{gss}/index.php/login/v2/poll") },
        "login": format!("{gss}/index.php/login/v2/flow/{login_token}"),
    }))
    .into_response()
}

/// `POST /index.php/login/v2/poll` with `token` (form body, or the query as Nextcloud also reads it).
async fn poll(State(state): State<Arc<Nextcloud>>, uri: Uri, body: Bytes) -> Response {
    if state.fault == Some(Fault::NextcloudPollError) {
        return pages::internal_error();
    }
    let token = url::form_urlencoded::parse(&body)
        .chain(url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()))
        .find(|(key, _)| key == "token")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    match state.poll(&token, Instant::now()) {
        Some(credentials) => axum::Json(json!({
            "server": credentials.server,
            "loginName": credentials.login_name,
            "appPassword": credentials.app_password,
        }))
        .into_response(),
        None => (StatusCode::NOT_FOUND, axum::Json(json!([]))).into_response(),
    }
}

/// `GET /index.php/login/v2/flow/<login token>`: the URL the client opens; stores the token in the session.
async fn landing(State(state): State<Arc<Nextcloud>>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    if state.open_flow(&token).is_none() {
        return pages::forbidden(FLOW_GONE);
    }
    let (session, cookie) = match session_of(&state, &headers) {
        Some(session) => (session, None),
        None => match state.new_session() {
            Ok(session) => (session.clone(), Some(session)),
            Err(_) => return pages::internal_error(),
        },
    };
    state.with_session(&session, |session| {
        session.login_token = Some(token);
        session.state_token = None;
    });
    let mut response = see_other(PICKER_PATH);
    if let Some(id) = cookie {
        set_cookie(&state, &mut response, &id);
    }
    response
}

/// `GET /index.php/login/v2/flow`: the auth picker, with a fresh state token.
async fn picker(State(state): State<Arc<Nextcloud>>, headers: HeaderMap) -> Response {
    let Some(session) = session_of(&state, &headers) else {
        return pages::forbidden(FLOW_GONE);
    };
    let Some(client) = flow_of_session(&state, &session) else {
        return pages::forbidden(FLOW_GONE);
    };
    let Ok(state_token) = random_token(STATE_TOKEN_LENGTH) else {
        return pages::internal_error();
    };
    state.with_session(&session, |session| session.state_token = Some(state_token.clone()));
    pages::picker(&client, &state_token)
}

#[derive(Debug, serde::Deserialize)]
struct StateTokenQuery {
    #[serde(rename = "stateToken")]
    state_token: Option<String>,
}

/// `GET /index.php/login/v2/grant?stateToken=…`: the login page first, then "Grant access".
async fn grant_page(
    State(state): State<Arc<Nextcloud>>,
    headers: HeaderMap,
    Query(query): Query<StateTokenQuery>,
    uri: Uri,
) -> Response {
    let Some(session) = session_of(&state, &headers) else {
        return pages::forbidden(FLOW_GONE);
    };
    if let Err(refusal) = check_state_token(&state, &session, query.state_token.as_deref()) {
        return *refusal;
    }
    let Some(client) = flow_of_session(&state, &session) else {
        return pages::forbidden(FLOW_GONE);
    };
    let Some((user, request_token)) = state.with_session(&session, |s| (s.user, s.request_token.clone())) else {
        return pages::forbidden(FLOW_GONE);
    };
    let Some(user) = user else {
        let here = uri.path_and_query().map_or(GRANT_PATH, |path| path.as_str());
        let target = url::form_urlencoded::Serializer::new(String::new()).append_pair("redirect_url", here).finish();
        return see_other(&format!("{LOGIN_PATH}?{target}"));
    };
    let state_token = query.state_token.unwrap_or_default();
    pages::grant(user.login, user.display_name, &client, &state_token, &request_token)
}

/// `POST /index.php/login/v2/grant`: the app password is created at the account's node, the flow is done.
async fn grant(State(state): State<Arc<Nextcloud>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = form(&body);
    let Some(session) = session_of(&state, &headers) else {
        return pages::forbidden(FLOW_GONE);
    };
    if let Err(refusal) = check_state_token(&state, &session, field(&form, "stateToken")) {
        return *refusal;
    }
    let Some((user, login_token, request_token)) =
        state.with_session(&session, |s| (s.user, s.login_token.take(), s.request_token.clone()))
    else {
        return pages::forbidden(FLOW_GONE);
    };
    if field(&form, "requesttoken") != Some(request_token.as_str()) {
        return pages::forbidden("CSRF check failed");
    }
    state.with_session(&session, |s| s.state_token = None);
    let (Some(user), Some(login_token)) = (user, login_token) else {
        return pages::forbidden(FLOW_GONE);
    };
    match state.grant(&login_token, user) {
        Ok(true) => pages::done(),
        Ok(false) => pages::forbidden("Could not complete login"),
        Err(_) => pages::internal_error(),
    }
}

#[derive(Debug, serde::Deserialize)]
struct LoginQuery {
    redirect_url: Option<String>,
    user: Option<String>,
}

/// `GET /index.php/login`: the login form (a session is started if the browser has none).
async fn login_page(
    State(state): State<Arc<Nextcloud>>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Response {
    let (session, cookie) = match session_of(&state, &headers) {
        Some(session) => (session, None),
        None => match state.new_session() {
            Ok(session) => (session.clone(), Some(session)),
            Err(_) => return pages::internal_error(),
        },
    };
    let request_token = state.with_session(&session, |s| s.request_token.clone()).unwrap_or_default();
    let redirect = query.redirect_url.unwrap_or_default();
    let mut response = pages::login_form(&redirect, &request_token, query.user.as_deref().unwrap_or_default(), None);
    if let Some(id) = cookie {
        set_cookie(&state, &mut response, &id);
    }
    response
}

/// `POST /index.php/login`: checks the password of the account (on whichever node it lives: the GSS knows them
/// all) and goes on to `redirect_url`.
async fn login(State(state): State<Arc<Nextcloud>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = form(&body);
    let user = field(&form, "user").unwrap_or_default();
    let redirect = field(&form, "redirect_url").unwrap_or_default();
    let Some(session) = session_of(&state, &headers) else {
        return pages::forbidden("CSRF check failed");
    };
    let Some(request_token) = state.with_session(&session, |s| s.request_token.clone()) else {
        return pages::forbidden("CSRF check failed");
    };
    if field(&form, "requesttoken") != Some(request_token.as_str()) {
        return pages::forbidden("CSRF check failed");
    }
    let Some(account) = state.account(user, field(&form, "password").unwrap_or_default()) else {
        return pages::login_form(redirect, &request_token, user, Some("Wrong login or password."));
    };
    state.with_session(&session, |s| s.user = Some(account));
    // Only paths on this server: an open redirect would hand the session's next page to anyone.
    let same_site = redirect.starts_with('/') && !redirect.starts_with("//") && !redirect.contains('\\');
    see_other(if same_site { redirect } else { "/" })
}

/// WebDAV at the GSS: a Basic login is sent on to the account's node (`307`, method and body kept), the
/// central-lookup form of seed 000. The GSS checks no password here; the node does.
async fn webdav(State(state): State<Arc<Nextcloud>>, headers: HeaderMap, uri: Uri) -> Response {
    let Some(credentials) = BasicCredentials::from_headers(&headers) else {
        return unauthorized("No 'Authorization: Basic' header found");
    };
    let Some(user) = state.people.find_nextcloud_user(&credentials.user) else {
        return unauthorized("Username or password was incorrect");
    };
    let Some(node) = state.node_urls().get(user.node) else {
        return unauthorized("Username or password was incorrect");
    };
    let path = uri.path_and_query().map_or(uri.path(), |path| path.as_str());
    let location = format!("{}{}", node.as_str().trim_end_matches('/'), path);
    match HeaderValue::from_str(&location) {
        Ok(value) => (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, value)]).into_response(),
        Err(_) => pages::internal_error(),
    }
}

/// The id of the browser's known session, from its cookie.
fn session_of(state: &Nextcloud, headers: &HeaderMap) -> Option<String> {
    let cookies = headers.get_all(header::COOKIE).iter().filter_map(|value| value.to_str().ok());
    let id = cookies
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())?;
    state.with_session(&id, |_| ()).map(|()| id)
}

/// The client of the session's flow, while the flow is open.
fn flow_of_session(state: &Nextcloud, session: &str) -> Option<String> {
    let login_token = state.with_session(session, |s| s.login_token.clone())??;
    state.open_flow(&login_token)
}

/// The `403` page when the state token is missing or not the one the picker issued to this session.
fn check_state_token(state: &Nextcloud, session: &str, given: Option<&str>) -> Result<(), Box<Response>> {
    let Some(given) = given else {
        return Err(Box::new(pages::forbidden("State token missing")));
    };
    let expected = state.with_session(session, |s| s.state_token.clone()).flatten();
    if expected.as_deref() != Some(given) {
        return Err(Box::new(pages::forbidden("State token does not match")));
    }
    Ok(())
}

/// The session cookie, `Secure` when the GSS serves https (as Nextcloud sets it).
fn set_cookie(state: &Nextcloud, response: &mut Response, id: &str) {
    let secure = if state.gss_url().scheme() == "https" { "; Secure" } else { "" };
    if let Ok(value) = HeaderValue::from_str(&format!("{SESSION_COOKIE}={id}; path=/; HttpOnly; SameSite=Lax{secure}"))
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// Nextcloud's `RedirectResponse`: `303 See Other`.
fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response(),
        Err(_) => pages::internal_error(),
    }
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}
