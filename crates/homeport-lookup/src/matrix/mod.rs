//! Seeds 001 and 004, MSC1730: a login portal in front of two homeservers, each on its own 127.0.0.1 port.
//!
//! The homeservers `hs1` and `hs2` (`http://hs1.localhost:<port>/`, server name `hs1.localhost:<port>`) each own
//! some of [`MATRIX_USERS`] and answer the client-server API a login needs: well-known, versions, login flows,
//! password and token login (with refresh tokens), refresh, whoami and profiles. Two portals stand in front of them
//! and pick the homeserver by user: the proxy portal (`proxy.localhost`) passes the login on and adds
//! `well_known` and MSC1730's `base_cs_url` to the answer; the redirect portal (`redirect.localhost`) answers the
//! login with a `307` to the homeserver. Both portals offer SSO: a login page that sends the browser back to the
//! client's loopback `redirectUrl` with a `loginToken`, which the owning homeserver accepts once (`m.login.token`).
//! The portals keep that per-token state (seed 004's footnote \[1\]) in [`Matrix`], shared with the homeservers.

pub(crate) mod homeserver;
pub(crate) mod portal;
mod sso;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use url::Url;

use crate::error::LookupError;
use crate::oidc::random_base64url;
use crate::people::{MatrixUser, MATRIX_USERS};
use crate::scenario::Fault;

/// The homeservers, by name; each is served at `<name>.localhost` on its own port.
pub(crate) const HOMESERVER_NAMES: [&str; 2] = ["hs1", "hs2"];
/// The host of the proxy-mode portal.
pub(crate) const PROXY_HOST: &str = "proxy.localhost";
/// The host of the redirect-mode (307) portal.
pub(crate) const REDIRECT_HOST: &str = "redirect.localhost";
/// Every host name the Matrix systems are served at (all resolve to 127.0.0.1, RFC 6761).
pub(crate) const MATRIX_HOSTS: [&str; 4] = ["hs1.localhost", "hs2.localhost", PROXY_HOST, REDIRECT_HOST];
/// The login endpoint, relative to a base URL.
pub(crate) const LOGIN_PATH: &str = "_matrix/client/v3/login";
/// The spec versions every server claims.
const SPEC_VERSIONS: [&str; 11] =
    ["v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v1.10", "v1.11"];
/// The portal's one SSO identity provider.
pub(crate) const SSO_IDP_ID: &str = "portal";
const SSO_IDP_NAME: &str = "Portal login";
/// SSO login tokens are single use and live this long.
const LOGIN_TOKEN_LIFETIME: Duration = Duration::from_secs(120);
/// What `retry_after_ms` tells a rate-limited client.
pub(crate) const RETRY_AFTER_MS: u64 = 400;
/// Fault `matrix-bad-base-url`: the portals name this path under the homeserver as its base URL. The homeserver
/// answers at once, with a 404 for everything under it, so `<base>/_matrix/client/versions` fails fast.
const BAD_BASE_PATH: &str = "not-a-homeserver/";
/// Bounds on what a long-running `homeport mock` keeps in memory.
const MAX_SESSIONS: usize = 100_000;
const MAX_LOGIN_TOKENS: usize = 10_000;

/// A Matrix error answer: `{"errcode", "error", …}` with its status.
#[derive(Debug, PartialEq)]
pub(crate) struct MatrixError {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
}

impl MatrixError {
    pub(crate) fn new(status: StatusCode, errcode: &str, error: impl Into<String>) -> MatrixError {
        MatrixError { status, body: json!({"errcode": errcode, "error": error.into()}) }
    }

    /// Wrong password, unknown user, or a user this homeserver does not own: one answer for all, as Synapse gives.
    pub(crate) fn forbidden() -> MatrixError {
        MatrixError::new(StatusCode::FORBIDDEN, "M_FORBIDDEN", "Invalid username or password")
    }

    pub(crate) fn invalid_login_token() -> MatrixError {
        MatrixError::new(StatusCode::FORBIDDEN, "M_FORBIDDEN", "Invalid login token")
    }

    fn deactivated() -> MatrixError {
        MatrixError::new(StatusCode::FORBIDDEN, "M_USER_DEACTIVATED", "This account has been deactivated")
    }

