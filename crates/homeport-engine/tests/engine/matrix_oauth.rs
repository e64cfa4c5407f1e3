//! Matrix's OAuth 2.0 API (docs/protocols/matrix-oauth.md) end to end: the wizard against the
//! lookup server's OAuth-only homeserver, whose authorization server is the lookup IdP's Matrix
//! zone (MAS-like): discovery, registration (remembered), the browser login, whoami, refresh,
//! revocation at remove, and the faults.

use std::sync::Arc;

use homeport_engine::oidc_client::{ClientMemory, ClientSettings};
use homeport_engine::ops::{self, Revocation, Revoked};
use homeport_engine::wizard::Protocol;
use homeport_engine::{
    AccountKind, AccountStore, AuthMethod, ConnectError, Connected, Decision, Step, Wizard, WizardOptions,
};
use homeport_lookup::{complete_browser_login, Fault, LookupServer, Scenario};
use url::Url;

use crate::oidc::Remembered;
use crate::{lookup, options};

fn einstein(server: &LookupServer) -> String {
    format!("@einstein:{}", server.matrix_oauth_server_name())
}

fn with_memory(server: &LookupServer, memory: &Arc<Remembered>) -> WizardOptions {
    WizardOptions {
        oidc_clients: ClientSettings { profiles: Vec::new(), memory: Some(memory.clone()) },
        ..options(server)
    }
}

/// Typed Matrix ID → the browser (a robot logs in as `user`) → the wizard's next step.
async fn log_in(address: &str, options: WizardOptions, user: &str, password: &str) -> (Wizard, Url, Step) {
    let mut wizard = Wizard::new(address, options).expect("a Matrix ID");
    let step = wizard.next().await.expect("discovery");
    let Step::Decide(Decision::OpenBrowser { url, protocol, issuer_elsewhere, .. }) = step else {
        panic!("an OAuth-only homeserver opens the browser: {step:?}")
    };
    assert_eq!(protocol, Protocol::MatrixOauth, "the Matrix OAuth 2.0 API asks");
    assert!(!issuer_elsewhere, "all on this machine");
    let url = Url::parse(&url).expect("URL");
    let (robot_url, user, password) = (url.clone(), user.to_owned(), password.to_owned());
    let robot = tokio::spawn(async move { complete_browser_login(&robot_url, &user, &password).await });
    let step = wizard.next().await;
    let status = robot.await.expect("robot").expect("the robot logs in");
    (wizard, url, step.unwrap_or_else(|error| panic!("after the browser ({status}): {error}")))
}

fn connected(step: Step) -> Box<Connected> {
    match step {
        Step::Connected(connected) => connected,
        Step::Decide(decision) => panic!("connected, not asked: {decision:?}"),
    }
}

