//! Nextcloud Global Scale end to end (docs/protocols/nextcloud-login-flow.md): the wizard against
//! the lookup server's Global Site Selector and its two nodes — Login Flow v2 with the login
//! robot in the browser's place, the node approved as every new origin is, a password given up
//! front converted to an app password, the faults; the keyring and remove against the real
//! Secret Service.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use homeport_engine::ops::{self, ReverifyOptions, Revocation, Revoked};
use homeport_engine::redirect::RedirectRefusal;
use homeport_engine::wizard::{LoginFlowTiming, Protocol};
use homeport_engine::{
    AccountKind, AccountStore, AuthMethod, ConnectError, Connected, Credentials, Decision, ErrorCode, Origin, Secret,
    Step, Wizard, WizardEvent, WizardOptions,
};
use homeport_lookup::{Fault, LookupServer, Scenario};

use crate::{lookup, options};

/// Polls quickly: the robot grants within a second; the lifetime bounds a test that never gets a grant.
fn fast(server: &LookupServer, lifetime: Duration) -> WizardOptions {
    WizardOptions { login_flow: LoginFlowTiming { interval: Duration::from_millis(50), lifetime }, ..options(server) }
}

fn password_of(server: &LookupServer, login: &str) -> String {
    let person = server.nextcloud_people().into_iter().find(|p| p.login == login);
    person.expect("the lookup server has this Nextcloud person").password.to_owned()
}

fn node_origin(server: &LookupServer, node: &str) -> Origin {
    Origin::of(&server.nextcloud_node_urls()[node])
}

/// The wizard's first step at the GSS without credentials: Login Flow v2's browser page.
async fn open_browser(wizard: &mut Wizard) -> String {
    let step = wizard.next().await.expect("the GSS answers");
    let Step::Decide(Decision::OpenBrowser { url, protocol, issuer_elsewhere, .. }) = step else {
        panic!("Nextcloud without credentials logs in in the browser (Login Flow v2), got {step:?}")
    };
    assert_eq!(protocol, Protocol::Nextcloud, "the decision says which protocol, for the shells' words");
    assert!(!issuer_elsewhere, "the login page is on the GSS itself");
    url
}

/// The next step, while the login robot logs in and grants access at `url` as `user`.
async fn next_while_robot_grants(wizard: &mut Wizard, url: &str, user: &str, password: &str) -> Step {
    let login = url::Url::parse(url).expect("the login URL is a URL");
    let (step, robot) = tokio::join!(wizard.next(), homeport_lookup::auto_login_nextcloud(&login, user, password));
    robot.expect("the robot logs in and grants access on the GSS's pages");
    step.expect("the poll brings the grant")
}

/// Login Flow v2 to the end for `user`: browser, grant, approval of the node.
async fn connect_in_browser(server: &LookupServer, user: &str) -> Box<Connected> {
    let mut wizard = Wizard::new(server.nextcloud_gss_url().as_str(), fast(server, Duration::from_secs(60)))
        .expect("the GSS URL is an address");
    let url = open_browser(&mut wizard).await;
    let step = next_while_robot_grants(&mut wizard, &url, user, &password_of(server, user)).await;
    let Step::Decide(Decision::ConfirmRedirect { to, .. }) = step else { panic!("the node is asked about: {step:?}") };
    wizard.approve_origin(to);
    match wizard.next().await.expect("verified at the node") {
        Step::Connected(connected) => connected,
        other => panic!("approved: connected, got {other:?}"),
    }
}

