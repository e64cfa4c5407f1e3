//! The ownCloud redirect (docs/protocols/owncloud-redirect.md) end to end: the wizard against
//! the lookup server, success paths and every refusal.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use homeport_engine::redirect::RedirectRefusal;
use homeport_engine::{
    ConnectError, Credentials, Decision, ErrorCode, NotReady, Origin, Participant, Secret, Step, Wizard, WizardEvent,
    WizardOptions,
};
use homeport_lookup::{Fault, Scenario};

use crate::{connect, instance_origin, lookup, options, PASSWORD};

#[tokio::test]
async fn every_seed_user_reaches_their_instance_in_two_round_trips() {
    let server = lookup(Scenario::default()).await;
    for (n, name) in [(1, "instance1"), (2, "instance2"), (3, "instance3")] {
        let user = format!("test@instance{n}.com");
        let connected = connect(&server, &user, PASSWORD, &[name]).await.expect("the seed user connects");
        let account = &connected.account;
        assert_eq!(account.instance_url.as_url(), &server.instance_urls()[name], "{user} lives on {name}");
        assert_eq!(account.server_url.as_url(), server.central_url(), "the central server is remembered");
        assert_eq!(account.user_id, user, "ocs.data.id");
        assert!(account.display_name.starts_with("Test User"), "ocs.data.display-name: {}", account.display_name);
        assert!(account.redirect_permanent, "the default redirect is 301, permanent");
        assert_eq!(connected.round_trips, 2, "status+PROPFIND, then PROPFIND+capabilities+user+avatar at the instance");
        assert_eq!(connected.avatar.is_some(), n == 1, "only instance1 has an avatar; 404 means initials");
        assert_eq!(account.product, "ownCloud");
    }
}

#[tokio::test]
async fn without_credentials_the_wizard_asks_then_asks_about_the_redirect() {
    let server = lookup(Scenario::default()).await;
    let mut wizard = Wizard::new(server.central_url().as_str(), options(&server)).expect("valid address");
    let Step::Decide(Decision::NeedsCredentials { realm, product, .. }) = wizard.next().await.expect("probe") else {
        panic!("a 401 to the unauthenticated PROPFIND asks for credentials")
    };
    assert_eq!(realm.as_deref(), Some("ownCloud"), "realm from WWW-Authenticate");
    assert!(product.starts_with("ownCloud"), "status.php was read: {product}");
    assert!(server.requests().iter().all(|r| !r.has_authorization), "nothing sent with credentials before they exist");

    wizard.set_credentials(Credentials::new("test@instance2.com", Secret::new(PASSWORD)));
    let step = wizard.next().await.expect("authenticated PROPFIND");
    let Step::Decide(Decision::ConfirmRedirect { from, to, status, permanent, .. }) = step else {
        panic!("a redirect to another origin is a decision, got {step:?}")
    };
    assert_eq!(to, instance_origin(&server, "instance2"));
    assert_eq!(from, Origin::of(server.central_url()));
    assert_eq!((status, permanent), (301, true));

    wizard.approve_origin(to);
    let Step::Connected(connected) = wizard.next().await.expect("verify") else { panic!("approved: connected") };
    assert_eq!(connected.account.user_id, "test@instance2.com");
    let unauthenticated = connected.trace.iter().filter(|e| e.method == "PROPFIND" && !has_authorization(e)).count();
    assert_eq!(unauthenticated, 1, "auth was detected from one unauthenticated PROPFIND");
    assert!(matches!(wizard.next().await, Err(ConnectError::Finished)), "a finished wizard says so");
}

#[tokio::test]
async fn a_wrong_password_from_the_login_form_asks_again_and_keeps_the_approval() {
    let server = lookup(Scenario::default()).await;
    let mut wizard = Wizard::new(server.central_url().as_str(), options(&server)).expect("valid address");
    assert!(matches!(wizard.next().await, Ok(Step::Decide(Decision::NeedsCredentials { .. }))), "login form");
    wizard.set_credentials(Credentials::new("test@instance2.com", Secret::new("wrong")));
    let Ok(Step::Decide(Decision::ConfirmRedirect { to, .. })) = wizard.next().await else {
        panic!("the central server routes by name alone, so the redirect comes first")
    };
    wizard.approve_origin(to);
    let error = wizard.next().await.expect_err("the instance refuses the password");
    assert_eq!(error.code(), ErrorCode::AuthFailed);

    let retry = wizard.next().await.expect("the wizard is still alive after a wrong password");
    assert!(matches!(retry, Step::Decide(Decision::NeedsCredentials { .. })), "it asks again: {retry:?}");
    wizard.set_credentials(Credentials::new("test@instance2.com", Secret::new(PASSWORD)));
    let step = wizard.next().await.expect("right password");
    let Step::Connected(connected) = step else { panic!("the approved redirect is not asked again: {step:?}") };
    assert_eq!(connected.account.user_id, "test@instance2.com");
}

