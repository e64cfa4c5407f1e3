//! Matrix behind an MSC1730 portal (docs/protocols/matrix-msc1730.md) end to end: the wizard
//! against the lookup server's Matrix portals (proxy and 307 mode) and homeservers over loopback.

use std::sync::{Arc, Mutex};

use homeport_engine::{
    AccountKind, AuthMethod, ConnectError, Connected, Credentials, Decision, Origin, Participant, Secret, Step, Wizard,
    WizardEvent, WizardOptions,
};
use homeport_lookup::{complete_browser_login, Fault, LookupServer, MatrixPerson, Scenario};
use url::Url;

use crate::{lookup, options};

fn person(server: &LookupServer, localpart: &str) -> MatrixPerson {
    server.matrix_people().into_iter().find(|p| p.localpart == localpart).expect("a demo Matrix user")
}

/// A portal's server name: `host:port`.
fn server_name(portal: &Url) -> String {
    format!("{}:{}", portal.host_str().expect("host"), portal.port().expect("port"))
}

/// `@user:host:port` for a portal URL.
fn matrix_id(localpart: &str, portal: &Url) -> String {
    format!("@{localpart}:{}", server_name(portal))
}

fn hs_origin(server: &LookupServer, name: &str) -> Origin {
    Origin::of(&server.matrix_homeserver_urls()[name])
}

/// Logins (POST /login) a server of the lookup server received.
fn logins_at(server: &LookupServer, name: &str) -> usize {
    server.matrix_login_posts(name)
}

/// Runs the wizard with credentials up front; `approve` origins may receive the login.
async fn connect(
    address: &str,
    options: WizardOptions,
    user: &str,
    password: &str,
    approve: &[Origin],
) -> Result<Box<Connected>, ConnectError> {
    let mut wizard = Wizard::new(address, options)?;
    wizard.set_credentials(Credentials::new(user, Secret::new(password)));
    for origin in approve {
        wizard.approve_origin(origin.clone());
    }
    match wizard.next().await? {
        Step::Connected(connected) => Ok(connected),
        Step::Decide(decision) => Err(decision.declined()),
    }
}

#[tokio::test]
async fn the_proxy_portal_switches_the_client_to_the_homeserver_it_names() {
    let server = lookup(Scenario::default()).await;
    let portal = server.matrix_portal_url().clone();
    let alice = person(&server, "alice");
    for address in [matrix_id("alice", &portal), format!("alice@{}", server_name(&portal)), portal.to_string()] {
        let connected = connect(&address, options(&server), "alice", alice.password, &[])
            .await
            .unwrap_or_else(|e| panic!("{address} connects: {e}"));
        let account = &connected.account;
        assert_eq!((account.kind, account.auth_method), (AccountKind::Matrix, AuthMethod::MatrixPassword));
        assert_eq!(account.user_id, alice.user_id, "{address}: whoami's user");
        assert_eq!(account.display_name, alice.display_name, "{address}: the profile's display name");
        assert_eq!(
            account.instance_url.as_url(),
            &server.matrix_homeserver_urls()["hs1"],
            "{address}: alice is on hs1"
        );
        assert_eq!(account.server_url.as_url(), &portal, "{address}: the portal is remembered");
        assert!(account.matrix.as_ref().is_some_and(|m| !m.device_id.is_empty()), "a device id");
        assert!(connected.redirects.is_empty(), "proxy mode: no redirect, the answer names the homeserver");
        let whoami = connected.trace.iter().find(|e| e.url.ends_with("/account/whoami")).expect("whoami");
        assert_eq!((whoami.to, whoami.status), (Participant::Instance, Some(200)), "verified at the homeserver");
        let tokens: serde_json::Value = serde_json::from_str(connected.secret.expose()).expect("tokens as JSON");
        assert!(tokens["access_token"].as_str().is_some_and(|t| !t.is_empty()), "the access token is the secret");
        let trace = serde_json::to_string(&connected.trace).expect("trace");
        assert!(!trace.contains(alice.password), "no password in the trace");
        assert!(!trace.contains(tokens["access_token"].as_str().unwrap_or("-")), "no token in the trace");
    }
    assert_eq!(logins_at(&server, "hs2"), 0, "hs2 never saw alice");
    server.shutdown().await;
}