    fn limit_exceeded() -> MatrixError {
        let mut error = MatrixError::new(StatusCode::TOO_MANY_REQUESTS, "M_LIMIT_EXCEEDED", "Too many requests");
        error.body["retry_after_ms"] = Value::from(RETRY_AFTER_MS);
        error
    }

    fn bad_json(error: impl Into<String>) -> MatrixError {
        MatrixError::new(StatusCode::BAD_REQUEST, "M_BAD_JSON", error)
    }

    fn missing_token() -> MatrixError {
        MatrixError::new(StatusCode::UNAUTHORIZED, "M_MISSING_TOKEN", "Missing access token")
    }

    /// An unknown token; `soft_logout` when it was valid but expired (the client may refresh).
    fn unknown_token(soft_logout: bool) -> MatrixError {
        let message = if soft_logout { "Access token has expired" } else { "Unknown access token" };
        let mut error = MatrixError::new(StatusCode::UNAUTHORIZED, "M_UNKNOWN_TOKEN", message);
        error.body["soft_logout"] = Value::from(soft_logout);
        error
    }

    fn too_many(what: &str) -> MatrixError {
        MatrixError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "M_UNKNOWN",
            format!("too many {what}; restart the lookup server"),
        )
    }

    fn no_randomness(error: &getrandom::Error) -> MatrixError {
        MatrixError::new(StatusCode::INTERNAL_SERVER_ERROR, "M_UNKNOWN", format!("no randomness: {error}"))
    }
}

impl IntoResponse for MatrixError {
    fn into_response(self) -> Response {
        json_response(self.status, self.body)
    }
}

/// A JSON answer no cache keeps (login answers carry tokens).
pub(crate) fn json_response(status: StatusCode, body: Value) -> Response {
    (status, [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))], Json(body)).into_response()
}

/// Anything the servers do not know: `404 M_UNRECOGNIZED`.
pub(crate) async fn unrecognized() -> Response {
    MatrixError::new(StatusCode::NOT_FOUND, "M_UNRECOGNIZED", "Unrecognized request").into_response()
}

/// A known endpoint asked with a method it does not take: `405 M_UNRECOGNIZED`, as the spec says.
pub(crate) async fn method_not_allowed() -> Response {
    MatrixError::new(StatusCode::METHOD_NOT_ALLOWED, "M_UNRECOGNIZED", "Unrecognized request").into_response()
}

/// `GET /.well-known/matrix/client` of a server at `base`.
pub(crate) fn well_known(base: &Url) -> Value {
    json!({"m.homeserver": {"base_url": without_slash(base)}})
}

/// `GET /_matrix/client/versions`.
pub(crate) fn versions() -> Value {
    json!({"versions": SPEC_VERSIONS, "unstable_features": {}})
}

/// `GET /_matrix/client/v3/login`: password and token everywhere, SSO only at the portals.
pub(crate) fn login_flows(with_sso: bool) -> Value {
    let mut flows = vec![json!({"type": "m.login.password"})];
    if with_sso {
        flows.push(json!({
            "type": "m.login.sso",
            "identity_providers": [{"id": SSO_IDP_ID, "name": SSO_IDP_NAME}],
        }));
    }
    flows.push(json!({"type": "m.login.token"}));
    json!({"flows": flows})
}

/// A base URL without its trailing slash, as `m.homeserver.base_url` is written.
pub(crate) fn without_slash(base: &Url) -> &str {
    base.as_str().trim_end_matches('/')
}

