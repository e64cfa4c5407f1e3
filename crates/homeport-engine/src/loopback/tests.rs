use std::time::Instant;

use super::*;

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(5)).build().expect("client")
}

/// What a caller's check does: `state=good` is this login's; anything else is rejected.
fn good_state(target: &str) -> Result<String, CallbackRejected> {
    if target.contains("state=good") {
        Ok(target.to_owned())
    } else {
        Err(CallbackRejected::new("state mismatch"))
    }
}

#[tokio::test]
async fn the_loopback_listener_takes_one_callback_then_closes() {
    let callback = LoopbackCallback::bind().await.expect("bind");
    let redirect = callback.redirect_uri().clone();
    assert_eq!(redirect.host_str(), Some("127.0.0.1"), "IPv4 loopback (RFC 8252 §7.3)");
    let port = redirect.port().expect("a port");
    let path = redirect.path().to_owned();
    let browser = tokio::spawn(async move {
        let favicon = client().get(format!("http://127.0.0.1:{port}/favicon.ico")).send().await.expect("favicon");
        assert_eq!(favicon.status(), 404, "other paths do not count");
        let page = client().get(format!("http://127.0.0.1:{port}{path}?code=c&state=good")).send().await.expect("cb");
        assert_eq!(page.status(), 200);
        page.text().await.expect("page")
    });
    let target = callback.receive(Duration::from_secs(10), good_state).await.expect("one callback");
    assert_eq!(target, format!("{}?code=c&state=good", redirect.path()));
    assert!(browser.await.expect("browser").contains("Return to Homeport"), "the page says where to go");
    let replay = client().get(format!("{redirect}?code=c&state=good")).send().await;
    assert!(replay.is_err(), "the listener is closed: a replayed callback finds nobody");
}

#[tokio::test]
async fn the_callback_path_carries_an_unguessable_segment() {
    let first = LoopbackCallback::bind().await.expect("bind");
    let second = LoopbackCallback::bind().await.expect("bind");
    let segments: Vec<Vec<String>> = [&first, &second]
        .iter()
        .map(|c| c.redirect_uri().path_segments().expect("a path").map(str::to_owned).collect())
        .collect();
    for segments in &segments {
        assert_eq!(segments.len(), 3, "/homeport/<random>/callback: {segments:?}");
        assert_eq!((segments[0].as_str(), segments[2].as_str()), ("homeport", "callback"), "{segments:?}");
        let random = &segments[1];
        // 128 bits at least, base64url without padding: 22 characters or more.
        assert!(random.len() >= 22, "at least 128 bits: {random}");
        assert!(random.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "URL-safe: {random}");
    }
    assert_ne!(segments[0][1], segments[1][1], "fresh for every login");
}

#[tokio::test]
async fn stray_forged_and_idle_clients_neither_end_nor_block_the_login() {
    let callback = LoopbackCallback::bind().await.expect("bind");
    let redirect = callback.redirect_uri().clone();
    let port = redirect.port().expect("a port");
    let started = Instant::now();
    let browser = tokio::spawn(async move {
        // A client that connects and says nothing, and one that trickles its request byte by byte:
        // neither may keep the others waiting.
        let _idle = TcpStream::connect(("127.0.0.1", port)).await.expect("idle client connects");
        let mut trickle = TcpStream::connect(("127.0.0.1", port)).await.expect("slow client connects");
        trickle.write_all(b"GET ").await.expect("a first byte");
        let stray = client().get(format!("http://127.0.0.1:{port}/homeport/callback?code=c&state=good")).send().await;
        assert_eq!(stray.expect("a stray path is answered").status(), 404, "the path without its secret segment");
        let forged = client().get(format!("{redirect}?code=forged&state=bad")).send().await;
        let forged = forged.expect("a forged callback is answered, not left hanging");
        assert_eq!(forged.status(), 400, "rejected by the caller's check");
        assert!(forged.text().await.expect("body").contains("state mismatch"), "the check's reason is shown");
        let post = client().post(format!("{redirect}?code=c&state=good")).send().await;
        assert_eq!(post.expect("a POST is answered").status(), 400, "only GET is a callback");
        let real = client().get(format!("{redirect}?code=real&state=good")).send().await;
        assert_eq!(real.expect("the real callback is answered").status(), 200);
    });
    let target = callback.receive(Duration::from_secs(20), good_state).await.expect("the real callback still counts");
    assert!(target.contains("code=real"), "the real one, not the forged one: {target}");
    browser.await.expect("the browser's checks");
    // Bounds, not timings: an idle client held the old listener for its 10 s read timeout.
    assert!(started.elapsed() < Duration::from_secs(9), "nobody waited for the idle client: {:?}", started.elapsed());
}