#[tokio::test]
async fn a_matrix_id_alone_logs_in_through_the_oauth_api_and_remove_revokes_the_login() {
    let server = lookup(Scenario { token_lifetime: std::time::Duration::from_secs(1), ..Scenario::default() }).await;
    let memory = Arc::new(Remembered::default());
    let address = einstein(&server);
    let (_, url, step) = log_in(&address, with_memory(&server, &memory), "einstein", "relativity").await;
    let query = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    assert_eq!(query("login_hint"), Some(format!("mxid:{address}")), "MSC4198 hint: {url}");
    assert_eq!(query("code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(query("response_mode").as_deref(), Some("query"));
    assert!(query("state").is_some_and(|state| state.len() >= 16), "a random state");
    let scope = query("scope").expect("scope");
    let device = scope.strip_prefix("urn:matrix:client:api:* urn:matrix:client:device:").expect("the Matrix scopes");
    assert_eq!(device.len(), 10, "a new device id: {scope}");

    let connected = connected(step);
    let account = &connected.account;
    assert_eq!((account.kind, account.auth_method), (AccountKind::Matrix, AuthMethod::MatrixOAuth));
    assert_eq!(account.user_id, address, "whoami named the typed user");
    assert_eq!(account.instance_url.as_url(), server.matrix_oauth_homeserver_url());
    let matrix = account.matrix.as_ref().expect("Matrix info");
    assert_eq!(matrix.device_id, device, "the device the login created");
    let oauth = matrix.oauth.as_ref().expect("the OAuth client");
    assert_eq!(oauth.issuer, server.matrix_oauth_issuer());
    assert!(matrix.account_management_uri.as_deref().is_some_and(|uri| uri.starts_with("http")), "{matrix:?}");
    let kept = memory.recall(&oauth.issuer).expect("the registration is remembered");
    assert_eq!(kept.client_id, oauth.client_id);
    assert!(!connected.secret.expose().contains("relativity"), "no password in the keyring's secret");
    let posted = |path: &str| server.requests().iter().filter(|r| r.method == "POST" && r.path.contains(path)).count();
    assert_eq!(posted("/register"), 1, "one registration");

    // A second login reuses the registered client.
    let (_, _, again) = log_in(&address, with_memory(&server, &memory), "einstein", "relativity").await;
    assert_eq!(connected_client(&again), oauth.client_id, "the same client id");
    assert_eq!(posted("/register"), 1, "no second registration");

    // Re-verify after the access token expired refreshes at the token endpoint.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = AccountStore::at(dir.path());
    store.save(account, &connected.secret).expect("saving needs a working Secret Service");
    let tokens_before = posted("/token");
    let reverified =
        ops::reverify(&store, &account.id, ops::ReverifyOptions { wizard: options(&server), approve: Vec::new() })
            .await
            .expect("refreshed and verified");
    assert_eq!(reverified.account.user_id, address);
    assert_eq!(posted("/token"), tokens_before + 1, "one refresh at the token endpoint");

    // Remove revokes at the revocation endpoint: the session (and device) ends at the server.
    let secret = store.secret(&account.id).expect("the refreshed tokens");
    let removed = ops::remove(&store, &account.id, options(&server).http).await.expect("removed");
    assert_eq!(
        removed.revocation,
        Some(Revocation::Deleted { server: account.instance_url.to_string(), what: Revoked::OauthTokens }),
        "revoked at the server"
    );
    assert!(posted("/revoke") >= 1, "the revocation endpoint was asked");
    let mut after = Wizard::for_account(account, secret, options(&server)).expect("wizard");
    assert!(matches!(after.next().await, Err(ConnectError::LoginExpired { .. })), "the revoked login works no more");
    server.shutdown().await;
}

fn connected_client(step: &Step) -> String {
    let Step::Connected(connected) = step else { panic!("connected: {step:?}") };
    connected.account.matrix.as_ref().and_then(|m| m.oauth.as_ref()).map(|o| o.client_id.clone()).unwrap_or_default()
}

#[tokio::test]
async fn the_oauth_faults_end_in_typed_errors() {
    for fault in
        [Fault::MatrixOauthRegistrationRefused, Fault::MatrixOauthTokenRefused, Fault::MatrixOauthWhoamiMismatch]
    {
        let server = lookup(Scenario { fault: Some(fault), ..Scenario::default() }).await;
        let mut wizard = Wizard::new(&einstein(&server), options(&server)).expect("a Matrix ID");
        let outcome = match wizard.next().await {
            Err(error) => Err(error),
            Ok(Step::Decide(Decision::OpenBrowser { url, .. })) => {
                let url = Url::parse(&url).expect("URL");
                let robot = tokio::spawn(async move { complete_browser_login(&url, "einstein", "relativity").await });
                let step = wizard.next().await;
                let _ = robot.await;
                step.map(|_| ())
            }
            Ok(other) => panic!("{fault:?}: {other:?}"),
        };
        let error = outcome.expect_err("the fault stops the login");
        match fault {
            Fault::MatrixOauthRegistrationRefused => assert!(
                matches!(&error, ConnectError::RegistrationRefused { error, .. } if error == "invalid_client_metadata"),
                "{error:?}"
            ),
            Fault::MatrixOauthTokenRefused => assert!(
                matches!(&error, ConnectError::BrowserLoginFailed { error, .. } if error == "invalid_grant"),
                "{error:?}"
            ),
            _ => assert!(
                matches!(&error, ConnectError::InvalidResponse { reason, .. } if reason.contains("device")),
                "whoami names another device: {error:?}"
            ),
        }
        server.shutdown().await;
    }
}

#[tokio::test]
async fn another_user_logged_in_at_the_server_is_asked_about() {
    let server = lookup(Scenario::default()).await;
    let (mut wizard, _, step) = log_in(&einstein(&server), options(&server), "marie", "radioactivity").await;
    let Step::Decide(Decision::ConfirmUser { typed, logged_in, .. }) = step else {
        panic!("the typed user is not the one logged in: {step:?}")
    };
    assert_eq!(typed, einstein(&server));
    assert_eq!(logged_in, format!("@marie:{}", server.matrix_oauth_server_name()));
    wizard.answer(homeport_engine::Answer::ContinueAsLoggedInUser).expect("an answer to the question");
    let connected = connected(wizard.next().await.expect("continued"));
    assert_eq!(connected.account.user_id, logged_in, "stored as the user who logged in");
    server.shutdown().await;
}