/// `host:port` of a base URL: a homeserver's server name.
pub(crate) fn authority(base: &Url) -> String {
    let host = base.host_str().unwrap_or_default();
    match base.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// What a `POST /login` asks for. Not `Debug`: it holds the password.
pub(crate) enum LoginKind {
    /// `m.login.password` with an `m.id.user` identifier (a localpart or a full user id).
    Password { user: String, password: String },
    /// `m.login.token` (the SSO login token).
    Token { token: String },
}

/// A parsed `POST /login` body.
pub(crate) struct LoginRequest {
    pub(crate) kind: LoginKind,
    device_id: Option<String>,
    refresh_token: bool,
}

impl LoginRequest {
    /// Parses the body in the order Synapse checks it: JSON, `type`, then the fields that type needs.
    pub(crate) fn parse(body: &[u8]) -> Result<LoginRequest, MatrixError> {
        let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
            return Err(MatrixError::new(StatusCode::BAD_REQUEST, "M_NOT_JSON", "Content not JSON."));
        };
        let string = |fields: &Map<String, Value>, name: &str| -> Result<String, MatrixError> {
            fields
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| MatrixError::bad_json(format!("{name} must be a string")))
        };
        let kind = match fields.get("type").and_then(Value::as_str) {
            Some("m.login.password") => {
                let user = match fields.get("identifier") {
                    Some(Value::Object(identifier)) => {
                        if identifier.get("type").and_then(Value::as_str) != Some("m.id.user") {
                            return Err(MatrixError::new(
                                StatusCode::BAD_REQUEST,
                                "M_UNKNOWN",
                                "Unknown login identifier type",
                            ));
                        }
                        string(identifier, "user")?
                    }
                    Some(_) => return Err(MatrixError::bad_json("identifier must be an object")),
                    // The deprecated top-level `user` of r0 clients.
                    None => string(&fields, "user")?,
                };
                LoginKind::Password { user, password: string(&fields, "password")? }
            }
            Some("m.login.token") => LoginKind::Token { token: string(&fields, "token")? },
            Some(other) => {
                return Err(MatrixError::new(
                    StatusCode::BAD_REQUEST,
                    "M_UNKNOWN",
                    format!("Unknown login type {other}"),
                ))
            }
            None => return Err(MatrixError::new(StatusCode::BAD_REQUEST, "M_UNKNOWN", "Missing login type")),
        };
        let device_id = match fields.get("device_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) if !id.is_empty() => Some(id.clone()),
            Some(_) => return Err(MatrixError::bad_json("device_id must be a non-empty string")),
        };
        let refresh_token = match fields.get("refresh_token") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(wanted)) => *wanted,
            Some(_) => return Err(MatrixError::bad_json("refresh_token must be a boolean")),
        };
        Ok(LoginRequest { kind, device_id, refresh_token })
    }
}

/// A logged-in device: what an access or refresh token stands for.
#[derive(Clone, Debug)]
struct Session {
    user: &'static MatrixUser,
    device_id: String,
}

#[derive(Debug)]
struct AccessRecord {
    session: Session,
    expires_at: Instant,
}

#[derive(Debug)]
struct PendingLoginToken {
    user: &'static MatrixUser,
    expires_at: Instant,
}

#[derive(Debug, Default)]
struct Store {
    access_tokens: HashMap<String, AccessRecord>,
    refresh_tokens: HashMap<String, Session>,
    /// SSO login tokens the portals issued: the per-token session state of seed 004's footnote \[1\].
    login_tokens: HashMap<String, PendingLoginToken>,
}

/// The state every Matrix server of one lookup server shares: the URLs, the issued tokens, the rate limit.
#[derive(Debug)]
pub(crate) struct Matrix {
    /// Each homeserver's base URL with trailing slash, by name.
    homeservers: BTreeMap<String, Url>,
    proxy_url: Url,
    redirect_url: Url,
    fault: Option<Fault>,
    token_lifetime: Duration,
    /// Whether the rate-limited users' one `429` was answered already (once per server start).
    rate_limit_spent: AtomicBool,
    store: Mutex<Store>,
}

impl Matrix {
    pub(crate) fn new(
        homeservers: BTreeMap<String, Url>,
        proxy_url: Url,
        redirect_url: Url,
        fault: Option<Fault>,
        token_lifetime: Duration,
    ) -> Result<Matrix, LookupError> {
        for name in HOMESERVER_NAMES {
            if !homeservers.contains_key(name) {
                return Err(LookupError::InvalidScenario(format!("the Matrix homeserver {name} has no URL")));
            }
        }
        Ok(Matrix {
            homeservers,
            proxy_url,
            redirect_url,
            fault,
            token_lifetime,
            rate_limit_spent: AtomicBool::new(false),
            store: Mutex::new(Store::default()),
        })
    }

    pub(crate) fn homeserver_urls(&self) -> &BTreeMap<String, Url> {
        &self.homeservers
    }