#[tokio::test]
async fn a_stored_account_is_verified_again_without_questions() {
    let server = lookup(Scenario::default()).await;
    let first = connect(&server, "test@instance3.com", PASSWORD, &["instance3"]).await.expect("connects");
    let mut again = Wizard::for_account(&first.account, Secret::new(PASSWORD), options(&server)).expect("wizard");
    let step = again.next().await.expect("re-verify");
    let Step::Connected(connected) = step else { panic!("the stored instance is pre-approved: {step:?}") };
    assert_eq!(connected.account.id, first.account.id, "the same account");

    let mut stale = Wizard::for_account(&first.account, Secret::new("changed"), options(&server)).expect("wizard");
    let error = stale.next().await.expect_err("a changed password fails");
    assert_eq!(error.code(), ErrorCode::AuthFailed);
}

fn has_authorization(exchange: &homeport_engine::Exchange) -> bool {
    exchange.request_headers.iter().any(|(name, _)| name == "authorization")
}

#[tokio::test]
async fn an_unapproved_redirect_is_refused_and_the_credentials_never_reach_the_instance() {
    let server = lookup(Scenario::default()).await;
    let error = connect(&server, "test@instance2.com", PASSWORD, &[]).await.expect_err("no approval, no connection");
    assert!(
        matches!(&error, ConnectError::RedirectRefused(RedirectRefusal::NotApproved { to }) if *to == instance_origin(&server, "instance2")),
        "refused for lack of approval: {error:?}"
    );
    assert_eq!(error.code(), ErrorCode::PolicyRefused);
    let at_instance: Vec<_> = server.requests().into_iter().filter(|r| r.server == "instance2").collect();
    assert!(at_instance.is_empty(), "instance2 must not have been contacted at all: {at_instance:?}");
    // Approving another origin does not approve this one.
    let error =
        connect(&server, "test@instance2.com", PASSWORD, &["instance3"]).await.expect_err("wrong origin approved");
    assert_eq!(error.code(), ErrorCode::PolicyRefused);
    assert!(server.requests().iter().all(|r| r.server != "instance2"), "still nothing at instance2");
}

#[tokio::test]
async fn a_wrong_password_fails_at_the_instance_that_checks_it() {
    let server = lookup(Scenario::default()).await;
    let error = connect(&server, "test@instance3.com", "wrong", &["instance3"]).await.expect_err("wrong password");
    let ConnectError::AuthFailed { origin, user, at } = &error else { panic!("auth failed expected, got {error:?}") };
    assert_eq!(*origin, instance_origin(&server, "instance3"), "the central only routes; the instance checks");
    assert_eq!((user.as_str(), *at), ("test@instance3.com", Participant::Instance));
    assert_eq!(error.code(), ErrorCode::AuthFailed);
}

#[tokio::test]
async fn an_unknown_domain_is_refused_by_the_central_server() {
    let server = lookup(Scenario::default()).await;
    let error = connect(&server, "test@elsewhere.org", PASSWORD, &[]).await.expect_err("nobody serves elsewhere.org");
    assert!(
        matches!(&error, ConnectError::AuthFailed { at: Participant::Lookup, origin, .. } if *origin == Origin::of(server.central_url())),
        "the central server cannot route the user: {error:?}"
    );
}

#[tokio::test]
async fn a_server_that_is_not_ready_gets_a_distinct_outcome() {
    for (fault, expected) in [
        (Fault::Maintenance, NotReady::Maintenance),
        (Fault::NeedsDbUpgrade, NotReady::NeedsDbUpgrade),
        (Fault::NotInstalled, NotReady::NotInstalled),
    ] {
        let server = lookup(Scenario { fault: Some(fault), ..Scenario::default() }).await;
        let error = connect(&server, "test@instance1.com", PASSWORD, &["instance1"]).await.expect_err("not ready");
        assert!(
            matches!(error, ConnectError::ServerNotReady { reason, .. } if reason == expected),
            "{fault}: expected {expected:?}, got {error:?}"
        );
        assert_eq!(error.code(), ErrorCode::ServerNotReady);
    }
}

