//! Round trips per system (docs/benchmarks.md#round-trips): the requests that do not depend on
//! each other's answers share a round, and each system's rounds are pinned here as a person would
//! read them off the sequence diagram. Credentials still go only to approved origins (the other
//! test files check that per protocol); these tests pin what is sent together.

use homeport_engine::{Connected, Credentials, Exchange, Origin, Secret, Step, Wizard};
use homeport_lookup::{LookupServer, Scenario};

use crate::oidc::{connect_oidc, tenant_options};
use crate::{connect, instance_origin, lookup, options, PASSWORD};

/// The trace as rounds, each the sorted "METHOD /path" of its requests (query left out): what the
/// sequence diagram draws side by side.
fn rounds(trace: &[Exchange]) -> Vec<Vec<String>> {
    let mut numbers: Vec<u32> = trace.iter().map(|e| e.round).collect();
    numbers.sort_unstable();
    numbers.dedup();
    numbers
        .iter()
        .map(|round| {
            let mut requests: Vec<String> = trace
                .iter()
                .filter(|e| e.round == *round)
                .map(|e| {
                    let url = url::Url::parse(&e.url).expect("a recorded URL");
                    format!("{} {}", e.method, url.path())
                })
                .collect();
            requests.sort();
            requests
        })
        .collect()
}

/// Whether each of `expected` (one entry per round: path fragments that must each be in that
/// round) is found in the trace's rounds, in order, and there are no more rounds.
fn assert_rounds(connected: &Connected, expected: &[&[&str]], system: &str) {
    let actual = rounds(&connected.trace);
    let shown = actual.iter().map(|round| round.join(" ‖ ")).collect::<Vec<_>>().join("\n  ");
    assert_eq!(
        connected.round_trips as usize,
        expected.len(),
        "{system}: {} round trips expected, the trace has {}:\n  {shown}",
        expected.len(),
        connected.round_trips
    );
    assert_eq!(actual.len(), expected.len(), "{system}: round_trips counts the trace's rounds:\n  {shown}");
    for (n, (round, wanted)) in actual.iter().zip(expected).enumerate() {
        for fragment in *wanted {
            assert!(
                round.iter().any(|request| request.contains(fragment)),
                "{system}: round {} should send {fragment:?} beside the others:\n  {shown}",
                n + 1
            );
        }
    }
}

#[tokio::test]
async fn s0_with_credentials_up_front_takes_two_round_trips() {
    let server = lookup(Scenario::default()).await;
    let connected = connect(&server, "test@instance2.com", PASSWORD, &["instance2"]).await.expect("connects");
    assert_rounds(
        &connected,
        &[
            &["GET /status.php", "PROPFIND /remote.php/webdav"],
            &["PROPFIND /remote.php/webdav", "/cloud/capabilities", "/cloud/user", "/avatars/"],
        ],
        "S0, credentials up front",
    );
    let instance = instance_origin(&server, "instance2");
    for exchange in connected.trace.iter().filter(|e| e.round == connected.trace.last().map_or(0, |e| e.round)) {
        let origin = Origin::of(&url::Url::parse(&exchange.url).expect("url"));
        assert_eq!(origin, instance, "the second round goes only to the approved instance: {}", exchange.url);
    }
}

#[tokio::test]
async fn s0_in_the_desktop_takes_two_round_trips_after_the_login_is_submitted() {
    let server = lookup(Scenario::default()).await;
    let mut wizard = Wizard::new(server.central_url().as_str(), options(&server)).expect("valid address");
    let step = wizard.next().await.expect("probe");
    assert!(matches!(step, Step::Decide(homeport_engine::Decision::NeedsCredentials { .. })), "{step:?}");
    let before = wizard.trace().round_trips();
    wizard.set_credentials(Credentials::new("test@instance2.com", Secret::new(PASSWORD)));
    let step = wizard.next().await.expect("the login");
    let Step::Decide(homeport_engine::Decision::ConfirmRedirect { to, .. }) = step else { panic!("{step:?}") };
    wizard.approve_origin(to);
    let Step::Connected(connected) = wizard.next().await.expect("verified") else { panic!("connected") };
    let after = connected.round_trips - before;
    let shown = rounds(&connected.trace);
    assert_eq!(after, 2, "PROPFIND at the central server, then PROPFIND ‖ capabilities ‖ user ‖ avatar: {shown:?}");
}

