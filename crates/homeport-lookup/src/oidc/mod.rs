//! The OpenID Provider of oCIS and of the tenants (`docs/protocols/oidc-ocis.md`, `tenant-by-host.md`): discovery,
//! JWKS, dynamic client registration (when the scenario offers it), an HTML login form and a consent page,
//! authorization code + PKCE, confidential and public clients, refresh with rotation, userinfo and revocation.
//!
//! One provider serves several identity zones on one port, chosen by the `Host` header: the main zone
//! (`http://127.0.0.1:<port>`, oCIS's IdP) and one zone per tenant (`http://<tenant>.auth.localhost:<port>`,
//! the XSUAA-style identity zones of the tenants). Tokens are ES256 JWTs signed with a key generated at start.

mod answers;
mod authorize;
pub(crate) mod clients;
mod consent;
pub(crate) mod endpoints;
mod issue;
mod keys;
mod matrix_account;
mod matrix_registration;
pub(crate) mod matrix_zone;
pub(crate) mod page;
mod registration;
mod responses;
#[cfg(test)]
mod setup_tests;
mod token;
mod userinfo;

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::{header, HeaderMap, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use url::Url;

use self::clients::{static_clients, Client};
pub use self::clients::{
    BUILT_IN_CLIENT_ID, OWNCLOUD_DESKTOP_CLIENT_ID, OWNCLOUD_DESKTOP_CLIENT_SECRET, PUBLIC_CLIENT_ID,
};
use self::keys::SigningKey;
use crate::error::LookupError;
use crate::host::RequestHost;
use crate::people::{OidcUser, People, Tenant};
use crate::scenario::{Fault, IdpSetup};
/// The `aud` of every access token: the resource servers (oCIS instances, approuters) accept only this.
pub(crate) const ACCESS_TOKEN_AUDIENCE: &str = "homeport";
/// Authorization codes are single use and live this long.
const CODE_LIFETIME: Duration = Duration::from_secs(60);
/// The domain under which the IdP serves the tenants' identity zones (and the Matrix zone).
pub(crate) const ZONE_DOMAIN: &str = "auth.localhost";
/// The label of the Matrix homeserver's zone under [`ZONE_DOMAIN`]: `http://matrix.auth.localhost:<port>`.
pub(crate) const MATRIX_ZONE_LABEL: &str = "matrix";
/// Bounds on what a long-running `homeport mock` keeps in memory.
const MAX_CLIENTS: usize = 10_000;
const MAX_REFRESH_TOKENS: usize = 100_000;
/// The scopes the provider knows; others asked for are not granted.
const SUPPORTED_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

fn check_password(people: &People, login: &str, password: &str) -> Option<&'static OidcUser> {
    people.find_oidc_user(login).filter(|user| user.password == password)
}

/// Which identity zone a request is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Zone {
    /// `http://127.0.0.1:<port>`: the IdP of the oCIS server.
    Main,
    /// `http://<tenant>.auth.localhost:<port>`.
    Tenant(&'static Tenant),
    /// `http://matrix.auth.localhost:<port>`: the OAuth 2.0 server of the OAuth-only Matrix homeserver, as
    /// matrix-authentication-service is one (`docs/protocols/matrix-oauth.md`, [`matrix_zone`]).
    Matrix,
}

/// The claims of an access token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct AccessClaims {
    pub(crate) iss: String,
    pub(crate) sub: String,
    pub(crate) aud: String,
    pub(crate) exp: u64,
    pub(crate) iat: u64,
    pub(crate) scope: String,
    pub(crate) preferred_username: String,
    pub(crate) client_id: String,
    pub(crate) jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) zid: Option<String>,
    /// The Matrix zone's device session the token belongs to (OpenID's `sid`): revoking any token ends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sid: Option<String>,
}

impl AccessClaims {
    pub(crate) fn user(&self, people: &People) -> Option<&'static OidcUser> {
        people.find_oidc_user(&self.preferred_username).filter(|user| user.sub == self.sub)
    }
}

#[derive(Debug, Serialize)]
struct IdTokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: u64,
    iat: u64,
    auth_time: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    name: &'a str,
    preferred_username: &'a str,
    email: &'a str,
    email_verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    zid: Option<&'a str>,
}

/// Why a bearer token was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    Expired,
    Invalid,
}

