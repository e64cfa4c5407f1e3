//! oCIS with OpenID Connect and tenants by host (docs/protocols/oidc-ocis.md,
//! docs/protocols/tenant-by-host.md) end to end: the wizard against the lookup server's IdP,
//! oCIS server and approuter over loopback, with the lookup server's robot doing what a person
//! does in the browser.

use std::collections::HashMap;

use std::sync::{Arc, Mutex};

use homeport_engine::oidc_client::{
    ClientMemory, ClientProfile, ClientSettings, RegisteredClient, TokenAuth, OWNCLOUD_DESKTOP_CLIENT_ID,
    OWNCLOUD_DESKTOP_CLIENT_SECRET,
};
use homeport_engine::tenant::TenantProfile;
use homeport_engine::{
    AccountKind, AccountStore, AuthMethod, ConnectError, Connected, Decision, ErrorCode, Participant, Step, Wizard,
    WizardOptions,
};
use homeport_lookup::{auto_login, while_browser_logs_in, Fault, LookupServer, Scenario, TENANT_HOST_PATTERN};
use url::Url;

use crate::{lookup, options};

/// The lookup server's demo tenants as a client's tenant profile
/// (docs/protocols/tenant-by-host.md).
pub(crate) fn tenant_options(server: &LookupServer) -> WizardOptions {
    let profile = TenantProfile::new("homeport-demo", TENANT_HOST_PATTERN, &server.tenant_issuer_template())
        .expect("the demo's tenant profile is valid");
    WizardOptions { tenant_profiles: vec![profile], ..options(server) }
}

/// The wizard's next step while the robot logs in at `url` as a person would in the browser. The
/// robot failing ends the test at once (the wizard would wait minutes for the browser).
async fn next_with_browser(wizard: &mut Wizard, url: &str, user: &str, password: &str) -> Result<Step, ConnectError> {
    let url = Url::parse(url).expect("the login page is a URL");
    let raced = while_browser_logs_in(wizard.next(), &url, user, password).await.expect("the robot logs in");
    if let Some(status) = raced.callback_status {
        assert_eq!(status, 200, "the loopback listener answers the browser with its page");
    }
    raced.outcome
}

/// Runs the wizard to its first OpenBrowser decision and returns the login page's URL.
async fn login_page(wizard: &mut Wizard) -> Url {
    match wizard.next().await.expect("probe, discovery and registration succeed") {
        Step::Decide(Decision::OpenBrowser { url, .. }) => Url::parse(&url).expect("a URL"),
        other => panic!("a Bearer challenge leads to the browser, got {other:?}"),
    }
}

/// Connects `address` logging in as `user`; ChooseInstance is answered with `choose` (an instance
/// name of the oCIS server), any other decision is declined.
pub(crate) async fn connect_oidc(
    server: &LookupServer,
    address: &str,
    options: WizardOptions,
    user: &str,
    password: &str,
    choose: Option<&str>,
) -> Result<Box<Connected>, ConnectError> {
    let mut wizard = Wizard::new(address, options)?;
    let mut step = wizard.next().await?;
    loop {
        step = match step {
            Step::Connected(connected) => return Ok(connected),
            Step::Decide(Decision::OpenBrowser { url, .. }) => {
                next_with_browser(&mut wizard, &url, user, password).await?
            }
            Step::Decide(Decision::ChooseInstance { instances }) if choose.is_some() => {
                let wanted = &server.ocis_instance_urls()[choose.unwrap_or_default()];
                let chosen = instances.iter().find(|i| i.url.as_url() == wanted).expect("the instance is offered");
                wizard.choose_instance(chosen.url.clone());
                wizard.next().await?
            }
            Step::Decide(decision) => return Err(decision.declined()),
        };
    }
}