#[tokio::test]
async fn a_redirect_loop_is_detected() {
    let server = lookup(Scenario { fault: Some(Fault::RedirectLoop), ..Scenario::default() }).await;
    let error = connect(&server, "test@instance1.com", PASSWORD, &["instance1"]).await.expect_err("endless redirects");
    assert!(matches!(error, ConnectError::RedirectRefused(RedirectRefusal::Loop { .. })), "loop detected: {error:?}");
    // PROPFINDs only: each hop followed has the instance round beside it (docs/benchmarks.md).
    let central = server.requests().iter().filter(|r| r.server == "central" && r.method == "PROPFIND").count();
    assert!(central < 4, "stopped at the first repeat, not at the hop limit ({central} PROPFINDs)");
}

#[tokio::test]
async fn redirect_statuses_keep_propfind_and_only_301_308_are_permanent() {
    for (status, permanent) in [(302, false), (307, false), (308, true)] {
        let server = lookup(Scenario { redirect_status: status, ..Scenario::default() }).await;
        let connected = connect(&server, "test@instance1.com", PASSWORD, &["instance1"]).await.expect("connects");
        assert_eq!(connected.account.redirect_permanent, permanent, "status {status}");
        let first_at_instance =
            server.requests().into_iter().find(|r| r.server == "instance1").expect("instance reached");
        assert_eq!(first_at_instance.method, "PROPFIND", "status {status} keeps the method");
        assert_eq!(first_at_instance.basic_user.as_deref(), Some("test@instance1.com"), "approved: credentials sent");
    }
}

#[tokio::test]
async fn the_path_layout_needs_no_approval_because_the_origin_stays() {
    let server = lookup(Scenario { path_instances: true, ..Scenario::default() }).await;
    let connected = connect(&server, "test@instance3.com", PASSWORD, &[]).await.expect("same origin, no approval");
    let expected = server.central_url().join("instance3/").expect("url");
    assert_eq!(connected.account.instance_url.as_url(), &expected, "base URL = Location minus remote.php/webdav/");
    assert_eq!(connected.round_trips, 2, "the instance round beside the PROPFIND the redirect led to");
}

#[tokio::test]
async fn tls_works_when_trusted_fails_clearly_when_not_and_never_downgrades() {
    let server = lookup(Scenario { tls: true, ..Scenario::default() }).await;
    assert_eq!(server.central_url().scheme(), "https");
    let connected = connect(&server, "test@instance2.com", PASSWORD, &["instance2"]).await.expect("trusted cert");
    assert_eq!(connected.account.instance_url.as_url().scheme(), "https");

    let mut untrusted = Wizard::new(server.central_url().as_str(), WizardOptions::default()).expect("valid address");
    let step = untrusted.next().await.expect("self-signed and not trusted: a decision (certificates.rs)");
    let Step::Decide(decision @ Decision::TrustCertificate { .. }) = step else { panic!("trust it?: {step:?}") };
    assert_eq!(decision.declined().code(), ErrorCode::Tls, "declined: a TLS refusal, not 'unreachable'");

    let server = lookup(Scenario { tls: true, fault: Some(Fault::RedirectToPlainHttp), ..Scenario::default() }).await;
    let error = connect(&server, "test@instance2.com", PASSWORD, &["instance2"]).await.expect_err("downgrade");
    assert!(matches!(error, ConnectError::RedirectRefused(RedirectRefusal::Downgrade { .. })), "{error:?}");
    assert!(server.requests().iter().all(|r| r.server != "instance2"), "nothing was sent over plain http");
}

#[tokio::test]
async fn plain_http_to_a_remote_host_is_a_decision_before_any_request() {
    // example.invalid is never contacted: the decision comes before the first request.
    let mut wizard = Wizard::new("http://example.invalid/", WizardOptions::default()).expect("valid address");
    let step = wizard.next().await.expect("a decision, not an error");
    assert!(matches!(step, Step::Decide(Decision::ConfirmPlainHttp { .. })), "{step:?}");
    assert!(wizard.trace().exchanges().is_empty(), "no request before the person decided");
    let Step::Decide(decision) = step else { unreachable!() };
    assert_eq!(decision.declined().code(), ErrorCode::PolicyRefused);
}

