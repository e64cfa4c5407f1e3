//! The request log (what the servers received, for tests and the demo's trace) and the latency it precedes.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::{from_fn_with_state, Next};
use axum::response::Response;
use axum::Router;
use serde::Serialize;

use crate::host::RequestHost;
use crate::owncloud::{BasicCredentials, USER_BUFFER};

/// A `homeport mock` may run for days; past this many entries the oldest are dropped so memory stays bounded.
const MAX_RECORDED_REQUESTS: usize = 100_000;
/// Query parameters whose values are secrets (Matrix's deprecated `?access_token=`, an SSO `loginToken` a
/// client might send back, a password in a URL, Nextcloud's Login Flow v2 poll `token` — which Nextcloud also reads
/// from the query — and the state token of its pages); the log keeps their names only.
const SECRET_QUERY_PARAMETERS: [&str; 6] =
    ["access_token", "loginToken", "login_token", "password", "token", "stateToken"];
/// What stands in the log for a secret value.
const REDACTED: &str = "[redacted]";

/// One request as a server received it. Holds no secret: the password of a Basic header, bodies (passwords and
/// tokens of form and JSON logins) and the values of secret query parameters are never kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordedRequest {
    /// `central`, `instance1`, `instance2` or `instance3`; `idp` (`idp/<tenant>` for a tenant's identity zone),
    /// `ocis`, `ocis-A`, `ocis-B`, `tenants/<tenant>` (the approuter, by host); `matrix-proxy`, `matrix-307`
    /// (the Matrix portals), `hs1`, `hs2` (the homeservers); `canary` (the third origin of the
    /// `redirect-to-other-origin` fault); `nextcloud-gss`, `nextcloud-node1`, `nextcloud-node2`.
    pub server: String,
    /// `PROPFIND`, `GET`, ...
    pub method: String,
    /// Path and query as received (secret query values replaced by `[redacted]`); for instances in the path
    /// layout, the part after `/instanceN`.
    pub path: String,
    /// The user name of a well-formed Basic `Authorization` header.
    pub basic_user: Option<String>,
    /// Whether any `Authorization` header was present (well-formed or not, any scheme).
    pub has_authorization: bool,
    /// Whether `OCS-APIRequest: true` was present.
    pub ocs_api_request: bool,
}

/// The shared, ordered log of every server of one [`crate::LookupServer`].
#[derive(Clone, Debug, Default)]
pub(crate) struct RequestLog {
    entries: Arc<Mutex<VecDeque<Entry>>>,
    /// TCP connections accepted, by listener (its server's name): how many set-ups a client
    /// needed (docs/benchmarks.md#connections).
    connections: Arc<Mutex<std::collections::BTreeMap<Arc<str>, u64>>>,
    /// Connections that carried at least one request, by listener and protocol.
    used: Arc<Mutex<std::collections::BTreeMap<Arc<str>, ConnectionsUsed>>>,
}

/// The protocol a connection speaks: HTTP/1.1 on plain listeners, and on TLS ones what the client chose by ALPN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Protocol {
    Http1,
    Http2,
}

/// How many of a listener's connections carried requests, by protocol ([`crate::LookupServer::connections_used`]).
/// Beside the accepted count it shows what a client did with them: an HTTP/2 client that dialled several at once
/// keeps one and closes the rest unused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ConnectionsUsed {
    pub http1: u64,
    pub http2: u64,
}

/// A [`RecordedRequest`] as the log keeps it: the server's name shared, the method as parsed, so that recording
/// a request allocates only its path and user name (and a full log frees only those of the entry it drops).
#[derive(Debug)]
struct Entry {
    server: Arc<str>,
    method: axum::http::Method,
    path: Text,
    basic_user: Option<Text>,
    has_authorization: bool,
    ocs_api_request: bool,
}