impl TokenProblem {
    /// The `error_description` of the `WWW-Authenticate: Bearer error="invalid_token"` challenge.
    pub(crate) fn description(self) -> &'static str {
        match self {
            TokenProblem::Expired => "The Access Token expired",
            TokenProblem::Invalid => "invalid",
        }
    }

    /// `Bearer error="invalid_token", error_description="…"`.
    pub(crate) fn challenge(self) -> String {
        bearer_error_challenge(self.description())
    }
}

/// `Bearer error="invalid_token", error_description="<description>"`.
pub(crate) fn bearer_error_challenge(description: &str) -> String {
    format!("Bearer error=\"invalid_token\", error_description=\"{description}\"")
}

/// The token of an `Authorization: Bearer` header.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// An RFC 6749 §5.2 error answer of the token (or registration, revocation) endpoint.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct OAuthError {
    pub(crate) status: StatusCode,
    pub(crate) error: &'static str,
    pub(crate) description: String,
}

impl OAuthError {
    pub(crate) fn new(error: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError { status: StatusCode::BAD_REQUEST, error, description: description.into() }
    }

    fn server(description: impl Into<String>) -> OAuthError {
        OAuthError { status: StatusCode::INTERNAL_SERVER_ERROR, error: "server_error", description: description.into() }
    }

    pub(crate) fn body(&self) -> Value {
        json!({"error": self.error, "error_description": self.description})
    }
}

/// What an authorization code or refresh token stands for.
#[derive(Clone, Debug)]
pub(crate) struct Grant {
    pub(crate) client_id: String,
    pub(crate) user: &'static OidcUser,
    pub(crate) scope: String,
    pub(crate) zone: Zone,
    pub(crate) nonce: Option<String>,
    pub(crate) auth_time: u64,
    /// The Matrix zone's device session, once the code is exchanged ([`matrix_zone::DeviceSession`]).
    pub(crate) session: Option<String>,
}

#[derive(Debug)]
struct PendingCode {
    grant: Grant,
    redirect_uri: String,
    code_challenge: String,
    expires_at: Instant,
}

#[derive(Debug)]
struct AccessRecord {
    expires_at: SystemTime,
    revoked: bool,
    /// The Matrix zone's device session of the token.
    session: Option<String>,
    /// Whether the homeserver accepted it once (the Matrix zone's double-refresh allowance ends then).
    used: bool,
}

#[derive(Debug, Default)]
struct Store {
    /// Dynamically registered clients, each with the zone it registered at.
    clients: HashMap<String, (Zone, Client)>,
    codes: HashMap<String, PendingCode>,
    /// Consent pages shown, by their single-use ticket.
    consents: HashMap<String, consent::PendingConsent>,
    refresh_tokens: HashMap<String, Grant>,
    /// Issued access tokens by `jti`: expiry to the millisecond, and revocation.
    access_tokens: HashMap<String, AccessRecord>,
    /// The Matrix zone's live device sessions, by session id.
    sessions: HashMap<String, matrix_zone::DeviceSession>,
    /// The Matrix zone's refresh tokens, live and consumed: each one's access token and successor.
    refresh_links: HashMap<String, matrix_zone::RefreshLink>,
}

/// The provider shared by the IdP's handlers and the resource servers that check its tokens.
#[derive(Debug)]
pub(crate) struct Provider {
    scheme: &'static str,
    /// The main zone's issuer: the IdP URL without trailing slash.
    issuer: String,
    port: u16,
    key: SigningKey,
    token_lifetime: Duration,
    /// The scenario's fault, when it is one the IdP acts out.
    fault: Option<Fault>,
    /// How the main zone is set up.
    setup: IdpSetup,
    /// The server name of the homeserver the Matrix zone logs in for (`oauth.localhost:<port>`).
    matrix_server_name: String,
    /// Who logs in here: the lookup server's people (its scenario's).
    people: &'static People,
    store: Mutex<Store>,
}

impl Provider {
    /// A provider for the IdP listening at `base` (`http://127.0.0.1:<port>/`); its Matrix zone logs in for the
    /// homeserver `matrix_server_name`.
    pub(crate) fn new(
        base: &Url,
        token_lifetime: Duration,
        fault: Option<Fault>,
        setup: IdpSetup,
        matrix_server_name: String,
        people: &'static People,
    ) -> Result<Provider, LookupError> {
        let port = base
            .port_or_known_default()
            .ok_or_else(|| LookupError::InvalidScenario(format!("the IdP URL {base} has no port")))?;
        let scheme = if base.scheme() == "https" { "https" } else { "http" };
        Ok(Provider {
            scheme,
            issuer: base.as_str().trim_end_matches('/').to_owned(),
            port,
            key: SigningKey::generate()?,
            token_lifetime,
            fault,
            setup,
            matrix_server_name,
            people,
            store: Mutex::new(Store::default()),
        })
    }