#[tokio::test]
async fn login_flow_v2_lands_on_the_node_that_holds_the_account_after_it_is_approved() {
    let server = lookup(Scenario::default()).await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    let mut options = fast(&server, Duration::from_secs(60));
    options.observer = Some(Arc::new(move |event: &WizardEvent| {
        if let WizardEvent::Step { detail, .. } = event {
            seen.lock().expect("events").push(detail.clone());
        }
    }));
    let mut wizard = Wizard::new(server.nextcloud_gss_url().as_str(), options).expect("the GSS URL is an address");
    let url = open_browser(&mut wizard).await;
    assert!(url.starts_with(server.nextcloud_gss_url().as_str()), "the login page is the GSS's: {url}");
    assert!(
        server.requests().iter().all(|r| !r.has_authorization),
        "nothing was sent with credentials before the person logged in"
    );

    let step = next_while_robot_grants(&mut wizard, &url, "alice", &password_of(&server, "alice")).await;
    let Step::Decide(Decision::ConfirmRedirect { from, to, resends, protocol, .. }) = step else {
        panic!("the node is another origin: it is approved before the app password goes there, got {step:?}")
    };
    assert_eq!(from, Origin::of(server.nextcloud_gss_url()));
    assert_eq!(to, node_origin(&server, "node1"), "alice lives on node1");
    assert_eq!(
        (resends, protocol),
        (homeport_engine::Resent::AppPassword, Protocol::Nextcloud),
        "the grant's app password"
    );
    assert!(
        server.requests().iter().all(|r| r.server != "nextcloud-node1"),
        "nothing went to the node before it was approved"
    );

    wizard.approve_origin(to);
    let Step::Connected(connected) = wizard.next().await.expect("verified") else { panic!("approved: connected") };
    let account = &connected.account;
    assert_eq!(account.kind, AccountKind::Nextcloud, "status.php says Nextcloud");
    assert_eq!(account.auth_method, AuthMethod::AppPassword);
    assert_eq!(account.instance_url.as_url(), &server.nextcloud_node_urls()["node1"], "the account lives on node1");
    assert_eq!(account.server_url.as_url(), server.nextcloud_gss_url(), "the GSS is remembered as typed");
    assert_eq!((account.login_name.as_str(), account.user_id.as_str()), ("alice", "alice"));
    assert_eq!(account.product, "Nextcloud");
    assert_ne!(connected.secret.expose(), password_of(&server, "alice"), "the secret is the app password");
    assert!(!connected.secret.is_empty());
    let at_node: Vec<_> = server.requests().into_iter().filter(|r| r.server == "nextcloud-node1").collect();
    assert!(
        at_node.iter().all(|r| r.basic_user.as_deref() == Some("alice")),
        "every request at the node logs in as alice: {at_node:?}"
    );
    assert!(at_node.iter().any(|r| r.method == "PROPFIND"), "verified with a PROPFIND: {at_node:?}");
    assert!(at_node.iter().any(|r| r.path.contains("cloud/user")), "and OCS user: {at_node:?}");
    let events = events.lock().expect("events").clone();
    assert!(
        events.iter().any(|e| e.contains("waiting for you to log in in the browser")),
        "the wait is announced for the CLI and the desktop: {events:?}"
    );
}

#[tokio::test]
async fn bob_lands_on_node2() {
    let server = lookup(Scenario::default()).await;
    let connected = connect_in_browser(&server, "bob").await;
    assert_eq!(connected.account.instance_url.as_url(), &server.nextcloud_node_urls()["node2"], "bob lives on node2");
}

#[tokio::test]
async fn declining_the_node_sends_nothing_there() {
    let server = lookup(Scenario::default()).await;
    let mut wizard =
        Wizard::new(server.nextcloud_gss_url().as_str(), fast(&server, Duration::from_secs(60))).expect("address");
    let url = open_browser(&mut wizard).await;
    let step = next_while_robot_grants(&mut wizard, &url, "alice", &password_of(&server, "alice")).await;
    let Step::Decide(decision @ Decision::ConfirmRedirect { .. }) = step else { panic!("asked: {step:?}") };
    let refusal = wizard.answer(homeport_engine::Answer::Decline).expect_err("declined");
    assert!(
        matches!(&refusal, ConnectError::RedirectRefused(RedirectRefusal::NotApproved { .. })),
        "{refusal:?} for {decision:?}"
    );
    assert!(server.requests().iter().all(|r| r.server != "nextcloud-node1"), "the app password never left");
}

