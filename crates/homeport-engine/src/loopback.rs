//! The browser's way back to Homeport (RFC 8252 §7.3), for every login in the system browser:
//! OpenID Connect's authorization code and Matrix SSO's `loginToken` both arrive here.
//!
//! What it defends against (docs/security.md, "The browser's way back"): any program or web page on
//! this computer can send requests to a loopback port. A request for another path, a forged
//! callback (wrong `state`) or a client that connects and then says nothing must neither end the
//! login nor hold it up: each connection is read by a task of its own under one deadline for the
//! whole request (not per read), stray paths get 404, callbacks the caller's check rejects get
//! 400, and the listener keeps waiting for the real answer until the login's timeout. The path
//! carries a random segment (`/homeport/<random>/callback`), so a callback cannot be forged by
//! someone who only knows the port.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use url::Url;

use crate::error::ConnectError;

/// The host the redirect URI names. Listening is always on 127.0.0.1 (and `::1` for `localhost`
/// when that port is free there too), as the ownCloud desktop client does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum RedirectHost {
    /// `http://127.0.0.1:<port>/…`: RFC 8252 §7.3's recommendation (no name resolution).
    #[default]
    #[serde(rename = "127.0.0.1")]
    Ipv4Loopback,
    /// `http://localhost:<port>/…`, for providers registered with that redirect URI.
    #[serde(rename = "localhost")]
    Localhost,
}

/// The redirect URI's port: providers registered with a fixed redirect URI (a Keycloak realm)
/// need a fixed one; a range is for admins who open a few ports (the ownCloud client's `Ports`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum RedirectPort {
    /// A free port the system picks (RFC 8252 §7.3: providers accept any port).
    #[default]
    Random,
    Fixed(u16),
    /// The first free port from `first` to `last`, both included.
    Range {
        first: u16,
        last: u16,
    },
}

/// Where the browser comes back to: a plain serde type, so a client profile (CLI flags, scenario
/// keys, an admin's file) carries it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RedirectSpec {
    #[serde(default)]
    pub host: RedirectHost,
    #[serde(default)]
    pub port: RedirectPort,
}

impl FromStr for RedirectPort {
    type Err = String;

    /// `random`, a port (`8080`), or a range (`8000-8010`).
    fn from_str(text: &str) -> Result<Self, String> {
        let port = |text: &str| match text.trim().parse::<u16>() {
            Ok(0) | Err(_) => Err(format!("{text:?} is not a port (1 to 65535)")),
            Ok(port) => Ok(port),
        };
        match text.trim().split_once('-') {
            _ if text.trim().eq_ignore_ascii_case("random") => Ok(RedirectPort::Random),
            Some((first, last)) => {
                let (first, last) = (port(first)?, port(last)?);
                if first > last {
                    return Err(format!("the port range {first}-{last} is empty"));
                }
                Ok(RedirectPort::Range { first, last })
            }
            None => Ok(RedirectPort::Fixed(port(text)?)),
        }
    }
}

impl std::fmt::Display for RedirectPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RedirectPort::Random => f.write_str("random"),
            RedirectPort::Fixed(port) => write!(f, "{port}"),
            RedirectPort::Range { first, last } => write!(f, "{first}-{last}"),
        }
    }
}

/// The caller's check turned a callback down: it does not belong to this login (a wrong `state`,
/// no login token). The browser gets 400 with `reason`, and the listener keeps waiting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackRejected {
    pub reason: String,
}

impl CallbackRejected {
    pub fn new(reason: impl Into<String>) -> Self {
        CallbackRejected { reason: reason.into() }
    }
}

/// The browser's way back (RFC 8252 §7.3): a listener on loopback that takes requests until the
/// caller's check accepts one on its path, answers that one with a page telling the person to
/// return to Homeport, and closes.
pub struct LoopbackCallback {
    v4: TcpListener,
    /// `::1` at the same port, for a `localhost` redirect (browsers may try IPv6 first).
    v6: Option<TcpListener>,
    redirect_uri: Url,
    /// How long one connection may take to send its request head, all reads together.
    request_deadline: Duration,
}