#[tokio::test]
async fn an_unreachable_server_is_a_typed_error() {
    // Bind and drop to find a loopback port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let mut wizard = Wizard::new(&format!("http://127.0.0.1:{port}/"), WizardOptions::default()).expect("valid");
    let error = wizard.next().await.expect_err("nothing listens there");
    assert!(matches!(error, ConnectError::Unreachable { .. }), "{error:?}");
    let first_round = wizard.trace().exchanges().len();
    assert_eq!(first_round, 4, "the first round (status.php, PROPFIND, WebFinger, Matrix's well-known), each failed");
    assert!(wizard.trace().exchanges().iter().all(|e| e.error.is_some() && e.status.is_none()));
    let kinds: Vec<_> = wizard.trace().exchanges().iter().map(|e| e.error_kind).collect();
    assert!(
        kinds.iter().all(|kind| *kind == Some(homeport_engine::TransportErrorKind::ConnectionRefused)),
        "each exchange's failure is typed beside its raw text, for the desktop's languages: {kinds:?}"
    );
}

#[tokio::test]
async fn the_trace_names_participants_and_never_holds_a_secret() {
    let server = lookup(Scenario::default()).await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let observer: homeport_engine::Observer = Arc::new(move |event: &WizardEvent| {
        sink.lock().expect("observer lock").push(serde_json::to_string(event).expect("events serialize"));
    });
    let mut wizard =
        Wizard::new(server.central_url().as_str(), WizardOptions { observer: Some(observer), ..options(&server) })
            .expect("valid address");
    wizard.set_credentials(Credentials::new("test@instance1.com", Secret::new(PASSWORD)));
    wizard.approve_origin(instance_origin(&server, "instance1"));
    let Step::Connected(connected) = wizard.next().await.expect("connects") else { panic!("approved up front") };

    let participants: Vec<Participant> = connected.trace.iter().map(|e| e.to).collect();
    assert_eq!(
        &participants[..4],
        &[Participant::Lookup; 4],
        "the first round at the lookup: status.php, PROPFIND, WebFinger, Matrix's well-known"
    );
    assert!(
        participants[4..].iter().all(|p| *p == Participant::Instance),
        "the rest at the instance: {participants:?}"
    );
    let sent = "status, PROPFIND→301, WebFinger, well-known, PROPFIND→207, capabilities, user, avatar";
    assert_eq!(connected.trace.len(), 8, "{sent}");
    assert!(connected.trace.iter().all(|e| e.status.is_some() && e.duration_ms >= 0.0));

    let everything = format!(
        "{}\n{}",
        serde_json::to_string(&connected.trace).expect("trace"),
        events.lock().expect("lock").join("\n")
    );
    let basic = "dGVzdEBpbnN0YW5jZTEuY29tOnNlY3JldA=="; // base64("test@instance1.com:secret")
    assert!(!everything.contains(PASSWORD) && !everything.contains(basic), "a secret leaked into the trace");
    assert!(everything.contains("Basic [redacted]"), "the Authorization header is shown, redacted");
    assert!(everything.contains("\"step\":\"verify\""), "steps are reported live");
    assert_eq!(events.lock().expect("lock").iter().filter(|e| e.contains("\"event\":\"exchange\"")).count(), 8);
}

#[tokio::test]
async fn latency_shows_in_timing_not_in_round_trips() {
    let latency = Duration::from_millis(60);
    let server = lookup(Scenario { latency, ..Scenario::default() }).await;
    let connected = connect(&server, "test@instance2.com", PASSWORD, &["instance2"]).await.expect("connects");
    assert_eq!(connected.round_trips, 2, "latency changes no round trip");
    let slowest = connected.trace.iter().map(|e| e.duration_ms).fold(0.0, f64::max);
    assert!(slowest >= 60.0, "each exchange waited for the server's latency: {slowest} ms");
}

#[tokio::test]
async fn names_under_localhost_reach_loopback_without_dns() {
    let server = lookup(Scenario::default()).await;
    let port = server.central_url().port().expect("a port");
    // RFC 6761: tenant-style hosts like tenant1.approuter.localhost are loopback by definition.
    let address = format!("http://central.homeport.localhost:{port}/");
    let mut wizard = Wizard::new(&address, options(&server)).expect("a loopback address needs no plain-http consent");
    let step = wizard.next().await.expect("the lookup server answers under a .localhost name");
    assert!(matches!(step, Step::Decide(Decision::NeedsCredentials { .. })), "probe reached the server: {step:?}");
}