#[tokio::test]
async fn a_password_given_up_front_follows_the_redirect_and_becomes_an_app_password() {
    let server = lookup(Scenario::default()).await;
    let password = password_of(&server, "alice");
    let mut wizard =
        Wizard::new(server.nextcloud_gss_url().as_str(), fast(&server, Duration::from_secs(60))).expect("address");
    wizard.set_credentials(Credentials::new("alice", Secret::new(password.clone())));
    let step = wizard.next().await.expect("probe with the password");
    let Step::Decide(Decision::ConfirmRedirect { to, protocol, .. }) = step else {
        panic!("the GSS redirects the WebDAV login to the node: asked, as every new origin, got {step:?}")
    };
    assert_eq!((to.clone(), protocol), (node_origin(&server, "node1"), Protocol::Nextcloud));
    wizard.approve_origin(to);
    let Step::Connected(connected) = wizard.next().await.expect("converted and verified") else { panic!("connected") };
    assert_eq!(connected.account.auth_method, AuthMethod::AppPassword);
    assert_eq!(connected.account.kind, AccountKind::Nextcloud);
    assert_eq!(connected.account.instance_url.as_url(), &server.nextcloud_node_urls()["node1"]);
    assert_ne!(connected.secret.expose(), password, "only the app password is kept, never the account password");
    assert!(
        server.requests().iter().any(|r| r.server == "nextcloud-node1" && r.path.contains("core/getapppassword")),
        "the node converted the password"
    );
}

#[tokio::test]
async fn a_wrong_password_up_front_is_auth_failed() {
    let server = lookup(Scenario::default()).await;
    let mut wizard =
        Wizard::new(server.nextcloud_gss_url().as_str(), fast(&server, Duration::from_secs(60))).expect("address");
    wizard.set_credentials(Credentials::new("alice", Secret::new("wrong")));
    wizard.approve_origin(node_origin(&server, "node1"));
    let error = loop {
        match wizard.next().await {
            Ok(Step::Decide(Decision::ConfirmRedirect { to, .. })) => wizard.approve_origin(to),
            Ok(other) => panic!("a wrong password connects nothing: {other:?}"),
            Err(error) => break error,
        }
    };
    assert_eq!(error.code(), ErrorCode::AuthFailed, "{error:?}");
}