    pub(crate) fn proxy_url(&self) -> &Url {
        &self.proxy_url
    }

    pub(crate) fn redirect_url(&self) -> &Url {
        &self.redirect_url
    }

    /// The base URL of a homeserver (trailing slash).
    pub(crate) fn homeserver_url(&self, name: &str) -> Option<&Url> {
        self.homeservers.get(name)
    }

    /// A homeserver's server name: the authority of its base URL (`hs1.localhost:41234`).
    pub(crate) fn server_name(&self, homeserver: &str) -> String {
        self.homeserver_url(homeserver).map(authority).unwrap_or_default()
    }

    /// `@alice:hs1.localhost:41234`.
    pub(crate) fn user_id(&self, user: &MatrixUser) -> String {
        format!("@{}:{}", user.localpart, self.server_name(user.homeserver))
    }

    /// The user an `m.id.user` identifier names: a localpart (case-insensitive, as Synapse lowercases them) or a
    /// full user id on the user's own homeserver or on a portal's name — the portals front the deployment, so a
    /// person may type `@alice:proxy.localhost:<port>`, and the 307 portal's client re-sends that body unchanged.
    pub(crate) fn find_user(&self, identifier: &str) -> Option<&'static MatrixUser> {
        let identifier = identifier.trim();
        let (localpart, server) = match identifier.strip_prefix('@') {
            Some(rest) => {
                let (localpart, server) = rest.split_once(':')?;
                (localpart, Some(server))
            }
            None => (identifier, None),
        };
        let user = MATRIX_USERS.iter().find(|user| user.localpart.eq_ignore_ascii_case(localpart))?;
        let Some(server) = server else { return Some(user) };
        let names = [self.server_name(user.homeserver), authority(&self.proxy_url), authority(&self.redirect_url)];
        names.iter().any(|name| server.eq_ignore_ascii_case(name)).then_some(user)
    }

    /// The base URL the portals send clients to for `homeserver`: the real one, or under the fault
    /// `matrix-bad-base-url` a path of it that is no homeserver.
    pub(crate) fn advertised_base(&self, homeserver: &str) -> Option<Url> {
        let base = self.homeserver_url(homeserver)?;
        if self.fault == Some(Fault::MatrixBadBaseUrl) {
            base.join(BAD_BASE_PATH).ok()
        } else {
            Some(base.clone())
        }
    }

    /// Whether this password login of `user` is the one answered `429`: the first of a rate-limited user per start.
    fn spend_rate_limit(&self, user: &MatrixUser) -> bool {
        user.rate_limited && !self.rate_limit_spent.swap(true, Ordering::SeqCst)
    }

    /// The `429 M_LIMIT_EXCEEDED` for the first password login of a rate-limited user, if this is it.
    pub(crate) fn rate_limit(&self, user: &MatrixUser) -> Result<(), MatrixError> {
        if self.spend_rate_limit(user) {
            Err(MatrixError::limit_exceeded())
        } else {
            Ok(())
        }
    }

    /// A fresh single-use SSO login token for `user`, valid for two minutes at the user's homeserver.
    pub(crate) fn issue_login_token(&self, user: &'static MatrixUser) -> Result<String, MatrixError> {
        let token = random_base64url(24).map_err(|error| MatrixError::no_randomness(&error))?;
        let now = Instant::now();
        let mut store = self.lock();
        store.login_tokens.retain(|_, pending| pending.expires_at > now);
        if store.login_tokens.len() >= MAX_LOGIN_TOKENS {
            return Err(MatrixError::too_many("pending SSO logins"));
        }
        store.login_tokens.insert(token.clone(), PendingLoginToken { user, expires_at: now + LOGIN_TOKEN_LIFETIME });
        Ok(token)
    }

    /// The homeserver of a valid login token, without using the token up (the portals route by it).
    pub(crate) fn login_token_homeserver(&self, token: &str) -> Option<&'static str> {
        let store = self.lock();
        let pending = store.login_tokens.get(token)?;
        (pending.expires_at > Instant::now()).then_some(pending.user.homeserver)
    }

    /// Uses up a login token at `homeserver`: its user, when the token is valid and for this homeserver. A token
    /// of another homeserver stays valid for its own.
    fn redeem_login_token(&self, token: &str, homeserver: &str) -> Option<&'static MatrixUser> {
        let mut store = self.lock();
        if store.login_tokens.get(token)?.user.homeserver != homeserver {
            return None;
        }
        let pending = store.login_tokens.remove(token)?;
        (pending.expires_at > Instant::now()).then_some(pending.user)
    }

    /// The homeserver's login (`POST /_matrix/client/v3/login`): checks the request against the users it owns and
    /// answers the session, or the error.
    pub(crate) fn log_in(&self, homeserver: &str, request: &LoginRequest) -> Result<Value, MatrixError> {
        let user = match &request.kind {
            LoginKind::Password { user, password } => {
                let user = self.find_user(user).filter(|user| user.homeserver == homeserver);
                let user = user.ok_or_else(MatrixError::forbidden)?;
                // Rate limiting comes first, as in Synapse: even a wrong password spends the one 429.
                self.rate_limit(user)?;
                if user.password != password {
                    return Err(MatrixError::forbidden());
                }
                user
            }
            LoginKind::Token { token } => {
                self.redeem_login_token(token, homeserver).ok_or_else(MatrixError::invalid_login_token)?
            }
        };
        if user.deactivated {
            return Err(MatrixError::deactivated());
        }
        let device_id = match &request.device_id {
            Some(device_id) => device_id.clone(),
            None => random_device_id()?,
        };
        let session = Session { user, device_id };
        let mut answer = json!({
            "user_id": self.user_id(user),
            "device_id": session.device_id,
            "home_server": self.server_name(homeserver),
        });
        let tokens = self.issue_tokens(session, request.refresh_token)?;
        merge(&mut answer, tokens);
        Ok(answer)
    }

    /// An access token (and, when asked for, a refresh token with the access token's lifetime) for `session`.
    fn issue_tokens(&self, session: Session, with_refresh: bool) -> Result<Value, MatrixError> {
        let access_token = random_base64url(32).map_err(|error| MatrixError::no_randomness(&error))?;
        let refresh_token = if with_refresh {
            Some(random_base64url(32).map_err(|error| MatrixError::no_randomness(&error))?)
        } else {
            None
        };
        let now = Instant::now();
        {
            let mut store = self.lock();
            if store.access_tokens.len() >= MAX_SESSIONS {
                store.access_tokens.retain(|_, record| record.expires_at > now);
            }
            if store.access_tokens.len() >= MAX_SESSIONS || store.refresh_tokens.len() >= MAX_SESSIONS {
                return Err(MatrixError::too_many("sessions"));
            }
            if let Some(refresh_token) = &refresh_token {
                store.refresh_tokens.insert(refresh_token.clone(), session.clone());
            }
            store
                .access_tokens
                .insert(access_token.clone(), AccessRecord { session, expires_at: now + self.token_lifetime });
        }
        let mut answer = json!({"access_token": access_token});
        if let Some(refresh_token) = refresh_token {
            answer["refresh_token"] = Value::from(refresh_token);
            answer["expires_in_ms"] = Value::from(u64::try_from(self.token_lifetime.as_millis()).unwrap_or(u64::MAX));
        }
        Ok(answer)
    }

    /// `POST /_matrix/client/v3/refresh`: a new access and refresh token; the old refresh token is used up.
    pub(crate) fn refresh(&self, homeserver: &str, refresh_token: &str) -> Result<Value, MatrixError> {
        let session = {
            let mut store = self.lock();
            match store.refresh_tokens.get(refresh_token) {
                Some(session) if session.user.homeserver == homeserver => store.refresh_tokens.remove(refresh_token),
                _ => None,
            }
        };
        let session = session.ok_or_else(|| MatrixError::unknown_token(false))?;
        self.issue_tokens(session, true)
    }

    /// `GET /_matrix/client/v3/account/whoami` with `token` at `homeserver`.
    pub(crate) fn whoami(&self, homeserver: &str, token: Option<&str>) -> Result<Value, MatrixError> {
        let token = token.ok_or_else(MatrixError::missing_token)?;
        let session = {
            let store = self.lock();
            let record = store
                .access_tokens
                .get(token)
                .filter(|record| record.session.user.homeserver == homeserver)
                .ok_or_else(|| MatrixError::unknown_token(false))?;
            if record.expires_at <= Instant::now() {
                return Err(MatrixError::unknown_token(true));
            }
            record.session.clone()
        };
        Ok(json!({"user_id": self.user_id(session.user), "device_id": session.device_id, "is_guest": false}))
    }

    /// Every access token issued so far expires now (refresh tokens stay valid).
    pub(crate) fn expire_all_access_tokens(&self) {
        let now = Instant::now();
        for record in self.lock().access_tokens.values_mut() {
            record.expires_at = record.expires_at.min(now);
        }
    }

    /// A poisoned lock still holds consistent maps (every update is a single insert or remove).
    fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Ten uppercase letters, as Synapse makes device ids.
