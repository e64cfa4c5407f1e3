//! Answers of servers that misbehave on the wire, for the central server's faults: a 5xx storm, a body cut off
//! mid-way, a trickle, a body far too large. Each body is bounded: it ends (or fails) by itself, and hyper drops
//! it as soon as the client goes away.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// Apache's page for a 500: what a client gets from a server whose PHP backend fails on every request.
const INTERNAL_SERVER_ERROR_PAGE: &str = "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n\
    <title>500 Internal Server Error</title>\n</head><body>\n<h1>Internal Server Error</h1>\n\
    <p>The server encountered an internal error or\nmisconfiguration and was unable to complete\nyour request.</p>\n\
    <hr>\n<address>Apache/2.4.62 (Debian) Server at localhost Port 80</address>\n</body></html>\n";

/// `500 Internal Server Error` with Apache's small HTML page, whatever was asked.
pub(crate) fn server_error() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=iso-8859-1"))],
        INTERNAL_SERVER_ERROR_PAGE,
    )
        .into_response()
}

/// Middleware of the `server-error` fault: the 500 page instead of any handler.
pub(crate) async fn answer_server_error(_request: Request, _next: Next) -> Response {
    server_error()
}

/// How long a cut-off body waits after its part before the connection is dropped: long enough for the server to
/// flush the headers and the part to the client, so the client sees half an answer, not none.
const CUT_OFF_PAUSE: Duration = Duration::from_millis(50);
/// The handlers' answers are small; anything bigger is not cut off but refused.
const CUT_OFF_MAX_BODY: usize = 1024 * 1024;

/// Middleware of the `connection-reset` fault: the handler's answer with its `Content-Length`, the first half of
/// its body, then the connection dropped (the body fails, so the server aborts the connection).
pub(crate) async fn cut_off_mid_response(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let (mut parts, body) = response.into_parts();
    let Ok(mut body) = axum::body::to_bytes(body, CUT_OFF_MAX_BODY).await else {
        return server_error();
    };
    if body.len() < 2 {
        // A redirect or an empty answer: the web server's short page for the status, so there is a body to cut.
        let page = format!(
            "<!DOCTYPE html>\n<html><head><title>{status}</title></head><body><h1>{status}</h1></body></html>\n",
            status = parts.status
        );
        body = Bytes::from(page);
        parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    }
    let full_len = body.len() as u64;
    parts.headers.insert(header::CONTENT_LENGTH, HeaderValue::from(full_len));
    let part = body.slice(..body.len() / 2);
    Response::from_parts(parts, Body::new(CutOff::new(part, full_len)))
}

/// A body that promises `full_len` bytes, sends `part`, pauses, then fails.
struct CutOff {
    part: Option<Bytes>,
    full_len: u64,
    pause: Pin<Box<Sleep>>,
}

impl CutOff {
    fn new(part: Bytes, full_len: u64) -> CutOff {
        CutOff { part: Some(part), full_len, pause: Box::pin(tokio::time::sleep(CUT_OFF_PAUSE)) }
    }
}

impl hyper::body::Body for CutOff {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if let Some(part) = this.part.take() {
            this.pause.as_mut().reset(Instant::now() + CUT_OFF_PAUSE);
            return Poll::Ready(Some(Ok(Frame::data(part))));
        }
        ready!(this.pause.as_mut().poll(cx));
        Poll::Ready(Some(Err(io::Error::new(io::ErrorKind::ConnectionReset, "connection-reset fault"))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.full_len)
    }
}

/// `200` with `body` sent one byte per `interval` (the first after one interval), with its `Content-Length`.
pub(crate) fn trickle(content_type: &'static str, body: impl Into<Bytes>, interval: Duration) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        Body::new(Trickle::new(body.into(), interval)),
    )
        .into_response()
}

/// A body that sends one byte per interval and ends after the last one.
pub(crate) struct Trickle {
    body: Bytes,
    sent: usize,
    interval: Duration,
    next: Pin<Box<Sleep>>,
}

impl Trickle {
    pub(crate) fn new(body: Bytes, interval: Duration) -> Trickle {
        Trickle { body, sent: 0, interval, next: Box::pin(tokio::time::sleep(interval)) }
    }
}

impl hyper::body::Body for Trickle {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if this.sent >= this.body.len() {
            return Poll::Ready(None);
        }
        ready!(this.next.as_mut().poll(cx));
        let byte = this.body.slice(this.sent..this.sent + 1);
        this.sent += 1;
        this.next.as_mut().reset(Instant::now() + this.interval);
        Poll::Ready(Some(Ok(Frame::data(byte))))
    }

    fn is_end_stream(&self) -> bool {
        self.sent >= self.body.len()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact((self.body.len() - self.sent.min(self.body.len())) as u64)
    }
}

/// What an oversized body repeats between its head and tail; static, so no chunk is allocated.
static FILLER: [u8; 64 * 1024] = [b'x'; 64 * 1024];

/// `200` with `head`, filler and `tail`, `total` bytes in all, streamed chunk by chunk without a
/// `Content-Length` (chunked), as PHP streams large output behind a proxy.
pub(crate) fn oversized(content_type: &'static str, head: String, tail: &'static str, total: usize) -> Response {
    let filler = total.saturating_sub(head.len() + tail.len());
    let body = Oversized {
        head: Some(Bytes::from(head)),
        filler_left: filler,
        tail: Some(Bytes::from_static(tail.as_bytes())),
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], Body::new(body)).into_response()
}

/// A large body made of a head, static filler chunks and a tail; its size is not announced.
struct Oversized {
    head: Option<Bytes>,
    filler_left: usize,
    tail: Option<Bytes>,
}

impl hyper::body::Body for Oversized {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if let Some(head) = this.head.take() {
            return Poll::Ready(Some(Ok(Frame::data(head))));
        }
        if this.filler_left > 0 {
            let n = this.filler_left.min(FILLER.len());
            this.filler_left -= n;
            return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&FILLER[..n])))));
        }
        Poll::Ready(this.tail.take().map(|tail| Ok(Frame::data(tail))))
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_none() && self.filler_left == 0 && self.tail.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_trickle_sends_the_whole_body_one_byte_at_a_time_and_ends() {
        let interval = Duration::from_millis(2);
        let started = std::time::Instant::now();
        let body = Body::new(Trickle::new(Bytes::from_static(b"{\"a\":1}"), interval));
        let collected = axum::body::to_bytes(body, 1024).await.expect("the trickle ends without an error");
        assert_eq!(&collected[..], b"{\"a\":1}", "every byte arrives, in order");
        assert!(started.elapsed() >= interval * 7, "one interval per byte: {:?}", started.elapsed());
    }

    #[tokio::test]
    async fn an_oversized_body_has_exactly_its_size_and_ends() {
        let response = oversized("application/json", "{\"a\":\"".to_owned(), "\"}", 300_000);
        assert!(response.headers().get(header::CONTENT_LENGTH).is_none(), "the size is not announced");
        let body = axum::body::to_bytes(response.into_body(), 400_000).await.expect("the body ends");
        assert_eq!(body.len(), 300_000, "exactly the asked size, over several filler chunks");
        assert!(body.starts_with(b"{\"a\":\"xxx") && body.ends_with(b"xx\"}"), "JSON-looking from end to end");
    }
}