/// `alice@portal` and `@alice:portal` with the password up front, at the proxy portal.
async fn matrix_connect(server: &LookupServer, address: &str) -> Box<Connected> {
    let alice = server.matrix_people().into_iter().find(|p| p.localpart == "alice").expect("alice");
    let mut wizard = Wizard::new(address, options(server)).expect("valid address");
    wizard.set_credentials(Credentials::new("alice", Secret::new(alice.password)));
    match wizard.next().await.expect("connects") {
        Step::Connected(connected) => connected,
        Step::Decide(decision) => panic!("{address}: nothing to decide at the proxy portal: {decision:?}"),
    }
}

#[tokio::test]
async fn s1_the_matrix_proxy_portal_takes_four_round_trips() {
    let server = lookup(Scenario::default()).await;
    let portal = server.matrix_portal_url().clone();
    let name = format!("{}:{}", portal.host_str().expect("host"), portal.port().expect("port"));
    for (address, first) in [
        (format!("alice@{name}"), &["/.well-known/matrix/client", "GET /status.php"][..]),
        (format!("@alice:{name}"), &["/.well-known/matrix/client"][..]),
    ] {
        let connected = matrix_connect(&server, &address).await;
        assert_rounds(
            &connected,
            &[
                first,
                &["GET /_matrix/client/versions", "GET /_matrix/client/v3/login"],
                &["POST /_matrix/client/v3/login"],
                &["/account/whoami", "/profile/", "GET /_matrix/client/versions"],
            ],
            &format!("S1, {address}"),
        );
    }
}

#[tokio::test]
async fn s2_ocis_with_an_instance_chosen_takes_five_round_trips() {
    let server = lookup(Scenario::default()).await;
    let connected =
        connect_oidc(&server, server.ocis_url().as_str(), options(&server), "marie", "radioactivity", Some("B"))
            .await
            .expect("marie connects at B");
    assert_rounds(
        &connected,
        &[
            &["GET /status.php", "PROPFIND /remote.php/webdav", "GET /.well-known/webfinger"],
            &["/.well-known/openid-configuration"],
            // The goal put the keys beside a registration: oCIS's IdP has none, so
            // beside the token they save a round of their own.
            &["POST /token", "/jwks"],
            &["/userinfo", "GET /.well-known/webfinger"],
            &["PROPFIND /remote.php/webdav", "/cloud/user"],
        ],
        "S2, oCIS with an instance chosen",
    );
}

#[tokio::test]
async fn s3_a_tenant_by_host_takes_five_round_trips() {
    let server = lookup(Scenario::default()).await;
    let tenant = server.tenant_urls()["tenant1"].to_string();
    let connected = connect_oidc(&server, &tenant, tenant_options(&server), "einstein", "relativity", None)
        .await
        .expect("tenant1 connects");
    assert_rounds(
        &connected,
        &[
            &["GET /status.php", "PROPFIND /remote.php/webdav"],
            &["/.well-known/openid-configuration"],
            &["POST /register"],
            &["POST /token", "/jwks"],
            // The ID token names einstein, as typed: the approuter's verification goes beside.
            &["/userinfo", "PROPFIND /remote.php/webdav", "/cloud/user"],
        ],
        "S3, tenant by host",
    );
}

/// Per round, how many requests went to `origin`: the most is the connections a client needs
/// there (HTTP/1.1 carries one request at a time per connection); every other request can go
/// over a connection kept alive.
fn most_at_once(trace: &[Exchange], origin: &Origin) -> (u64, u64) {
    let mut per_round: std::collections::BTreeMap<u32, u64> = std::collections::BTreeMap::new();
    for exchange in trace {
        if &Origin::of(&url::Url::parse(&exchange.url).expect("a recorded URL")) == origin {
            *per_round.entry(exchange.round).or_default() += 1;
        }
    }
    (per_round.values().copied().max().unwrap_or_default(), per_round.values().sum())
}

