//! Starting the lookup server: every system's listener bound, its router built and served, and the accessors
//! that tell a client where each system is and who may log in.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use url::Url;

use crate::description::Description;
use crate::error::LookupError;
use crate::log::{ConnectionsUsed, RecordedRequest};
use crate::log::{Recorded, RecordedBy, Recorder, RequestLog};
use crate::matrix::state::Matrix;
use crate::matrix::MATRIX_HOSTS;
use crate::nextcloud::state::Nextcloud;
use crate::ocis::external::ExternalIssuer;
use crate::ocis::instance::OcisInstanceState;
use crate::ocis::server::OcisState;
use crate::oidc::{
    Provider, Zone, BUILT_IN_CLIENT_ID, OWNCLOUD_DESKTOP_CLIENT_ID, OWNCLOUD_DESKTOP_CLIENT_SECRET, PUBLIC_CLIENT_ID,
    ZONE_DOMAIN,
};
use crate::owncloud::central::{self, CentralState};
use crate::owncloud::instance::{self, InstanceState};
use crate::people::{DemoPerson, MatrixUser, OidcPerson};
use crate::scenario::{PublicClient, Scenario};
use crate::tenant::{ApprouterState, APPROUTER_DOMAIN, TENANT_HOST_PATTERN};
use crate::tls::SelfSignedTls;
use crate::{ocis, oidc, serve, tenant};

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
    matrix_oauth_url: Url,
    nextcloud: Arc<Nextcloud>,
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
            .field("matrix_oauth_homeserver", &self.matrix_oauth_url.as_str())
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
        for name in scenario.people.instances.iter().map(|instance| instance.name) {
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
            for name in scenario.people.instances.iter().map(|instance| instance.name) {
                let mount_path = format!("/{name}");
                let router = instance::router(Arc::new(InstanceState {
                    name: name.to_owned(),
                    mount_path: mount_path.clone(),
                    fault: scenario.fault,
                    people: scenario.people,
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
                people: scenario.people,
            }))
            .recorded_by(recorder(name, Vec::new()));
            routers.push((listener, router));
        }

        // The OAuth-only homeserver's name is known before the IdP starts: the IdP's Matrix zone logs in for it.
        let matrix_systems = matrix_systems::bind(scheme, &scenario)?;
        let oidc = start_oidc_systems(scheme, &scenario, matrix_systems.oauth_server_name())?;
        let external = scenario.oidc_issuer.as_ref().map(|issuer| Arc::new(ExternalIssuer::new(issuer)));
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
                external: external.clone(),
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
                external: external.clone(),
            }))
            .recorded_by(oidc_recorder(&format!("ocis-{name}"), None));
            routers.push((listener, router));
        }
        routers.push((
            oidc.tenants_listener,
            tenant::router(Arc::new(ApprouterState::new(oidc.tenants_port, oidc.idp.clone())?))
                .recorded_by(oidc_recorder("tenants", Some(APPROUTER_DOMAIN))),
        ));

        let certificate = tls.as_ref().map(SelfSignedTls::certificate_der);
        let matrix = matrix_systems.state.clone();
        let matrix_oauth_url = matrix_systems.oauth_url.clone();
        for (server, listener, router) in matrix_systems::routers(matrix_systems, &oidc.idp, &scenario, certificate)? {
            routers.push((listener, router.recorded_by(recorder(server, Vec::new()))));
        }

        let (nextcloud, nextcloud_routers) = nextcloud_systems::start(scheme, &scenario)?;
        for (server, listener, router) in nextcloud_routers {
            routers.push((listener, router.recorded_by(recorder(&server, Vec::new()))));
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
            matrix,
            matrix_oauth_url,
            nextcloud,
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

    /// The oCIS server a person types, with a trailing slash (`http://127.0.0.1:41240/`).
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

    /// The approuter URL of every tenant, with a trailing slash:
    /// `tenant1` → `http://tenant1.approuter.localhost:41243/`. `tenant3` is not subscribed.
    pub fn tenant_urls(&self) -> &BTreeMap<String, Url> {
        &self.tenant_urls
    }

    /// The issuer of a tenant's identity zone (`http://tenant1.auth.localhost:41239`), for known tenants.
    pub fn tenant_issuer(&self, tenant: &str) -> Option<String> {
        self.scenario.people.find_tenant(tenant).map(|tenant| self.idp.issuer(Zone::Tenant(tenant)))
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
        self.scenario.people.tenants.iter().filter(|tenant| tenant.subscribed).map(|tenant| tenant.name).collect()
    }

    /// The port every `*.localhost` host of the lookup server must be connected to at 127.0.0.1, by host
    /// suffix: the IdP's (`auth.localhost`, its Matrix zone `matrix.auth.localhost` too) and the approuter's
    /// (`approuter.localhost`), and each Matrix host's (`hs1.localhost`, `hs2.localhost`, `proxy.localhost`,
    /// `redirect.localhost`, `oauth.localhost`).
    pub fn localhost_ports(&self) -> BTreeMap<&'static str, u16> {
        let mut ports = BTreeMap::new();
        ports.insert(ZONE_DOMAIN, self.idp.port());
        if let Some(port) = self.tenant_urls.values().next().and_then(Url::port) {
            ports.insert(APPROUTER_DOMAIN, port);
        }
        let matrix_urls = [self.matrix.proxy_url(), self.matrix.redirect_url(), &self.matrix_oauth_url]
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

    /// The IdP's users with their passwords, oCIS instances and whether oCIS disabled them.
    pub fn oidc_people(&self) -> Vec<OidcPerson> {
        let people = self.scenario.people;
        people
            .oidc_users
            .iter()
            .map(|user| {
                let account = people.ocis_accounts.iter().find(|account| account.login == user.login);
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

    /// The ownCloud demo people, for the desktop app's demo page: login, display name and instance URL.
    pub fn demo_people(&self) -> Vec<DemoPerson> {
        self.scenario
            .people
            .owncloud_users
            .iter()
            .map(|user| DemoPerson {
                login: user.login,
                display_name: user.display_name,
                instance_url: self.instance_urls.get(user.instance).map(Url::to_string).unwrap_or_default(),
            })
            .collect()
    }

    /// What `homeport mock` prints: where every system listens and who may log in (see [`Description`]).
    pub fn description(&self) -> Description {
        let people = self.scenario.people;
        let logins = |users: &'static [MatrixUser], wanted: fn(&MatrixUser) -> bool| -> Vec<&'static str> {
            users.iter().filter(|user| wanted(user)).map(|user| user.localpart).collect()
        };
        let (oidc_client_id, oidc_client_secret, oidc_redirect_port) = match self.idp.setup().public_client {
            Some(PublicClient::Realm { redirect_port }) => (PUBLIC_CLIENT_ID, None, Some(redirect_port)),
            None | Some(PublicClient::AnyPort) => {
                (OWNCLOUD_DESKTOP_CLIENT_ID, Some(OWNCLOUD_DESKTOP_CLIENT_SECRET), None)
            }
        };
        Description {
            central: self.central_url.clone(),
            instances: self.instance_urls.clone(),
            users: people.owncloud_users.iter().map(|user| user.login).collect(),
            password: people.owncloud_password,
            tls_certificate_sha256: self.tls.as_ref().map(SelfSignedTls::sha256_fingerprint),
            ocis: self.ocis_url.clone(),
            ocis_issuer: self.scenario.oidc_issuer.as_ref().map(|url| url.as_str().trim_end_matches('/').to_owned()),
            ocis_instances: self.ocis_instance_urls.clone(),
            idp: self.idp.issuer(Zone::Main),
            oidc_client_id,
            oidc_client_secret,
            oidc_redirect_port,
            oidc_registration: self.idp.offers_registration(Zone::Main),
            tenant_client_id: BUILT_IN_CLIENT_ID,
            oidc_users: people.oidc_users.iter().map(|user| user.login).collect(),
            oidc_passwords: people.oidc_users.iter().map(|user| (user.login, user.password)).collect(),
            oidc_disabled_users: people.ocis_accounts.iter().filter(|a| a.disabled).map(|a| a.login).collect(),
            tenant_pattern: TENANT_HOST_PATTERN,
            tenants: self.tenant_urls.clone(),
            tenant_issuers: people
                .tenants
                .iter()
                .map(|tenant| (tenant.name, self.idp.issuer(Zone::Tenant(tenant))))
                .collect(),
            tenant_issuer_template: self.tenant_issuer_template(),
            tenants_subscribed: self.subscribed_tenants(),
            matrix_portal: self.matrix.proxy_url().clone(),
            matrix_portal_307: self.matrix.redirect_url().clone(),
            matrix_homeservers: self.matrix.homeserver_urls().clone(),
            matrix_users: logins(people.matrix_users, |_| true),
            matrix_passwords: people.matrix_users.iter().map(|user| (user.localpart, user.password)).collect(),
            matrix_deactivated_users: logins(people.matrix_users, |user| user.deactivated),
            matrix_rate_limited_users: logins(people.matrix_users, |user| user.rate_limited),
            matrix_oauth_homeserver: self.matrix_oauth_url.clone(),
            matrix_oauth_server_name: self.matrix_oauth_server_name(),
            matrix_oauth_issuer: self.matrix_oauth_issuer(),
            canary: self.canary_url.clone(),
            nextcloud_gss: self.nextcloud.gss_url().clone(),
            nextcloud_nodes: self.nextcloud.node_urls().clone(),
            nextcloud_users: people.nextcloud_users.iter().map(|user| user.login).collect(),
            nextcloud_passwords: people.nextcloud_users.iter().map(|user| (user.login, user.password)).collect(),
            nextcloud_user_nodes: people.nextcloud_users.iter().map(|user| (user.login, user.node)).collect(),
        }
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

    /// TCP connections accepted so far, by listener (`central`, `instance1`, `idp`, …; a listener
    /// serving several hosts counts once): the connection set-ups clients needed.
    pub fn connections(&self) -> std::collections::BTreeMap<String, u64> {
        self.log.connections()
    }

    /// By listener, how many connections carried requests over HTTP/1.1 and over HTTP/2 (TLS listeners offer
    /// `h2` by ALPN; plain ones speak HTTP/1.1): with [`LookupServer::connections`], what a client's pool did.
    pub fn connections_used(&self) -> std::collections::BTreeMap<String, ConnectionsUsed> {
        self.log.connections_used()
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
fn start_oidc_systems(
    scheme: &str,
    scenario: &Scenario,
    matrix_server_name: String,
) -> Result<OidcSystems, LookupError> {
    let loopback = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    let bind_loopback = || -> Result<(TcpListener, SocketAddr), LookupError> {
        let listener = bind_std(loopback)?;
        let addr = local_addr(&listener, loopback)?;
        Ok((listener, addr))
    };
    let (idp_listener, idp_addr) = bind_loopback()?;
    let idp_url = base_url(scheme, idp_addr)?;
    let idp = Arc::new(Provider::new(
        &idp_url,
        scenario.token_lifetime,
        scenario.fault,
        scenario.idp,
        matrix_server_name,
        scenario.people,
    )?);
    let (ocis_listener, ocis_addr) = bind_loopback()?;
    let ocis_url = base_url(scheme, ocis_addr)?;
    let mut ocis_instance_urls = BTreeMap::new();
    let mut ocis_instance_listeners = Vec::new();
    for &name in scenario.people.ocis_instances {
        let (listener, addr) = bind_loopback()?;
        ocis_instance_urls.insert(name.to_owned(), base_url(scheme, addr)?);
        ocis_instance_listeners.push((name, listener));
    }
    let (tenants_listener, tenants_addr) = bind_loopback()?;
    let tenants_port = tenants_addr.port();
    let mut tenant_urls = BTreeMap::new();
    for tenant in scenario.people.tenants {
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

/// Binds synchronously (inside the runtime): the OIDC listeners are set up in one non-async step.
pub(super) fn bind_std(addr: SocketAddr) -> Result<TcpListener, LookupError> {
    let listener = std::net::TcpListener::bind(addr).map_err(|source| LookupError::Bind { addr, source })?;
    listener.set_nonblocking(true).map_err(|source| LookupError::Bind { addr, source })?;
    TcpListener::from_std(listener).map_err(|source| LookupError::Bind { addr, source })
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, LookupError> {
    TcpListener::bind(addr).await.map_err(|source| LookupError::Bind { addr, source })
}

pub(super) fn local_addr(listener: &TcpListener, requested: SocketAddr) -> Result<SocketAddr, LookupError> {
    listener.local_addr().map_err(|source| LookupError::Bind { addr: requested, source })
}

/// `scheme://ip:port/` for a bound address. A wildcard address (`0.0.0.0`, `::`) cannot be connected to
/// portably, so its URL names the loopback address of the same family.
pub(super) fn base_url(scheme: &str, addr: SocketAddr) -> Result<Url, LookupError> {
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

mod matrix_systems;
mod nextcloud_systems;
#[cfg(test)]
mod tests;