#[tokio::test]
async fn the_307_portal_resends_the_password_only_to_an_approved_homeserver() {
    let server = lookup(Scenario::default()).await;
    let portal = server.matrix_portal_307_url().clone();
    let bob = person(&server, "bob");
    let mut wizard = Wizard::new(&matrix_id("bob", &portal), options(&server)).expect("valid address");
    let step = wizard.next().await.expect("discovery");
    assert!(matches!(step, Step::Decide(Decision::NeedsCredentials { .. })), "asks for the password: {step:?}");
    wizard.set_credentials(Credentials::new("bob", Secret::new(bob.password)));
    let step = wizard.next().await.expect("the portal answers");
    let Step::Decide(Decision::ConfirmRedirect { to, status, .. }) = step else {
        panic!("a 307 is a decision: {step:?}")
    };
    assert_eq!((to.clone(), status), (hs_origin(&server, "hs2"), 307), "bob's homeserver");
    assert_eq!(logins_at(&server, "hs2"), 0, "the password has not reached hs2 before approval");
    wizard.approve_origin(to);
    let Step::Connected(connected) = wizard.next().await.expect("approved") else { panic!("connected") };
    assert_eq!(connected.account.instance_url.as_url(), &server.matrix_homeserver_urls()["hs2"]);
    assert_eq!(connected.account.user_id, bob.user_id);
    assert_eq!(connected.redirects.len(), 1, "the 307 hop is shown");
    assert_eq!(logins_at(&server, "hs2"), 1, "one login at hs2, after approval");

    let declined = connect(&matrix_id("bob", &portal), options(&server), "bob", bob.password, &[]).await;
    assert!(matches!(declined, Err(ConnectError::RedirectRefused(_))), "{declined:?}");
    assert_eq!(logins_at(&server, "hs2"), 1, "the unapproved 307 sent nothing to hs2");
    server.shutdown().await;
}

