//! `--allow-plain-http` is consent for one origin (docs/cli.md): alone, the typed server's;
//! `--allow-plain-http=ORIGIN`, that one. The "remote" hosts are `0.0.0.0:<port>`, which Linux
//! connects to this machine but which is no loopback address (as the engine's hostile tests do).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::{code, homeport};

/// A server on 127.0.0.1 answering every request with `answer` and counting them.
async fn serve(answer: String) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut head = [0u8; 4096];
            let _ = stream.read(&mut head).await;
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = stream.write_all(answer.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    (port, seen)
}

#[tokio::test]
async fn allow_plain_http_covers_the_typed_server_or_the_origins_named_and_no_other() {
    let config = tempfile::tempdir().expect("config dir");
    let (second, second_seen) =
        serve("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into()).await;
    let (first, _) = serve(format!(
        "HTTP/1.1 302 Found\r\nLocation: http://0.0.0.0:{second}/elsewhere\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    ))
    .await;
    let typed = format!("http://0.0.0.0:{first}/");
    let second_origin = format!("http://0.0.0.0:{second}");

    // The flag alone, before the address (it takes a value only with `=`): the typed server's
    // origin. Its redirect to a second plain-http origin ends the run, naming the flag for it.
    let output = homeport(config.path(), &["connect", "--allow-plain-http", &typed, "--no-store"], None).await;
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(code(&output), 7, "refused by policy: {said}");
    assert!(
        said.contains(&format!("--allow-plain-http={second_origin}")),
        "names the flag for the second origin: {said}"
    );
    assert_eq!(second_seen.load(Ordering::SeqCst), 0, "nothing went to the second origin: {said}");

    let allow_second = format!("--allow-plain-http={second_origin}");
    let args = ["connect", &typed, "--allow-plain-http", &allow_second, "--no-store"];
    let output = homeport(config.path(), &args, None).await;
    assert!(second_seen.load(Ordering::SeqCst) > 0, "both allowed: the redirect is followed: {output:?}");

    let output = homeport(config.path(), &["connect", &typed, "--allow-plain-http=not an origin"], None).await;
    assert_eq!(code(&output), 2, "a malformed origin is bad input: {output:?}");
}