fn random_device_id() -> Result<String, MatrixError> {
    let mut bytes = [0_u8; 10];
    getrandom::fill(&mut bytes).map_err(|error| MatrixError::no_randomness(&error))?;
    Ok(bytes.iter().map(|byte| char::from(b'A' + byte % 26)).collect())
}

/// Adds the fields of the object `extra` to the object `target`.
pub(crate) fn merge(target: &mut Value, extra: Value) {
    if let (Value::Object(target), Value::Object(extra)) = (target, extra) {
        target.extend(extra);
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use reqwest::header::HeaderMap;
    use serde_json::Value;
    use url::Url;

    use crate::test_support::localhost_client;

    /// One answer of a Matrix server: status, headers and the JSON body (`Null` when empty or not JSON).
    #[derive(Debug)]
    pub(crate) struct Answer {
        pub(crate) status: u16,
        pub(crate) headers: HeaderMap,
        pub(crate) json: Value,
    }

    async fn answer(response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("the body arrives");
        Answer { status, headers, json: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
    }

    /// `GET <base><path>` (the path without its leading slash).
    pub(crate) async fn get(base: &Url, path: &str) -> Answer {
        let url = base.join(path).expect("a URL under the base");
        answer(localhost_client().get(url).send().await.expect("the Matrix server answers")).await
    }

    /// `GET <base><path>` with a bearer token.
    pub(crate) async fn get_with_token(base: &Url, path: &str, token: &str) -> Answer {
        let url = base.join(path).expect("a URL under the base");
        answer(localhost_client().get(url).bearer_auth(token).send().await.expect("the Matrix server answers")).await
    }

    /// `POST <url>` with a raw body.
    pub(crate) async fn post_raw(url: &Url, body: &str) -> Answer {
        let response = localhost_client()
            .post(url.clone())
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("the Matrix server answers");
        answer(response).await
    }

    /// `POST <base>_matrix/client/v3/login` with a JSON body.
    pub(crate) async fn login(base: &Url, body: &Value) -> Answer {
        post_raw(&base.join(super::LOGIN_PATH).expect("the login URL"), &body.to_string()).await
    }

    /// An `m.login.password` body as the engine sends it.
    pub(crate) fn password_login(user: &str, password: &str) -> Value {
        serde_json::json!({
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user},
            "password": password,
            "initial_device_display_name": "Homeport tests",
            "refresh_token": true,
        })
    }

    /// An `m.login.token` body.
    pub(crate) fn token_login(token: &str) -> Value {
        serde_json::json!({"type": "m.login.token", "token": token, "initial_device_display_name": "Homeport tests"})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(fault: Option<Fault>) -> Matrix {
        let url = |text: &str| Url::parse(text).expect("URL");
        let homeservers = BTreeMap::from([
            ("hs1".to_owned(), url("http://hs1.localhost:4001/")),
            ("hs2".to_owned(), url("http://hs2.localhost:4002/")),
        ]);
        Matrix::new(
            homeservers,
            url("http://proxy.localhost:4003/"),
            url("http://redirect.localhost:4004/"),
            fault,
            Duration::from_secs(300),
        )
        .expect("both homeservers have URLs")
    }

    #[test]
    fn identifiers_name_users_by_localpart_or_full_id_on_their_homeserver() {
        let matrix = matrix(None);
        assert_eq!(matrix.find_user("alice").map(|u| u.localpart), Some("alice"), "a localpart");
        assert_eq!(matrix.find_user("Alice").map(|u| u.localpart), Some("alice"), "localparts are case-insensitive");
        assert_eq!(matrix.find_user("@bob:hs2.localhost:4002").map(|u| u.localpart), Some("bob"), "a full user id");
        assert_eq!(matrix.find_user("@bob:hs1.localhost:4001"), None, "bob lives on hs2, not hs1");
        for portal in ["proxy.localhost:4003", "redirect.localhost:4004"] {
            let id = format!("@bob:{portal}");
            assert_eq!(matrix.find_user(&id).map(|u| u.localpart), Some("bob"), "{id}: the deployment's name");
        }
        assert_eq!(matrix.find_user("@bob:proxy.localhost:9"), None, "another port is another server");
        assert_eq!(matrix.find_user("@bob"), None, "a user id needs a server name");
        assert_eq!(matrix.find_user("mallory"), None, "an unknown user");
        assert_eq!(matrix.user_id(&MATRIX_USERS[0]), "@alice:hs1.localhost:4001", "user ids name the authority");
    }

    #[test]
    fn login_bodies_parse_strictly() {
        let parse = |body: &str| LoginRequest::parse(body.as_bytes()).err().map(|error| error.body["errcode"].clone());
        assert_eq!(parse("not json"), Some(Value::from("M_NOT_JSON")), "bad JSON");
        assert_eq!(parse("[1]"), Some(Value::from("M_NOT_JSON")), "JSON but no object");
        assert_eq!(parse(r#"{"type":"m.login.magic"}"#), Some(Value::from("M_UNKNOWN")), "unknown type");
        assert_eq!(parse("{}"), Some(Value::from("M_UNKNOWN")), "no type");
        assert_eq!(
            parse(r#"{"type":"m.login.password","identifier":{"type":"m.id.phone","user":"x"},"password":"p"}"#),
            Some(Value::from("M_UNKNOWN")),
            "only m.id.user identifiers"
        );
        assert_eq!(
            parse(r#"{"type":"m.login.password","identifier":{"type":"m.id.user","user":"x"}}"#),
            Some(Value::from("M_BAD_JSON")),
            "a password is required"
        );
        assert_eq!(parse(r#"{"type":"m.login.token"}"#), Some(Value::from("M_BAD_JSON")), "a token is required");
        let legacy = LoginRequest::parse(br#"{"type":"m.login.password","user":"alice","password":"p"}"#)
            .expect("the deprecated top-level user is accepted");
        assert!(matches!(legacy.kind, LoginKind::Password { ref user, .. } if user == "alice"), "its user");
        assert!(!legacy.refresh_token, "no refresh token unless asked for");
    }

    #[test]
    fn the_bad_base_url_fault_moves_the_advertised_base_only() {
        let good = matrix(None);
        assert_eq!(good.advertised_base("hs1").map(String::from), Some("http://hs1.localhost:4001/".into()), "real");
        let bad = matrix(Some(Fault::MatrixBadBaseUrl));
        let advertised = bad.advertised_base("hs2").expect("a URL");
        assert_eq!(advertised.as_str(), "http://hs2.localhost:4002/not-a-homeserver/", "a path that is no server");
        assert_eq!(bad.server_name("hs2"), "hs2.localhost:4002", "the server name stays");
    }

    #[test]
    fn login_tokens_are_single_use_and_bound_to_their_homeserver() {
        let matrix = matrix(None);
        let alice = &MATRIX_USERS[0];
        let token = matrix.issue_login_token(alice).expect("a token");
        assert_eq!(matrix.login_token_homeserver(&token), Some("hs1"), "the portal routes by the token");
        assert_eq!(matrix.redeem_login_token(&token, "hs2"), None, "hs2 does not own alice");
        assert_eq!(matrix.redeem_login_token(&token, "hs1"), Some(alice), "hs1 accepts it");
        assert_eq!(matrix.redeem_login_token(&token, "hs1"), None, "once");
        assert_eq!(matrix.login_token_homeserver(&token), None, "a used token routes nowhere");
    }

    #[test]
    fn device_ids_are_ten_uppercase_letters() {
        let id = random_device_id().expect("randomness");
        assert_eq!(id.len(), 10, "{id}");
        assert!(id.bytes().all(|byte| byte.is_ascii_uppercase()), "{id}");
    }
}
