//! Hostile servers — Matrix homeservers (the corpus and its rules: `mod.rs`).

use super::*;

/// A healthy homeserver for `@alice:<host>`, unless `case` answers the request first.
fn homeserver(seen: &Seen, case: fn(&Seen, &Url) -> Option<Vec<Act>>, remote: &Url) -> Vec<Act> {
    if let Some(acts) = case(seen, remote) {
        return acts;
    }
    let user = format!("@alice:{}", seen.host.split(':').next().unwrap_or_default());
    match (seen.method.as_str(), seen.path()) {
        ("GET", "/_matrix/client/versions") => json(r#"{"versions":["v1.1","v1.11"]}"#),
        ("GET", "/_matrix/client/v3/login") => json(r#"{"flows":[{"type":"m.login.password"}]}"#),
        ("POST", "/_matrix/client/v3/login") => {
            json(serde_json::json!({ "user_id": user, "access_token": "tok", "device_id": "DEV" }).to_string())
        }
        ("GET", "/_matrix/client/v3/account/whoami") => {
            json(serde_json::json!({ "user_id": user, "device_id": "DEV" }).to_string())
        }
        _ => http("404 Not Found", &[], r#"{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}"#),
    }
}

fn is_login(seen: &Seen) -> bool {
    seen.method == "POST" && seen.path() == "/_matrix/client/v3/login"
}

fn matrix_error(status: &str, body: &str) -> Option<Vec<Act>> {
    Some(http(status, &[("Content-Type", "application/json")], body))
}

#[tokio::test]
async fn matrix_servers_that_lie_refuse_or_stall_end_in_typed_errors() {
    type MatrixCase = fn(&Seen, &Url) -> Option<Vec<Act>>;
    let rows: Vec<(&str, MatrixCase, WireCheck, usize)> = vec![
        ("control: a healthy scripted homeserver", |_, _| None, |o| matches!(o, Outcome::Connected), 1),
        (
            "a login answer that is not JSON",
            |s, _| is_login(s).then(|| json("{\"user_id\":")),
            |o| invalid(o, "Matrix login"),
            1,
        ),
        (
            "an unknown errcode",
            |s, _| {
                is_login(s).then(|| matrix_error("403 Forbidden", r#"{"errcode":"M_WEIRD","error":"no"}"#)).flatten()
            },
            |o| matches!(o, Outcome::Failed(ConnectError::MatrixRefused { errcode, .. }) if errcode == "M_WEIRD"),
            1,
        ),
        (
            "429 asking to wait an hour is refused, not waited",
            |s, _| {
                is_login(s)
                    .then(|| {
                        matrix_error(
                            "429 Too Many Requests",
                            r#"{"errcode":"M_LIMIT_EXCEEDED","retry_after_ms":3600000}"#,
                        )
                    })
                    .flatten()
            },
            |o| matches!(o, Outcome::Failed(ConnectError::RateLimited { retry_after_ms: 3_600_000, .. })),
            1,
        ),
        (
            "429 with the largest retry_after_ms",
            |s, _| {
                is_login(s)
                    .then(|| {
                        matrix_error(
                            "429 Too Many Requests",
                            &format!(r#"{{"errcode":"M_LIMIT_EXCEEDED","retry_after_ms":{}}}"#, u64::MAX),
                        )
                    })
                    .flatten()
            },
            |o| matches!(o, Outcome::Failed(ConnectError::RateLimited { .. })),
            1,
        ),
        (
            "429 with a negative retry_after_ms",
            |s, _| {
                is_login(s)
                    .then(|| {
                        matrix_error("429 Too Many Requests", r#"{"errcode":"M_LIMIT_EXCEEDED","retry_after_ms":-5}"#)
                    })
                    .flatten()
            },
            |o| matches!(o, Outcome::Failed(ConnectError::UnexpectedStatus { status: 429, .. })),
            1,
        ),
        (
            "429 again after the one wait",
            |s, _| {
                is_login(s)
                    .then(|| {
                        matrix_error("429 Too Many Requests", r#"{"errcode":"M_LIMIT_EXCEEDED","retry_after_ms":50}"#)
                    })
                    .flatten()
            },
            |o| matches!(o, Outcome::Failed(ConnectError::RateLimited { retry_after_ms: 50, .. })),
            2,
        ),
        (
            "a login answer whose user_id is no Matrix ID",
            |s, _| is_login(s).then(|| json(r#"{"user_id":"alice","access_token":"t"}"#)),
            |o| invalid(o, "Matrix login"),
            1,
        ),
        (
            "a login answer naming a javascript: homeserver",
            |s, _| {
                is_login(s)
                    .then(|| json(r#"{"user_id":"@alice:x","access_token":"t","base_cs_url":"javascript:alert(1)"}"#))
            },
            |o| invalid(o, "Matrix login"),
            1,
        ),
        (
            "a login answer naming a plain-http remote homeserver",
            |s, remote| {
                is_login(s).then(|| {
                    json(serde_json::json!({ "user_id": "@alice:x", "access_token": "t", "base_cs_url": remote.as_str() }).to_string())
                })
            },
            |o| matches!(o, Outcome::Asked(Decision::ConfirmPlainHttp { url }) if url.starts_with("http://0.0.0.0:")),
            1,
        ),
        (
            "whoami names another user",
            |s, _| (s.path() == "/_matrix/client/v3/account/whoami").then(|| json(r#"{"user_id":"@mallory:x"}"#)),
            |o| invalid(o, "whoami"),
            1,
        ),
        (
            "versions lists none",
            |s, _| (s.path() == "/_matrix/client/versions").then(|| json(r#"{"versions":[]}"#)),
            |o| invalid(o, "Matrix server"),
            0,
        ),
        (
            "the well-known names an ftp: homeserver",
            |s, _| {
                (s.path() == "/.well-known/matrix/client")
                    .then(|| json(r#"{"m.homeserver":{"base_url":"ftp://hs.example"}}"#))
            },
            |o| invalid(o, "well-known"),
            0,
        ),
        (
            "the well-known names a plain-http remote homeserver",
            |s, remote| {
                (s.path() == "/.well-known/matrix/client")
                    .then(|| json(serde_json::json!({ "m.homeserver": { "base_url": remote.as_str() } }).to_string()))
            },
            |o| matches!(o, Outcome::Asked(Decision::ConfirmPlainHttp { url }) if url.starts_with("http://0.0.0.0:")),
            0,
        ),
        (
            "the well-known is 10 MB",
            |s, _| {
                (s.path() == "/.well-known/matrix/client").then(|| {
                    vec![Act::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 10485760\r\n\r\n{".to_vec()), Act::Hang]
                })
            },
            |o| matches!(o, Outcome::Failed(ConnectError::BodyTooLarge { .. })),
            0,
        ),
        (
            "flows offer neither a password nor SSO",
            |s, _| {
                (s.method == "GET" && s.path() == "/_matrix/client/v3/login")
                    .then(|| json(r#"{"flows":[{"type":"m.login.recaptcha"}]}"#))
            },
            |o| matches!(o, Outcome::Failed(ConnectError::UnsupportedAuth { .. })),
            0,
        ),
    ];
    let count = rows.len();
    let runs = rows.into_iter().map(|(case, answer, expected, logins)| async move {
        // The remote homeserver is healthy: if the password went there, it would log in.
        let remote =
            Scripted::start(|s| homeserver(s, |_, _| None, &Url::parse("http://127.0.0.1:9/").expect("url"))).await;
        let remote_url = remote.url_as("0.0.0.0");
        let server = Scripted::start(move |s| homeserver(s, answer, &remote_url)).await;
        let address = format!("@alice:127.0.0.1:{}", server.port);
        let mut wizard = wizard(case, &address, loopback_options(), Some(HOSTILE_PASSWORD));
        let (outcome, elapsed) = step(case, &mut wizard).await;
        if case.starts_with("control") {
            assert!(matches!(outcome, Outcome::Connected), "{case}: the scripted homeserver is faithful: {outcome:?}");
        } else {
            check(case, &outcome, expected(&outcome));
        }
        let posted = server.seen().iter().filter(|s| is_login(s)).count();
        assert_eq!(posted, logins, "{case}: logins sent");
        let leaked =
            remote.seen().into_iter().filter(|s| is_login(s) || find(&s.body, HOSTILE_PASSWORD.as_bytes()).is_some());
        assert_eq!(leaked.count(), 0, "{case}: the password went to a plain-http remote host");
        assert!(elapsed < BOUNDED, "{case}: took {elapsed:?}");
    });
    all_rows(runs).await;
    assert!(count >= 16, "the Matrix corpus keeps its size");
}
