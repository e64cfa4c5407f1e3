//! Homeport's embedded lookup server: a faithful mock of the systems Homeport connects to, for the demo mode, the
//! CLI's `homeport mock` and the engine's tests.
//!
//! Today it acts out seed 000, an ownCloud multi-tenant setup: a central server that knows only `status.php` and
//! `remote.php/webdav` and redirects each user to their instance by the domain of the user name, and three
//! ownCloud 10 instances on their own ports (or under `<central>/instanceN/`). A [`Scenario`] picks the redirect
//! status, latency, layout, TLS and one [`Fault`].
//!
//! It also acts out seeds 002 and 003, each server on its own 127.0.0.1 port: an OpenID Provider (discovery,
//! JWKS, registration, an HTML login form, code + PKCE, refresh with rotation, userinfo, revocation; ES256 JWTs),
//! an oCIS-like server with WebFinger and two instances that accept only the IdP's bearer tokens, and an
//! approuter that serves tenants by host (`<tenant>.approuter.localhost`, [`TENANT_HOST_PATTERN`]) with one
//! identity zone per tenant on the IdP port (`<tenant>.auth.localhost`). [`auto_login`] submits the login form
//! like a person would, for tests and QA.
//!
//! And it acts out seeds 001 and 004 (MSC1730), again each server on its own 127.0.0.1 port: two Matrix
//! homeservers (`hs1.localhost`, `hs2.localhost`) and a login portal in front of them in both of the MSC's modes,
//! proxy (`proxy.localhost`: the answer names the homeserver in `well_known` and `base_cs_url`) and redirect
//! (`redirect.localhost`: a `307` to the homeserver), each with SSO through a login page [`auto_login`] can fill.
//!
//! ```no_run
//! # async fn demo() -> Result<(), homeport_lookup::LookupError> {
//! let server = homeport_lookup::LookupServer::start(
//!     "127.0.0.1:0".parse().expect("a socket address"),
//!     homeport_lookup::Scenario::default(),
//! )
//! .await?;
//! println!("{}", server.description());
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod error;
mod host;
mod log;
mod matrix;
mod ocis;
mod oidc;
mod owncloud;
mod people;
mod scenario;
mod serve;
mod tenant;
mod tls;
mod wire_faults;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use url::Url;

pub use crate::error::LookupError;
pub use crate::log::RecordedRequest;
use crate::log::{Recorded, RecordedBy, Recorder, RequestLog};
use crate::matrix::homeserver::HomeserverState;
use crate::matrix::portal::{PortalMode, PortalState};
use crate::matrix::{Matrix, HOMESERVER_NAMES, MATRIX_HOSTS, PROXY_HOST, REDIRECT_HOST};
use crate::ocis::instance::OcisInstanceState;
use crate::ocis::server::OcisState;
use crate::ocis::OCIS_INSTANCE_NAMES;
pub use crate::oidc::robot::{auto_login, auto_login_trusting, complete_browser_login};
pub use crate::oidc::BUILT_IN_CLIENT_ID;
use crate::oidc::{Provider, Zone, ZONE_DOMAIN};
use crate::owncloud::central::{self, CentralState};
use crate::owncloud::instance::{self, InstanceState};
use crate::owncloud::INSTANCE_NAMES;
pub use crate::people::{DemoPerson, MatrixPerson, OidcPerson, DEMO_PASSWORD};
use crate::people::{MatrixUser, DEMO_USERS, MATRIX_USERS, OCIS_ACCOUNTS, OIDC_USERS, TENANTS};
pub use crate::scenario::{Fault, Scenario, DEFAULT_TOKEN_LIFETIME};
pub use crate::tenant::TENANT_HOST_PATTERN;
use crate::tenant::{ApprouterState, APPROUTER_DOMAIN};
use crate::tls::SelfSignedTls;

/// A running lookup server: the central server and its instances. Dropping it stops every task at once;
/// [`LookupServer::shutdown`] stops them gracefully.
pub struct LookupServer {
    central_url: Url,
    instance_urls: BTreeMap<String, Url>,
    scenario: Scenario,
    ocis_url: Url,
    ocis_instance_urls: BTreeMap<String, Url>,
    idp: Arc<Provider>,
    tenant_urls: BTreeMap<String, Url>,
    matrix: Arc<Matrix>,
    canary_url: Url,
    tls: Option<SelfSignedTls>,
    log: RequestLog,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl fmt::Debug for LookupServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LookupServer")
            .field("central_url", &self.central_url.as_str())
            .field("instance_urls", &self.instance_urls)
            .field("ocis_url", &self.ocis_url.as_str())
            .field("ocis_instance_urls", &self.ocis_instance_urls)
            .field("idp", &self.idp.issuer(Zone::Main))
            .field("tenant_urls", &self.tenant_urls)
            .field("matrix_portal", &self.matrix.proxy_url().as_str())
            .field("matrix_portal_307", &self.matrix.redirect_url().as_str())
            .field("matrix_homeservers", self.matrix.homeserver_urls())
            .field("canary_url", &self.canary_url.as_str())
            .field("scenario", &self.scenario)
            .finish_non_exhaustive()
    }
}