    /// The issuer of a zone, without trailing slash.
    pub(crate) fn issuer(&self, zone: Zone) -> String {
        match zone {
            Zone::Main => self.issuer.clone(),
            Zone::Tenant(tenant) => format!("{}://{}.{}:{}", self.scheme, tenant.name, ZONE_DOMAIN, self.port),
            Zone::Matrix => format!("{}://{MATRIX_ZONE_LABEL}.{ZONE_DOMAIN}:{}", self.scheme, self.port),
        }
    }

    /// The lookup server's people, whom this provider logs in (and the resource servers that check its tokens know).
    pub(crate) fn people(&self) -> &'static People {
        self.people
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// The zone a request to the IdP port is for: `127.0.0.1` / `localhost` is the main zone,
    /// `<tenant>.auth.localhost` a tenant's; anything else is no zone of this provider.
    pub(crate) fn zone_for_host(&self, host: &RequestHost) -> Option<Zone> {
        if host.port != Some(self.port) {
            return None;
        }
        if host.name == "127.0.0.1" || host.name == "localhost" {
            return Some(Zone::Main);
        }
        let label = host.label_under(ZONE_DOMAIN, self.port)?;
        if label == MATRIX_ZONE_LABEL {
            return Some(Zone::Matrix);
        }
        self.people.find_tenant(label).map(Zone::Tenant)
    }

    pub(crate) fn jwks(&self) -> Value {
        json!({"keys": [self.key.jwk()]})
    }

    /// Adds a dynamically registered client to `zone` (its id is chosen here).
    fn register(&self, zone: Zone, client: Client) -> Result<(), OAuthError> {
        let mut store = self.lock();
        if store.clients.len() >= MAX_CLIENTS {
            return Err(OAuthError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                error: "temporarily_unavailable",
                description: "too many registered clients; restart the lookup server".into(),
            });
        }
        store.clients.insert(client.id.clone(), (zone, client));
        Ok(())
    }

    /// The client `client_id` of `zone`: one the scenario set up, or one registered there.
    pub(crate) fn client(&self, zone: Zone, client_id: &str) -> Option<Client> {
        if let Some(client) = static_clients(zone, self.setup.public_client).into_iter().find(|c| c.id == client_id) {
            return Some(client);
        }
        // The tenants' zones share one registry, as they always did; the main zone's is its own, so that a client
        // registered at a tenant's zone is no way around the main zone's registration switch; the Matrix zone's too.
        let visible = |registered_at: Zone| match (registered_at, zone) {
            (Zone::Tenant(_), Zone::Tenant(_)) => true,
            (registered_at, zone) => registered_at == zone,
        };
        let store = self.lock();
        store.clients.get(client_id).filter(|(registered_at, _)| visible(*registered_at)).map(|(_, c)| c.clone())
    }

    /// How the main zone is set up.
    pub(crate) fn setup(&self) -> IdpSetup {
        self.setup
    }

    /// A fresh single-use code for `grant`.
    fn create_code(&self, grant: Grant, redirect_uri: &Url, code_challenge: &str) -> Result<String, OAuthError> {
        let code = random_token(24)?;
        let now = Instant::now();
        let mut store = self.lock();
        store.codes.retain(|_, pending| pending.expires_at > now);
        store.codes.insert(
            code.clone(),
            PendingCode {
                grant,
                redirect_uri: redirect_uri.to_string(),
                code_challenge: code_challenge.to_owned(),
                expires_at: now + CODE_LIFETIME,
            },
        );
        Ok(code)
    }

    /// Whether clients may register themselves at `zone` (RFC 7591): at the main zone when the scenario says so
    /// (oCIS's IdP ships with registration off), at the tenants' and the Matrix zone always.
    pub(crate) fn offers_registration(&self, zone: Zone) -> bool {
        match zone {
            Zone::Main => self.setup.registration,
            Zone::Tenant(_) | Zone::Matrix => true,
        }
    }

    /// Every access token issued so far expires now.
    pub(crate) fn expire_all_access_tokens(&self) {
        let now = SystemTime::now();
        for record in self.lock().access_tokens.values_mut() {
            record.expires_at = record.expires_at.min(now);
        }
    }

    /// The issuer the discovery document of `zone` names: the real one, unless the scenario acts out a mix-up.
    pub(crate) fn advertised_issuer(&self, zone: Zone) -> String {
        let issuer = self.issuer(zone);
        if self.fault == Some(Fault::IdpIssuerMismatch) {
            format!("{issuer}/other-tenant")
        } else {
            issuer
        }
    }

    /// The granted scope for a request: the supported scopes asked for, plus a tenant's application scopes. At the
    /// main zone `offline_access` only when the request had `prompt=consent` (OpenID Connect Core §11, as lico does
    /// for a client that is not trusted — every client here).
    fn granted_scope(zone: Zone, requested: &str, prompt_consent: bool) -> String {
        if zone == Zone::Matrix {
            return matrix_zone::granted_scope(requested);
        }
        let mut scopes: Vec<String> = Vec::new();
        let offline_allowed = prompt_consent || zone != Zone::Main;
        let allowed =
            |scope: &&str| SUPPORTED_SCOPES.contains(scope) && (offline_allowed || *scope != "offline_access");
        for scope in requested.split(' ').filter(allowed) {
            if !scopes.iter().any(|known| known == scope) {
                scopes.push(scope.to_owned());
            }
        }
        if let Zone::Tenant(tenant) = zone {
            scopes.extend(tenant.scopes());
        }
        scopes.join(" ")
    }

    /// A poisoned lock still holds consistent maps (every update is a single insert or remove).
    fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `BASE64URL(SHA256(verifier))`, RFC 7636's S256.
