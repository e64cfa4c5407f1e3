//! Homeport's embedded lookup server: a faithful mock of the systems Homeport connects to, for the demo mode, the
//! CLI's `homeport mock` and the engine's tests.
//!
//! Today it acts out seed 000, an ownCloud multi-tenant setup: a central server that knows only `status.php` and
//! `remote.php/webdav` and redirects each user to their instance by the domain of the user name, and three
//! ownCloud 10 instances on their own ports (or under `<central>/instanceN/`). A [`Scenario`] picks the redirect
//! status, latency, layout, TLS and one [`Fault`].
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

mod log;
mod owncloud;
mod scenario;
mod serve;
mod tls;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::middleware::from_fn_with_state;
use axum::Router;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use url::Url;

pub use crate::log::RecordedRequest;
use crate::log::{record_then_delay, Recorder, RequestLog};
use crate::owncloud::central::{self, CentralState};
use crate::owncloud::instance::{self, InstanceState};
pub use crate::owncloud::DEMO_PASSWORD;
use crate::owncloud::{DEMO_USERS, INSTANCE_NAMES};
pub use crate::scenario::{Fault, Scenario};
use crate::tls::SelfSignedTls;

/// Why the lookup server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// A listener could not be opened (address in use, not local, no permission).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The self-signed certificate or the TLS configuration could not be made.
    #[error("cannot set up TLS: {0}")]
    Tls(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The scenario asks for something the server cannot act out, or names an unknown fault.
    #[error("invalid scenario: {0}")]
    InvalidScenario(String),
}

/// One of the seed's demo people (password [`DEMO_PASSWORD`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoPerson {
    pub login: &'static str,
    pub display_name: &'static str,
    pub instance_url: String,
}

/// A running lookup server: the central server and its instances. Dropping it stops every task at once;
/// [`LookupServer::shutdown`] stops them gracefully.
pub struct LookupServer {
    central_url: Url,
    instance_urls: BTreeMap<String, Url>,
    scenario: Scenario,
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
            .field("scenario", &self.scenario)
            .finish_non_exhaustive()
    }
}

impl LookupServer {
    /// Starts the central server on `listen` (port 0 picks a free port) and, unless the scenario mounts them
    /// under the central server, each instance on its own free port of the same IP.
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

        let log = RequestLog::default();
        let recorder = |server: &str, mounted_instances: Vec<String>| Recorder {
            log: log.clone(),
            server: Arc::from(server),
            mounted_instances: mounted_instances.into(),
            latency: scenario.latency,
        };

        let mut central_router = central::router(Arc::new(CentralState {
            central: central_url.clone(),
            instances: instance_urls.clone(),
            scenario: scenario.clone(),
        }));
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
        let central_router = central_router
            .fallback(central::fallback)
            .layer(from_fn_with_state(recorder("central", mounted), record_then_delay));

        let mut routers: Vec<(TcpListener, Router)> = vec![(central_listener, central_router)];
        for (name, listener) in instance_listeners {
            let router = instance::router(Arc::new(InstanceState {
                name: name.to_owned(),
                mount_path: String::new(),
                fault: scenario.fault,
            }))
            .layer(from_fn_with_state(recorder(name, Vec::new()), record_then_delay));
            routers.push((listener, router));
        }

        let (shutdown, shutdown_receiver) = watch::channel(false);
        let acceptor = tls.as_ref().map(|tls| tls.acceptor().clone());
        let tasks = routers
            .into_iter()
            .map(|(listener, router)| {
                tokio::spawn(serve::accept_loop(listener, router, acceptor.clone(), shutdown_receiver.clone()))
            })
            .collect();

        Ok(LookupServer { central_url, instance_urls, scenario, tls, log, shutdown, tasks })
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

    /// What `homeport mock` prints: URLs, demo users, their password, and the certificate fingerprint (or null).
    pub fn description(&self) -> Value {
        let instances: serde_json::Map<String, Value> =
            self.instance_urls.iter().map(|(name, url)| (name.clone(), Value::from(url.as_str()))).collect();
        let users: Vec<&str> = DEMO_USERS.iter().map(|user| user.login).collect();
        json!({
            "central": self.central_url.as_str(),
            "instances": instances,
            "users": users,
            "password": DEMO_PASSWORD,
            "tls_certificate_sha256": self.tls.as_ref().map(SelfSignedTls::sha256_fingerprint),
        })
    }

    /// The self-signed certificate (DER) every server presents when the scenario serves TLS, so a client can
    /// trust it.
    pub fn certificate_der(&self) -> Option<Vec<u8>> {
        self.tls.as_ref().map(|tls| tls.certificate_der().to_vec())
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