impl Entry {
    fn to_recorded(&self) -> RecordedRequest {
        RecordedRequest {
            server: self.server.as_ref().to_owned(),
            method: self.method.as_str().to_owned(),
            path: self.path.as_str().to_owned(),
            basic_user: self.basic_user.as_ref().map(|user| user.as_str().to_owned()),
            has_authorization: self.has_authorization,
            ocs_api_request: self.ocs_api_request,
        }
    }
}

/// How many bytes of text an entry keeps in place; longer paths and user names go on the heap.
const INLINE_TEXT: usize = 38;

/// A path or user name in the log: short ones inline (recording allocates nothing), longer ones on the heap.
#[derive(Debug)]
enum Text {
    Inline { len: u8, bytes: [u8; INLINE_TEXT] },
    Heap(Box<str>),
}

impl Text {
    fn new(text: &str) -> Text {
        let mut bytes = [0; INLINE_TEXT];
        match (bytes.get_mut(..text.len()), u8::try_from(text.len())) {
            (Some(inline), Ok(len)) => {
                inline.copy_from_slice(text.as_bytes());
                Text::Inline { len, bytes }
            }
            _ => Text::Heap(Box::from(text)),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            // Always whole UTF-8: the bytes were copied from a `str`.
            Text::Inline { len, bytes } => {
                bytes.get(..usize::from(*len)).and_then(|bytes| std::str::from_utf8(bytes).ok()).unwrap_or_default()
            }
            Text::Heap(text) => text,
        }
    }
}

impl RequestLog {
    pub(crate) fn snapshot(&self) -> Vec<RecordedRequest> {
        self.lock().iter().map(Entry::to_recorded).collect()
    }

    /// One more connection accepted by `server`'s listener.
    pub(crate) fn connection_accepted(&self, server: &Arc<str>) {
        let mut connections = self.connections.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *connections.entry(server.clone()).or_default() += 1;
    }

    /// One of `server`'s connections carried its first request.
    pub(crate) fn connection_used(&self, server: &Arc<str>, protocol: Protocol) {
        let mut used = self.used.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let counts = used.entry(server.clone()).or_default();
        match protocol {
            Protocol::Http1 => counts.http1 += 1,
            Protocol::Http2 => counts.http2 += 1,
        }
    }

    /// Connections that carried requests so far, by listener.
    pub(crate) fn connections_used(&self) -> std::collections::BTreeMap<String, ConnectionsUsed> {
        let used = self.used.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        used.iter().map(|(server, counts)| (server.to_string(), *counts)).collect()
    }

    /// Connections accepted so far, by listener.
    pub(crate) fn connections(&self) -> std::collections::BTreeMap<String, u64> {
        let connections = self.connections.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        connections.iter().map(|(server, count)| (server.to_string(), *count)).collect()
    }

    #[cfg(test)]
    fn push(&self, entry: RecordedRequest) {
        self.push_entry(Entry {
            server: Arc::from(entry.server),
            method: axum::http::Method::from_bytes(entry.method.as_bytes()).unwrap_or_default(),
            path: Text::new(&entry.path),
            basic_user: entry.basic_user.as_deref().map(Text::new),
            has_authorization: entry.has_authorization,
            ocs_api_request: entry.ocs_api_request,
        });
    }

    fn push_entry(&self, entry: Entry) {
        let dropped = {
            let mut entries = self.lock();
            let dropped = if entries.len() >= MAX_RECORDED_REQUESTS { entries.pop_front() } else { None };
            entries.push_back(entry);
            dropped
        };
        // Freed outside the lock.
        drop(dropped);
    }

