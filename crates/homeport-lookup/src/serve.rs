//! The accept loop shared by every listener: plain TCP (HTTP/1.1) or TLS (HTTP/2 or HTTP/1.1, as the client chose by
//! ALPN), graceful on shutdown.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::Service;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::log::{Protocol, Recorded, Recorder};

/// A client that opens a connection and never finishes the handshake must not hold a task forever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for requests in flight before cutting connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Pause after a failed accept (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);
/// Connections served at once per listener. Past it a new connection is closed at once, so a
/// flood of idle or half-sent connections costs bounded memory and the server stays up; the
/// connections already served carry on.
pub(crate) const MAX_CONNECTIONS: usize = 1024;

/// Resolves once shutdown was requested or the [`crate::LookupServer`] holding the sender is gone.
pub(crate) async fn shutdown_requested(shutdown: &mut watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow_and_update() {
            return;
        }
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

/// Serves `router` on `listener` until shutdown, then lets open connections finish (bounded by a grace period).
///
/// Connection tasks live in a `JoinSet` owned by this future, so aborting the task running it (on drop of the
/// server) aborts every connection too.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    router: Recorded,
    tls: Option<TlsAcceptor>,
    mut shutdown: watch::Receiver<bool>,
) {
    let connection_shutdown = shutdown.clone();
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = shutdown_requested(&mut shutdown) => break,
            Some(_finished) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) if connections.len() >= MAX_CONNECTIONS => drop(stream),
                Ok((stream, _peer)) => {
                    router.recorder.log.connection_accepted(&router.recorder.server);
                    connections.spawn(serve_connection(
                        stream,
                        router.clone(),
                        tls.clone(),
                        connection_shutdown.clone(),
                    ));
                }
                Err(_) => tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await,
            },
        }
    }
    // Stop accepting at once: new clients get "connection refused" instead of waiting.
    drop(listener);
    let drained =
        tokio::time::timeout(SHUTDOWN_GRACE, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        connections.shutdown().await;
    }
}

async fn serve_connection(
    stream: TcpStream,
    router: Recorded,
    tls: Option<TlsAcceptor>,
    mut shutdown: watch::Receiver<bool>,
) {
    // Small request/response exchanges; Nagle would only add delay.
    let _ = stream.set_nodelay(true);
    let Some(acceptor) = tls else {
        serve_http(TokioIo::new(stream), router, Protocol::Http1, shutdown).await;
        return;
    };
    let handshake = tokio::select! {
        () = shutdown_requested(&mut shutdown) => return,
        handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)) => handshake,
    };
    // A failed or timed-out handshake (an untrusting client, plain HTTP on the TLS port) ends this connection
    // only; the listener keeps serving.
    if let Ok(Ok(tls_stream)) = handshake {
        // What the client chose from the ALPN offer (tls.rs): HTTP/2, or HTTP/1.1 for a client that offered
        // only that, or nothing.
        let protocol = match tls_stream.get_ref().1.alpn_protocol() {
            Some(b"h2") => Protocol::Http2,
            _ => Protocol::Http1,
        };
        serve_http(TokioIo::new(tls_stream), router, protocol, shutdown).await;
    }
}

async fn serve_http<I>(io: I, recorded: Recorded, protocol: Protocol, mut shutdown: watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = RecordingService {
        recorder: recorded.recorder,
        router: TowerToHyperService::new(recorded.router),
        protocol,
        carried_a_request: AtomicBool::new(false),
    };
    match protocol {
        // Plain http and TLS without `h2` chosen: hyper's HTTP/1 connection directly (no preface sniffing of the
        // auto builder: a read less per connection, a layer of dispatch less per request under load).
        Protocol::Http1 => {
            // Answers are a few hundred bytes: one flat write beats a vectored one.
            let connection = http1::Builder::new().writev(false).serve_connection(io, service);
            tokio::pin!(connection);
            tokio::select! {
                // Errors here are the client's (reset, malformed request): nothing to do but close.
                _ = connection.as_mut() => {}
                () = shutdown_requested(&mut shutdown) => {
                    // Finish the request in flight, then close; idle keep-alive connections close at once.
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        }
        // The client chose HTTP/2 by ALPN: every request of a wizard to this origin can share the connection
        // (docs/benchmarks.md#connections).
        Protocol::Http2 => {
            let connection = http2::Builder::new(TokioExecutor::new()).serve_connection(io, service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = shutdown_requested(&mut shutdown) => {
                    // GOAWAY: streams in flight finish, no new ones start.
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        }
    }
}

/// A connection's service: record the request, then hand it to the router (whose future is returned as is, with
/// no boxing or extra state per request).
struct RecordingService {
    recorder: std::sync::Arc<Recorder>,
    router: TowerToHyperService<axum::Router>,
    protocol: Protocol,
    /// Set by the connection's first request: a connection counts as used by its protocol once it carried one
    /// (a client that opened several and kept one for HTTP/2 closes the others unused).
    carried_a_request: AtomicBool,
}

impl Service<hyper::Request<Incoming>> for RecordingService {
    type Response = <TowerToHyperService<axum::Router> as Service<hyper::Request<Incoming>>>::Response;
    type Error = <TowerToHyperService<axum::Router> as Service<hyper::Request<Incoming>>>::Error;
    type Future = <TowerToHyperService<axum::Router> as Service<hyper::Request<Incoming>>>::Future;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        // A plain load per request after the first (no locked write on the hot path).
        if !self.carried_a_request.load(Ordering::Relaxed) && !self.carried_a_request.swap(true, Ordering::Relaxed) {
            self.recorder.log.connection_used(&self.recorder.server, self.protocol);
        }
        self.recorder.record(&request);
        self.router.call(request)
    }
}