#[tokio::test]
async fn a_trickling_client_is_cut_off_by_one_deadline_for_the_whole_request() {
    let callback = LoopbackCallback::bind().await.expect("bind").with_request_deadline(Duration::from_millis(300));
    let port = callback.redirect_uri().port().expect("a port");
    let waiting = tokio::spawn(callback.receive(Duration::from_secs(20), good_state));
    let mut trickle = TcpStream::connect(("127.0.0.1", port)).await.expect("connects");
    let started = Instant::now();
    // A byte every 100 ms never exceeds a per-read timeout; the per-connection deadline ends it.
    let cut_off = loop {
        if trickle.write_all(b"G").await.is_err() {
            break true;
        }
        let mut byte = [0u8; 1];
        // An answer (400) or the connection closed: either way it was cut off.
        if tokio::time::timeout(Duration::from_millis(100), trickle.read(&mut byte)).await.is_ok() {
            break true;
        }
        if started.elapsed() > Duration::from_secs(5) {
            break false;
        }
    };
    assert!(cut_off, "a client trickling its request is cut off, not read forever");
    assert!(!waiting.is_finished(), "and the login goes on waiting");
    waiting.abort();
}

#[tokio::test]
async fn a_provider_error_for_this_login_is_the_answer() {
    let callback = LoopbackCallback::bind().await.expect("bind");
    let redirect = callback.redirect_uri().clone();
    let browser =
        tokio::spawn(async move { client().get(format!("{redirect}?error=access_denied&state=good")).send().await });
    let answer = callback
        .receive(Duration::from_secs(10), |target| match good_state(target) {
            Ok(target) if target.contains("error=") => Ok(Err("denied")),
            Ok(target) => Ok(Ok(target)),
            Err(rejected) => Err(rejected),
        })
        .await
        .expect("an answer");
    assert_eq!(answer, Err("denied"), "the provider's error ends the wait");
    assert_eq!(browser.await.expect("browser").expect("answered").status(), 200);
}

#[tokio::test]
async fn no_callback_is_a_timeout() {
    let callback = LoopbackCallback::bind().await.expect("bind");
    let result = callback.receive(Duration::from_millis(200), good_state).await;
    assert!(matches!(result, Err(ConnectError::BrowserLoginTimedOut { .. })), "{result:?}");
}

/// A port that was free a moment ago.
async fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0)).await.expect("bind").local_addr().expect("addr").port()
}

#[tokio::test]
async fn a_fixed_port_a_range_and_localhost_are_honoured() {
    let port = free_port().await;
    let fixed = RedirectSpec { port: RedirectPort::Fixed(port), ..RedirectSpec::default() };
    let callback = LoopbackCallback::bind_to(&fixed).await.expect("a free fixed port");
    assert_eq!(callback.redirect_uri().port(), Some(port));

    // The range's first port is taken (by the fixed listener): a later free one is used.
    let last = port.saturating_add(50);
    let range = RedirectSpec { host: RedirectHost::Localhost, port: RedirectPort::Range { first: port, last } };
    let ranged = LoopbackCallback::bind_to(&range).await.expect("a free port in the range");
    let chosen = ranged.redirect_uri().port().expect("a port");
    assert!(chosen > port && chosen <= last, "a free port of the range, not the busy first: {chosen}");
    assert_eq!(ranged.redirect_uri().host_str(), Some("localhost"), "the URI says localhost");
    let target = format!("http://127.0.0.1:{chosen}{}?state=good", ranged.redirect_uri().path());
    let browser = tokio::spawn(async move { client().get(target).send().await });
    ranged.receive(Duration::from_secs(10), good_state).await.expect("reachable at 127.0.0.1");
    assert_eq!(browser.await.expect("browser").expect("answered").status(), 200);

    let busy = RedirectSpec { port: RedirectPort::Range { first: port, last: port }, ..RedirectSpec::default() };
    let error = LoopbackCallback::bind_to(&busy).await.err().expect("no free port in the range");
    let ConnectError::CallbackPortUnavailable { ports, .. } = &error else { panic!("a typed error: {error:?}") };
    assert_eq!(ports, &format!("{port}-{port}"), "it names the ports");
    assert!(error.to_string().contains("another port"), "it says what to do: {error}");
    drop(callback);
}

#[test]
fn a_redirect_spec_reads_from_text_and_serde() {
    assert_eq!("random".parse(), Ok(RedirectPort::Random));
    assert_eq!("8080".parse(), Ok(RedirectPort::Fixed(8080)));
    assert_eq!("8000-8010".parse(), Ok(RedirectPort::Range { first: 8000, last: 8010 }));
    assert!("8010-8000".parse::<RedirectPort>().is_err(), "an empty range");
    assert!("0".parse::<RedirectPort>().is_err() && "http".parse::<RedirectPort>().is_err());
    let spec = RedirectSpec { host: RedirectHost::Localhost, port: RedirectPort::Range { first: 1, last: 2 } };
    let json = serde_json::to_value(spec).expect("serializes");
    assert_eq!(json, serde_json::json!({"host": "localhost", "port": {"range": {"first": 1, "last": 2}}}));
    assert_eq!(serde_json::from_value::<RedirectSpec>(json).expect("reads back"), spec);
    let default: RedirectSpec = serde_json::from_str("{}").expect("every field has a default");
    assert_eq!(default, RedirectSpec::default());
    assert_eq!(serde_json::to_value(default).expect("ser"), serde_json::json!({"host": "127.0.0.1", "port": "random"}));
}
