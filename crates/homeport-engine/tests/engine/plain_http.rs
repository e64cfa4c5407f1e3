//! Consent to plain http is per origin (docs/security.md): allowing the typed server's origin
//! allows no other. Plain http to a host that is not this machine cannot be reached for real in a
//! test, so the "remote" hosts are `0.0.0.0:<port>`: Linux connects that to this machine, yet it
//! is no loopback address, so the engine treats it as a remote host (as tests/engine/hostile does).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use homeport_engine::{Answer, Credentials, Decision, Secret, Step, Wizard, WizardOptions};
use homeport_lookup::Scenario;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::{instance_origin, lookup, PASSWORD};

/// A server on 127.0.0.1 that answers every request with `answer(port)` and counts them.
async fn serve(answer: impl Fn() -> String + Send + Sync + 'static) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut head = [0u8; 4096];
            let _ = stream.read(&mut head).await;
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = stream.write_all(answer().as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    (port, seen)
}

#[tokio::test]
async fn plain_http_allowed_for_one_origin_asks_again_for_the_next() {
    let (second, second_seen) =
        serve(|| "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into()).await;
    let (first, _) = serve(move || {
        format!("HTTP/1.1 302 Found\r\nLocation: http://0.0.0.0:{second}/elsewhere\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    })
    .await;
    let mut wizard = Wizard::new(&format!("http://0.0.0.0:{first}/"), WizardOptions::default()).expect("address");
    let step = wizard.next().await.expect("a question first");
    let Step::Decide(Decision::ConfirmPlainHttp { url }) = step else {
        panic!("plain http to the typed server: {step:?}")
    };
    assert!(url.starts_with(&format!("http://0.0.0.0:{first}/")), "the typed server: {url}");
    wizard.answer(Answer::AllowPlainHttp).expect("allowed");

    // The typed server redirects to a second plain-http origin: that is asked about, not followed.
    let step = wizard.next().await;
    let Ok(Step::Decide(Decision::ConfirmPlainHttp { url })) = step else {
        panic!("a second plain-http origin is a new question, not covered by the first answer: {step:?}")
    };
    assert!(url.starts_with(&format!("http://0.0.0.0:{second}/")), "it names the second origin: {url}");
    assert_eq!(second_seen.load(Ordering::SeqCst), 0, "nothing went to the second origin before the answer");

    // Allowed too: now the redirect is followed there.
    wizard.answer(Answer::AllowPlainHttp).expect("allowed");
    let _ = wizard.next().await;
    assert!(second_seen.load(Ordering::SeqCst) > 0, "once allowed, the second origin is reached");
}

#[tokio::test]
async fn a_stored_plain_http_account_is_verified_again_without_asking() {
    let server = lookup(Scenario::default()).await;
    let port = server.central_url().port().expect("port");
    let typed = format!("http://0.0.0.0:{port}/");
    let mut wizard = Wizard::new(&typed, WizardOptions::default()).expect("address");
    wizard.set_credentials(Credentials::new("test@instance2.com", Secret::new(PASSWORD)));
    wizard.approve_origin(instance_origin(&server, "instance2"));
    let step = wizard.next().await.expect("asked");
    assert!(matches!(step, Step::Decide(Decision::ConfirmPlainHttp { .. })), "{step:?}");
    wizard.answer(Answer::AllowPlainHttp).expect("allowed");
    let Step::Connected(connected) = wizard.next().await.expect("connected") else { panic!("connected") };
    assert_eq!(connected.account.server_url.as_url().as_str(), typed, "stored with its plain-http server");

    let mut again =
        Wizard::for_account(&connected.account, connected.secret.clone(), WizardOptions::default()).expect("re-verify");
    let step = again.next().await.expect("re-verified");
    assert!(matches!(step, Step::Connected(_)), "the stored server's origin was allowed when it was added: {step:?}");
    server.shutdown().await;
}
