//! Hostile servers — TLS: an https URL answered by something that is not TLS (the corpus and its rules: `mod.rs`).

use super::*;

#[tokio::test]
async fn an_https_url_answered_by_something_that_is_not_tls_is_a_tls_error() {
    let tls = |o: &Outcome| matches!(o, Outcome::Failed(ConnectError::Tls { .. }));
    let rows: Vec<(&str, Vec<Act>, WireCheck)> = vec![
        ("plain HTTP on an https URL", http("400 Bad Request", &[], "plain HTTP on a TLS port"), tls),
        ("garbage instead of a handshake", raw([0x17u8, 0x42, 0x00, 0xff, 0x13, 0x37].repeat(64)), tls),
        ("a TLS alert: handshake failure", raw([0x15u8, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]), tls),
        ("closed during the handshake", vec![], |o| {
            matches!(o, Outcome::Failed(ConnectError::Tls { .. } | ConnectError::Unreachable { .. }))
        }),
        ("silence instead of a handshake", vec![Act::Hang], timed_out),
    ];
    let runs = rows.into_iter().map(|(case, acts, expected)| async move {
        let server = Scripted::start(move |_| acts.clone()).await;
        let address = format!("https://127.0.0.1:{}/", server.port);
        let mut wizard = wizard(case, &address, options_for(expected), Some(HOSTILE_PASSWORD));
        let (outcome, elapsed) = step(case, &mut wizard).await;
        check(case, &outcome, expected(&outcome));
        assert!(server.seen().iter().all(|s| s.method == "(not http)"), "{case}: nothing was sent in clear");
        assert!(elapsed < BOUNDED, "{case}: took {elapsed:?}");
    });
    all_rows(runs).await;
}
