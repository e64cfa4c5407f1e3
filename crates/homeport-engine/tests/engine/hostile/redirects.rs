//! Hostile redirects that lie, loop or leak (the corpus and its rules: `mod.rs`).

use super::*;

/// The canary: answers 404 to everything and logs who came; a second origin for redirects.
async fn canary() -> Scripted {
    Scripted::start(|_| not_found()).await
}

type RedirectRoute = fn(&Seen, &Url) -> Vec<Act>;
type RedirectCheck = fn(&Outcome, &Url, &[Seen], &[Seen]) -> bool;

/// `/hop/N/remote.php/webdav/` → hop N+1, from the PROPFIND at `/remote.php/webdav/` (N = 0).
fn hop_number(seen: &Seen) -> usize {
    seen.path().strip_prefix("/hop/").and_then(|rest| rest.split('/').next()).and_then(|n| n.parse().ok()).unwrap_or(0)
}

#[tokio::test]
async fn redirects_that_lie_loop_or_leak_end_in_refusals_or_questions() {
    let rows: Vec<(&str, bool, RedirectRoute, RedirectCheck)> = vec![
        (
            "a chain of distinct hops past the limit",
            true,
            |s, _| owncloud(s, |s| redirect("302 Found", &format!("/hop/{}/remote.php/webdav/", hop_number(s) + 1))),
            |o, _, seen, _| {
                matches!(refusal(o), Some(RedirectRefusal::TooManyHops { max: 10, .. }))
                    && seen.iter().filter(|s| s.method == "PROPFIND").count() == 11
            },
        ),
        (
            "exactly ten hops, then a login form",
            false,
            |s, _| {
                owncloud(s, |s| match hop_number(s) {
                    10 => basic_challenge(),
                    n => redirect("307 Temporary Redirect", &format!("/hop/{}/remote.php/webdav/", n + 1)),
                })
            },
            |o, _, _, _| matches!(o, Outcome::Asked(Decision::NeedsCredentials { .. })),
        ),
        (
            "a relative Location with ../",
            true,
            |s, _| {
                owncloud(s, |s| match s.path() {
                    "/remote.php/webdav/" => redirect("301 Moved Permanently", "../../oc/remote.php/webdav/"),
                    _ => basic_challenge(),
                })
            },
            |o, _, seen, _| {
                matches!(o, Outcome::Failed(ConnectError::AuthFailed { .. }))
                    && seen.iter().any(|s| s.path() == "/oc/remote.php/webdav/" && s.authorization.is_some())
            },
        ),
        (
            "an empty Location",
            true,
            |s, _| owncloud(s, |_| redirect("302 Found", "")),
            |o, _, _, _| matches!(refusal(o), Some(RedirectRefusal::MissingLocation { .. })),
        ),
        (
            "no Location at all",
            true,
            |s, _| owncloud(s, |_| http("301 Moved Permanently", &[], "")),
            |o, _, _, _| matches!(refusal(o), Some(RedirectRefusal::MissingLocation { .. })),
        ),
        (
            "a Location that is no URL",
            true,
            |s, _| owncloud(s, |_| redirect("302 Found", "http://[::1")),
            |o, _, _, _| matches!(refusal(o), Some(RedirectRefusal::InvalidLocation { .. })),
        ),
        (
            "a Location of bytes that are not UTF-8",
            true,
            |s, _| {
                owncloud(s, |_| {
                    raw(b"HTTP/1.1 302 Found\r\nLocation: /\xff\xfe/remote.php/webdav/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                })
            },
            |o, _, _, _| matches!(refusal(o), Some(RedirectRefusal::MissingLocation { .. })),
        ),
        (
            "Location: javascript:",
            true,
            |s, _| owncloud(s, |_| redirect("302 Found", "javascript:alert(document.cookie)")),
            |o, _, _, _| matches!(refusal(o), Some(RedirectRefusal::UnsupportedScheme { .. })),
        ),
        (
            "Location: file:",
            true,
            |s, _| owncloud(s, |_| redirect("301 Moved Permanently", "file:///etc/passwd")),
            |o, _, _, _| matches!(refusal(o), Some(RedirectRefusal::UnsupportedScheme { .. })),
        ),
        (
            "credentials in the Location, same origin",
            true,
            |s, _| {
                owncloud(s, |s| match s.path() {
                    "/remote.php/webdav/" => redirect(
                        "307 Temporary Redirect",
                        &format!("http://evil:stolen@{}/two/remote.php/webdav/", s.host),
                    ),
                    _ => basic_challenge(),
                })
            },
            |o, _, seen, _| {
                // The person's own credentials go along (same origin), never the Location's.
                let person = format!("Basic {}", basic(USER, HOSTILE_PASSWORD));
                let second = seen.iter().find(|s| s.path() == "/two/remote.php/webdav/");
                matches!(o, Outcome::Failed(ConnectError::AuthFailed { .. }))
                    && second.is_some_and(|s| s.authorization.as_deref() == Some(person.as_str()))
            },
        ),
        (
            "credentials in the Location, another origin",
            true,
            |s, canary| {
                let to = format!("http://evil:stolen@{}:{}/remote.php/webdav/", host(canary), port(canary));
                owncloud(s, |_| redirect("302 Found", &to))
            },
            |o, canary, _, at_canary| {
                let shown = matches!(o, Outcome::Asked(Decision::ConfirmRedirect { location, .. }) if !location.contains("stolen"));
                asks_redirect_to(o, canary) && shown && at_canary.is_empty()
            },
        ),
        (
            "a scheme-relative Location to another origin",
            true,
            |s, canary| {
                let to = format!("//{}:{}/remote.php/webdav/", host(canary), port(canary));
                owncloud(s, |_| redirect("301 Moved Permanently", &to))
            },
            |o, canary, _, at_canary| asks_redirect_to(o, canary) && at_canary.is_empty(),
        ),
        (
            "the same socket under another name (localhost)",
            true,
            |s, _| {
                let to = format!("http://localhost:{}/remote.php/webdav/", s.host.rsplit(':').next().unwrap_or("80"));
                owncloud(s, |_| redirect("308 Permanent Redirect", &to))
            },
            |o, _, seen, _| {
                matches!(o, Outcome::Asked(Decision::ConfirmRedirect { to, .. }) if to.as_str().starts_with("http://localhost:"))
                    && seen.iter().filter(|s| s.authorization.is_some()).count() == 1
            },
        ),
        (
            "a 303 to another origin",
            true,
            |s, canary| {
                owncloud(s, |_| redirect("303 See Other", canary.join("remote.php/webdav/").expect("url").as_str()))
            },
            |o, canary, _, at_canary| asks_redirect_to(o, canary) && at_canary.is_empty(),
        ),
        (
            "plain http to a remote host",
            true,
            |s, _| owncloud(s, |_| redirect("302 Found", "http://homeport.invalid/remote.php/webdav/")),
            // Asked about (per origin, docs/security.md): the harness declines it.
            |o, _, _, _| matches!(o, Outcome::Asked(Decision::ConfirmPlainHttp { url }) if url.starts_with("http://homeport.invalid/")),
        ),
        (
            "status.php redirected to another origin goes without credentials",
            true,
            |s, canary| match s.path() {
                "/status.php" => redirect("302 Found", canary.join("status.php").expect("url").as_str()),
                _ => owncloud(s, |_| basic_challenge()),
            },
            |o, _, _, at_canary| {
                matches!(o, Outcome::Failed(ConnectError::UnexpectedStatus { status: 404, .. }))
                    && at_canary.len() == 1
                    && at_canary.iter().all(|s| s.authorization.is_none())
            },
        ),
        (
            "a 300 Multiple Choices is no redirect",
            true,
            |s, canary| owncloud(s, |_| redirect("300 Multiple Choices", canary.as_str())),
            |o, _, _, at_canary| {
                matches!(o, Outcome::Failed(ConnectError::UnexpectedStatus { status: 300, .. })) && at_canary.is_empty()
            },
        ),
        (
            "a 10 KB Location on the same origin",
            true,
            |s, _| {
                owncloud(s, |s| match s.path() {
                    "/remote.php/webdav/" => {
                        redirect("302 Found", &format!("/{}/remote.php/webdav/", "a".repeat(10 * 1024)))
                    }
                    _ => basic_challenge(),
                })
            },
            |o, _, _, _| matches!(o, Outcome::Failed(ConnectError::AuthFailed { .. })),
        ),
    ];
    let count = rows.len();
    let runs = rows.into_iter().map(|(case, credentials, route, expected)| async move {
        let canary = canary().await;
        let target = canary.url();
        let server = Scripted::start(move |s| route(s, &target)).await;
        let mut wizard =
            wizard(case, server.url().as_str(), loopback_options(), credentials.then_some(HOSTILE_PASSWORD));
        let (outcome, elapsed) = step(case, &mut wizard).await;
        check(case, &outcome, expected(&outcome, &canary.url(), &server.seen(), &canary.seen()));
        assert!(canary.authorized().is_empty(), "{case}: credentials reached an origin nobody approved");
        assert!(elapsed < BOUNDED, "{case}: took {elapsed:?}");
    });
    all_rows(runs).await;
    assert!(count >= 18, "the redirect corpus keeps its size");
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

fn host(url: &Url) -> &str {
    url.host_str().unwrap_or_default()
}

fn port(url: &Url) -> u16 {
    url.port_or_known_default().unwrap_or_default()
}

#[tokio::test]
async fn a_front_end_that_redirects_to_a_third_origin_gets_no_password_there_unless_approved() {
    let server = lookup(Scenario { fault: Some(Fault::RedirectToOtherOrigin), ..Scenario::default() }).await;
    let at_canary = |server: &LookupServer| -> Vec<bool> {
        server.requests().into_iter().filter(|r| r.server == "canary").map(|r| r.has_authorization).collect()
    };
    let case = "redirect to another origin, not approved";
    let mut unapproved = lookup_wizard(case, &server, options(&server));
    let (outcome, _) = step(case, &mut unapproved).await;
    check(case, &outcome, asks_redirect_to(&outcome, server.canary_url()));
    assert!(at_canary(&server).is_empty(), "{case}: the canary heard nothing before approval");
    let Outcome::Asked(decision) = outcome else { unreachable!() };
    assert!(matches!(decision.declined(), ConnectError::RedirectRefused(RedirectRefusal::NotApproved { .. })));

    let case = "redirect to another origin, approved";
    let mut approved = lookup_wizard(case, &server, options(&server));
    approved.approve_origin(Origin::of(server.canary_url()));
    let (outcome, _) = step(case, &mut approved).await;
    check(case, &outcome, matches!(outcome, Outcome::Failed(ConnectError::UnexpectedStatus { status: 404, .. })));
    // The PROPFIND and, beside it, the instance round (docs/benchmarks.md#round-trips).
    let heard = at_canary(&server);
    assert_eq!(heard, [true; 4], "{case}: after approval, and only then, the password went there");
    server.shutdown().await;
}