/// Whole request heads beyond this are refused (a browser's callback is far smaller).
const MAX_HEAD_BYTES: usize = 8192;
/// Connections being read at once; more are closed at once (a flood cannot exhaust memory).
const MAX_READING: usize = 32;
/// For one connection, from accept to the end of its request head.
const REQUEST_DEADLINE: Duration = Duration::from_secs(10);
/// For writing an answer to one connection.
const ANSWER_DEADLINE: Duration = Duration::from_secs(5);

const RETURN_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Homeport</title></head>\
<body style=\"font-family:sans-serif;margin:3em\"><h1>Homeport has the answer from your browser</h1>\
<p>Return to Homeport to finish connecting your account. You can close this tab.</p></body></html>";

impl LoopbackCallback {
    /// A listener on 127.0.0.1 at a free port, the redirect URI naming 127.0.0.1.
    pub async fn bind() -> Result<Self, ConnectError> {
        Self::bind_to(&RedirectSpec::default()).await
    }

    /// A listener as `spec` says: 127.0.0.1 (and `::1` for `localhost`, when free), at a random
    /// port, the fixed one, or the first free one of a range. The redirect URI's path carries a
    /// fresh random segment (192 bits, URL-safe).
    pub async fn bind_to(spec: &RedirectSpec) -> Result<Self, ConnectError> {
        Self::bind_at(spec, None).await
    }

