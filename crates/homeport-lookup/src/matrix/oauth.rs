//! The OAuth-only homeserver `oauth` (`http://oauth.localhost:<port>/`, `docs/protocols/matrix-oauth.md`): the
//! Matrix spec's OAuth 2.0 API (v1.15) as a homeserver behind matrix-authentication-service offers it. Its OAuth 2.0
//! server is the lookup IdP's Matrix zone ([`crate::oidc::matrix_zone`]); `auth_metadata` answers that zone's
//! metadata, the password login is `M_UNRECOGNIZED`, and whoami, profiles and the devices list check the zone's
//! access tokens in-process, as Synapse asks MAS. Its users are the IdP's people: `@einstein:oauth.localhost:<port>`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use url::Url;

use super::api::{authority, json_response, method_not_allowed, unrecognized, versions, well_known, MatrixError};
use crate::oidc::endpoints::discovery_document;
use crate::oidc::matrix_zone::DeviceSession;
use crate::oidc::{bearer_token, Provider, TokenProblem, Zone};
use crate::people::OidcUser;
use crate::scenario::Fault;

/// The homeserver's name, in the request log and the description.
pub(crate) const OAUTH_HOMESERVER: &str = "oauth";
/// Its host: `oauth.localhost`.
pub(crate) const OAUTH_HOST: &str = "oauth.localhost";
/// The spec versions it claims besides the password homeservers' (the OAuth 2.0 API is v1.15's).
const OAUTH_VERSIONS: [&str; 4] = ["v1.12", "v1.13", "v1.14", "v1.15"];
/// What fault `matrix-oauth-whoami-mismatch` appends to the device id.
const MISMATCHED_DEVICE_SUFFIX: &str = "-OTHER";

#[derive(Debug)]
pub(crate) struct OAuthHomeserverState {
    /// The base URL, with trailing slash.
    pub(crate) url: Url,
    pub(crate) provider: Arc<Provider>,
    pub(crate) fault: Option<Fault>,
}

impl OAuthHomeserverState {
    fn server_name(&self) -> String {
        authority(&self.url)
    }

    fn user_id(&self, user: &OidcUser) -> String {
        format!("@{}:{}", user.login, self.server_name())
    }

    /// The user and device of the request's bearer token, or the spec's 401.
    fn device(&self, headers: &HeaderMap) -> Result<(&'static OidcUser, DeviceSession), MatrixError> {
        let token = bearer_token(headers).ok_or_else(MatrixError::missing_token)?;
        self.provider
            .matrix_device(token)
            .map_err(|problem| MatrixError::unknown_token(problem == TokenProblem::Expired))
    }
}

pub(crate) fn router(state: Arc<OAuthHomeserverState>) -> Router {
    Router::new()
        .route("/.well-known/matrix/client", get(client_well_known))
        .route("/_matrix/client/versions", get(client_versions))
        .route("/_matrix/client/v1/auth_metadata", get(auth_metadata))
        .route("/_matrix/client/unstable/org.matrix.msc2965/auth_metadata", get(auth_metadata))
        .route("/_matrix/client/v3/login", get(no_password_login).post(no_password_login))
        .route("/_matrix/client/v3/account/whoami", get(whoami))
        .route("/_matrix/client/v3/profile/{user_id}", get(profile))
        .route("/_matrix/client/v3/devices", get(devices))
        .fallback(unrecognized)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

fn ok(body: Value) -> Response {
    json_response(StatusCode::OK, body)
}

async fn client_well_known(State(state): State<Arc<OAuthHomeserverState>>) -> Response {
    ok(well_known(&state.url))
}

async fn client_versions() -> Response {
    let mut answer = versions();
    if let Some(list) = answer["versions"].as_array_mut() {
        list.extend(OAUTH_VERSIONS.iter().map(|version| Value::from(*version)));
    }
    ok(answer)
}

/// `GET /_matrix/client/v1/auth_metadata` (and MSC2965's unstable path): the Matrix zone's metadata, as Synapse
/// answers MAS's.
async fn auth_metadata(State(state): State<Arc<OAuthHomeserverState>>) -> Response {
    ok(discovery_document(&state.provider, Zone::Matrix))
}

/// `GET|POST /_matrix/client/v3/login`: this homeserver has no legacy login API.
async fn no_password_login() -> Response {
    MatrixError::new(
        StatusCode::NOT_FOUND,
        "M_UNRECOGNIZED",
        "This homeserver offers only the OAuth 2.0 API: see /_matrix/client/v1/auth_metadata",
    )
    .into_response()
}

/// `GET /_matrix/client/v3/account/whoami`: the token's user and the device its scope allocated.
async fn whoami(State(state): State<Arc<OAuthHomeserverState>>, headers: HeaderMap) -> Response {
    match state.device(&headers) {
        Ok((user, session)) => {
            let mut device_id = session.device_id;
            if state.fault == Some(Fault::MatrixOauthWhoamiMismatch) {
                device_id.push_str(MISMATCHED_DEVICE_SUFFIX);
            }
            ok(json!({"user_id": state.user_id(user), "device_id": device_id, "is_guest": false}))
        }
        Err(error) => error.into_response(),
    }
}

/// `GET /_matrix/client/v3/profile/{userId}`: the display name of one of this homeserver's users.
async fn profile(State(state): State<Arc<OAuthHomeserverState>>, Path(user_id): Path<String>) -> Response {
    let user = user_id
        .strip_prefix('@')
        .and_then(|rest| rest.split_once(':'))
        .filter(|(_, server)| server.eq_ignore_ascii_case(&state.server_name()))
        .and_then(|(localpart, _)| state.provider.people().find_oidc_user(localpart));
    match user {
        Some(user) => ok(json!({"displayname": user.display_name})),
        None => MatrixError::new(StatusCode::NOT_FOUND, "M_NOT_FOUND", "Profile was not found").into_response(),
    }
}

/// `GET /_matrix/client/v3/devices`: the token's user's live device sessions.
async fn devices(State(state): State<Arc<OAuthHomeserverState>>, headers: HeaderMap) -> Response {
    match state.device(&headers) {
        Ok((user, _)) => {
            let devices: Vec<Value> = state
                .provider
                .matrix_devices(user)
                .into_iter()
                .map(|device| json!({"device_id": device.device_id, "display_name": device.display_name}))
                .collect();
            ok(json!({"devices": devices}))
        }
        Err(error) => error.into_response(),
    }
}