#[tokio::test]
async fn an_expired_flow_ends_with_a_timeout_within_the_lifetime() {
    let server = lookup(Scenario { fault: Some(Fault::NextcloudFlowExpired), ..Scenario::default() }).await;
    let mut wizard =
        Wizard::new(server.nextcloud_gss_url().as_str(), fast(&server, Duration::from_millis(400))).expect("address");
    open_browser(&mut wizard).await;
    let started = std::time::Instant::now();
    let error = wizard.next().await.expect_err("the poll never grants");
    assert!(matches!(error, ConnectError::BrowserLoginTimedOut { .. }), "a typed timeout: {error:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "bounded by the flow's lifetime: {:?}", started.elapsed());
    let polls = server.requests().iter().filter(|r| r.path.contains("login/v2/poll")).count();
    assert!(polls >= 1, "it polled meanwhile");
}

#[tokio::test]
async fn a_poll_answering_500_is_a_protocol_error() {
    let server = lookup(Scenario { fault: Some(Fault::NextcloudPollError), ..Scenario::default() }).await;
    let mut wizard =
        Wizard::new(server.nextcloud_gss_url().as_str(), fast(&server, Duration::from_secs(60))).expect("address");
    open_browser(&mut wizard).await;
    let error = wizard.next().await.expect_err("500 is not a grant");
    assert!(matches!(error, ConnectError::UnexpectedStatus { status: 500, .. }), "{error:?}");
    assert_eq!(error.code(), ErrorCode::Protocol);
}

#[tokio::test]
async fn a_node_that_is_down_is_unreachable_after_the_grant() {
    let server = lookup(Scenario { fault: Some(Fault::NextcloudNodeDown), ..Scenario::default() }).await;
    let mut wizard =
        Wizard::new(server.nextcloud_gss_url().as_str(), fast(&server, Duration::from_secs(60))).expect("address");
    let url = open_browser(&mut wizard).await;
    let step = next_while_robot_grants(&mut wizard, &url, "alice", &password_of(&server, "alice")).await;
    let Step::Decide(Decision::ConfirmRedirect { to, .. }) = step else { panic!("asked: {step:?}") };
    wizard.approve_origin(to);
    let error = wizard.next().await.expect_err("the node is down");
    assert_eq!(error.code(), ErrorCode::Unreachable, "{error:?}");
}

/// The keyring holds the app password (never the account password); re-verify uses it at the
/// node; remove deletes it at the node, so it stops working there.
#[tokio::test]
async fn the_keyring_holds_the_app_password_and_remove_deletes_it_at_the_node() {
    let server = lookup(Scenario::default()).await;
    let connected = connect_in_browser(&server, "alice").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = AccountStore::at(dir.path());
    let (account, secret) = (connected.account.clone(), connected.secret.clone());
    {
        let (store, account, secret) = (store.clone(), account.clone(), secret.clone());
        tokio::task::spawn_blocking(move || store.save(&account, &secret))
            .await
            .expect("join")
            .expect("saving needs a working Secret Service: run the README test command");
    }
    let kept = store.secret(&account.id).expect("the keyring has the secret");
    assert_eq!(kept.expose(), secret.expose(), "the keyring holds the app password");
    assert_ne!(kept.expose(), password_of(&server, "alice"), "and never the account password");

    let reverify = ReverifyOptions { wizard: fast(&server, Duration::from_secs(60)), approve: Vec::new() };
    let verified = ops::reverify(&store, &account.id, reverify).await.expect("re-verified with the app password");
    assert_eq!(verified.account.instance_url, account.instance_url, "at the node");
    assert!(
        server.requests().iter().filter(|r| r.server == "nextcloud-gss").all(|r| !r.has_authorization),
        "the app password never went to the GSS"
    );

    let removed = ops::remove(&store, &account.id, fast(&server, Duration::from_secs(1)).http).await.expect("removed");
    assert_eq!(
        removed.revocation,
        Some(Revocation::Deleted { server: account.instance_url.to_string(), what: Revoked::AppPassword }),
        "the node deleted the app password"
    );
    assert!(store.list().expect("list").is_empty(), "gone from accounts.json");
    assert!(store.secret(&account.id).is_err(), "gone from the keyring");
    let deleted = server.requests().into_iter().find(|r| r.method == "DELETE" && r.path.contains("core/apppassword"));
    assert_eq!(deleted.map(|r| r.server), Some("nextcloud-node1".to_owned()), "deleted at the node that made it");
    // The app password works nowhere now: a re-verify with it is refused at the node.
    let mut again = Wizard::for_account(&account, secret, fast(&server, Duration::from_secs(60))).expect("wizard");
    let refused = again.next().await.expect_err("the deleted app password is refused");
    assert_eq!(refused.code(), ErrorCode::AuthFailed, "{refused:?}");
}

#[tokio::test]
async fn remove_says_so_when_the_node_could_not_delete_the_app_password_and_removes_the_account_anyway() {
    let server = lookup(Scenario::default()).await;
    let connected = connect_in_browser(&server, "bob").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = AccountStore::at(dir.path());
    store.save(&connected.account, &connected.secret).expect("saving needs a working Secret Service");
    let http = fast(&server, Duration::from_secs(1)).http;
    drop(server);
    let removed = ops::remove(&store, &connected.account.id, http).await.expect("removed here all the same");
    assert!(
        matches!(&removed.revocation, Some(Revocation::Failed { reason, what: Revoked::AppPassword, .. }) if !reason.is_empty()),
        "the node is gone: the result says the app password was not deleted: {:?}",
        removed.revocation
    );
    assert!(store.list().expect("list").is_empty(), "the account is removed locally");
}

/// "Check now" polls at once: with a minute's interval the grant arrives within seconds.
#[tokio::test]
async fn check_now_polls_at_once_instead_of_after_the_interval() {
    let server = lookup(Scenario::default()).await;
    let check = homeport_engine::wizard::CheckNow::new();
    let options = WizardOptions {
        login_flow: LoginFlowTiming { interval: Duration::from_secs(60), lifetime: Duration::from_secs(300) },
        login_flow_check: check.clone(),
        ..options(&server)
    };
    let mut wizard = Wizard::new(server.nextcloud_gss_url().as_str(), options).expect("address");
    let url = url::Url::parse(&open_browser(&mut wizard).await).expect("a URL");
    let password = password_of(&server, "alice");
    let granting = async {
        homeport_lookup::auto_login_nextcloud(&url, "alice", &password).await.expect("granted");
        check.check_now();
    };
    let (step, ()) = tokio::time::timeout(Duration::from_secs(20), async { tokio::join!(wizard.next(), granting) })
        .await
        .expect("check now does not wait for the minute's interval");
    let step = step.expect("the grant");
    assert!(matches!(step, Step::Decide(Decision::ConfirmRedirect { .. })), "the node is asked about: {step:?}");
}
