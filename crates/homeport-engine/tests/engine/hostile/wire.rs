//! Hostile servers — status.php and the wire: bodies, framing, timeouts (the corpus and its rules: `mod.rs`).

use super::*;

/// A status.php whose body is `body` (200, JSON), the PROPFIND a login form.
fn status_body(body: Vec<u8>) -> impl Fn(&Seen) -> Vec<Act> + Send + Sync + 'static {
    move |s| match s.path() {
        "/status.php" => json(&body),
        _ => owncloud(s, |_| basic_challenge()),
    }
}

#[tokio::test]
async fn status_php_that_is_not_owncloud_json_is_an_invalid_response() {
    let nested = format!("{{\"x\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_known = format!("{{\"installed\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let rows: Vec<(&str, Vec<u8>, WireCheck)> = vec![
        ("HTML", b"<!doctype html><title>Log in to Wi-Fi</title>".to_vec(), |o| invalid(o, "status.php")),
        ("truncated mid-key", br#"{"installed":true,"vers"#.to_vec(), |o| invalid(o, "status.php")),
        ("invalid UTF-8 in a string", b"{\"installed\":true,\"productname\":\"own\xff\xfeCloud\"}".to_vec(), |o| {
            invalid(o, "status.php")
        }),
        ("wrong types", br#"{"installed":true,"version":10,"productname":["ownCloud"]}"#.to_vec(), |o| {
            invalid(o, "status.php")
        }),
        ("JSON null", b"null".to_vec(), |o| invalid(o, "status.php")),
        ("an empty body", Vec::new(), |o| invalid(o, "status.php")),
        // Skipped as an unknown key without recursion: the missing `installed` is what counts.
        ("an unknown key nested 100 000 levels deep", nested.into_bytes(), |o| {
            matches!(
                o,
                Outcome::Failed(ConnectError::ServerNotReady { reason: homeport_engine::NotReady::NotInstalled, .. })
            )
        }),
        ("a known key nested 100 000 levels deep", deep_known.into_bytes(), |o| invalid(o, "status.php")),
        ("a boolean that is an object", br#"{"installed":{"really":true}}"#.to_vec(), |o| invalid(o, "status.php")),
        ("a number beyond any integer", br#"{"installed":1e400}"#.to_vec(), |o| invalid(o, "status.php")),
        ("a duplicate key", br#"{"installed":true,"installed":false}"#.to_vec(), |o| invalid(o, "status.php")),
        ("a byte-order mark first", [b"\xef\xbb\xbf".as_slice(), STATUS_JSON.as_bytes()].concat(), |o| {
            invalid(o, "status.php")
        }),
    ];
    let count = rows.len();
    let runs = rows.into_iter().map(|(case, body, expected)| async move {
        let server = Scripted::start(status_body(body)).await;
        let mut wizard = wizard(case, server.url().as_str(), options_for(expected), None);
        let (outcome, elapsed) = step(case, &mut wizard).await;
        check(case, &outcome, expected(&outcome));
        assert!(elapsed < BOUNDED, "{case}: took {elapsed:?}");
    });
    all_rows(runs).await;
    assert!(count >= 11, "the status.php corpus keeps its size");
}

#[tokio::test]
async fn servers_that_break_http_itself_end_in_bounded_typed_errors() {
    let flood = {
        let mut bytes = b"HTTP/1.1 200 OK\r\n".to_vec();
        while bytes.len() < 2 * 1024 * 1024 {
            bytes.extend_from_slice(b"X-Flood: never-ending header block\r\n");
        }
        bytes
    };
    let slow_headers: Vec<u8> = (0..200).flat_map(|i| format!("X-Slow-{i}: 1\r\n").into_bytes()).collect();
    let huge_header = format!("HTTP/1.1 200 OK\r\nX-Huge: {}\r\nContent-Length: 0\r\n\r\n", "h".repeat(1024 * 1024));
    let rows: Vec<(&str, Vec<Act>, WireCheck)> = vec![
        ("the connection closes at once", vec![], unreachable),
        ("silence with the connection open", vec![Act::Hang], timed_out),
        ("a header block that never ends (a flood)", vec![Act::Send(flood), Act::Hang], unreachable),
        (
            "headers without end, slowly",
            vec![
                Act::Send(b"HTTP/1.1 200 OK\r\n".to_vec()),
                Act::Trickle(slow_headers, Duration::from_millis(5)),
                Act::Hang,
            ],
            timed_out,
        ),
        (
            "a whole answer, one byte per 50 ms",
            vec![Act::Trickle(
                http("200 OK", &[("Content-Type", "application/json")], STATUS_JSON)
                    .into_iter()
                    .flat_map(|a| match a {
                        Act::Send(bytes) => bytes,
                        _ => Vec::new(),
                    })
                    .collect(),
                Duration::from_millis(50),
            )],
            timed_out,
        ),
        (
            "a body cut off, then closed",
            raw(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"installed\":tr"),
            unreachable,
        ),
        (
            "a body cut off by a reset",
            vec![Act::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n{\"installed\":tr".to_vec()), Act::Reset],
            unreachable,
        ),
        ("a reset before any byte", vec![Act::Reset], unreachable),
        ("an SSH banner instead of HTTP", raw(b"SSH-2.0-OpenSSH_9.6\r\n"), unreachable),
        ("HTTP/0.9: a body without a status line", raw(STATUS_JSON), unreachable),
        ("a two-digit status", raw(b"HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n"), unreachable),
        ("status 999", raw(b"HTTP/1.1 999 Whatever\r\nContent-Length: 0\r\n\r\n"), |o| {
            matches!(o, Outcome::Failed(ConnectError::UnexpectedStatus { status: 999, .. }))
        }),
        (
            "broken chunked framing",
            raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnot a chunk\r\n"),
            unreachable,
        ),
        (
            "two different Content-Lengths",
            raw(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\nhello"),
            unreachable,
        ),
        ("a negative Content-Length", raw(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"), unreachable),
        (
            "a NUL byte in a header value",
            raw(b"HTTP/1.1 200 OK\r\nX-Bad: a\0b\r\nContent-Length: 0\r\n\r\n"),
            unreachable,
        ),
        ("a 1 MB header", raw(huge_header), unreachable),
        (
            "endless 100 Continue",
            vec![Act::Trickle(b"HTTP/1.1 100 Continue\r\n\r\n".repeat(200), Duration::from_millis(1))],
            timed_out,
        ),
        (
            "a 10 MB body announced by Content-Length",
            vec![Act::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 10485760\r\n\r\n{".to_vec()), Act::Hang],
            |o| matches!(o, Outcome::Failed(ConnectError::BodyTooLarge { .. })),
        ),
        (
            "503 asking to come back in a day",
            http("503 Service Unavailable", &[("Retry-After", "86400")], "<h1>busy</h1>"),
            |o| matches!(o, Outcome::Failed(ConnectError::UnexpectedStatus { status: 503, .. })),
        ),
    ];
    let count = rows.len();
    let runs = rows.into_iter().map(|(case, acts, expected)| async move {
        let server = Scripted::start(move |_| acts.clone()).await;
        let mut wizard = wizard(case, server.url().as_str(), options_for(expected), Some(HOSTILE_PASSWORD));
        let (outcome, elapsed) = step(case, &mut wizard).await;
        check(case, &outcome, expected(&outcome));
        assert!(elapsed < BOUNDED, "{case}: bounded by the configured timeouts, took {elapsed:?}");
    });
    all_rows(runs).await;
    assert!(count >= 20, "the wire corpus keeps its size");
}

#[tokio::test]
async fn a_5xx_storm_is_reported_at_once_without_a_retry_storm() {
    let server = Scripted::start(|_| http("502 Bad Gateway", &[("Content-Type", "text/html")], "<h1>502</h1>")).await;
    let case = "502 to every request";
    let mut wizard = wizard(case, server.url().as_str(), loopback_options(), Some(HOSTILE_PASSWORD));
    let (outcome, elapsed) = step(case, &mut wizard).await;
    check(case, &outcome, matches!(outcome, Outcome::Failed(ConnectError::UnexpectedStatus { status: 502, .. })));
    let requests = server.seen().len();
    // The first round: status.php, PROPFIND, WebFinger's issuer and Matrix's well-known; then
    // /versions, the login flows and auth_metadata at its two paths in one round. Each once.
    assert!(requests <= 8, "{case}: probe and Matrix discovery, no retries ({requests} requests)");
    assert!(elapsed < BOUNDED, "{case}: took {elapsed:?}");
}

#[tokio::test]
async fn the_lookup_servers_wire_faults_end_in_typed_errors() {
    let rows: Vec<(Fault, WireCheck)> = vec![
        (Fault::ServerError, |o| matches!(o, Outcome::Failed(ConnectError::UnexpectedStatus { status: 500, .. }))),
        (Fault::OversizedBody, |o| matches!(o, Outcome::Failed(ConnectError::BodyTooLarge { .. }))),
        (Fault::MalformedJson, |o| invalid(o, "status.php")),
        (Fault::HtmlInsteadOfJson, |o| invalid(o, "status.php")),
        (Fault::SlowBody, timed_out),
        (Fault::ConnectionReset, unreachable),
        (Fault::MalformedXml, |o| matches!(o, Outcome::Failed(ConnectError::InvalidResponse { .. }))),
    ];
    let runs = rows.into_iter().map(|(fault, expected)| async move {
        let case = fault.name();
        let server = lookup(Scenario { fault: Some(fault), ..Scenario::default() }).await;
        let options = WizardOptions { http: bounds_for(expected), ..options(&server) };
        let mut wizard = lookup_wizard(case, &server, options);
        wizard.approve_origin(crate::instance_origin(&server, "instance1"));
        let (outcome, elapsed) = step(case, &mut wizard).await;
        check(case, &outcome, expected(&outcome));
        assert!(elapsed < BOUNDED, "{case}: took {elapsed:?}");
        server.shutdown().await;
    });
    all_rows(runs).await;
}

#[tokio::test]
async fn a_reset_and_a_slow_answer_are_typed_in_the_trace() {
    for (fault, kind) in [
        (Fault::ConnectionReset, homeport_engine::TransportErrorKind::ConnectionReset),
        (Fault::SlowBody, homeport_engine::TransportErrorKind::TimedOut),
    ] {
        let case = fault.name();
        let expected: WireCheck =
            if kind == homeport_engine::TransportErrorKind::TimedOut { timed_out } else { unreachable };
        let server = lookup(Scenario { fault: Some(fault), ..Scenario::default() }).await;
        let options = WizardOptions { http: bounds_for(expected), ..options(&server) };
        let mut wizard = lookup_wizard(case, &server, options);
        let (outcome, _) = step(case, &mut wizard).await;
        check(case, &outcome, expected(&outcome));
        let failed: Vec<_> = wizard.trace().exchanges().into_iter().filter(|e| e.error.is_some()).collect();
        assert!(
            !failed.is_empty() && failed.iter().any(|e| e.error_kind == Some(kind)),
            "{case}: the failed exchanges carry the kind {kind:?} beside their raw text: {:?}",
            failed.iter().map(|e| (e.error_kind, e.error.clone())).collect::<Vec<_>>()
        );
        server.shutdown().await;
    }
}

#[tokio::test]
async fn requests_sent_ahead_that_never_get_an_answer_do_not_hold_the_first_round() {
    // An ownCloud server behind a front that never answers the paths ownCloud does not serve: the
    // first round sends Matrix's well-known and WebFinger ahead (docs/benchmarks.md#round-trips),
    // bounded, so the login form comes after that bound, not after the exchange timeout (30 s).
    let server = Scripted::start(|seen| match seen.path() {
        "/.well-known/matrix/client" | "/.well-known/webfinger" => vec![Act::Hang],
        _ => owncloud(seen, |_| basic_challenge()),
    })
    .await;
    let case = "the well-known and WebFinger never answer";
    let mut wizard = wizard(case, server.url().as_str(), WizardOptions::default(), None);
    let (outcome, elapsed) = step(case, &mut wizard).await;
    check(case, &outcome, matches!(outcome, Outcome::Asked(Decision::NeedsCredentials { .. })));
    assert!(elapsed < BOUNDED, "{case}: the login form after {elapsed:?}, held by requests sent ahead");
}