    /// A panic elsewhere while holding the lock leaves a log that is still perfectly readable, so poisoning is
    /// ignored rather than turned into a second panic.
    fn lock(&self) -> MutexGuard<'_, VecDeque<Entry>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The state of the recording middleware of one listener.
#[derive(Clone, Debug)]
pub(crate) struct Recorder {
    pub(crate) log: RequestLog,
    /// The server this listener is, unless the path names a mounted instance.
    pub(crate) server: Arc<str>,
    /// Instances mounted under `/<name>` on this listener (path layout); empty otherwise.
    pub(crate) mounted_instances: Arc<[String]>,
    pub(crate) latency: Duration,
    /// For listeners that serve several hosts (`<label>.<domain>`): requests to such a host are attributed to
    /// `<server>/<label>` (`idp/tenant1`, `tenants/tenant2`).
    pub(crate) host_domain: Option<&'static str>,
}

impl Recorder {
    pub(crate) fn record<B>(&self, request: &axum::http::Request<B>) {
        let uri = request.uri();
        let (server, path) = self.attribute(uri.path());
        let server = match self.host_label(request) {
            Some(label) => Arc::from(format!("{server}/{label}")),
            None if std::ptr::eq(server, self.server.as_ref()) => self.server.clone(),
            None => Arc::from(server),
        };
        let path = match uri.query() {
            Some(query) => Text::new(&format!("{path}?{}", redact_query(query))),
            None => Text::new(path),
        };
        let headers = request.headers();
        self.log.push_entry(Entry {
            server,
            method: request.method().clone(),
            path,
            basic_user: BasicCredentials::decode_user(headers, &mut [0; USER_BUFFER]).as_deref().map(Text::new),
            has_authorization: headers.contains_key(axum::http::header::AUTHORIZATION),
            ocs_api_request: is_ocs_api_request(headers),
        });
    }

    /// The `<label>` of a request to `<label>.<host_domain>`.
    fn host_label<B>(&self, request: &axum::http::Request<B>) -> Option<String> {
        let domain = self.host_domain?;
        let host = RequestHost::of(request.headers(), request.uri())?;
        let label = host.name.strip_suffix(domain)?.strip_suffix('.')?;
        (!label.is_empty()).then(|| label.to_owned())
    }

    /// Which server a path belongs to, and the path that server sees (the `/instanceN` prefix removed).
    fn attribute<'a>(&'a self, path: &'a str) -> (&'a str, &'a str) {
        for name in self.mounted_instances.iter() {
            if let Some(rest) = path.strip_prefix('/').and_then(|p| p.strip_prefix(name.as_str())) {
                if rest.is_empty() {
                    return (name, "/");
                }
                if rest.starts_with('/') {
                    return (name, rest);
                }
            }
        }
        (&self.server, path)
    }
}