impl LookupServer {
    /// Starts the central server on `listen` (port 0 picks a free port) and, unless the scenario mounts them
    /// under the central server, each instance on its own free port of the same IP.
    ///
    /// The OIDC systems (IdP, oCIS server and instances, tenants' approuter) and the Matrix systems (portals,
    /// homeservers) listen on free ports of 127.0.0.1 whatever `listen` says: their demo hosts (`*.localhost`)
    /// resolve to loopback only.
    ///
    /// The servers answer as soon as this returns.
    pub async fn start(listen: SocketAddr, scenario: Scenario) -> Result<LookupServer, LookupError> {
        scenario.validate()?;
        let tls = if scenario.tls { Some(SelfSignedTls::generate()?) } else { None };
        let scheme = if tls.is_some() { "https" } else { "http" };

        let central_listener = bind(listen).await?;
        let central_url = base_url(scheme, local_addr(&central_listener, listen)?)?;

        let mut instance_listeners = Vec::new();
        let mut instance_urls = BTreeMap::new();
        for name in INSTANCE_NAMES {
            let url = if scenario.path_instances {
                join(&central_url, &format!("{name}/"))?
            } else {
                // Same IP, own port: a different origin, as a real multi-tenant deployment has.
                let requested = SocketAddr::new(listen.ip(), 0);
                let listener = bind(requested).await?;
                let url = base_url(scheme, local_addr(&listener, requested)?)?;
                instance_listeners.push((name, listener));
                url
            };
            instance_urls.insert(name.to_owned(), url);
        }

        // The canary of `redirect-to-other-origin`: a third origin on loopback, always there so that any scenario
        // can check that nothing reached it.
        let canary_addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
        let canary_listener = bind(canary_addr).await?;
        let canary_url = base_url(scheme, local_addr(&canary_listener, canary_addr)?)?;

        let log = RequestLog::default();
        let recorder = |server: &str, mounted_instances: Vec<String>| Recorder {
            log: log.clone(),
            server: Arc::from(server),
            mounted_instances: mounted_instances.into(),
            latency: scenario.latency,
            host_domain: None,
        };

        let mut central_router = central::router(Arc::new(CentralState::new(
            central_url.clone(),
            instance_urls.clone(),
            canary_url.clone(),
            scenario.clone(),
        )));
        let mut mounted = Vec::new();
        if scenario.path_instances {
            for name in INSTANCE_NAMES {
                let mount_path = format!("/{name}");
                let router = instance::router(Arc::new(InstanceState {
                    name: name.to_owned(),
                    mount_path: mount_path.clone(),
                    fault: scenario.fault,
                }));
                central_router = central_router.nest_service(&mount_path, router);
                mounted.push(name.to_owned());
            }
        }
        // One recorder for the whole listener: it attributes `/instanceN/...` to the mounted instance.
        let central_router = central::with_listener_fault(central_router.fallback(central::fallback), scenario.fault)
            .recorded_by(recorder("central", mounted));
        let canary_router = central::canary_router().recorded_by(recorder("canary", Vec::new()));

        let mut routers: Vec<(TcpListener, Recorded)> =
            vec![(central_listener, central_router), (canary_listener, canary_router)];
        for (name, listener) in instance_listeners {
            let router = instance::router(Arc::new(InstanceState {
                name: name.to_owned(),
                mount_path: String::new(),
                fault: scenario.fault,
            }))
            .recorded_by(recorder(name, Vec::new()));
            routers.push((listener, router));
        }

        let oidc = start_oidc_systems(scheme, &scenario)?;
        let oidc_recorder =
            |server: &str, host_domain: Option<&'static str>| Recorder { host_domain, ..recorder(server, Vec::new()) };
        routers.push((
            oidc.idp_listener,
            oidc::endpoints::router(oidc.idp.clone()).recorded_by(oidc_recorder("idp", Some(ZONE_DOMAIN))),
        ));
        routers.push((
            oidc.ocis_listener,
            ocis::server::router(Arc::new(OcisState {
                url: oidc.ocis_url.clone(),
                provider: oidc.idp.clone(),
                instances: oidc.ocis_instance_urls.clone(),
                fault: scenario.fault,
            }))
            .recorded_by(oidc_recorder("ocis", None)),
        ));
        for (name, listener) in oidc.ocis_instance_listeners {
            let url = oidc
                .ocis_instance_urls
                .get(name)
                .cloned()
                .ok_or_else(|| LookupError::InvalidScenario(format!("oCIS instance {name} has no URL")))?;
            let router = ocis::instance::router(Arc::new(OcisInstanceState {
                name: name.to_owned(),
                url,
                provider: oidc.idp.clone(),
            }))
            .recorded_by(oidc_recorder(&format!("ocis-{name}"), None));
            routers.push((listener, router));
        }
        routers.push((
            oidc.tenants_listener,
            tenant::router(Arc::new(ApprouterState::new(oidc.tenants_port, oidc.idp.clone())?))
                .recorded_by(oidc_recorder("tenants", Some(APPROUTER_DOMAIN))),
        ));

        let matrix_systems = start_matrix_systems(scheme, &scenario)?;
        let certificate = tls.as_ref().map(SelfSignedTls::certificate_der);
        for (mode, server, listener) in [
            (PortalMode::Proxy, "matrix-proxy", matrix_systems.proxy_listener),
            (PortalMode::Redirect, "matrix-307", matrix_systems.redirect_listener),
        ] {
            let url = match mode {
                PortalMode::Proxy => matrix_systems.state.proxy_url().clone(),
                PortalMode::Redirect => matrix_systems.state.redirect_url().clone(),
            };
            let portal = PortalState::new(mode, url, matrix_systems.state.clone(), certificate)?;
            routers
                .push((listener, matrix::portal::router(Arc::new(portal)).recorded_by(recorder(server, Vec::new()))));
        }
        for (name, listener) in matrix_systems.homeserver_listeners {
            let homeserver = HomeserverState { name, matrix: matrix_systems.state.clone() };
            routers.push((
                listener,
                matrix::homeserver::router(Arc::new(homeserver)).recorded_by(recorder(name, Vec::new())),
            ));
        }

        let (shutdown, shutdown_receiver) = watch::channel(false);
        let acceptor = tls.as_ref().map(|tls| tls.acceptor().clone());
        let tasks = routers
            .into_iter()
            .map(|(listener, router)| {
                tokio::spawn(serve::accept_loop(listener, router, acceptor.clone(), shutdown_receiver.clone()))
            })
            .collect();

        Ok(LookupServer {
            central_url,
            instance_urls,
            scenario,
            ocis_url: oidc.ocis_url,
            ocis_instance_urls: oidc.ocis_instance_urls,
            idp: oidc.idp,
            tenant_urls: oidc.tenant_urls,
            matrix: matrix_systems.state,
            canary_url,
            tls,
            log,
            shutdown,
            tasks,
        })
    }

    /// The address a person types: the central server, with a trailing slash (`http://127.0.0.1:41234/`).
    pub fn central_url(&self) -> &Url {
        &self.central_url
    }

    /// Each instance's base URL with a trailing slash, by name (`instance1` → `http://127.0.0.1:41235/`, or
    /// `<central>/instance1/` in the path layout).
    pub fn instance_urls(&self) -> &BTreeMap<String, Url> {
        &self.instance_urls
    }

    /// The canary (fault `redirect-to-other-origin`), with a trailing slash (`http://127.0.0.1:41250/`): a third
    /// origin on loopback that answers `404` to everything and that no healthy flow reaches. The central server's
    /// redirect points there in that fault; its requests are in [`LookupServer::requests`] under server `canary`,
    /// with `has_authorization` telling whether credentials came along.
    pub fn canary_url(&self) -> &Url {
        &self.canary_url
    }

    /// The oCIS server a person types (seed 002), with a trailing slash (`http://127.0.0.1:41240/`).
    pub fn ocis_url(&self) -> &Url {
        &self.ocis_url
    }

    /// The oCIS instances by name (`A`, `B`), each base URL with a trailing slash.
    pub fn ocis_instance_urls(&self) -> &BTreeMap<String, Url> {
        &self.ocis_instance_urls
    }