#[tokio::test]
async fn a_wrong_password_asks_again_and_a_deactivated_account_is_named() {
    let server = lookup(Scenario::default()).await;
    let portal = server.matrix_portal_url().clone();
    let mut wizard = Wizard::new(&matrix_id("alice", &portal), options(&server)).expect("valid address");
    wizard.set_credentials(Credentials::new("alice", Secret::new("wrong")));
    let error = wizard.next().await.expect_err("M_FORBIDDEN");
    assert!(matches!(error, ConnectError::AuthFailed { .. }), "{error:?}");
    let again = wizard.next().await.expect("still alive");
    assert!(matches!(again, Step::Decide(Decision::NeedsCredentials { .. })), "the form again: {again:?}");
    wizard.set_credentials(Credentials::new("alice", Secret::new(person(&server, "alice").password)));
    assert!(matches!(wizard.next().await, Ok(Step::Connected(_))), "the right password connects");

    let dave = person(&server, "dave");
    assert!(dave.deactivated, "dave is the deactivated demo user");
    let error = connect(&matrix_id("dave", &portal), options(&server), "dave", dave.password, &[]).await;
    assert!(matches!(error, Err(ConnectError::AccountDeactivated { .. })), "M_USER_DEACTIVATED: {error:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_once_visibly() {
    let server = lookup(Scenario::default()).await;
    let portal = server.matrix_portal_url().clone();
    let carol = person(&server, "carol");
    assert!(carol.rate_limited, "carol is the rate-limited demo user");
    let steps = Arc::new(Mutex::new(Vec::new()));
    let seen = steps.clone();
    let observer: homeport_engine::Observer = Arc::new(move |event: &WizardEvent| {
        if let WizardEvent::Step { detail, .. } = event {
            seen.lock().expect("lock").push(detail.clone());
        }
    });
    let options = WizardOptions { observer: Some(observer), ..options(&server) };
    let connected =
        connect(&matrix_id("carol", &portal), options, "carol", carol.password, &[]).await.expect("the retry works");
    let logins: Vec<Option<u16>> =
        connected.trace.iter().filter(|e| e.method == "POST" && e.url.ends_with("/login")).map(|e| e.status).collect();
    assert_eq!(logins, [Some(429), Some(200)], "limited, then logged in");
    let steps = steps.lock().expect("lock").join("\n");
    assert!(steps.contains("asks to wait"), "the wait is shown: {steps}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_portal_naming_a_broken_homeserver_is_refused() {
    let server = lookup(Scenario { fault: Some(Fault::MatrixBadBaseUrl), ..Scenario::default() }).await;
    let portal = server.matrix_portal_url().clone();
    let alice = person(&server, "alice");
    let error = connect(&matrix_id("alice", &portal), options(&server), "alice", alice.password, &[]).await;
    assert!(matches!(error, Err(ConnectError::HomeserverUnusable { .. })), "{error:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn sso_in_the_browser_brings_back_a_login_token_at_both_portals() {
    let server = lookup(Scenario::default()).await;
    for (portal, approve) in
        [(server.matrix_portal_url().clone(), false), (server.matrix_portal_307_url().clone(), true)]
    {
        let alice = person(&server, "alice");
        let mut wizard = Wizard::new(&matrix_id("alice", &portal), options(&server)).expect("valid address");
        wizard.prefer_browser_login();
        let Step::Decide(Decision::OpenBrowser { url, .. }) = wizard.next().await.expect("discovery") else {
            panic!("SSO opens the browser")
        };
        let url = Url::parse(&url).expect("URL");
        let redirect = url.query_pairs().find(|(k, _)| k == "redirectUrl").map(|(_, v)| v.into_owned());
        assert!(redirect.is_some_and(|r| r.starts_with("http://127.0.0.1:")), "back to a loopback listener: {url}");
        let robot = tokio::spawn(async move { complete_browser_login(&url, "alice", alice.password).await });
        let mut step = wizard.next().await.expect("the token login");
        assert_eq!(robot.await.expect("robot").expect("the robot logs in"), 200, "the listener answered");
        if approve {
            let Step::Decide(Decision::ConfirmRedirect { to, .. }) = step else {
                panic!("307: approve first: {step:?}")
            };
            assert_eq!(to, hs_origin(&server, "hs1"));
            wizard.approve_origin(to);
            step = wizard.next().await.expect("approved");
        }
        let Step::Connected(connected) = step else { panic!("connected via SSO: {step:?}") };
        assert_eq!(connected.account.auth_method, AuthMethod::MatrixSso, "{portal}");
        assert_eq!(connected.account.instance_url.as_url(), &server.matrix_homeserver_urls()["hs1"], "{portal}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_stored_matrix_account_is_re_verified_with_its_token() {
    let server = lookup(Scenario::default()).await;
    let portal = server.matrix_portal_url().clone();
    let alice = person(&server, "alice");
    let connected =
        connect(&matrix_id("alice", &portal), options(&server), "alice", alice.password, &[]).await.expect("connected");
    let logins = logins_at(&server, "matrix-proxy");
    let mut wizard =
        Wizard::for_account(&connected.account, connected.secret.clone(), options(&server)).expect("re-verify");
    let Step::Connected(again) = wizard.next().await.expect("whoami") else { panic!("no question") };
    assert_eq!(again.account.user_id, alice.user_id);
    assert_eq!(logins_at(&server, "matrix-proxy"), logins, "no new login for a re-verify");

    let mut broken =
        Wizard::for_account(&connected.account, Secret::new(r#"{"access_token":"forged"}"#), options(&server))
            .expect("wizard");
    assert!(matches!(broken.next().await, Err(ConnectError::LoginExpired { .. })), "an unknown token: log in again");
    server.shutdown().await;
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_with_the_refresh_token_the_login_gave() {
    let lifetime = std::time::Duration::from_millis(500);
    let server = lookup(Scenario { token_lifetime: lifetime, ..Scenario::default() }).await;
    let portal = server.matrix_portal_url().clone();
    let alice = person(&server, "alice");
    let connected =
        connect(&matrix_id("alice", &portal), options(&server), "alice", alice.password, &[]).await.expect("connected");
    tokio::time::sleep(lifetime * 2).await;
    let mut wizard =
        Wizard::for_account(&connected.account, connected.secret.clone(), options(&server)).expect("re-verify");
    let Step::Connected(again) = wizard.next().await.expect("refreshed, then whoami") else { panic!("no question") };
    assert_eq!(again.account.user_id, alice.user_id);
    let refreshes = server.requests().into_iter().filter(|r| r.path.ends_with("/_matrix/client/v3/refresh")).count();
    assert_eq!(refreshes, 1, "one refresh at the homeserver");
    assert_ne!(again.secret.expose(), connected.secret.expose(), "the new tokens are what is stored now");

    // The old refresh token was rotated away: a copy of the old secret cannot refresh again.
    tokio::time::sleep(lifetime * 2).await;
    let mut stale =
        Wizard::for_account(&connected.account, connected.secret.clone(), options(&server)).expect("wizard");
    assert!(matches!(stale.next().await, Err(ConnectError::LoginExpired { .. })), "a used refresh token: log in again");
    server.shutdown().await;
}

#[tokio::test]
async fn remove_logs_a_password_logins_device_out_at_its_homeserver() {
    let server = lookup(Scenario::default()).await;
    let portal = server.matrix_portal_url().clone();
    let alice = person(&server, "alice");
    let connected =
        connect(&matrix_id("alice", &portal), options(&server), "alice", alice.password, &[]).await.expect("connected");
    let dir = tempfile::tempdir().expect("temp dir");
    let store = homeport_engine::AccountStore::at(dir.path());
    store.save(&connected.account, &connected.secret).expect("saving needs a working Secret Service");
    let removed =
        homeport_engine::ops::remove(&store, &connected.account.id, options(&server).http).await.expect("removed");
    assert_eq!(
        removed.revocation,
        Some(homeport_engine::ops::Revocation::Deleted {
            server: connected.account.instance_url.to_string(),
            what: homeport_engine::ops::Revoked::MatrixDevice,
        }),
        "the homeserver logged the device out"
    );
    let logouts = server.requests().into_iter().filter(|r| r.path.ends_with("/_matrix/client/v3/logout")).count();
    assert_eq!(logouts, 1, "one logout, at the homeserver");
    let mut after =
        Wizard::for_account(&connected.account, connected.secret.clone(), options(&server)).expect("wizard");
    assert!(matches!(after.next().await, Err(ConnectError::LoginExpired { .. })), "the device's tokens work no more");
    assert!(store.list().expect("list").is_empty(), "removed here");
    server.shutdown().await;
}
