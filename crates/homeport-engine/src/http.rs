//! The engine's only HTTP client: redirects off (they go through [`crate::redirect`]), timeouts
//! and bounded bodies on every request, every exchange recorded in the [`Trace`] with secrets
//! redacted.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::Method;
use url::Url;

use std::sync::Arc;

use self::client_auth::Refusal;
use self::failure::{
    environment_proxy_failed, proxy_failure, proxy_refused_credentials, root_cause, rustls_error, tls_failure,
    ProxyFailure, ENVIRONMENT_PROXY_AUTH,
};
use crate::address::Origin;
use crate::certificate::{self, CertificateLog, CertificatePin, CertificateProblem, Presented};
use crate::client_certificate::{ClientCertificateLog, ClientIdentity, IdentityResolver};
use crate::error::ConnectError;
use crate::proxy::{self, ProxySettings};
use crate::redact::redact_header;
use crate::redirect::{is_redirect, Hop, RedirectAnswer, RedirectChain, RedirectPolicy, Verdict};
use crate::secret::{Credentials, Secret};
use crate::trace::{Exchange, Participant, Trace, TransportErrorKind};

#[derive(Clone, Debug)]
pub struct HttpConfig {
    pub connect_timeout: Duration,
    /// For the whole exchange, body included: a slow server cannot hold the wizard forever.
    pub timeout: Duration,
    pub max_body_bytes: usize,
    /// Extra trusted roots (DER), e.g. the lookup server's self-signed certificate in tests.
    pub extra_root_certificates: Vec<Vec<u8>>,
    /// Certificates the person trusted for this account, each at one `host:port`: accepted as
    /// they are there and nowhere else (docs/security.md).
    pub pinned_certificates: Vec<CertificatePin>,
    /// The person's own proxy, for every request, loopback included. `None`: the environment's
    /// proxies (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`), never for loopback.
    pub proxy: Option<ProxySettings>,
    /// The person's client certificate (mutual TLS), presented to its servers only
    /// ([`ClientIdentity::servers`]); every other server that asks for one is told there is none.
    pub client_identity: Option<ClientIdentity>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_body_bytes: 4 * 1024 * 1024,
            extra_root_certificates: Vec::new(),
            pinned_certificates: Vec::new(),
            proxy: None,
            client_identity: None,
        }
    }
}

/// How a request authenticates. The client writes the `Authorization` header from it, so no
/// call site formats a secret into a header, and the redirect policy knows the request carries
/// credentials. `Debug` shows the scheme and the user name, never the password or the token.
#[derive(Clone, Default)]
pub enum Auth {
    #[default]
    None,
    /// HTTP Basic (RFC 7617): ownCloud's WebDAV and OCS with a password or an app password.
    Basic(Credentials),
    /// A bearer token (RFC 6750): an OAuth 2.0 access token, a Matrix access token.
    Bearer(Secret),
}

impl Auth {
    /// Whether the request carries credentials: a redirect to another origin then needs approval.
    pub fn is_some(&self) -> bool {
        !matches!(self, Auth::None)
    }
}

impl From<Option<Credentials>> for Auth {
    fn from(credentials: Option<Credentials>) -> Self {
        credentials.map_or(Auth::None, Auth::Basic)
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic(credentials) => {
                f.debug_struct("Basic").field("user", &credentials.user).field("password", &REDACTED).finish()
            }
            Auth::Bearer(_) => f.debug_tuple("Bearer").field(&REDACTED).finish(),
        }
    }
}

/// What `Debug` shows instead of a secret.
const REDACTED: Redacted = Redacted;

struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A request as the wizard describes it; cloneable so it can be re-sent after a redirect.
/// `Debug` redacts what [`Auth`], credential headers and a [secret body](HttpRequest::secret_body)
/// hold.
#[derive(Clone)]
pub struct HttpRequest {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(&'static str, String)>,
    pub auth: Auth,
    pub body: Option<Vec<u8>>,
    /// The body carries a secret (a password, a login token): for the redirect policy the request
    /// carries credentials, so a redirect to a new origin needs approval.
    pub secret_body: bool,
    /// Who is expected to answer (for the sequence diagram).
    pub to: Participant,
    /// A shorter bound than the client's for this exchange: a request sent ahead, in case its
    /// answer is needed, must not hold its round long (docs/benchmarks.md#round-trips).
    pub timeout: Option<Duration>,
}

impl HttpRequest {
    pub fn new(method: Method, url: Url, to: Participant) -> Self {
        HttpRequest {
            method,
            url,
            headers: Vec::new(),
            auth: Auth::None,
            body: None,
            secret_body: false,
            to,
            timeout: None,
        }
    }

    /// Bounds this exchange by `timeout` (or the client's, if that is shorter).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// How the request authenticates; the `Authorization` header is written after
    /// [`HttpRequest::header`]'s, as the last one.
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// A body with a secret in it (see [`HttpRequest::secret_body`]).
    pub fn secret_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self.secret_body = true;
        self
    }

    /// Whether a redirect to another origin would take credentials along (the redirect policy's
    /// `carries_credentials`): an [`Auth`], or a body with a secret in it.
    pub fn carries_credentials(&self) -> bool {
        self.auth.is_some() || (self.secret_body && self.body.is_some())
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, String)> =
            self.headers.iter().map(|(name, value)| (*name, redact_header(name, value))).collect();
        let body = self.body.as_ref().map(|body| match self.secret_body {
            true => format!("[redacted, {} bytes]", body.len()),
            false => String::from_utf8_lossy(body).into_owned(),
        });
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url.as_str())
            .field("headers", &headers)
            .field("auth", &self.auth)
            .field("body", &body)
            .field("secret_body", &self.secret_body)
            .field("to", &self.to)
            .finish()
    }
}

#[derive(Clone, Debug)]
pub struct HttpResponse {
    pub url: Url,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect()
    }
}

/// The result of sending a request through the redirect policy.
// One short-lived value per request: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Followed {
    Done {
        response: HttpResponse,
        chain: RedirectChain,
    },
    /// Credentials would cross to an unapproved origin; `request` is ready to be sent there.
    NeedsApproval {
        hop: Hop,
        request: HttpRequest,
        chain: RedirectChain,
    },
}

/// One hop of [`HttpClient::send_hop`].
// One short-lived value per request: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Hopped {
    /// An answer that is not a redirect the policy follows: done, or a hop that needs approval.
    Answered(Followed),
    /// The policy follows the redirect: `request` is ready to be sent where it leads, `chain`
    /// holds the hop.
    Redirected { request: HttpRequest, chain: RedirectChain },
}

#[derive(Clone, Debug)]
pub struct HttpClient {
    /// For every server without pins or a client certificate: the system's trust (and the
    /// extra roots) only, and no certificate of the person's.
    client: reqwest::Client,
    /// One client per `host:port` with pins or the client certificate: its verifier holds that
    /// server's pins only, its resolver presents the certificate there only. rustls tells a
    /// verifier the server's name but not its port, and a resolver neither, so they are chosen here.
    by_server: Arc<HashMap<String, reqwest::Client>>,
    config: HttpConfig,
    trace: Trace,
    /// What the certificate verifier saw fail, for typed TLS errors and the trust decision.
    certificates: Arc<CertificateLog>,
    /// Servers that asked for a client certificate, for [`ConnectError::ClientCertificateRequired`].
    asked: Arc<ClientCertificateLog>,
}

/// Names under `localhost` are loopback and never go to DNS (RFC 6761 §6.3) — so
/// `tenant1.approuter.localhost` works without any resolver setup, and cannot be hijacked by a
/// DNS answer. Other names use the system resolver.
struct LocalhostFirst;

