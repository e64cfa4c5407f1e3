//! The browser's way back to Homeport (RFC 8252 §7.3), for every login in the system browser:
//! OpenID Connect's authorization code and Matrix SSO's `loginToken` both arrive here.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

use crate::error::ConnectError;

/// The browser's way back (RFC 8252 §7.3): a listener on 127.0.0.1 at a free port that accepts
/// exactly one request on its path, answers with a page telling the person to return to
/// Homeport, and closes.
pub struct LoopbackCallback {
    listener: TcpListener,
    redirect_uri: Url,
}

const RETURN_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Homeport</title></head>\
<body style=\"font-family:sans-serif;margin:3em\"><h1>You are logged in</h1>\
<p>Return to Homeport to finish connecting your account. You can close this tab.</p></body></html>";

impl LoopbackCallback {
    pub async fn bind() -> Result<Self, ConnectError> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| ConnectError::Unreachable {
            url: "http://127.0.0.1:0/".into(),
            reason: format!("cannot listen for the browser's answer: {e}"),
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| ConnectError::Unreachable { url: "http://127.0.0.1/".into(), reason: e.to_string() })?
            .port();
        let redirect_uri = Url::parse(&format!("http://127.0.0.1:{port}/homeport/callback")).map_err(|e| {
            ConnectError::InvalidResponse { url: String::new(), what: "loopback address", reason: e.to_string() }
        })?;
        Ok(LoopbackCallback { listener, redirect_uri })
    }

    pub fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// Waits for the browser (at most `timeout`) and returns the request target of the one
    /// callback. Requests for other paths (a favicon) get 404 and do not count. The listener is
    /// closed when this returns, so a replayed callback finds nobody.
    pub async fn receive(self, timeout: Duration) -> Result<String, ConnectError> {
        let path = self.redirect_uri.path().to_owned();
        let wait = async {
            loop {
                let (mut stream, _) = self.listener.accept().await.map_err(|e| ConnectError::Unreachable {
                    url: self.redirect_uri.to_string(),
                    reason: e.to_string(),
                })?;
                let Some(target) = read_request_target(&mut stream).await else { continue };
                let on_path = target.split('?').next() == Some(path.as_str());
                let answer = if on_path {
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
                         Cache-Control: no-store\r\nConnection: close\r\n\r\n{RETURN_PAGE}",
                        RETURN_PAGE.len()
                    )
                } else {
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned()
                };
                // The browser may have gone; the answer we got is what counts.
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
                if on_path {
                    return Ok(target);
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| ConnectError::BrowserLoginTimedOut { seconds: timeout.as_secs() })?
    }
}

/// The target of a `GET` request line, reading at most 8 KiB of headers.
async fn read_request_target(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
        if buffer.len() > 8192 {
            return None;
        }
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk)).await.ok()?.ok()?;
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
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_loopback_listener_takes_one_callback_then_closes() {
        let callback = LoopbackCallback::bind().await.expect("bind");
        let redirect = callback.redirect_uri().clone();
        assert_eq!(redirect.host_str(), Some("127.0.0.1"), "IPv4 loopback (RFC 8252 §7.3)");
        let port = redirect.port().expect("a port");
        let browser = tokio::spawn(async move {
            let client = reqwest::Client::new();
            let favicon = client.get(format!("http://127.0.0.1:{port}/favicon.ico")).send().await.expect("favicon");
            assert_eq!(favicon.status(), 404, "other paths do not count");
            let page = client
                .get(format!("http://127.0.0.1:{port}/homeport/callback?code=c&state=s"))
                .send()
                .await
                .expect("callback");
            assert_eq!(page.status(), 200);
            page.text().await.expect("page")
        });
        let target = callback.receive(Duration::from_secs(10)).await.expect("one callback");
        assert_eq!(target, "/homeport/callback?code=c&state=s");
        assert!(browser.await.expect("browser").contains("Return to Homeport"), "the page says where to go");
        let replay = reqwest::get(format!("http://127.0.0.1:{port}/homeport/callback?code=c&state=s")).await;
        assert!(replay.is_err(), "the listener is closed: a replayed callback finds nobody");
    }

    #[tokio::test]
    async fn no_callback_is_a_timeout() {
        let callback = LoopbackCallback::bind().await.expect("bind");
        let result = callback.receive(Duration::from_millis(200)).await;
        assert!(matches!(result, Err(ConnectError::BrowserLoginTimedOut { .. })), "{result:?}");
    }
}