/// The query with the values of [`SECRET_QUERY_PARAMETERS`] replaced; other parameters stay exactly as sent.
fn redact_query(query: &str) -> String {
    let is_secret = |pair: &str| {
        let name = pair.split_once('=').map_or(pair, |(name, _)| name);
        let name = url::form_urlencoded::parse(name.as_bytes()).next().map(|(name, _)| name.into_owned());
        name.is_some_and(|name| SECRET_QUERY_PARAMETERS.contains(&name.as_str()))
    };
    if !query.split('&').any(is_secret) {
        return query.to_owned();
    }
    query
        .split('&')
        .map(|pair| {
            if is_secret(pair) {
                let name = pair.split_once('=').map_or(pair, |(name, _)| name);
                format!("{name}={REDACTED}")
            } else {
                pair.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The header's name, parsed once (looking a header up by a string parses that string on every request).
const OCS_API_REQUEST: axum::http::HeaderName = axum::http::HeaderName::from_static("ocs-apirequest");

/// Whether the request carries `OCS-APIRequest: true`, which ownCloud's OCS API demands of API clients.
pub(crate) fn is_ocs_api_request(headers: &HeaderMap) -> bool {
    headers
        .get(&OCS_API_REQUEST)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"))
}

/// A listener's routes and its recorder. The connection's service records each request before the router sees it
/// (so a test sees it even while the answer is delayed); the router waits the scenario's latency, if any, first.
#[derive(Clone)]
pub(crate) struct Recorded {
    pub(crate) router: Router,
    pub(crate) recorder: Arc<Recorder>,
}

/// `router.recorded_by(recorder)`: what every listener serves.
pub(crate) trait RecordedBy {
    fn recorded_by(self, recorder: Recorder) -> Recorded;
}

impl RecordedBy for Router {
    fn recorded_by(self, recorder: Recorder) -> Recorded {
        // No latency, no middleware: the common case pays nothing for the feature.
        let router =
            if recorder.latency.is_zero() { self } else { self.layer(from_fn_with_state(recorder.latency, delay)) };
        Recorded { router, recorder: Arc::new(recorder) }
    }
}

/// Middleware: wait the scenario's latency, then answer.
async fn delay(State(latency): State<Duration>, request: Request, next: Next) -> Response {
    tokio::time::sleep(latency).await;
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorder(mounted: &[&str]) -> Recorder {
        Recorder {
            log: RequestLog::default(),
            server: Arc::from("central"),
            mounted_instances: mounted.iter().map(|name| (*name).to_owned()).collect(),
            latency: Duration::ZERO,
            host_domain: None,
        }
    }

    #[test]
    fn mounted_instances_are_attributed_with_the_prefix_removed() {
        let recorder = recorder(&["instance1", "instance2"]);
        assert_eq!(
            recorder.attribute("/instance1/remote.php/webdav/"),
            ("instance1", "/remote.php/webdav/"),
            "a path-layout instance sees the path after its prefix"
        );
        assert_eq!(recorder.attribute("/instance2"), ("instance2", "/"), "the bare prefix is the instance's root");
        assert_eq!(
            recorder.attribute("/instance10/status.php"),
            ("central", "/instance10/status.php"),
            "a longer name sharing the prefix is not that instance"
        );
        assert_eq!(
            recorder.attribute("/remote.php/webdav/"),
            ("central", "/remote.php/webdav/"),
            "everything else belongs to the listener's own server"
        );
    }

    #[test]
    fn secret_query_values_are_redacted() {
        assert_eq!(redact_query("format=json"), "format=json", "ordinary queries stay as sent");
        assert_eq!(
            redact_query("redirectUrl=http%3A%2F%2F127.0.0.1%2Fcb&loginToken=abc&x"),
            "redirectUrl=http%3A%2F%2F127.0.0.1%2Fcb&loginToken=[redacted]&x",
            "a login token"
        );
        assert_eq!(redact_query("access_token=s3cret"), "access_token=[redacted]", "an access token");
        assert_eq!(redact_query("pass%77ord=x&a=1"), "pass%77ord=[redacted]&a=1", "names are compared decoded");
    }

    #[test]
    fn text_keeps_short_and_long_strings_alike() {
        let long = "/remote.php/webdav/".repeat(4);
        for text in ["", "/remote.php/webdav/", "test@instance2.com", "ü/€", &"x".repeat(INLINE_TEXT), long.as_str()]
        {
            assert_eq!(Text::new(text).as_str(), text, "inline or on the heap, the text reads back as given");
        }
        assert!(matches!(Text::new(&long), Text::Heap(_)), "long text goes on the heap");
    }

    #[test]
    fn the_log_stays_bounded() {
        let log = RequestLog::default();
        for n in 0..MAX_RECORDED_REQUESTS + 3 {
            log.push(RecordedRequest {
                server: "central".into(),
                method: "GET".into(),
                path: format!("/{n}"),
                basic_user: None,
                has_authorization: false,
                ocs_api_request: false,
            });
        }
        let entries = log.snapshot();
        assert_eq!(entries.len(), MAX_RECORDED_REQUESTS, "the log must not grow without bound");
        assert_eq!(
            entries.first().map(|entry| entry.path.as_str()),
            Some("/3"),
            "the oldest entries are the ones dropped"
        );
    }
}