#[tokio::test]
async fn a_wizard_keeps_its_connections_alive_between_rounds() {
    let server = lookup(Scenario::default()).await;
    let portal = server.matrix_portal_url().clone();
    let name = format!("{}:{}", portal.host_str().expect("host"), portal.port().expect("port"));
    let connected = matrix_connect(&server, &format!("alice@{name}")).await;
    // The portal only: it proxies the login to the homeserver over connections of its own.
    let opened = server.connections().get("matrix-proxy").copied().unwrap_or_default();
    let (needed, sent) = most_at_once(&connected.trace, &Origin::of(&portal));
    assert!(
        opened <= needed && needed < sent,
        "S1 sent {sent} requests to the portal over {opened} connections: at most {needed} (one per request at \
         once), the rest kept alive ({:?})",
        server.connections()
    );
}

/// Over TLS the lookup server offers HTTP/2 by ALPN and the engine takes it: each round's
/// requests to an origin go side by side over one connection, which later rounds reuse.
#[tokio::test]
async fn a_wizards_requests_to_one_tls_origin_share_one_http2_connection() {
    let server = lookup(Scenario { tls: true, ..Scenario::default() }).await;
    let connected = connect(&server, "test@instance2.com", PASSWORD, &["instance2"]).await.expect("S0 over TLS");
    let used = server.connections_used();
    for (listener, origin) in
        [("central", Origin::of(server.central_url())), ("instance2", instance_origin(&server, "instance2"))]
    {
        let (at_once, sent) = most_at_once(&connected.trace, &origin);
        assert!(at_once > 1, "the S0 rounds send several requests to {listener} at once: {at_once} of {sent}");
        assert_eq!(
            used.get(listener).copied().unwrap_or_default(),
            homeport_lookup::ConnectionsUsed { http1: 0, http2: 1 },
            "{listener}: {sent} requests ({at_once} at once) over one HTTP/2 connection; used {used:?}, accepted {:?}",
            server.connections()
        );
    }
}

#[tokio::test]
async fn nextcloud_with_a_password_up_front_takes_four_round_trips() {
    let server = lookup(Scenario::default()).await;
    let alice = server.nextcloud_people().into_iter().find(|p| p.login == "alice").expect("alice");
    let mut wizard = Wizard::new(server.nextcloud_gss_url().as_str(), options(&server)).expect("valid address");
    wizard.set_credentials(Credentials::new("alice", Secret::new(alice.password)));
    let step = wizard.next().await.expect("probe");
    let Step::Decide(homeport_engine::Decision::ConfirmRedirect { to, .. }) = step else { panic!("{step:?}") };
    wizard.approve_origin(to);
    let Step::Connected(connected) = wizard.next().await.expect("verified") else { panic!("connected") };
    assert_rounds(
        &connected,
        &[
            &["GET /status.php", "PROPFIND /remote.php/webdav"],
            // Alone: a Nextcloud password becomes an app password before anything else is sent.
            &["PROPFIND /remote.php/webdav"],
            &["/core/getapppassword"],
            &["PROPFIND /remote.php/dav/files/", "/cloud/capabilities", "/cloud/user", "/avatars/"],
        ],
        "Nextcloud Global Scale, password up front",
    );
}

#[tokio::test]
async fn a_tenants_token_waits_for_the_person_when_the_provider_logged_in_someone_else() {
    let server = lookup(Scenario::default()).await;
    let tenant = server.tenant_urls()["tenant1"].to_string();
    let mut wizard = Wizard::new(&tenant, tenant_options(&server)).expect("valid address");
    wizard.set_login_hint("einstein");
    let Step::Decide(homeport_engine::Decision::OpenBrowser { url, .. }) = wizard.next().await.expect("probe") else {
        panic!("a tenant logs in in the browser")
    };
    let url = url::Url::parse(&url).expect("a URL");
    let raced = homeport_lookup::while_browser_logs_in(wizard.next(), &url, "marie", "radioactivity")
        .await
        .expect("the robot logs in");
    let step = raced.outcome.expect("logged in");
    assert!(matches!(step, Step::Decide(homeport_engine::Decision::ConfirmUser { .. })), "{step:?}");
    let with_token: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.server.starts_with("tenants") && r.has_authorization)
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(with_token.is_empty(), "marie's token went to the approuter before the person answered: {with_token:?}");
}