    /// The IdP's issuer (main zone), without trailing slash: `http://127.0.0.1:41239`.
    pub fn idp_issuer(&self) -> String {
        self.idp.issuer(Zone::Main)
    }

    /// The approuter URL of every tenant (seed 003), with a trailing slash:
    /// `tenant1` → `http://tenant1.approuter.localhost:41243/`. `tenant3` is not subscribed.
    pub fn tenant_urls(&self) -> &BTreeMap<String, Url> {
        &self.tenant_urls
    }

    /// The issuer of a tenant's identity zone (`http://tenant1.auth.localhost:41239`), for known tenants.
    pub fn tenant_issuer(&self, tenant: &str) -> Option<String> {
        crate::people::find_tenant(tenant).map(|tenant| self.idp.issuer(Zone::Tenant(tenant)))
    }

    /// The issuer of every tenant's identity zone with `{tenant}` for the tenant
    /// (`http://{tenant}.auth.localhost:41239`): what a client's tenant profile needs besides
    /// [`TENANT_HOST_PATTERN`].
    pub fn tenant_issuer_template(&self) -> String {
        let scheme = if self.central_url.scheme() == "https" { "https" } else { "http" };
        format!("{scheme}://{{tenant}}.{ZONE_DOMAIN}:{}", self.idp.port())
    }

    /// The subscribed tenants' names (the others' identity zones refuse to issue tokens).
    pub fn subscribed_tenants(&self) -> Vec<&'static str> {
        TENANTS.iter().filter(|tenant| tenant.subscribed).map(|tenant| tenant.name).collect()
    }

    /// The port every `*.localhost` host of the lookup server must be connected to at 127.0.0.1, by host
    /// suffix: the IdP's (`auth.localhost`) and the approuter's (`approuter.localhost`), and each Matrix host's
    /// (`hs1.localhost`, `hs2.localhost`, `proxy.localhost`, `redirect.localhost`).
    pub fn localhost_ports(&self) -> BTreeMap<&'static str, u16> {
        let mut ports = BTreeMap::new();
        ports.insert(ZONE_DOMAIN, self.idp.port());
        if let Some(port) = self.tenant_urls.values().next().and_then(Url::port) {
            ports.insert(APPROUTER_DOMAIN, port);
        }
        let matrix_urls = [self.matrix.proxy_url(), self.matrix.redirect_url()]
            .into_iter()
            .chain(self.matrix.homeserver_urls().values());
        for url in matrix_urls {
            let host = MATRIX_HOSTS.iter().find(|host| url.host_str() == Some(**host));
            if let (Some(host), Some(port)) = (host, url.port()) {
                ports.insert(*host, port);
            }
        }
        ports
    }

    /// The proxy-mode Matrix portal (seeds 001, 004), with a trailing slash: `http://proxy.localhost:41245/`. Its
    /// login answers carry the homeserver's base URL in `well_known` and `base_cs_url`.
    pub fn matrix_portal_url(&self) -> &Url {
        self.matrix.proxy_url()
    }

    /// The redirect-mode Matrix portal, with a trailing slash: `http://redirect.localhost:41246/`. It answers a
    /// login with `307` to the user's homeserver, without checking the password.
    pub fn matrix_portal_307_url(&self) -> &Url {
        self.matrix.redirect_url()
    }

    /// The Matrix homeservers by name (`hs1` → `http://hs1.localhost:41247/`), each base URL with a trailing
    /// slash; a homeserver's server name is the authority of its URL (`hs1.localhost:41247`).
    pub fn matrix_homeserver_urls(&self) -> &BTreeMap<String, Url> {
        self.matrix.homeserver_urls()
    }

    /// The Matrix users with their passwords, homeservers, full user ids and special cases.
    pub fn matrix_people(&self) -> Vec<MatrixPerson> {
        MATRIX_USERS
            .iter()
            .map(|user| MatrixPerson {
                localpart: user.localpart,
                password: user.password,
                display_name: user.display_name,
                homeserver: user.homeserver,
                user_id: self.matrix.user_id(user),
                deactivated: user.deactivated,
                rate_limited: user.rate_limited,
            })
            .collect()
    }

    /// How many `POST /_matrix/client/v3/login` the Matrix server `server` (`hs1`, `hs2`, `matrix-proxy`,
    /// `matrix-307`) has received so far: whether a password (or login token) reached it.
    pub fn matrix_login_posts(&self, server: &str) -> usize {
        let login_path = format!("/{}", matrix::LOGIN_PATH);
        self.log
            .snapshot()
            .iter()
            .filter(|request| {
                request.server == server
                    && request.method == "POST"
                    && request.path.split('?').next() == Some(login_path.as_str())
            })
            .count()
    }

    /// The IdP's users with their passwords, oCIS instances and whether oCIS disabled them.
    pub fn oidc_people(&self) -> Vec<OidcPerson> {
        OIDC_USERS
            .iter()
            .map(|user| {
                let account = OCIS_ACCOUNTS.iter().find(|account| account.login == user.login);
                OidcPerson {
                    login: user.login,
                    password: user.password,
                    display_name: user.display_name,
                    email: user.email,
                    ocis_instances: account.map(|account| account.instances.to_vec()).unwrap_or_default(),
                    disabled_at_ocis: account.is_some_and(|account| account.disabled),
                }
            })
            .collect()
    }

    /// The scenario being acted out.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The seed's demo people, for the desktop app's demo page: login, display name and instance URL.
    pub fn demo_people(&self) -> Vec<DemoPerson> {
        DEMO_USERS
            .iter()
            .map(|user| DemoPerson {
                login: user.login,
                display_name: user.display_name,
                instance_url: self.instance_urls.get(user.instance).map(Url::to_string).unwrap_or_default(),
            })
            .collect()
    }

    /// What `homeport mock` prints: URLs, demo users, their password, and the certificate fingerprint (or null);
    /// for seeds 002/003 the oCIS server and instances, the IdP, the tenant pattern and approuter URLs, the OIDC
    /// users and their passwords; for seeds 001/004 the Matrix portals, homeservers, users and passwords; and the
    /// canary's URL.
    pub fn description(&self) -> Value {
        let url_map = |urls: &BTreeMap<String, Url>| -> serde_json::Map<String, Value> {
            urls.iter().map(|(name, url)| (name.clone(), Value::from(url.as_str()))).collect()
        };
        let users: Vec<&str> = DEMO_USERS.iter().map(|user| user.login).collect();
        let oidc_users: Vec<&str> = OIDC_USERS.iter().map(|user| user.login).collect();
        let oidc_passwords: serde_json::Map<String, Value> =
            OIDC_USERS.iter().map(|user| (user.login.to_owned(), Value::from(user.password))).collect();
        let tenant_issuers: serde_json::Map<String, Value> = TENANTS
            .iter()
            .map(|tenant| (tenant.name.to_owned(), Value::from(self.idp.issuer(Zone::Tenant(tenant)))))
            .collect();
        let matrix_users: Vec<&str> = MATRIX_USERS.iter().map(|user| user.localpart).collect();
        let matrix_passwords: serde_json::Map<String, Value> =
            MATRIX_USERS.iter().map(|user| (user.localpart.to_owned(), Value::from(user.password))).collect();
        let matrix_with = |wanted: fn(&MatrixUser) -> bool| -> Vec<&str> {
            MATRIX_USERS.iter().filter(|user| wanted(user)).map(|user| user.localpart).collect()
        };
        json!({
            "central": self.central_url.as_str(),
            "instances": url_map(&self.instance_urls),
            "users": users,
            "password": DEMO_PASSWORD,
            "tls_certificate_sha256": self.tls.as_ref().map(SelfSignedTls::sha256_fingerprint),
            "ocis": self.ocis_url.as_str(),
            "ocis_instances": url_map(&self.ocis_instance_urls),
            "idp": self.idp.issuer(Zone::Main),
            "oidc_client_id": BUILT_IN_CLIENT_ID,
            "oidc_users": oidc_users,
            "oidc_passwords": oidc_passwords,
            "oidc_disabled_users": OCIS_ACCOUNTS.iter().filter(|a| a.disabled).map(|a| a.login).collect::<Vec<_>>(),
            "tenant_pattern": TENANT_HOST_PATTERN,
            "tenants": url_map(&self.tenant_urls),
            "tenant_issuers": tenant_issuers,
            "tenant_issuer_template": self.tenant_issuer_template(),
            "tenants_subscribed": self.subscribed_tenants(),
            "matrix_portal": self.matrix.proxy_url().as_str(),
            "matrix_portal_307": self.matrix.redirect_url().as_str(),
            "matrix_homeservers": url_map(self.matrix.homeserver_urls()),
            "matrix_users": matrix_users,
            "matrix_passwords": matrix_passwords,
            "matrix_deactivated_users": matrix_with(|user| user.deactivated),
            "matrix_rate_limited_users": matrix_with(|user| user.rate_limited),
            "canary": self.canary_url.as_str(),
        })
    }

    /// The self-signed certificate (DER) every server presents when the scenario serves TLS, so a client can
    /// trust it.
    pub fn certificate_der(&self) -> Option<Vec<u8>> {
        self.tls.as_ref().map(|tls| tls.certificate_der().to_vec())
    }

    /// Acts out time passing for QA and tests: every access token the IdP and the Matrix homeservers have issued
    /// so far is expired from now on (refresh tokens stay valid), as if the person had waited longer than the
    /// token lifetime.
    pub fn expire_access_tokens(&self) {
        self.idp.expire_all_access_tokens();
        self.matrix.expire_all_access_tokens();
    }

    /// Every request received so far by any of the servers, in order of arrival.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.log.snapshot()
    }

    /// Stops accepting on every listener, lets requests in flight finish (for a few seconds at most) and returns
    /// when all listeners are closed.
    pub async fn shutdown(mut self) {
        self.shutdown.send_replace(true);
        for task in std::mem::take(&mut self.tasks) {
            // A task that panicked or was aborted is stopped all the same.
            let _ = task.await;
        }
    }
}