/// The same JWS with the first byte of its signature changed: well-formed, signed by nobody.
fn forge_signature(token: &str) -> String {
    let Some((signed, signature)) = token.rsplit_once('.') else { return token.to_owned() };
    // The first base64url character carries six whole bits of the first byte, so this always changes it.
    let first = if signature.starts_with('A') { 'B' } else { 'A' };
    format!("{signed}.{first}{}", signature.get(1..).unwrap_or_default())
}

pub(crate) fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Za-z0-9-._~]` (the same holds for the challenge).
fn is_pkce_value(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"-._~".contains(&byte))
}

/// `bytes` random bytes, base64url: ids, codes and opaque tokens.
fn random_token(bytes: usize) -> Result<String, OAuthError> {
    random_base64url(bytes).map_err(|error| OAuthError::server(format!("no randomness: {error}")))
}

/// `bytes` random bytes, base64url without padding (the IdP's and the Matrix servers' opaque tokens).
pub(crate) fn random_base64url(bytes: usize) -> Result<String, getrandom::Error> {
    let mut buffer = vec![0_u8; bytes];
    getrandom::fill(&mut buffer)?;
    Ok(URL_SAFE_NO_PAD.encode(buffer))
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map(|since| since.as_secs()).unwrap_or_default()
}

fn now_seconds() -> u64 {
    unix_seconds(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "the RFC's example"
        );
        assert!(is_pkce_value("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "43 unreserved characters");
        assert!(!is_pkce_value("short"), "too short");
        assert!(!is_pkce_value(&"a+".repeat(30)), "+ is not unreserved");
    }

    #[test]
    fn granted_scope_keeps_known_scopes_and_adds_tenant_scopes() {
        assert_eq!(Provider::granted_scope(Zone::Main, "openid email bogus openid", true), "openid email", "main zone");
        let offline = "openid offline_access";
        assert_eq!(Provider::granted_scope(Zone::Main, offline, true), offline, "offline_access with prompt=consent");
        assert_eq!(Provider::granted_scope(Zone::Main, offline, false), "openid", "without it, OIDC Core §11");
        let tenant1 = crate::BUILT_IN.find_tenant("tenant1").expect("tenant1 exists");
        assert_eq!(
            Provider::granted_scope(Zone::Tenant(tenant1), "openid", false),
            "openid homeport-demo!t101.Read homeport-demo!t101.Admin",
            "tenant scopes follow <xsappname>!t<index>.<scope>"
        );
    }

    #[test]
    fn bearer_tokens_are_read_strictly() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "bearer abc.def".parse().expect("header value"));
        assert_eq!(bearer_token(&headers), Some("abc.def"), "the scheme is case-insensitive");
        headers.insert(header::AUTHORIZATION, "Basic abc".parse().expect("header value"));
        assert_eq!(bearer_token(&headers), None, "Basic is not a bearer token");
        headers.insert(header::AUTHORIZATION, "Bearer ".parse().expect("header value"));
        assert_eq!(bearer_token(&headers), None, "an empty token is none");
    }
}
