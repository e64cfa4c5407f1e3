//! One Nextcloud node of the Global Scale set-up: `status.php`, WebDAV (legacy and `dav/files`), OCS user and
//! capabilities, avatars, and the app-password endpoints of Nextcloud's `AppPasswordController`.
//!
//! A node accepts only app passwords (Basic `loginName:appPassword`), as a Nextcloud with enforced token login or
//! two-factor authentication does: the account password is refused (`401`) everywhere but at
//! `GET /ocs/v2.php/core/getapppassword`, which turns it into an app password.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get};
use axum::Router;
use serde_json::{json, Value};

use super::state::{Nextcloud, NodeLogin};
use super::status_response;
use crate::dav::{
    dav_files_owner, legacy_relative, route_each, serve_home, Home, Product, DAV_FILES_ROUTES, LEGACY_WEBDAV_ROUTES,
};
use crate::log::is_ocs_api_request;
use crate::owncloud::ocs::{self, OcsFormat, OcsVersion};
use crate::owncloud::webdav::encode_path;
use crate::owncloud::{not_found, unauthorized, with_basic_challenge, BasicCredentials};
use crate::people::NextcloudUser;

/// The picture alice's node serves; the other accounts have none (404: the client shows initials).
const ALICE_AVATAR: &[u8] = include_bytes!("../../assets/avatar-instance1.png");

#[derive(Debug)]
pub(crate) struct NodeState {
    /// `node1` or `node2`.
    pub(crate) name: &'static str,
    pub(crate) nextcloud: Arc<Nextcloud>,
}

impl NodeState {
    fn login(&self, headers: &HeaderMap) -> NodeLogin {
        match BasicCredentials::from_headers(headers) {
            None => NodeLogin::Anonymous,
            Some(credentials) => self.nextcloud.node_login(self.name, &credentials.user, credentials.password()),
        }
    }

    /// The user behind an app password of this node, or the `401` to answer (boxed: responses are large).
    fn app_password_user(&self, headers: &HeaderMap) -> Result<&'static NextcloudUser, Box<Response>> {
        match self.login(headers) {
            NodeLogin::AppPassword { user, .. } => Ok(user),
            NodeLogin::Anonymous => Err(Box::new(unauthorized(
                "No 'Authorization: Basic' header found. Either the client didn't send one, or the server is \
                 misconfigured",
            ))),
            // The account password is no client login here: only app passwords are.
            NodeLogin::AccountPassword(_) | NodeLogin::Wrong => {
                Err(Box::new(unauthorized("Username or password was incorrect")))
            }
        }
    }

    fn home(&self, href: String) -> Home {
        Home { href, instance_tag: format!("oc{}", self.name), product: Product::OwnCloud { malformed_xml: false } }
    }
}

pub(crate) fn router(state: Arc<NodeState>) -> Router {
    let router = Router::new().route(
        "/status.php",
        get(|State(state): State<Arc<NodeState>>| async move { status_response(state.nextcloud.people) }),
    );
    let router = route_each(router, LEGACY_WEBDAV_ROUTES, any(legacy_webdav));
    route_each(router, DAV_FILES_ROUTES, any(dav_files))
        .route("/remote.php/dav/avatars/{id}/{size}", get(avatar))
        .route("/index.php/avatar/{id}/{size}", get(avatar))
        .route("/ocs/{version}/cloud/capabilities", get(capabilities))
        .route("/ocs/{version}/cloud/user", get(user))
        .route("/ocs/{version}/core/getapppassword", get(get_app_password))
        .route("/ocs/{version}/core/apppassword", delete(delete_app_password))
        .fallback(|| async { (StatusCode::NOT_FOUND, "Not Found").into_response() })
        .with_state(state)
}

async fn legacy_webdav(State(state): State<Arc<NodeState>>, method: Method, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(refusal) = state.app_password_user(&headers) {
        return *refusal;
    }
    serve_home(&method, &headers, legacy_relative(uri.path()), &state.home("/remote.php/webdav/".to_owned()))
}

async fn dav_files(State(state): State<Arc<NodeState>>, method: Method, headers: HeaderMap, uri: Uri) -> Response {
    let user = match state.app_password_user(&headers) {
        Ok(user) => user,
        Err(refusal) => return *refusal,
    };
    match dav_files_owner(uri.path()) {
        Some((owner, relative)) if owner == user.login => {
            let href = format!("/remote.php/dav/files/{}/", encode_path(user.login));
            serve_home(&method, &headers, relative, &state.home(href))
        }
        _ => not_found(),
    }
}

async fn avatar(
    State(state): State<Arc<NodeState>>,
    Path((id, size)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = state.app_password_user(&headers) {
        return *refusal;
    }
    let pixels = size.strip_suffix(".png").unwrap_or(&size);
    if !pixels.parse::<u16>().is_ok_and(|pixels| pixels > 0) {
        return not_found();
    }
    if id == "alice" && state.name == "node1" {
        (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("image/png"))], ALICE_AVATAR).into_response()
    } else {
        not_found()
    }
}

/// The OCS API version and format of a request, or the `404` of an unknown version.
fn ocs_call(version: &str, uri: &Uri) -> Result<(OcsVersion, OcsFormat), Box<Response>> {
    let version = OcsVersion::from_segment(version).ok_or_else(|| Box::new(not_found()))?;
    Ok((version, OcsFormat::from_query(uri.query())))
}