impl Drop for LookupServer {
    fn drop(&mut self) {
        // Without this a forgotten server would keep its ports until the runtime ends.
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The bound listeners and URLs of the OIDC systems, before their routers exist.
struct OidcSystems {
    idp: Arc<Provider>,
    idp_listener: TcpListener,
    ocis_url: Url,
    ocis_listener: TcpListener,
    ocis_instance_urls: BTreeMap<String, Url>,
    ocis_instance_listeners: Vec<(&'static str, TcpListener)>,
    tenants_port: u16,
    tenants_listener: TcpListener,
    tenant_urls: BTreeMap<String, Url>,
}

/// Binds the IdP, the oCIS server, its instances and the approuter on free ports of 127.0.0.1.
fn start_oidc_systems(scheme: &str, scenario: &Scenario) -> Result<OidcSystems, LookupError> {
    let loopback = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    let bind_loopback = || -> Result<(TcpListener, SocketAddr), LookupError> {
        let listener = bind_std(loopback)?;
        let addr = local_addr(&listener, loopback)?;
        Ok((listener, addr))
    };
    let (idp_listener, idp_addr) = bind_loopback()?;
    let idp = Arc::new(Provider::new(&base_url(scheme, idp_addr)?, scenario.token_lifetime, scenario.fault)?);
    let (ocis_listener, ocis_addr) = bind_loopback()?;
    let ocis_url = base_url(scheme, ocis_addr)?;
    let mut ocis_instance_urls = BTreeMap::new();
    let mut ocis_instance_listeners = Vec::new();
    for name in OCIS_INSTANCE_NAMES {
        let (listener, addr) = bind_loopback()?;
        ocis_instance_urls.insert(name.to_owned(), base_url(scheme, addr)?);
        ocis_instance_listeners.push((name, listener));
    }
    let (tenants_listener, tenants_addr) = bind_loopback()?;
    let tenants_port = tenants_addr.port();
    let mut tenant_urls = BTreeMap::new();
    for tenant in &TENANTS {
        let text = format!("{scheme}://{}.{APPROUTER_DOMAIN}:{tenants_port}/", tenant.name);
        let url =
            Url::parse(&text).map_err(|error| LookupError::InvalidScenario(format!("tenant URL {text}: {error}")))?;
        tenant_urls.insert(tenant.name.to_owned(), url);
    }
    Ok(OidcSystems {
        idp,
        idp_listener,
        ocis_url,
        ocis_listener,
        ocis_instance_urls,
        ocis_instance_listeners,
        tenants_port,
        tenants_listener,
        tenant_urls,
    })
}

/// The bound listeners of the Matrix systems and their shared state, before their routers exist.
struct MatrixSystems {
    state: Arc<Matrix>,
    proxy_listener: TcpListener,
    redirect_listener: TcpListener,
    homeserver_listeners: Vec<(&'static str, TcpListener)>,
}

/// Binds the Matrix portals and homeservers on free ports of 127.0.0.1; each is named by its own `.localhost`
/// host (which any client resolves to loopback), and answers whatever `Host` it is sent.
fn start_matrix_systems(scheme: &str, scenario: &Scenario) -> Result<MatrixSystems, LookupError> {
    let loopback = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    let bind_named = |host: &str| -> Result<(TcpListener, Url), LookupError> {
        let listener = bind_std(loopback)?;
        let port = local_addr(&listener, loopback)?.port();
        let text = format!("{scheme}://{host}:{port}/");
        let url =
            Url::parse(&text).map_err(|error| LookupError::InvalidScenario(format!("Matrix URL {text}: {error}")))?;
        Ok((listener, url))
    };
    let (proxy_listener, proxy_url) = bind_named(PROXY_HOST)?;
    let (redirect_listener, redirect_url) = bind_named(REDIRECT_HOST)?;
    let mut homeserver_urls = BTreeMap::new();
    let mut homeserver_listeners = Vec::new();
    for name in HOMESERVER_NAMES {
        let (listener, url) = bind_named(&format!("{name}.localhost"))?;
        homeserver_urls.insert(name.to_owned(), url);
        homeserver_listeners.push((name, listener));
    }
    let state = Matrix::new(homeserver_urls, proxy_url, redirect_url, scenario.fault, scenario.token_lifetime)?;
    Ok(MatrixSystems { state: Arc::new(state), proxy_listener, redirect_listener, homeserver_listeners })
}

/// Binds synchronously (inside the runtime): the OIDC listeners are set up in one non-async step.
fn bind_std(addr: SocketAddr) -> Result<TcpListener, LookupError> {
    let listener = std::net::TcpListener::bind(addr).map_err(|source| LookupError::Bind { addr, source })?;
    listener.set_nonblocking(true).map_err(|source| LookupError::Bind { addr, source })?;
    TcpListener::from_std(listener).map_err(|source| LookupError::Bind { addr, source })
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, LookupError> {
    TcpListener::bind(addr).await.map_err(|source| LookupError::Bind { addr, source })
}

fn local_addr(listener: &TcpListener, requested: SocketAddr) -> Result<SocketAddr, LookupError> {
    listener.local_addr().map_err(|source| LookupError::Bind { addr: requested, source })
}

/// `scheme://ip:port/` for a bound address. A wildcard address (`0.0.0.0`, `::`) cannot be connected to
/// portably, so its URL names the loopback address of the same family.
fn base_url(scheme: &str, addr: SocketAddr) -> Result<Url, LookupError> {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    // SocketAddr's Display brackets IPv6 and drops nothing a URL needs.
    let text = format!("{scheme}://{}/", SocketAddr::new(ip, addr.port()));
    Url::parse(&text).map_err(|error| {
        LookupError::InvalidScenario(format!("listening on {addr} gives no usable URL ({text}): {error}"))
    })
}

fn join(base: &Url, relative: &str) -> Result<Url, LookupError> {
    base.join(relative)
        .map_err(|error| LookupError::InvalidScenario(format!("cannot form {relative} under {base}: {error}")))
}

#[cfg(test)]
pub(crate) mod test_support {
    use std::net::SocketAddr;

    use url::Url;

    use crate::{LookupServer, Scenario, DEMO_PASSWORD};

    pub(crate) async fn start(scenario: Scenario) -> LookupServer {
        LookupServer::start(SocketAddr::from(([127, 0, 0, 1], 0)), scenario)
            .await
            .expect("the lookup server starts on loopback")
    }

    /// A client like the engine's: no automatic redirects, and no proxy from the environment between it and
    /// the loopback servers.
    pub(crate) fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a plain reqwest client")
    }

    pub(crate) fn propfind(client: &reqwest::Client, url: impl reqwest::IntoUrl) -> reqwest::RequestBuilder {
        let method = reqwest::Method::from_bytes(b"PROPFIND").expect("PROPFIND is a valid method token");
        client.request(method, url)
    }

    pub(crate) fn with_password(request: reqwest::RequestBuilder, user: &str) -> reqwest::RequestBuilder {
        request.basic_auth(user, Some(DEMO_PASSWORD))
    }

    /// Like [`client`], and connecting the demo's `*.localhost` hosts to 127.0.0.1 (RFC 6761), as the engine does.
    pub(crate) fn localhost_client() -> reqwest::Client {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        let mut builder = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none());
        for tenant in ["tenant1", "tenant2", "tenant3", "tenant9"] {
            for domain in ["auth.localhost", "approuter.localhost"] {
                builder = builder.resolve(&format!("{tenant}.{domain}"), loopback);
            }
        }
        for host in crate::matrix::MATRIX_HOSTS {
            builder = builder.resolve(host, loopback);
        }
        builder.build().expect("a plain reqwest client")
    }

    /// One authorization request's secrets, as the engine keeps them.
    #[derive(Debug)]
    pub(crate) struct Authorization {
        pub(crate) url: Url,
        pub(crate) verifier: String,
        pub(crate) state: String,
        pub(crate) redirect_uri: String,
        pub(crate) client_id: String,
    }

    /// An authorization request to `issuer` for the built-in client, PKCE S256, redirect to a loopback port.
    pub(crate) fn authorization(issuer: &str, seed: &str) -> Authorization {
        let verifier = format!("verifier-{seed}-{}", "v".repeat(48));
        let redirect_uri = "http://127.0.0.1:53682/callback".to_owned();
        let state = format!("state-{seed}");
        let nonce = format!("nonce-{seed}");
        let mut url = Url::parse(&format!("{issuer}/authorize")).expect("authorize URL");
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", crate::BUILT_IN_CLIENT_ID)
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("scope", "openid profile email offline_access")
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &crate::oidc::pkce_challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
        Authorization { url, verifier, state, redirect_uri, client_id: crate::BUILT_IN_CLIENT_ID.to_owned() }
    }

    /// The `code` of a callback URL, after checking its `state`.
    pub(crate) fn code_of(callback: &Url, authorization: &Authorization) -> String {
        let query: std::collections::HashMap<String, String> = callback.query_pairs().into_owned().collect();
        assert_eq!(query.get("state"), Some(&authorization.state), "the state comes back: {callback}");
        query.get("code").cloned().expect("the callback carries a code")
    }

    /// `POST <issuer>/token` with form fields; the status and the JSON answer.
    pub(crate) async fn token_request(issuer: &str, fields: &[(&str, &str)]) -> (u16, serde_json::Value) {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let response = localhost_client()
            .post(format!("{issuer}/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("the token endpoint answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON answer"))
    }

    /// The whole code flow for `user` at `issuer`: the token response.
    pub(crate) async fn log_in(issuer: &str, user: &str, password: &str) -> serde_json::Value {
        let authorization = authorization(issuer, user);
        let callback = crate::auto_login(&authorization.url, user, password).await.expect("the robot logs in");
        let code = code_of(&callback, &authorization);
        let (status, tokens) = token_request(
            issuer,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &authorization.redirect_uri),
                ("client_id", &authorization.client_id),
                ("code_verifier", &authorization.verifier),
            ],
        )
        .await;
        assert_eq!(status, 200, "the code is exchanged: {tokens}");
        tokens
    }

    /// The access token of a token response.
    pub(crate) fn access_token(tokens: &serde_json::Value) -> String {
        tokens["access_token"].as_str().expect("an access token").to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::{Duration, Instant};

    use super::test_support::{client, propfind, start, with_password};
    use super::*;

    fn loopback() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 0))
    }

    #[tokio::test]
    async fn description_lists_urls_users_and_no_certificate_without_tls() {
        let server = start(Scenario::default()).await;
        let description = server.description();
        assert_eq!(description["central"].as_str(), Some(server.central_url().as_str()), "the central URL");
        assert!(server.central_url().as_str().ends_with('/'), "base URLs end with a slash");
        assert_eq!(
            description["instances"]["instance2"].as_str(),
            Some(server.instance_urls()["instance2"].as_str()),
            "each instance URL"
        );
        assert_eq!(
            description["users"],
            json!(["test@instance1.com", "test@instance2.com", "test@instance3.com"]),
            "the seed's users"
        );
        assert_eq!(description["password"], "secret", "the seed's password");
        assert_eq!(description["tls_certificate_sha256"], Value::Null, "plain http has no certificate");
        assert!(server.certificate_der().is_none(), "and no certificate to trust");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn description_lists_the_oidc_systems() {
        let server = start(Scenario::default()).await;
        let description = server.description();
        assert_eq!(description["ocis"].as_str(), Some(server.ocis_url().as_str()), "the oCIS server");
        assert_eq!(
            description["ocis_instances"]["B"].as_str(),
            Some(server.ocis_instance_urls()["B"].as_str()),
            "the oCIS instances"
        );
        assert_eq!(description["idp"].as_str(), Some(server.idp_issuer().as_str()), "the IdP's issuer");
        assert_eq!(description["tenant_pattern"], r"^(.*)\.approuter\.localhost$", "TENANT_HOST_PATTERN");
        let tenant1 = description["tenants"]["tenant1"].as_str().expect("tenant1's URL");
        let port = server.localhost_ports()["approuter.localhost"];
        assert_eq!(tenant1, format!("http://tenant1.approuter.localhost:{port}/"), "the approuter by host");
        assert_eq!(description["oidc_users"], json!(["einstein", "marie", "richard"]), "the IdP's users");
        assert_eq!(description["oidc_passwords"]["marie"], "radioactivity", "their passwords");
        assert_eq!(description["tenants_subscribed"], json!(["tenant1", "tenant2"]), "tenant3 is not subscribed");
        let template = description["tenant_issuer_template"].as_str().expect("the zone issuer template");
        assert_eq!(
            Some(template.replace("{tenant}", "tenant2")),
            server.tenant_issuer("tenant2"),
            "the template names each zone's issuer"
        );
        let people = server.oidc_people();
        assert_eq!(people[1].ocis_instances, vec!["A", "B"], "marie lives on both instances");
        assert!(people[2].disabled_at_ocis, "richard is disabled at oCIS");
        for url in [server.ocis_url(), &server.ocis_instance_urls()["A"]] {
            assert_eq!(url.host_str(), Some("127.0.0.1"), "OIDC systems listen on loopback: {url}");
        }
        server.shutdown().await;
    }

    #[tokio::test]
    async fn oidc_systems_serve_tls_for_their_localhost_names() {
        let server = start(Scenario { tls: true, ..Scenario::default() }).await;
        let zone = server.tenant_issuer("tenant2").expect("tenant2's zone");
        assert!(zone.starts_with("https://tenant2.auth.localhost:"), "https issuers: {zone}");
        let request = test_support::authorization(&zone, "tls");
        let certificate = server.certificate_der().expect("a certificate");
        let callback = auto_login_trusting(&request.url, "marie", "radioactivity", Some(&certificate))
            .await
            .expect("the certificate covers *.auth.localhost");
        assert!(callback.query().is_some_and(|query| query.contains("code=")), "a code: {callback}");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn description_lists_the_matrix_systems() {
        let server = start(Scenario::default()).await;
        let description = server.description();
        assert_eq!(description["matrix_portal"].as_str(), Some(server.matrix_portal_url().as_str()), "proxy portal");
        assert_eq!(
            description["matrix_portal_307"].as_str(),
            Some(server.matrix_portal_307_url().as_str()),
            "the 307 portal"
        );
        for name in ["hs1", "hs2"] {
            let url = &server.matrix_homeserver_urls()[name];
            assert_eq!(description["matrix_homeservers"][name].as_str(), Some(url.as_str()), "{name}'s URL");
            assert_eq!(url.host_str(), Some(format!("{name}.localhost").as_str()), "{name} is named");
            assert_eq!(server.localhost_ports()[format!("{name}.localhost").as_str()], url.port().expect("port"));
        }
        assert!(server.matrix_portal_url().as_str().starts_with("http://proxy.localhost:"), "the proxy's name");
        assert!(server.matrix_portal_307_url().as_str().starts_with("http://redirect.localhost:"), "the 307's name");
        assert_eq!(description["matrix_users"], json!(["alice", "bob", "carol", "dave"]), "the Matrix users");
        assert_eq!(
            description["matrix_passwords"],
            json!({"alice": "wonderland", "bob": "builder", "carol": "rate-limit", "dave": "deactivated"}),
            "their passwords"
        );
        assert_eq!(description["matrix_deactivated_users"], json!(["dave"]), "dave is deactivated");
        assert_eq!(description["matrix_rate_limited_users"], json!(["carol"]), "carol is rate limited");

        let people = server.matrix_people();
        let hs1 = server.matrix_homeserver_urls()["hs1"].authority().to_owned();
        assert_eq!(
            people[0],
            MatrixPerson {
                localpart: "alice",
                password: "wonderland",
                display_name: "Alice Liddell",
                homeserver: "hs1",
                user_id: format!("@alice:{hs1}"),
                deactivated: false,
                rate_limited: false,
            },
            "alice lives on hs1"
        );
        assert_eq!((people[1].homeserver, people[3].homeserver), ("hs2", "hs2"), "bob and dave live on hs2");
        assert!(people[2].rate_limited && people[3].deactivated, "carol and dave are the special cases");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn matrix_logins_leave_no_password_or_token_in_the_log() {
        use crate::matrix::test_support::{get_with_token, login, password_login, post_raw, token_login};
        let server = start(Scenario::default()).await;
        let proxied = login(server.matrix_portal_url(), &password_login("alice", "wonderland")).await;
        assert_eq!(proxied.status, 200, "proxied login: {:?}", proxied.json);
        let redirect = login(server.matrix_portal_307_url(), &password_login("bob", "builder")).await;
        let location = Url::parse(redirect.headers["location"].to_str().expect("ASCII")).expect("a Location");
        let redirected = post_raw(&location, &password_login("bob", "builder").to_string()).await;
        assert_eq!(redirected.status, 200, "re-POSTed login: {:?}", redirected.json);
        let mut sso = server.matrix_portal_url().join("_matrix/client/v3/login/sso/redirect").expect("URL");
        sso.query_pairs_mut().append_pair("redirectUrl", "http://127.0.0.1:53682/cb");
        let callback = auto_login(&sso, "alice", "wonderland").await.expect("SSO login");
        let login_token =
            callback.query_pairs().find(|(name, _)| name == "loginToken").map(|(_, token)| token.into_owned());
        let login_token = login_token.expect("a login token");
        let by_token = login(server.matrix_portal_url(), &token_login(&login_token)).await;
        assert_eq!(by_token.status, 200, "token login: {:?}", by_token.json);
        let hs1 = &server.matrix_homeserver_urls()["hs1"];
        let access_token = proxied.json["access_token"].as_str().expect("an access token");
        let whoami = get_with_token(hs1, "_matrix/client/v3/account/whoami", access_token).await;
        assert_eq!(whoami.status, 200, "whoami");
        // A client that sends a token in the query (the spec's deprecated form) does not put it in the log either.
        let query = format!("_matrix/client/v3/account/whoami?access_token={access_token}");
        let _ = crate::matrix::test_support::get(hs1, &query).await;

        let log = server.requests();
        let servers: std::collections::BTreeSet<&str> = log.iter().map(|request| request.server.as_str()).collect();
        for name in ["matrix-proxy", "matrix-307", "hs1", "hs2"] {
            assert!(servers.contains(name), "{name} is named in the log: {servers:?}");
        }
        assert_eq!(server.matrix_login_posts("hs1"), 2, "the proxied password and token logins reached hs1");
        assert_eq!(server.matrix_login_posts("hs2"), 1, "bob's re-POST reached hs2");
        assert_eq!(server.matrix_login_posts("matrix-307"), 1, "the 307 portal got bob's first POST");
        let serialized = serde_json::to_string(&log).expect("the log serializes");
        let mut secrets = vec!["wonderland".to_owned(), "builder".to_owned(), login_token];
        for answer in [&proxied, &redirected, &by_token] {
            secrets.push(answer.json["access_token"].as_str().expect("an access token").to_owned());
            secrets.extend(answer.json["refresh_token"].as_str().map(str::to_owned));
        }
        for secret in &secrets {
            assert!(!serialized.contains(secret.as_str()), "no password or token in the log: {serialized}");
            assert!(!format!("{log:?}").contains(secret.as_str()), "nor in its Debug output");
        }
        assert!(serialized.contains("access_token=[redacted]"), "the query token is redacted: {serialized}");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn matrix_systems_serve_tls_and_the_proxy_forwards_over_it() {
        use crate::matrix::test_support::password_login;
        let server = start(Scenario { tls: true, ..Scenario::default() }).await;
        let certificate =
            reqwest::Certificate::from_der(&server.certificate_der().expect("a certificate")).expect("valid DER");
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .tls_built_in_root_certs(false)
            .add_root_certificate(certificate);
        for host in crate::matrix::MATRIX_HOSTS {
            builder = builder.resolve(host, SocketAddr::from(([127, 0, 0, 1], 0)));
        }
        let trusting = builder.build().expect("a client trusting the mock's certificate");
        let hs2 = &server.matrix_homeserver_urls()["hs2"];
        for base in [server.matrix_portal_url(), server.matrix_portal_307_url(), hs2] {
            assert_eq!(base.scheme(), "https", "https in a TLS scenario: {base}");
            let response = trusting
                .get(base.join("_matrix/client/versions").expect("URL"))
                .send()
                .await
                .expect("the certificate covers the Matrix host names");
            assert_eq!(response.status(), 200, "{base}: versions over https");
        }
        let response = trusting
            .post(server.matrix_portal_url().join("_matrix/client/v3/login").expect("URL"))
            .json(&password_login("bob", "builder"))
            .send()
            .await
            .expect("the proxy portal answers");
        assert_eq!(response.status(), 200, "the portal forwarded the login to hs2 over https");
        let answer: Value = response.json().await.expect("JSON");
        assert_eq!(answer["base_cs_url"].as_str(), Some(hs2.as_str()), "and names hs2's https base");
        assert_eq!(server.matrix_login_posts("hs2"), 1, "hs2 got the forwarded login");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn the_central_server_stays_up_under_a_connection_flood_and_garbage() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let server = start(Scenario::default()).await;
        let url = server.central_url().clone();
        let addr = SocketAddr::from(([127, 0, 0, 1], url.port().expect("port")));
        let mut flood = Vec::with_capacity(crate::serve::MAX_CONNECTIONS);
        for _ in 0..crate::serve::MAX_CONNECTIONS {
            flood.push(tokio::net::TcpStream::connect(addr).await.expect("connects"));
        }
        // One whole request on the last one: once it is answered, every earlier connection was accepted.
        let last = flood.last_mut().expect("a connection");
        last.write_all(b"GET /status.php HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("write");
        let mut head = [0u8; 12];
        last.read_exact(&mut head).await.expect("an answer");
        assert_eq!(&head, b"HTTP/1.1 200", "served while the flood holds every other slot");
        let mut extra = tokio::net::TcpStream::connect(addr).await.expect("the kernel still accepts");
        let mut byte = [0u8; 1];
        let closed = tokio::time::timeout(Duration::from_secs(5), extra.read(&mut byte)).await;
        assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "past the bound a connection is closed at once: {closed:?}");
        for stream in flood.iter_mut().take(8) {
            stream.write_all(b"\x00\x01 GARBAGE /\xff\r\n\r\n").await.expect("write garbage");
            let mut answer = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
            assert!(
                answer.starts_with(b"HTTP/1.1 400"),
                "garbage gets 400 and a close: {:?}",
                String::from_utf8_lossy(&answer)
            );
        }
        drop(flood);
        // The slots free as the server notices the closed sockets; a fresh client is then served.
        let mut answered = None;
        for _ in 0..50 {
            if let Ok(response) = client().get(url.join("status.php").expect("url")).send().await {
                answered = Some(response.status());
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(answered, Some(reqwest::StatusCode::OK), "the server is up and serving again");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn invalid_scenarios_and_busy_ports_are_errors() {
        let invalid = LookupServer::start(loopback(), Scenario { redirect_status: 303, ..Scenario::default() }).await;
        assert!(
            matches!(invalid, Err(LookupError::InvalidScenario(_))),
            "a 303 redirect is refused before anything listens"
        );

        let server = start(Scenario::default()).await;
        let taken = server
            .central_url()
            .socket_addrs(|| None)
            .expect("socket address")
            .into_iter()
            .next()
            .expect("one address");
        let busy = LookupServer::start(taken, Scenario::default()).await;
        assert!(
            matches!(busy, Err(LookupError::Bind { addr, .. }) if addr == taken),
            "a port in use is a Bind error naming the address"
        );
        server.shutdown().await;
    }

    #[tokio::test]
    async fn the_log_records_users_but_never_passwords() {
        let server = start(Scenario::default()).await;
        let _ = client().get(server.central_url().join("status.php").expect("URL")).send().await.expect("status.php");
        let _ = propfind(&client(), server.central_url().join("remote.php/webdav/").expect("URL"))
            .basic_auth("test@instance1.com", Some("secret"))
            .send()
            .await
            .expect("central answers");
        let _ = with_password(
            client()
                .get(server.instance_urls()["instance1"].join("ocs/v1.php/cloud/user?format=json").expect("URL"))
                .header("OCS-APIRequest", "true"),
            "test@instance1.com",
        )
        .send()
        .await
        .expect("instance answers");

        let log = server.requests();
        assert_eq!(log.len(), 3, "every request is recorded once: {log:?}");
        assert_eq!(
            log[0],
            RecordedRequest {
                server: "central".into(),
                method: "GET".into(),
                path: "/status.php".into(),
                basic_user: None,
                has_authorization: false,
                ocs_api_request: false,
            },
            "an anonymous request"
        );
        assert_eq!(log[1].method, "PROPFIND", "the method as sent");
        assert_eq!(log[1].basic_user.as_deref(), Some("test@instance1.com"), "the Basic user name is recorded");
        assert!(log[1].has_authorization, "credentials were present");
        assert_eq!(log[2].server, "instance1", "requests are attributed to the server that got them");
        assert_eq!(log[2].path, "/ocs/v1.php/cloud/user?format=json", "the path includes the query");
        assert!(log[2].ocs_api_request, "the OCS header is noted");

        let serialized = serde_json::to_string(&log).expect("the log serializes");
        assert!(!serialized.contains("secret"), "the password never reaches the log: {serialized}");
        assert!(!format!("{log:?}").contains("secret"), "nor its Debug output");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn latency_delays_every_response() {
        let latency = Duration::from_millis(300);
        let server = start(Scenario { latency, ..Scenario::default() }).await;
        for url in [
            server.central_url().join("status.php").expect("URL"),
            server.instance_urls()["instance3"].join("status.php").expect("URL"),
        ] {
            let started = Instant::now();
            let response = client().get(url.clone()).send().await.expect("answers");
            assert_eq!(response.status(), 200, "{url}: still answers");
            assert!(
                started.elapsed() >= latency,
                "{url}: the answer must take at least the scenario's latency, took {:?}",
                started.elapsed()
            );
        }
        server.shutdown().await;
    }

    #[tokio::test]
    async fn requests_are_recorded_before_the_latency() {
        // A latency far longer than the test: the request can only be in the log before its answer.
        let server = start(Scenario { latency: Duration::from_secs(600), ..Scenario::default() }).await;
        let url = server.central_url().join("status.php").expect("URL");
        let pending = tokio::spawn(async move { client().get(url).send().await.map(|response| response.status()) });
        let deadline = Instant::now() + Duration::from_secs(10);
        while server.requests().is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(server.requests().len(), 1, "the request is logged while its answer is still delayed");
        assert!(!pending.is_finished(), "the answer is still held back by the latency");
        drop(server);
        pending.abort();
    }

    async fn connection_refused(url: &Url) -> bool {
        let addr = url.socket_addrs(|| None).expect("socket address").into_iter().next().expect("one address");
        tokio::net::TcpStream::connect(addr).await.is_err()
    }

    #[tokio::test]
    async fn shutdown_closes_every_listener() {
        let server = start(Scenario::default()).await;
        let mut urls = vec![server.central_url().clone()];
        urls.extend(server.instance_urls().values().cloned());
        server.shutdown().await;
        for url in &urls {
            assert!(connection_refused(url).await, "{url} must not accept connections after shutdown");
        }
    }

    #[tokio::test]
    async fn shutdown_lets_a_request_in_flight_finish() {
        let server = start(Scenario { latency: Duration::from_millis(300), ..Scenario::default() }).await;
        let url = server.central_url().join("status.php").expect("URL");
        let pending = tokio::spawn(async move { client().get(url).send().await.map(|response| response.status()) });
        let deadline = Instant::now() + Duration::from_secs(10);
        while server.requests().is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        server.shutdown().await;
        let status = pending.await.expect("the client task ran");
        assert_eq!(
            status.ok(),
            Some(reqwest::StatusCode::OK),
            "graceful shutdown answers the request already received"
        );
    }

    #[tokio::test]
    async fn dropping_the_server_stops_it() {
        let server = start(Scenario::default()).await;
        let central = server.central_url().clone();
        drop(server);
        // Aborted tasks release their listeners when the runtime next drops them; give it a moment.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !connection_refused(&central).await && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(connection_refused(&central).await, "a dropped server must release its port");
    }

    #[tokio::test]
    async fn the_seeds_curl_flow_works_in_the_path_layout() {
        // `curl -L -u test@instance3.com:secret <central>/remote.php/webdav/`: curl, like reqwest, keeps the
        // credentials only on the same origin, which the seed's deployment (instances under paths) has.
        let server = start(Scenario { path_instances: true, ..Scenario::default() }).await;
        let following = reqwest::Client::builder().no_proxy().build().expect("a client that follows redirects");
        let response = following
            .get(server.central_url().join("remote.php/webdav/").expect("URL"))
            .basic_auth("test@instance3.com", Some("secret"))
            .send()
            .await
            .expect("the redirect is followed");
        assert_eq!(response.status(), 200, "the instance answers the followed redirect");
        assert_eq!(
            response.url().as_str(),
            format!("{}instance3/remote.php/webdav/", server.central_url()),
            "the client ended up on instance3"
        );
        let body = response.text().await.expect("body");
        assert!(body.starts_with("This is the WebDAV interface."), "ownCloud's notice: {body}");
        server.shutdown().await;
    }
}