impl reqwest::dns::Resolve for LocalhostFirst {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        Box::pin(async move {
            if crate::address::is_localhost_name(&host) {
                let loopback: Vec<std::net::SocketAddr> =
                    vec![(std::net::Ipv4Addr::LOCALHOST, 0).into(), (std::net::Ipv6Addr::LOCALHOST, 0).into()];
                return Ok(Box::new(loopback.into_iter()) as reqwest::dns::Addrs);
            }
            let found: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The client for the default configuration, built once: loading the system's trusted roots
/// costs more than a whole loopback connection, and clients are cheap to clone (they share a
/// connection pool, which a load test of many wizards wants too).
static DEFAULT_CLIENT: std::sync::OnceLock<(reqwest::Client, Arc<CertificateLog>, Arc<ClientCertificateLog>)> =
    std::sync::OnceLock::new();

impl HttpClient {
    pub fn new(config: HttpConfig, trace: Trace) -> Result<Self, ConnectError> {
        let is_default = config.extra_root_certificates.is_empty()
            && config.pinned_certificates.is_empty()
            && config.proxy.is_none()
            && config.client_identity.is_none()
            && config.connect_timeout == HttpConfig::default().connect_timeout
            && config.timeout == HttpConfig::default().timeout;
        if let (true, Some((client, certificates, asked))) = (is_default, DEFAULT_CLIENT.get()) {
            return Ok(HttpClient {
                client: client.clone(),
                by_server: Arc::default(),
                config,
                trace,
                certificates: certificates.clone(),
                asked: asked.clone(),
            });
        }
        let certificates = Arc::new(CertificateLog::default());
        let asked = Arc::new(ClientCertificateLog::default());
        let setup = |reason: String| ConnectError::Tls {
            url: String::new(),
            reason: format!("the HTTP client could not be set up: {reason}"),
        };
        let roots = certificate::trust_roots(&config.extra_root_certificates).map_err(setup)?;
        let logs = (certificates.clone(), asked.clone());
        let client = Self::build(&config, &roots, None, None, logs.clone())?;
        let identity = config.client_identity.as_ref();
        let mut servers: Vec<&str> = config.pinned_certificates.iter().map(|pin| pin.authority.as_str()).collect();
        servers.extend(identity.iter().flat_map(|identity| identity.servers.iter().map(String::as_str)));
        let mut by_server = HashMap::new();
        for server in servers {
            if by_server.contains_key(server) || server.is_empty() {
                continue;
            }
            let pins: Vec<&CertificatePin> =
                config.pinned_certificates.iter().filter(|p| p.authority == server).collect();
            let presented = identity.filter(|identity| identity.is_for(server));
            let client = Self::build(&config, &roots, Some((server, &pins)), presented, logs.clone())?;
            by_server.insert(server.to_owned(), client);
        }
        if is_default {
            let _ = DEFAULT_CLIENT.set((client.clone(), certificates.clone(), asked.clone()));
        }
        Ok(HttpClient { client, by_server: Arc::new(by_server), config, trace, certificates, asked })
    }

    /// The client for `url`: the one for its `host:port` (its pins, the client certificate), or
    /// the one for every other server.
    fn client_for(&self, url: &Url) -> &reqwest::Client {
        certificate::authority(url).and_then(|authority| self.by_server.get(&authority)).unwrap_or(&self.client)
    }

    /// The same client presenting `identity` (to its servers), recording into the same trace.
    pub fn with_client_identity(&self, identity: ClientIdentity) -> Result<Self, ConnectError> {
        let config = HttpConfig { client_identity: Some(identity), ..self.config.clone() };
        HttpClient::new(config, self.trace.clone())
    }

    /// The client certificate presented at `url`'s `host:port`, if any.
    fn identity_for(&self, url: &Url) -> Option<&ClientIdentity> {
        let server = certificate::authority(url)?;
        self.config.client_identity.as_ref().filter(|identity| identity.is_for(&server))
    }

    /// How a server that wants a client certificate said so, for `url`.
    fn refusal<'a>(&'a self, url: &'a Url, asked_before: u64) -> Refusal<'a> {
        Refusal {
            url,
            server: certificate::authority(url).unwrap_or_default(),
            presented: self.identity_for(url).map(|identity| identity.certificate.subject.as_str()),
            asked: self.asked.asked() != asked_before,
            issuers: self.asked.issuers(),
        }
    }

    /// The same client trusting `pins` as well (the person trusted a certificate), recording into
    /// the same trace.
    pub fn with_pins(&self, pins: &[CertificatePin]) -> Result<Self, ConnectError> {
        let mut config = self.config.clone();
        for pin in pins {
            if !config.pinned_certificates.contains(pin) {
                config.pinned_certificates.push(pin.clone());
            }
        }
        HttpClient::new(config, self.trace.clone())
    }

    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// A reqwest client; for one `host:port` (`server`), one that trusts its pins there and
    /// presents `identity` there.
    fn build(
        config: &HttpConfig,
        roots: &Arc<rustls::RootCertStore>,
        server: Option<(&str, &[&CertificatePin])>,
        identity: Option<&ClientIdentity>,
        (certificates, asked): (Arc<CertificateLog>, Arc<ClientCertificateLog>),
    ) -> Result<reqwest::Client, ConnectError> {
        let setup = |reason: String| ConnectError::Tls { url: String::new(), reason };
        let mut digests = Vec::new();
        let mut host = None;
        for pin in server.map(|(_, pins)| pins).unwrap_or_default() {
            digests.push(
                certificate::parse_fingerprint(&pin.sha256)
                    .ok_or_else(|| setup(format!("{:?} is not a SHA-256 fingerprint", pin.sha256)))?,
            );
            // `host:port` → host (an IPv6 host keeps its brackets until the verifier compares).
            host = pin.authority.rsplit_once(':').map(|(host, _)| host.to_owned());
        }
        let resolver = Arc::new(IdentityResolver::new(identity, asked));
        let mut tls = certificate::client_config(roots, host, digests, certificates, resolver)
            .map_err(|reason| setup(format!("the HTTP client could not be set up: {reason}")))?;
        // HTTP/2 where the server offers it (one connection then carries a round's requests to an
        // origin side by side), HTTP/1.1 elsewhere. A client certificate is asked for in the
        // handshake, before either (HTTP/2 forbids renegotiation; rustls never renegotiates):
        // docs/benchmarks.md#connections says what was tested.
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let mut builder = reqwest::Client::builder();
        // Adding any proxy turns off reqwest's own reading of the environment, so the manual
        // proxy replaces the environment's, and the environment's are added with loopback
        // excluded (see proxy::environment for why).
        // Through an HTTP proxy, no connection is kept for reuse: proxies like tinyproxy answer
        // HTTP/1.1 without `Connection: close` and then close anyway, so a reused connection
        // fails now and then with "connection closed before message completed". A wizard sends
        // a handful of requests; a new connection each is cheap, a spurious failure is not.
        let mut http_proxy = false;
        match &config.proxy {
            Some(manual) => {
                http_proxy = manual.is_http();
                builder = builder.proxy(manual.to_reqwest().map_err(|reason| ConnectError::ProxyFailed {
                    proxy: manual.display(),
                    url: String::new(),
                    reason,
                })?);
            }
            None => {
                builder = builder.no_proxy();
                for environment in proxy::environment() {
                    http_proxy = true;
                    builder = builder.proxy(environment);
                }
            }
        }
        if http_proxy {
            builder = builder.pool_max_idle_per_host(0);
        }
        builder
            .use_preconfigured_tls(tls)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .user_agent(concat!("Homeport/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(LocalhostFirst))
            .build()
            .map_err(|e| setup(format!("the HTTP client could not be set up: {e}")))
    }

    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// Sends one request, no redirect handling, and records it in round `round`.
    pub async fn send(&self, request: &HttpRequest, round: u32) -> Result<HttpResponse, ConnectError> {
        let started = Instant::now();
        let mut exchange = Exchange {
            seq: 0,
            round,
            from: Participant::Client,
            to: request.to,
            method: request.method.to_string(),
            url: request.url.to_string(),
            status: None,
            error: None,
            error_kind: None,
            started_ms: millis(started.duration_since(self.trace.started())),
            duration_ms: 0.0,
            request_headers: Vec::new(),
            response_headers: Vec::new(),
            credentials: request.carries_credentials(),
        };
        let result = self.exchange(request, &mut exchange).await;
        exchange.duration_ms = millis(started.elapsed());
        if let Err(error) = &result {
            exchange.error = Some(error.to_string());
            exchange.error_kind = Some(TransportErrorKind::of(error));
        }
        self.trace.record(exchange);
        result
    }

    async fn exchange(&self, request: &HttpRequest, exchange: &mut Exchange) -> Result<HttpResponse, ConnectError> {
        let client = self.client_for(&request.url);
        let asked_before = self.asked.asked();
        let mut builder = client.request(request.method.clone(), request.url.clone());
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        match &request.auth {
            Auth::None => {}
            Auth::Basic(credentials) => {
                builder = builder.basic_auth(&credentials.user, Some(credentials.password.expose()));
            }
            Auth::Bearer(token) => builder = builder.bearer_auth(token.expose()),
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        if let Some(timeout) = request.timeout {
            builder = builder.timeout(timeout.min(self.config.timeout));
        }
        let built = builder.build().map_err(|e| self.classify(&request.url, &e, asked_before))?;
        exchange.request_headers = recorded_headers(built.headers());
        let mut response = client.execute(built).await.map_err(|e| self.classify(&request.url, &e, asked_before))?;
        exchange.status = Some(response.status().as_u16());
        exchange.response_headers = recorded_headers(response.headers());
        if response.status() == reqwest::StatusCode::PROXY_AUTHENTICATION_REQUIRED {
            // A forwarding proxy answers plain-http requests itself; a server never sends 407.
            return Err(match &self.config.proxy {
                Some(manual) => proxy_refused_credentials(manual, &request.url),
                None => environment_proxy_failed(&request.url, ENVIRONMENT_PROXY_AUTH.into()),
            });
        }
        let limit = self.config.max_body_bytes;
        let too_large = || ConnectError::BodyTooLarge { url: request.url.to_string(), limit };
        if response.content_length().is_some_and(|len| len > limit as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(&request.url, &e, asked_before))? {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        if let Some(refusal) = self.refusal(&request.url, asked_before).of_answer(response.status().as_u16(), &body) {
            return Err(refusal);
        }
        Ok(HttpResponse {
            url: request.url.clone(),
            status: exchange.status.unwrap_or_default(),
            headers: response.headers().clone(),
            body,
        })
    }

    /// Sends `request`, passing every redirect answer through `policy`. Each hop is a new
    /// sequential round. Stops at the first non-redirect answer, a refusal, or a hop that needs
    /// approval.
    pub async fn send_following(
        &self,
        mut request: HttpRequest,
        policy: &RedirectPolicy,
        approved: &HashSet<Origin>,
        mut chain: RedirectChain,
        mut round: u32,
    ) -> Result<Followed, ConnectError> {
        loop {
            match self.send_hop(request, policy, approved, chain, round).await? {
                Hopped::Answered(followed) => return Ok(followed),
                Hopped::Redirected { request: next, chain: longer } => {
                    (request, chain) = (next, longer);
                    round = self.trace.next_round();
                }
            }
        }
    }

    /// Sends `request` once, in `round`, and passes a redirect answer through `policy`: a hop it
    /// follows comes back [`Hopped::Redirected`], for the caller to send in a round of its own,
    /// beside requests it can now plan at the hop's target (docs/benchmarks.md#round-trips).
    pub async fn send_hop(
        &self,
        request: HttpRequest,
        policy: &RedirectPolicy,
        approved: &HashSet<Origin>,
        mut chain: RedirectChain,
        round: u32,
    ) -> Result<Hopped, ConnectError> {
        let response = self.send(&request, round).await?;
        if !is_redirect(response.status) {
            return Ok(Hopped::Answered(Followed::Done { response, chain }));
        }
        let answer = RedirectAnswer {
            method: &request.method,
            from: &request.url,
            status: response.status,
            location: response.header("location"),
            carries_credentials: request.carries_credentials(),
        };
        match policy.decide(&answer, &chain, approved) {
            Verdict::Refuse(refusal) => Err(ConnectError::RedirectRefused(refusal)),
            Verdict::Follow(hop) => {
                let request = retarget(request, &hop);
                chain.push(hop);
                Ok(Hopped::Redirected { request, chain })
            }
            Verdict::Ask(hop) => {
                let request = retarget(request, &hop);
                Ok(Hopped::Answered(Followed::NeedsApproval { hop, request, chain }))
            }
        }
    }

    fn classify(&self, url: &Url, error: &reqwest::Error, asked_before: u64) -> ConnectError {
        // Before the certificate checks: a refused client certificate fails the handshake too,
        // and the server's own certificate was fine then.
        if let Some(refusal) = self.refusal(url, asked_before).of_failure(rustls_error(error).as_ref()) {
            return refusal;
        }
        if let Some(reason) = tls_failure(error) {
            let presented = url.host_str().and_then(|host| self.certificates.presented(host.trim_matches(['[', ']'])));
            let url = url.to_string();
            return match presented {
                Some(Presented { info, problem: CertificateProblem::Untrusted, .. }) => {
                    ConnectError::CertificateUntrusted { url, certificate: Box::new(info) }
                }
                Some(Presented { info, problem: CertificateProblem::Changed, .. }) => {
                    ConnectError::CertificateChanged { url, certificate: Box::new(info) }
                }
                Some(Presented { info, problem, detail }) => {
                    ConnectError::CertificateInvalid { url, problem, certificate: Box::new(info), detail }
                }
                None => ConnectError::Tls { url, reason },
            };
        }
        if let (Some(manual), true) = (&self.config.proxy, error.is_connect()) {
            // Every connection goes to the proxy first: a connect error is the proxy's (for
            // SOCKS and CONNECT, possibly its report that the server could not be reached —
            // the reason says which).
            return match proxy_failure(error) {
                ProxyFailure::AuthRequired => proxy_refused_credentials(manual, url),
                ProxyFailure::Other(reason) => {
                    ConnectError::ProxyFailed { proxy: manual.display(), url: url.to_string(), reason }
                }
            };
        }
        if self.config.proxy.is_none() && error.is_connect() {
            // Only a proxy fails a CONNECT tunnel or a SOCKS handshake; a refused connection
            // stays the server's, as reqwest does not say whether a proxy was in the way.
            match proxy_failure(error) {
                ProxyFailure::AuthRequired => return environment_proxy_failed(url, ENVIRONMENT_PROXY_AUTH.into()),
                ProxyFailure::Other(reason) if reason.contains("tunnel error") || reason.contains("SOCKS") => {
                    return environment_proxy_failed(url, reason)
                }
                ProxyFailure::Other(_) => {}
            }
        }
        let url = url.to_string();
        if error.is_timeout() {
            return ConnectError::Timeout { url, seconds: self.config.timeout.as_secs() };
        }
        ConnectError::Unreachable { url, reason: root_cause(error) }
    }
}

fn retarget(mut request: HttpRequest, hop: &Hop) -> HttpRequest {
    request.url = hop.to.clone();
    request.method = hop.method.clone();
    if !hop.keeps_body {
        request.body = None;
        request.secret_body = false;
    }
    if hop.cross_origin {
        // After a hop to another origin the answer comes from a different participant.
        request.to = Participant::Instance;
    }
    request
}

/// The headers as sent or received; [`Trace`] redacts them when it records the exchange.
fn recorded_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect()
}

fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 10_000.0).round() / 10.0
}

mod client_auth;
mod failure;
#[cfg(test)]
mod tests;