fn ocs_unauthorised(format: OcsFormat) -> Response {
    let mut response = ocs::failure(StatusCode::UNAUTHORIZED, format, 997, "Unauthorised");
    with_basic_challenge(&mut response);
    response
}

/// An `OCSForbiddenException`: `403` in v2; v1 answers `200` with the code in the body.
fn ocs_forbidden(version: OcsVersion, format: OcsFormat, message: &str) -> Response {
    let http = if version == OcsVersion::V2 { StatusCode::FORBIDDEN } else { StatusCode::OK };
    ocs::failure(http, format, 403, message)
}

fn ocs_api_request_missing(format: OcsFormat) -> Response {
    // Nextcloud's CSRF protection for the OCS API: API clients say they are one.
    ocs::failure(StatusCode::UNAUTHORIZED, format, 997, "CSRF check failed")
}

/// Public, as in Nextcloud (anonymous clients get them); the account password is refused like everywhere.
async fn capabilities(
    State(state): State<Arc<NodeState>>,
    Path(version): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let (version, format) = match ocs_call(&version, &uri) {
        Ok(call) => call,
        Err(refusal) => return *refusal,
    };
    match state.login(&headers) {
        NodeLogin::Anonymous | NodeLogin::AppPassword { .. } => ocs::ok(version, format, capabilities_document()),
        NodeLogin::AccountPassword(_) | NodeLogin::Wrong => ocs_unauthorised(format),
    }
}

async fn user(
    State(state): State<Arc<NodeState>>,
    Path(version): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let (version, format) = match ocs_call(&version, &uri) {
        Ok(call) => call,
        Err(refusal) => return *refusal,
    };
    let NodeLogin::AppPassword { user, .. } = state.login(&headers) else {
        return ocs_unauthorised(format);
    };
    if !is_ocs_api_request(&headers) {
        return ocs_api_request_missing(format);
    }
    ocs::ok(
        version,
        format,
        json!({
            "enabled": true,
            "id": user.login,
            "email": user.email,
            "displayname": user.display_name,
            "display-name": user.display_name,
            "language": "en",
            "locale": "",
            "backend": "Database",
            "groups": [],
        }),
    )
}

/// The app-password endpoints' common start, as Nextcloud's: the OCS version and format, a login
/// (401 without one, or a wrong one), then the `OCS-APIRequest` guard.
fn ocs_logged_in(
    state: &NodeState,
    version: &str,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<(OcsVersion, OcsFormat, NodeLogin), Box<Response>> {
    let (version, format) = ocs_call(version, uri)?;
    let login = state.login(headers);
    if matches!(login, NodeLogin::Anonymous | NodeLogin::Wrong) {
        return Err(Box::new(ocs_unauthorised(format)));
    }
    if !is_ocs_api_request(headers) {
        return Err(Box::new(ocs_api_request_missing(format)));
    }
    Ok((version, format, login))
}

/// `GET /ocs/v2.php/core/getapppassword` with the account password: a new app password of this node. With an app
/// password Nextcloud refuses ("You cannot request an new apppassword with an apppassword").
async fn get_app_password(
    State(state): State<Arc<NodeState>>,
    Path(version): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let (version, format, login) = match ocs_logged_in(&state, &version, &headers, &uri) {
        Ok(call) => call,
        Err(refusal) => return *refusal,
    };
    match login {
        NodeLogin::AccountPassword(user) => match state.nextcloud.create_app_password(user) {
            Ok(app_password) => ocs::ok(version, format, json!({ "apppassword": app_password })),
            Err(_) => ocs::failure(StatusCode::INTERNAL_SERVER_ERROR, format, 500, "No randomness"),
        },
        _ => ocs_forbidden(version, format, "You cannot request an new apppassword with an apppassword"),
    }
}

/// `DELETE /ocs/v2.php/core/apppassword` with an app password: that app password stops working.
async fn delete_app_password(
    State(state): State<Arc<NodeState>>,
    Path(version): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let (version, format, login) = match ocs_logged_in(&state, &version, &headers, &uri) {
        Ok(call) => call,
        Err(refusal) => return *refusal,
    };
    match login {
        NodeLogin::AppPassword { app_password, .. } if state.nextcloud.delete_app_password(&app_password) => {
            ocs::ok(version, format, json!([]))
        }
        NodeLogin::AppPassword { .. } => ocs_forbidden(version, format, "could not remove apptoken"),
        _ => ocs_forbidden(version, format, "no app password in use"),
    }
}

/// `cloud/capabilities` data of a Nextcloud 30.0.2 server (the parts clients read).
fn capabilities_document() -> Value {
    json!({
        "version": {
            "major": 30,
            "minor": 0,
            "micro": 2,
            "string": "30.0.2",
            "edition": "",
            "extendedSupport": false,
        },
        "capabilities": {
            "core": {
                "pollinterval": 60,
                "webdav-root": "remote.php/webdav",
                "reference-api": true,
                "mod-rewrite-working": false,
            },
            "bruteforce": { "delay": 0, "allow-listed": false },
            "dav": { "chunking": "1.0", "bulkupload": "1.0" },
            "files": {
                "bigfilechunking": true,
                "blacklisted_files": [".htaccess"],
                "undelete": true,
                "versioning": true,
            },
            "theming": {
                "name": "Nextcloud",
                "url": "https://nextcloud.com",
                "slogan": "a safe home for all your data",
                "color": "#00679e",
            },
        },
    })
}
