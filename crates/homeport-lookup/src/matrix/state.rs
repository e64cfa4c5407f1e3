//! The state every Matrix server of one lookup server shares (URLs, sessions, login tokens, the rate limit), and
//! each portal's own.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use url::Url;

use super::api::{authority, merge, LoginKind, LoginRequest, MatrixError};
use super::{HOMESERVER_NAMES, MATRIX_HOSTS};
use crate::error::LookupError;
use crate::oidc::random_base64url;
use crate::people::{MatrixUser, People};
use crate::scenario::Fault;

/// SSO login tokens are single use and live this long.
const LOGIN_TOKEN_LIFETIME: Duration = Duration::from_secs(120);
/// Fault `matrix-bad-base-url`: the portals name this path under the homeserver as its base URL. The homeserver
/// answers at once, with a 404 for everything under it, so `<base>/_matrix/client/versions` fails fast.
const BAD_BASE_PATH: &str = "not-a-homeserver/";
/// Bounds on what a long-running `homeport mock` keeps in memory.
const MAX_SESSIONS: usize = 100_000;
const MAX_LOGIN_TOKENS: usize = 10_000;

/// A logged-in device: what an access or refresh token stands for.
#[derive(Clone, Debug)]
struct Session {
    user: &'static MatrixUser,
    device_id: String,
    /// The login's `initial_device_display_name`.
    display_name: Option<String>,
}

impl Session {
    fn is(&self, other: &Session) -> bool {
        self.user == other.user && self.device_id == other.device_id
    }
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
    /// SSO login tokens the portals issued: the per-token session state of MSC1730's footnote \[1\].
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
    /// Who has an account on the homeservers: the lookup server's people.
    people: &'static People,
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
        people: &'static People,
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
            people,
            rate_limit_spent: AtomicBool::new(false),
            store: Mutex::new(Store::default()),
        })
    }

    /// The lookup server's people, whose Matrix accounts these homeservers hold.
    pub(crate) fn people(&self) -> &'static People {
        self.people
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
        let user = self.people.find_matrix_user(localpart)?;
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
        let session = Session { user, device_id, display_name: request.display_name.clone() };
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

    /// The session of an access token of `homeserver`; an expired one only when `allow_expired` (Synapse's
    /// logout takes expired tokens).
    fn session_of(&self, homeserver: &str, token: Option<&str>, allow_expired: bool) -> Result<Session, MatrixError> {
        let token = token.ok_or_else(MatrixError::missing_token)?;
        let store = self.lock();
        let record = store
            .access_tokens
            .get(token)
            .filter(|record| record.session.user.homeserver == homeserver)
            .ok_or_else(|| MatrixError::unknown_token(false))?;
        if record.expires_at <= Instant::now() && !allow_expired {
            return Err(MatrixError::unknown_token(true));
        }
        Ok(record.session.clone())
    }

    /// `GET /_matrix/client/v3/account/whoami` with `token` at `homeserver`.
    pub(crate) fn whoami(&self, homeserver: &str, token: Option<&str>) -> Result<Value, MatrixError> {
        let session = self.session_of(homeserver, token, false)?;
        Ok(json!({"user_id": self.user_id(session.user), "device_id": session.device_id, "is_guest": false}))
    }

    /// `POST /_matrix/client/v3/logout`: the token's device ends — every access and refresh token of it.
    pub(crate) fn log_out(&self, homeserver: &str, token: Option<&str>) -> Result<Value, MatrixError> {
        let session = self.session_of(homeserver, token, true)?;
        let mut store = self.lock();
        store.access_tokens.retain(|_, record| !record.session.is(&session));
        store.refresh_tokens.retain(|_, other| !other.is(&session));
        Ok(json!({}))
    }

    /// `GET /_matrix/client/v3/devices`: the devices of the token's user that still hold a token, by device id.
    pub(crate) fn devices(&self, homeserver: &str, token: Option<&str>) -> Result<Value, MatrixError> {
        let session = self.session_of(homeserver, token, false)?;
        let store = self.lock();
        let mut devices: BTreeMap<&str, &Session> = BTreeMap::new();
        let sessions = store.access_tokens.values().map(|record| &record.session).chain(store.refresh_tokens.values());
        for other in sessions.filter(|other| other.user == session.user) {
            devices.entry(other.device_id.as_str()).or_insert(other);
        }
        let devices: Vec<Value> = devices
            .values()
            .map(|device| json!({"device_id": device.device_id, "display_name": device.display_name}))
            .collect();
        Ok(json!({"devices": devices}))
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

/// How long the proxy portal waits for a homeserver.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);
/// A homeserver answer larger than this is not a login answer.
pub(super) const MAX_FORWARDED_BYTES: usize = 64 * 1024;

/// The two behaviours of MSC1730's portal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PortalMode {
    /// Passes the login on to the homeserver and adds `well_known` + `base_cs_url` to its answer.
    Proxy,
    /// Answers the login with `307 Temporary Redirect` to the homeserver's login endpoint.
    Redirect,
}

#[derive(Debug)]
pub(crate) struct PortalState {
    pub(crate) mode: PortalMode,
    /// The portal's own base URL (trailing slash).
    pub(crate) url: Url,
    pub(crate) matrix: Arc<Matrix>,
    /// The proxy portal really forwards the login over HTTP (rather than calling the homeserver's state in
    /// process): the homeserver's request log shows it, with its latency, as MSC1730's sequence diagram does.
    pub(super) client: reqwest::Client,
}

impl PortalState {
    /// `certificate_der`: the lookup server's self-signed certificate when it serves TLS, for the forwarding.
    pub(crate) fn new(
        mode: PortalMode,
        url: Url,
        matrix: Arc<Matrix>,
        certificate_der: Option<&[u8]>,
    ) -> Result<PortalState, LookupError> {
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(FORWARD_TIMEOUT)
            .tls_built_in_root_certs(false);
        for host in MATRIX_HOSTS {
            // Port 0: the URL's port is used.
            builder = builder.resolve(host, std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
        }
        if let Some(der) = certificate_der {
            let certificate = reqwest::Certificate::from_der(der).map_err(|error| LookupError::Tls(Box::new(error)))?;
            builder = builder.add_root_certificate(certificate);
        }
        let client = builder.build().map_err(|error| LookupError::Tls(Box::new(error)))?;
        Ok(PortalState { mode, url, matrix, client })
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
            &crate::BUILT_IN,
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
        assert_eq!(
            matrix.user_id(&crate::BUILT_IN.matrix_users[0]),
            "@alice:hs1.localhost:4001",
            "user ids name the authority"
        );
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
        let alice = &crate::BUILT_IN.matrix_users[0];
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