/// The refresh token in an OpenID Connect account's keyring secret (a small JSON object).
fn refresh_token_of(secret: &homeport_engine::Secret) -> String {
    let form: serde_json::Value = serde_json::from_str(secret.expose()).expect("the keyring form is JSON");
    form["refresh_token"].as_str().unwrap_or_default().to_owned()
}

fn query(url: &Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

#[tokio::test]
async fn einstein_connects_to_his_instance_with_pkce_the_owncloud_desktop_client_and_a_refresh_token() {
    let server = lookup(Scenario::default()).await;
    let mut wizard = Wizard::new(server.ocis_url().as_str(), options(&server)).expect("valid address");
    wizard.set_login_hint("einstein");
    let page = login_page(&mut wizard).await;
    let request = query(&page);
    assert_eq!(request.get("code_challenge_method").map(String::as_str), Some("S256"), "PKCE S256: {page}");
    assert!(request.get("state").is_some_and(|s| s.len() >= 16), "a random state");
    assert!(request.get("nonce").is_some_and(|n| n.len() >= 16), "a random nonce");
    let redirect = Url::parse(&request["redirect_uri"]).expect("redirect_uri");
    assert_eq!(redirect.host_str(), Some("127.0.0.1"), "an IPv4 loopback redirect (RFC 8252)");
    assert_eq!(request["client_id"], OWNCLOUD_DESKTOP_CLIENT_ID, "oCIS's IdP knows the ownCloud desktop client");
    assert_eq!(
        request.get("prompt").map(String::as_str),
        Some("select_account consent"),
        "a refresh token needs consent"
    );
    assert_eq!(request.get("login_hint").map(String::as_str), Some("einstein"), "the user typed");
    assert!(page.as_str().starts_with(&server.idp_issuer()), "the login page is the IdP's");

    let callback = auto_login(&page, "einstein", "relativity").await.expect("the robot logs in");
    let browser = reqwest::Client::builder().no_proxy().build().expect("client");
    let (step, page) = tokio::join!(wizard.next(), browser.get(callback.clone()).send());
    let page = page.expect("the listener answers the browser").text().await.expect("a page");
    assert!(page.contains("Return to Homeport"), "the browser tab says where to go: {page}");
    let Step::Connected(connected) = step.expect("connected") else { panic!("one instance: no question") };

    let account = &connected.account;
    assert_eq!((account.kind, account.auth_method), (AccountKind::Ocis, AuthMethod::Oidc));
    assert_eq!(account.instance_url.as_url(), &server.ocis_instance_urls()["A"], "einstein lives on A");
    assert_eq!(account.login_name, "einstein");
    assert_eq!(account.display_name, "Albert Einstein");
    let oidc = account.oidc.as_ref().expect("the IdP is kept with the account");
    assert_eq!(oidc.issuer, server.idp_issuer(), "the discovered issuer");
    assert_eq!(oidc.client_id, request["client_id"], "the client that logged in");
    assert_eq!(oidc.token_auth, TokenAuth::ClientSecretBasic, "its secret in Basic, the specifications' default");
    assert_eq!(oidc.login_expires_at, None, "a refresh token: the login lasts");
    let kept = refresh_token_of(&connected.secret);
    assert!(!kept.is_empty(), "the keyring's secret holds the refresh token");

    let replay = browser.get(callback).send().await;
    assert!(replay.is_err(), "a replayed callback finds nobody: the listener took one and closed");

    let trace = serde_json::to_string(&connected.trace).expect("trace serializes");
    for secret in [kept.as_str(), "relativity", OWNCLOUD_DESKTOP_CLIENT_SECRET] {
        assert!(!trace.contains(secret), "no token or password in the trace");
    }
    assert!(trace.contains("Bearer [redacted]"), "bearer tokens are redacted, not dropped");
    let to_idp: Vec<&str> =
        connected.trace.iter().filter(|e| e.to == Participant::Idp).map(|e| e.url.as_str()).collect();
    for path in ["/.well-known/openid-configuration", "/token", "/jwks", "/userinfo"] {
        assert!(to_idp.iter().any(|url| url.contains(path)), "{path} is drawn in the IdP lane: {to_idp:?}");
    }
    let log = server.requests();
    assert!(log.iter().any(|r| r.server == "ocis-A" && r.method == "PROPFIND"), "verified at instance A");
    let recorded = serde_json::to_string(&log).expect("log");
    assert!(!recorded.contains(kept.as_str()) && !recorded.contains("relativity"), "no secret logged");
    assert!(!log.iter().any(|r| r.path == "/register"), "nothing registered: oCIS's IdP offers no registration");
    assert!(!log.iter().any(|r| r.server == "ocis-B"), "instance B was never asked");
    server.shutdown().await;
}

#[tokio::test]
async fn a_callback_with_another_state_is_refused_and_the_login_goes_on() {
    let server = lookup(Scenario::default()).await;
    let mut wizard = Wizard::new(server.ocis_url().as_str(), options(&server)).expect("valid address");
    let page = login_page(&mut wizard).await;
    let mut callback = auto_login(&page, "einstein", "relativity").await.expect("the robot logs in");
    let forged: Vec<(String, String)> =
        callback
            .query_pairs()
            .map(|(k, v)| {
                if k == "state" {
                    (k.into_owned(), "forged-state".to_owned())
                } else {
                    (k.into_owned(), v.into_owned())
                }
            })
            .collect();
    let real = callback.clone();
    callback.query_pairs_mut().clear().extend_pairs(forged);
    let browser = reqwest::Client::builder().no_proxy().build().expect("client");
    let browser_returns = async {
        let forged = browser.get(callback).send().await.expect("the forged callback is answered");
        assert_eq!(forged.status(), 400, "a callback for another login is refused, and the wait goes on");
        assert!(
            !server.requests().iter().any(|r| r.server == "idp" && r.path == "/token"),
            "the forged callback's code was never exchanged"
        );
        browser.get(real).send().await.expect("the real callback is answered").status()
    };
    let (step, status) = tokio::join!(wizard.next(), browser_returns);
    assert_eq!(status, 200);
    assert!(matches!(step, Ok(Step::Connected(_))), "the real callback still logs in: {step:?}");
    let tokens = server.requests().iter().filter(|r| r.server == "idp" && r.path == "/token").count();
    assert_eq!(tokens, 1, "one code exchanged: the real one");
    server.shutdown().await;
}

#[tokio::test]
async fn marie_lives_on_two_instances_and_chooses_b() {
    let server = lookup(Scenario::default()).await;
    let mut wizard = Wizard::new(server.ocis_url().as_str(), options(&server)).expect("valid address");
    let page = login_page(&mut wizard).await;
    let step = next_with_browser(&mut wizard, page.as_str(), "marie", "radioactivity").await.expect("logged in");
    let Step::Decide(Decision::ChooseInstance { instances }) = step else {
        panic!("two instances: a choice, got {step:?}")
    };
    let offered: Vec<&Url> = instances.iter().map(|i| i.url.as_url()).collect();
    assert_eq!(offered, [&server.ocis_instance_urls()["A"], &server.ocis_instance_urls()["B"]], "both offered");
    wizard.choose_instance(instances[1].url.clone());
    let Step::Connected(connected) = wizard.next().await.expect("verified") else { panic!("chosen: connected") };
    assert_eq!(connected.account.instance_url.as_url(), &server.ocis_instance_urls()["B"], "at the chosen one");
    assert_eq!(connected.account.display_name, "Marie Curie");
    server.shutdown().await;
}

#[tokio::test]
async fn a_disabled_account_is_named_as_such() {
    let server = lookup(Scenario::default()).await;
    let result =
        connect_oidc(&server, server.ocis_url().as_str(), options(&server), "richard", "superfluidity", None).await;
    let error = result.expect_err("oCIS refuses a disabled account");
    assert!(matches!(error, ConnectError::AccountDisabled { .. }), "{error:?}");
    assert!(error.to_string().contains("disabled"), "the message says so: {error}");
    server.shutdown().await;
}

#[tokio::test]
async fn an_issuer_mix_up_stops_before_the_browser_opens() {
    let server = lookup(Scenario { fault: Some(Fault::IdpIssuerMismatch), ..Scenario::default() }).await;
    let mut wizard = Wizard::new(server.ocis_url().as_str(), options(&server)).expect("valid address");
    let error = wizard.next().await.expect_err("the discovery document names another issuer");
    let ConnectError::IssuerMismatch { expected, got } = &error else { panic!("mix-up defence: {error:?}") };
    assert_eq!(expected, &server.idp_issuer(), "what WebFinger named");
    assert_ne!(got, expected);
    assert_eq!(error.code(), ErrorCode::PolicyRefused);
    assert!(!server.requests().iter().any(|r| r.path == "/register"), "nothing registered at a mixed-up provider");
    server.shutdown().await;
}

#[tokio::test]
async fn a_forged_id_token_signature_is_refused() {
    let server = lookup(Scenario { fault: Some(Fault::IdpBadSignature), ..Scenario::default() }).await;
    let result =
        connect_oidc(&server, server.ocis_url().as_str(), options(&server), "einstein", "relativity", None).await;
    let error = result.expect_err("the ID token's signature does not verify");
    assert!(matches!(error, ConnectError::InvalidIdToken { .. }), "{error:?}");
    assert!(!server.requests().iter().any(|r| r.server.starts_with("ocis-")), "no instance was asked");
    server.shutdown().await;
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_once() {
    let server = lookup(Scenario { fault: Some(Fault::ExpiredAccessToken), ..Scenario::default() }).await;
    let connected = connect_oidc(&server, server.ocis_url().as_str(), options(&server), "einstein", "relativity", None)
        .await
        .expect("the refreshed token works");
    let statuses = |path: &str| -> Vec<Option<u16>> {
        connected.trace.iter().filter(|e| e.url.ends_with(path)).map(|e| e.status).collect()
    };
    assert_eq!(statuses("/userinfo"), [Some(401), Some(200)], "refused as expired, then accepted after the refresh");
    assert_eq!(statuses("/token").len(), 2, "the code exchange and one refresh");
    assert_eq!(statuses("/remote.php/webdav/"), [Some(401), Some(207)], "the probe, then the fresh token works");
    server.shutdown().await;
}

#[tokio::test]
async fn a_token_that_expires_while_the_person_chooses_is_refreshed_at_the_instance() {
    let server = lookup(Scenario::default()).await;
    let mut wizard = Wizard::new(server.ocis_url().as_str(), options(&server)).expect("valid address");
    let page = login_page(&mut wizard).await;
    let step = next_with_browser(&mut wizard, page.as_str(), "marie", "radioactivity").await.expect("logged in");
    let Step::Decide(Decision::ChooseInstance { instances }) = step else { panic!("two instances: a choice") };
    server.expire_access_tokens();
    wizard.choose_instance(instances[0].url.clone());
    let Step::Connected(connected) = wizard.next().await.expect("refreshed and verified") else { panic!("done") };
    let at_instance: Vec<Option<u16>> = connected
        .trace
        .iter()
        .filter(|e| e.to == Participant::Instance && e.method == "PROPFIND")
        .map(|e| e.status)
        .collect();
    assert_eq!(at_instance, [Some(401), Some(207)], "invalid_token, then accepted after one refresh");
    let refreshes = connected.trace.iter().filter(|e| e.url.ends_with("/token")).count();
    assert_eq!(refreshes, 2, "the code exchange and one refresh");
    server.shutdown().await;
}

#[tokio::test]
async fn re_verify_rotates_the_refresh_token_in_the_keyring_and_a_revoked_one_means_log_in_again() {
    let server = lookup(Scenario::default()).await;
    let connected = connect_oidc(&server, server.ocis_url().as_str(), options(&server), "einstein", "relativity", None)
        .await
        .expect("connected");
    let dir = tempfile::tempdir().expect("temp dir");
    let store = AccountStore::at(dir.path());
    let (account, first) = (connected.account.clone(), connected.secret.clone());
    let saved = {
        let (store, account, secret) = (store.clone(), account.clone(), first.clone());
        tokio::task::spawn_blocking(move || store.save(&account, &secret)).await.expect("join")
    };
    saved.expect("the refresh token goes to the real Secret Service");
    let file = std::fs::read_to_string(store.accounts_path()).expect("accounts.json");
    assert!(!file.contains(&refresh_token_of(&first)), "the refresh token is not in accounts.json");
    assert_eq!(store.secret(&account.id).expect("from the keyring").expose(), first.expose(), "kept in the keyring");

    let logins = |server: &LookupServer| server.requests().iter().filter(|r| r.path.starts_with("/authorize")).count();
    let logins_before = logins(&server);
    let mut wizard = Wizard::for_account(&account, first.clone(), options(&server)).expect("a re-verify wizard");
    let Step::Connected(again) = wizard.next().await.expect("re-verified") else { panic!("no question asked") };
    assert_eq!(again.account.id, account.id, "the same account");
    assert_ne!(again.secret.expose(), first.expose(), "the provider rotated the refresh token");
    assert_eq!(logins(&server), logins_before, "no browser login for a re-verify");

    let revoked = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .post(format!("{}/revoke", server.idp_issuer()))
        .header("content-type", "application/x-www-form-urlencoded")
        .basic_auth(OWNCLOUD_DESKTOP_CLIENT_ID, Some(OWNCLOUD_DESKTOP_CLIENT_SECRET))
        .body(format!("token={}&token_type_hint=refresh_token", refresh_token_of(&again.secret)))
        .send()
        .await
        .expect("the IdP answers");
    assert_eq!(revoked.status(), 200, "revoked at the IdP");
    let mut wizard = Wizard::for_account(&account, again.secret.clone(), options(&server)).expect("wizard");
    let error = wizard.next().await.expect_err("a revoked refresh token");
    assert!(matches!(error, ConnectError::LoginExpired { .. }), "{error:?}");
    assert!(error.to_string().contains("log in again"), "the message says what to do: {error}");

    let mut old = Wizard::for_account(&account, first, options(&server)).expect("wizard");
    assert!(matches!(old.next().await, Err(ConnectError::LoginExpired { .. })), "a rotated-out token is dead too");
    server.shutdown().await;
}

#[tokio::test]
async fn a_tenant_host_logs_in_at_its_identity_zone_and_keeps_zone_and_scopes() {
    let server = lookup(Scenario::default()).await;
    let tenant_url = server.tenant_urls()["tenant1"].to_string();
    let connected = connect_oidc(&server, &tenant_url, tenant_options(&server), "einstein", "relativity", None)
        .await
        .expect("tenant1 is subscribed");
    let account = &connected.account;
    assert_eq!(account.kind, AccountKind::TenantOidc);
    assert_eq!(account.instance_url.to_string(), tenant_url, "the approuter serves the tenant itself");
    let tenant = account.tenant.as_ref().expect("tenant details");
    assert_eq!(tenant.tenant, "tenant1", "from TENANT_HOST_PATTERN");
    assert_eq!(tenant.zone_id, "a1f3c2d4-5b6e-4f70-8a9b-0c1d2e3f4a51", "the zid claim");
    assert_eq!(tenant.scopes, ["homeport-demo!t101.Read", "homeport-demo!t101.Admin"], "<xsappname>!t<index>.<scope>");
    let issuer = server.tenant_issuer("tenant1").expect("zone");
    assert_eq!(account.oidc.as_ref().map(|o| o.issuer.as_str()), Some(issuer.as_str()), "the zone is the issuer");
    assert!(!server.requests().iter().any(|r| r.path.contains("webfinger")), "the host named the zone: no WebFinger");

    let mut wizard = Wizard::for_account(account, connected.secret.clone(), WizardOptions::default()).expect("wizard");
    let Step::Connected(again) = wizard.next().await.expect("re-verified without a profile") else { panic!("done") };
    assert_eq!(again.account.tenant, account.tenant, "tenant, zone and scopes again, from the stored issuer");
    server.shutdown().await;
}

#[tokio::test]
async fn an_unsubscribed_tenant_is_refused_by_name() {
    let server = lookup(Scenario::default()).await;
    let tenant_url = server.tenant_urls()["tenant3"].to_string();
    let result = connect_oidc(&server, &tenant_url, tenant_options(&server), "einstein", "relativity", None).await;
    let error = result.expect_err("tenant3 is not subscribed");
    let ConnectError::TenantRefused { tenant, reason } = &error else { panic!("a tenant refusal: {error:?}") };
    assert_eq!(tenant, "tenant3");
    assert!(reason.contains("not subscribed"), "the zone's reason: {reason}");
    assert_eq!(error.code(), ErrorCode::AuthFailed);
    server.shutdown().await;
}

#[tokio::test]
async fn a_tenant_token_does_not_open_another_tenant() {
    let server = lookup(Scenario::default()).await;
    let tenant1 = connect_oidc(
        &server,
        server.tenant_urls()["tenant1"].as_str(),
        tenant_options(&server),
        "einstein",
        "relativity",
        None,
    )
    .await
    .expect("tenant1");
    // The same refresh token presented for tenant2 (a tampered accounts.json): tenant2's zone refuses it.
    let mut foreign = tenant1.account.clone();
    let oidc = foreign.oidc.as_mut().expect("oidc info");
    oidc.issuer = server.tenant_issuer("tenant2").expect("zone");
    foreign.instance_url = homeport_engine::ServerUrl::from_url(server.tenant_urls()["tenant2"].clone()).expect("url");
    let mut wizard = Wizard::for_account(&foreign, tenant1.secret.clone(), WizardOptions::default()).expect("wizard");
    let error = wizard.next().await.expect_err("another zone's refresh token");
    assert!(matches!(error, ConnectError::LoginExpired { .. }), "{error:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn another_user_than_typed_is_a_question_and_declining_sends_the_token_nowhere() {
    let server = lookup(Scenario::default()).await;
    let mut wizard = Wizard::new(server.ocis_url().as_str(), options(&server)).expect("valid address");
    wizard.set_login_hint("einstein");
    let page = login_page(&mut wizard).await;
    // The person was logged in at the provider as marie (or typed her name there).
    let step = next_with_browser(&mut wizard, page.as_str(), "marie", "radioactivity").await.expect("logged in");
    let Step::Decide(Decision::ConfirmUser { typed, logged_in, display_name }) = step else {
        panic!("another user is a question, got {step:?}")
    };
    assert_eq!((typed.as_str(), logged_in.as_str()), ("einstein", "marie"), "both named");
    assert_eq!(display_name.as_deref(), Some("Marie Curie"), "with the provider's name for her");
    let asked_instances = |server: &LookupServer| {
        server.requests().iter().filter(|r| r.path.contains("webfinger") && r.path.contains("acct")).count()
    };
    assert_eq!(asked_instances(&server), 0, "her token went nowhere before the answer");
    let declined = wizard.answer(homeport_engine::Answer::Decline);
    let Err(error) = declined else { panic!("declining ends the run") };
    assert!(matches!(error, ConnectError::OtherUserLoggedIn { .. }), "{error:?}");
    assert_eq!(error.report().reason, Some(homeport_engine::ErrorReason::OtherUser), "a typed reason for the UI");
    assert_eq!(asked_instances(&server), 0, "and after declining neither");

    let mut wizard = Wizard::new(server.ocis_url().as_str(), options(&server)).expect("valid address");
    wizard.set_login_hint("einstein");
    let page = login_page(&mut wizard).await;
    let step = next_with_browser(&mut wizard, page.as_str(), "marie", "radioactivity").await.expect("logged in");
    assert!(matches!(step, Step::Decide(Decision::ConfirmUser { .. })), "{step:?}");
    wizard.answer(homeport_engine::Answer::ContinueAsLoggedInUser).expect("going on as marie");
    let step = wizard.next().await.expect("marie's instances");
    assert!(matches!(step, Step::Decide(Decision::ChooseInstance { .. })), "as marie: her two instances, {step:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn without_consent_there_is_no_refresh_token_and_the_account_says_when_the_login_ends() {
    let server = lookup(Scenario { token_lifetime: std::time::Duration::from_secs(2), ..Scenario::default() }).await;
    // No `consent` in prompt: oCIS's IdP (as most) grants offline_access only with it.
    let no_consent = ClientProfile { prompt: Some(String::new()), ..ClientProfile::default() };
    let options =
        WizardOptions { oidc_clients: ClientSettings { profiles: vec![no_consent], memory: None }, ..options(&server) };
    let connected = connect_oidc(&server, server.ocis_url().as_str(), options.clone(), "einstein", "relativity", None)
        .await
        .expect("connected, for now");
    let oidc = connected.account.oidc.as_ref().expect("oidc info");
    let ends = oidc.login_expires_at.expect("no refresh token: the login's end is recorded");
    let now = homeport_engine::account::now_unix();
    assert!(ends > now.saturating_sub(1) && ends <= now + 3, "the access token's lifetime, 2 s: {ends} vs {now}");
    let words = oidc.login_end_words(ends - 1).expect("words for the person");
    assert!(words.contains("log in again in 1 minute"), "{words}");
    let form: serde_json::Value = serde_json::from_str(connected.secret.expose()).expect("the keyring form");
    assert!(form.get("refresh_token").is_none(), "no refresh token to keep: {form}");
    assert!(form["access_token"].as_str().is_some_and(|t| !t.is_empty()), "the access token is all there is");

    let mut wizard =
        Wizard::for_account(&connected.account, connected.secret.clone(), options.clone()).expect("wizard");
    let Step::Connected(_) = wizard.next().await.expect("still valid: re-verified") else { panic!("no question") };
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let mut wizard = Wizard::for_account(&connected.account, connected.secret.clone(), options).expect("wizard");
    let error = wizard.next().await.expect_err("the login has ended");
    assert!(matches!(error, ConnectError::LoginExpired { .. }), "{error:?}");
    assert!(error.to_string().contains("no refresh token"), "the message says why: {error}");
    server.shutdown().await;
}

/// Registered clients kept in memory, as the desktop's and the CLI's settings keep them on disk.
#[derive(Default)]
pub(crate) struct Remembered(Mutex<Vec<RegisteredClient>>);

impl ClientMemory for Remembered {
    fn recall(&self, issuer: &str) -> Option<RegisteredClient> {
        self.0.lock().expect("lock").iter().find(|c| c.issuer == issuer).cloned()
    }
    fn remember(&self, client: &RegisteredClient) {
        self.0.lock().expect("lock").push(client.clone());
    }
    fn forget(&self, issuer: &str) {
        self.0.lock().expect("lock").retain(|c| c.issuer != issuer);
    }
}

#[tokio::test]
async fn a_client_registered_with_a_provider_is_remembered_and_reused_on_the_next_connect() {
    let server = lookup(Scenario::default()).await;
    let memory = Arc::new(Remembered::default());
    let options = WizardOptions {
        oidc_clients: ClientSettings { profiles: Vec::new(), memory: Some(memory.clone()) },
        ..tenant_options(&server)
    };
    let tenant_url = server.tenant_urls()["tenant1"].to_string();
    let registrations = |server: &LookupServer| server.requests().iter().filter(|r| r.path == "/register").count();
    let first = connect_oidc(&server, &tenant_url, options.clone(), "einstein", "relativity", None)
        .await
        .expect("the zone registers Homeport");
    assert_eq!(registrations(&server), 1, "registered once");
    let kept = memory.recall(&server.tenant_issuer("tenant1").expect("zone")).expect("the client is remembered");
    assert_eq!(first.account.oidc.as_ref().map(|o| o.client_id.clone()), Some(kept.client_id.clone()));
    let second =
        connect_oidc(&server, &tenant_url, options, "einstein", "relativity", None).await.expect("connected again");
    assert_eq!(registrations(&server), 1, "no second registration");
    assert_eq!(second.account.oidc.map(|o| o.client_id), Some(kept.client_id), "the same client");
    server.shutdown().await;
}

/// Connects einstein at the lookup server's oCIS and stores the account (its tokens in the real
/// Secret Service).
async fn stored_oidc_account(server: &LookupServer) -> (AccountStore, tempfile::TempDir, homeport_engine::Account) {
    let connected = connect_oidc(server, server.ocis_url().as_str(), options(server), "einstein", "relativity", None)
        .await
        .expect("connected");
    let dir = tempfile::tempdir().expect("temp dir");
    let store = AccountStore::at(dir.path());
    let (writing, account, secret) = (store.clone(), connected.account.clone(), connected.secret.clone());
    tokio::task::spawn_blocking(move || writing.save(&account, &secret))
        .await
        .expect("join")
        .expect("the tokens go to the real Secret Service");
    (store, dir, connected.account.clone())
}

#[tokio::test]
async fn remove_revokes_the_refresh_token_at_the_identity_providers_revocation_endpoint() {
    let server = lookup(Scenario::default()).await;
    let (store, _dir, account) = stored_oidc_account(&server).await;
    let secret = store.secret(&account.id).expect("the tokens");
    let issuer = account.oidc.as_ref().expect("an OpenID Connect account").issuer.clone();
    let revokes = |server: &LookupServer| {
        server.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/revoke")).count()
    };
    let before = revokes(&server);
    let removed = homeport_engine::ops::remove(&store, &account.id, options(&server).http).await.expect("removed");
    assert_eq!(
        serde_json::to_value(&removed.revocation).expect("serializes"),
        serde_json::json!({ "outcome": "deleted", "server": issuer, "what": "oidc_tokens" }),
        "remove revokes the OpenID Connect login at its provider (RFC 7009)"
    );
    assert_eq!(revokes(&server), before + 1, "the discovery document's revocation endpoint was asked once");
    assert!(store.list().expect("list").is_empty(), "and the account is gone here");
    let mut after = Wizard::for_account(&account, secret, options(&server)).expect("wizard");
    assert!(
        matches!(after.next().await, Err(ConnectError::LoginExpired { .. })),
        "the revoked refresh token works nowhere any more"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn remove_says_when_the_identity_provider_could_not_revoke_the_login() {
    let server = lookup(Scenario::default()).await;
    let (store, _dir, account) = stored_oidc_account(&server).await;
    let http = options(&server).http;
    server.shutdown().await;
    let removed = homeport_engine::ops::remove(&store, &account.id, http).await.expect("removed all the same");
    let revocation = serde_json::to_value(&removed.revocation).expect("serializes");
    assert_eq!(revocation["outcome"], "failed", "the provider could not be reached: said so ({revocation})");
    assert_eq!(revocation["what"], "oidc_tokens", "{revocation}");
    assert!(!revocation["reason"].as_str().unwrap_or_default().is_empty(), "with the reason: {revocation}");
    assert!(store.list().expect("list").is_empty(), "the account is removed here all the same");
}