    /// [`LoopbackCallback::bind_to`] with the redirect URI's path given: a client registered
    /// (RFC 7591) with a redirect URI keeps it, since providers match its path exactly (the port
    /// may change, RFC 8252 §7.3). The path was random when it was registered.
    pub async fn bind_at(spec: &RedirectSpec, path: Option<&str>) -> Result<Self, ConnectError> {
        let (first, last) = match spec.port {
            RedirectPort::Random => (0, 0),
            RedirectPort::Fixed(port) => (port, port),
            RedirectPort::Range { first, last } => (first, last),
        };
        let unavailable =
            |reason: String| ConnectError::CallbackPortUnavailable { ports: spec.port.to_string(), reason };
        if first > last || (first == 0 && spec.port != RedirectPort::Random) {
            return Err(unavailable("no such port".into()));
        }
        let mut v4 = None;
        let mut last_error = None;
        for port in first..=last {
            match TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
                Ok(listener) => {
                    v4 = Some(listener);
                    break;
                }
                Err(error) => last_error = Some(error),
            }
        }
        let Some(v4) = v4 else {
            let reason = last_error.map(|e| e.to_string()).unwrap_or_default();
            return Err(unavailable(format!("cannot listen on 127.0.0.1 for the browser's answer: {reason}")));
        };
        let port = v4.local_addr().map_err(|e| unavailable(e.to_string()))?.port();
        let (host, v6) = match spec.host {
            RedirectHost::Ipv4Loopback => ("127.0.0.1", None),
            // Cheap to try, fine to miss: browsers fall back to 127.0.0.1.
            RedirectHost::Localhost => ("localhost", TcpListener::bind((Ipv6Addr::LOCALHOST, port)).await.ok()),
        };
        let path = match path.filter(|path| path.starts_with('/')) {
            Some(path) => path.to_owned(),
            None => format!("/homeport/{}/callback", oauth2::CsrfToken::new_random_len(24).secret()),
        };
        let redirect_uri = Url::parse(&format!("http://{host}:{port}{path}")).map_err(|e| {
            ConnectError::InvalidResponse { url: String::new(), what: "loopback address", reason: e.to_string() }
        })?;
        Ok(LoopbackCallback { v4, v6, redirect_uri, request_deadline: REQUEST_DEADLINE })
    }

    pub fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// Shortens the per-connection deadline (tests of a client that trickles its request).
    #[cfg(test)]
    fn with_request_deadline(mut self, deadline: Duration) -> Self {
        self.request_deadline = deadline;
        self
    }

    /// Waits for the browser (at most `timeout`) and returns what `check` makes of the first
    /// callback it accepts. `check` sees the request target of every `GET` on the callback's path:
    /// `Err` rejects it (400, and the wait goes on), `Ok` ends the wait — also for a provider's
    /// error answer that belongs to this login, which *is* the answer. Other paths (a favicon)
    /// get 404. The listener is closed when this returns, so a replayed callback finds nobody.
    pub async fn receive<T>(
        self,
        timeout: Duration,
        mut check: impl FnMut(&str) -> Result<T, CallbackRejected>,
    ) -> Result<T, ConnectError> {
        let path = self.redirect_uri.path().to_owned();
        let deadline = self.request_deadline;
        // Readers hand back the connection and what it asked for; the check runs here, in order.
        let (read_tx, mut read_rx) = mpsc::channel::<(TcpStream, Option<String>)>(MAX_READING);
        // Dropped when this returns: connections still being read are closed then.
        let mut readers = JoinSet::new();
        let wait = async {
            loop {
                tokio::select! {
                    accepted = accept(&self.v4, self.v6.as_ref()) => {
                        let Ok(stream) = accepted else {
                            // Out of file descriptors, say: wait a little rather than spin.
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        };
                        if readers.len() >= MAX_READING {
                            continue; // dropped: closed at once
                        }
                        let read_tx = read_tx.clone();
                        readers.spawn(async move {
                            let mut stream = stream;
                            let target = tokio::time::timeout(deadline, read_request_target(&mut stream))
                                .await
                                .ok()
                                .flatten();
                            let _ = read_tx.send((stream, target)).await;
                        });
                    }
                    Some(_) = readers.join_next(), if !readers.is_empty() => {}
                    Some((stream, target)) = read_rx.recv() => {
                        let Some(target) = target else {
                            answer_later(stream, bad_request("not a request Homeport understands"));
                            continue;
                        };
                        if target.split('?').next() != Some(path.as_str()) {
                            answer_later(stream, NOT_FOUND.to_owned());
                            continue;
                        }
                        match check(&target) {
                            Ok(answer) => {
                                // The browser may have gone; the answer we got is what counts.
                                answer_now(stream, page_answer()).await;
                                return answer;
                            }
                            Err(rejected) => answer_later(stream, bad_request(&rejected.reason)),
                        }
                    }
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| ConnectError::BrowserLoginTimedOut { seconds: timeout.as_secs() })
    }
}

async fn accept(v4: &TcpListener, v6: Option<&TcpListener>) -> std::io::Result<TcpStream> {
    let v6 = async {
        match v6 {
            Some(listener) => listener.accept().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        accepted = v4.accept() => accepted.map(|(stream, _)| stream),
        accepted = v6 => accepted.map(|(stream, _)| stream),
    }
}

const NOT_FOUND: &str = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

fn page_answer() -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{RETURN_PAGE}",
        RETURN_PAGE.len()
    )
}

/// 400 with `reason` as plain text: the words are Homeport's own, never the request's.
fn bad_request(reason: &str) -> String {
    let body = format!("This is not the answer Homeport is waiting for: {reason}. Homeport keeps waiting.\n");
    format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

async fn answer_now(mut stream: TcpStream, answer: String) {
    let _ = tokio::time::timeout(ANSWER_DEADLINE, async {
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// Answers in a task of its own: a client that does not read cannot hold up the listener.
fn answer_later(stream: TcpStream, answer: String) {
    tokio::spawn(answer_now(stream, answer));
}

/// The target of a `GET` request line, reading at most [`MAX_HEAD_BYTES`] of headers.
async fn read_request_target(stream: &mut TcpStream) -> Option<String> {
    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
        if buffer.len() > MAX_HEAD_BYTES {
            return None;
        }
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    let head = String::from_utf8_lossy(&buffer);
    let mut parts = head.lines().next()?.split(' ');
    match (parts.next(), parts.next()) {
        (Some("GET"), Some(target)) => Some(target.to_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
