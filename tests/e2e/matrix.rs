//! Matrix: the proxy portal, the 307 portal (the password only after approval), and SSO.

use homeport_engine::Origin;
use homeport_lookup::{LookupServer, Scenario};
use thirtyfour::prelude::*;
use url::Url;

use crate::harness::*;

/// The labels of the diagram's rows that go to `lane` (`lookup`, `instance`, `idp`).
async fn lane_labels(app: &App, lane: &str) -> Result<Vec<String>, Box<dyn std::error::Error + Send + Sync>> {
    let mut labels = Vec::new();
    for row in app.driver.find_all(By::Css(format!(".trace-row[data-to='{lane}']"))).await? {
        labels.push(row.attr("aria-label").await?.unwrap_or_default());
    }
    Ok(labels)
}

/// The Matrix demo button of `localpart` at the portal in `mode` (`proxy` or `redirect`).
fn matrix_demo_button(localpart: &str, mode: &str) -> String {
    format!(".demo-matrix[data-login='{localpart}'][data-portal='{mode}']")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_behind_the_proxy_portal_verifies_at_the_homeserver_and_keeps_the_tokens_in_the_keyring() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let app = App::launch(&["--demo"]).await.expect("the app starts under tauri-driver");
    let outcome = matrix_proxy_portal(&app).await;
    app.finish("matrix-proxy", outcome).await;
}

async fn matrix_proxy_portal(app: &App) -> TestResult {
    // The demo page names both portals and gives each person an address per portal.
    let portal = app.text("#demo-matrix-proxy").await?;
    assert!(portal.starts_with("http://proxy.localhost:"), "the proxy portal is on this machine: {portal}");
    assert!(app.text("#demo-matrix-307").await?.starts_with("http://redirect.localhost:"), "and the 307 portal");
    let button = app.wait_for(&matrix_demo_button("alice", "proxy")).await?;
    let address = button.attr("data-address").await?.ok_or("the demo names alice's address")?;
    let portal_url = Url::parse(&portal)?;
    let server_name = format!("{}:{}", portal_url.host_str().unwrap_or_default(), portal_url.port().unwrap_or(80));
    assert_eq!(address, format!("@alice:{server_name}"), "a Matrix ID at the portal");
    let label = button.attr("aria-label").await?.unwrap_or_default();
    assert!(label.contains("wonderland") && label.contains("proxy portal"), "says what it does: {label}");
    let section = app.wait_for("#demo-matrix").await?;
    app.driver.execute("arguments[0].scrollIntoView({ block: 'start' });", vec![section.to_json()?]).await?;
    app.snapshot("matrix-0-demo").await?;

    // Typed, as a person would: the Matrix ID alone.
    app.type_into("#address", address.clone() + Key::Enter).await?;
    app.wait_for("#page-login").await?;
    let server = app.text("#server-info").await?;
    assert!(server.contains("Matrix"), "the product line says Matrix: {server}");
    assert!(server.contains(&portal), "and names the portal: {server}");
    assert_eq!(app.value("#username").await?, "alice", "the Matrix ID's localpart is the user name");
    assert!(app.wait_for("#use-sso").await.is_ok(), "the browser (SSO) is offered instead of the password");
    app.focus_reaches("password").await?;
    app.keys("wonderland" + Key::Enter).await?;

    // Verified at the homeserver the portal's answer named.
    assert_eq!(app.text("#verified-name").await?, "Alice Liddell", "the display name from alice's profile");
    let user_id = app.text("#verified-user").await?;
    assert!(user_id.starts_with("@alice:hs1.localhost:"), "whoami's user id, on hs1: {user_id}");
    assert_eq!(app.text("#verified-portal").await?, portal, "the portal that was asked");
    let homeserver = app.text("#verified-instance").await?;
    assert!(homeserver.starts_with("http://hs1.localhost:"), "alice's homeserver: {homeserver}");
    let hop = app.text("#verified-hop").await?;
    assert!(
        hop.contains(origin_of(&portal)?.as_str()) && hop.contains(origin_of(&homeserver)?.as_str()),
        "the portal → homeserver hop: {hop}"
    );
    let device = app.text("#verified-device").await?;
    assert!(!device.is_empty() && device != "unknown", "the login's device: {device}");
    let lookup = lane_labels(app, "lookup").await?;
    assert!(lookup.iter().any(|l| l.contains("POST /_matrix/client/v3/login")), "login at the portal: {lookup:?}");
    let instance = lane_labels(app, "instance").await?;
    assert!(instance.iter().any(|l| l.contains("whoami")), "whoami at the homeserver (Instance lane): {instance:?}");
    assert!(!lookup.iter().any(|l| l.contains("whoami")), "not at the portal: {lookup:?}");
    app.snapshot("matrix-1-verified").await?;

    app.focus_reaches("done").await?;
    app.keys(Key::Enter).await?;
    let entry = app.wait_for("li.account").await?;
    let id = entry.attr("data-account-id").await?.ok_or("the account row carries its id")?;
    let listed = entry.text().await?;
    assert!(listed.contains(&user_id) && listed.contains(&homeserver), "listed with user id and homeserver: {listed}");
    let stored = app.store().get(&id)?;
    assert_eq!(stored.kind, homeport_engine::AccountKind::Matrix);
    assert_eq!(stored.instance_url.as_url().as_str(), homeserver, "accounts.json holds the homeserver");
    assert_eq!(stored.matrix.as_ref().map(|m| m.device_id.as_str()), Some(device.as_str()), "and the device");
    let secret = app.store().secret(&id)?.expose().to_owned();
    let tokens: serde_json::Value = serde_json::from_str(&secret)?;
    let access_token = tokens["access_token"].as_str().unwrap_or_default();
    assert!(
        access_token.len() > 8,
        "the access token is in the Secret Service: {}",
        tokens.as_object().map(|t| t.len()).unwrap_or(0)
    );
    assert!(!secret.contains("wonderland"), "the password itself is not kept");
    let file = std::fs::read_to_string(app.config.path().join("accounts.json"))?;
    assert!(!file.contains(access_token), "no token in accounts.json");

    // Re-verify asks the homeserver who the stored token belongs to.
    app.click(".verify-account").await?;
    let notice = app.text(".notice").await?;
    assert!(notice.contains("Alice Liddell is verified"), "re-verified with the stored token: {notice}");
    let instance = lane_labels(app, "instance").await?;
    assert!(instance.iter().any(|l| l.contains("whoami")), "re-verify is a whoami: {instance:?}");
    app.snapshot("matrix-2-accounts").await?;

    // carol's first login is answered "wait": the wait shows, then the one retry logs her in.
    app.click("#nav-connect").await?;
    app.click_settled(&app.wait_for(&matrix_demo_button("carol", "proxy")).await?).await?;
    app.wait_for("#page-login").await?;
    assert_eq!(app.value("#password").await?, "rate-limit", "the demo person's password is filled in");
    app.click("#login").await?;
    app.wait_for("#page-verified").await?;
    let notes = app.driver.find_all(By::Css(".trace-note")).await?;
    let mut words = Vec::new();
    for note in notes {
        words.push(note.text().await?);
    }
    assert!(words.iter().any(|w| w.contains("asks to wait")), "the wait is shown in the diagram: {words:?}");
    // The label ends with the answer ("… → 429 Too Many Requests"); a port or path may contain 429 too.
    let limited = app.driver.find_all(By::Css(".trace-row[aria-label*='→ 429 ']")).await?;
    assert_eq!(limited.len(), 1, "one 429, then the retry");
    app.snapshot("matrix-rate-limit").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_behind_the_307_portal_sends_the_password_on_only_after_approval() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let server = homeport_lookup::testing::start(Scenario::default()).await;
    let app = App::launch(&[]).await.expect("the app starts under tauri-driver");
    let outcome = matrix_307_portal(&app, &server).await;
    app.finish("matrix-307", outcome).await;
    server.shutdown().await;
}

async fn matrix_307_portal(app: &App, server: &LookupServer) -> TestResult {
    let portal = server.matrix_portal_307_url().clone();
    let hs2 = server.matrix_homeserver_urls()["hs2"].clone();
    let bob = server.matrix_people().into_iter().find(|p| p.localpart == "bob").ok_or("bob is a Matrix user")?;
    let address = format!("bob@{}:{}", portal.host_str().unwrap_or_default(), portal.port().unwrap_or(80));
    app.type_into("#address", address + Key::Enter).await?;
    app.wait_for("#page-login").await?;
    assert_eq!(app.value("#username").await?, "bob", "the address names the user");
    app.type_into("#password", bob.password.to_owned() + Key::Enter).await?;

    // The portal answers the login with 307: Homeport asks before the password goes anywhere else.
    app.wait_for("#page-redirect").await?;
    app.focus_reaches("approve-redirect").await?;
    let (portal_origin, hs2_origin) = (Origin::of(&portal), Origin::of(&hs2));
    let explanation = app.text("#redirect-matrix").await?;
    assert!(explanation.contains(portal_origin.as_str()), "names the portal: {explanation}");
    assert!(explanation.contains(hs2_origin.as_str()), "names the homeserver: {explanation}");
    assert!(explanation.contains("RFC 9700"), "says why re-sending a password is a question: {explanation}");
    assert!(explanation.contains("307") && explanation.contains("password"), "what is re-sent: {explanation}");
    assert_eq!(app.text("#approve-redirect").await?, format!("Send credentials to {hs2_origin}"));
    assert_eq!(server.matrix_login_posts("hs2"), 0, "the password has not reached hs2 before approval");
    app.snapshot("matrix-307-confirm").await?;
    app.keys(Key::Enter).await?;

    assert_eq!(app.text("#verified-name").await?, bob.display_name, "bob's profile");
    assert_eq!(app.text("#verified-user").await?, bob.user_id);
    assert_eq!(app.text("#verified-portal").await?, portal.as_str(), "the portal that was asked");
    assert_eq!(app.text("#verified-instance").await?, hs2.as_str(), "bob's homeserver");
    let redirect = app.text(".verified-redirect").await?;
    assert!(
        redirect.starts_with("307")
            && redirect.contains(portal_origin.as_str())
            && redirect.contains(hs2_origin.as_str()),
        "the 307 hop, portal → homeserver: {redirect}"
    );
    assert_eq!(server.matrix_login_posts("hs2"), 1, "one login at hs2, after approval");
    let instance = lane_labels(app, "instance").await?;
    assert!(
        instance.iter().any(|l| l.contains("POST /_matrix/client/v3/login")),
        "the re-sent login is drawn to the homeserver: {instance:?}"
    );
    app.snapshot("matrix-307-verified").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_sso_logs_in_in_the_system_browser_instead_of_the_password_form() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let browser = BrowserRobot::new().expect("a browser robot in a temp folder");
    let app = App::launch_with(&["--demo"], Some(&browser)).await.expect("the app starts under tauri-driver");
    let outcome = matrix_sso(&app, &browser).await;
    app.finish("matrix-sso", outcome).await;
}

async fn matrix_sso(app: &App, browser: &BrowserRobot) -> TestResult {
    let portal = app.text("#demo-matrix-proxy").await?;
    app.click_settled(&app.wait_for(&matrix_demo_button("alice", "proxy")).await?).await?;
    app.wait_for("#page-login").await?;
    let sso = app.wait_for("#use-sso").await?;
    assert_eq!(sso.text().await?, "Log in in the browser (SSO)");
    sso.click().await?;
    let issuer =
        log_in_through_the_browser(app, browser, ("alice", "wonderland"), Callback::MatrixSso, "matrix-sso-browser")
            .await?;
    assert_eq!(issuer, portal, "the portal's own login page, not an OpenID Provider");

    assert_eq!(app.text("#verified-name").await?, "Alice Liddell");
    assert!(app.text("#verified-instance").await?.starts_with("http://hs1.localhost:"), "alice's homeserver");
    assert_eq!(app.text("#verified-sso").await?, "in the browser (single sign-on)");
    app.click("#done").await?;
    let entry = app.wait_for("li.account").await?;
    let id = entry.attr("data-account-id").await?.ok_or("the account row carries its id")?;
    assert_eq!(app.store().get(&id)?.auth_method, homeport_engine::AuthMethod::MatrixSso);
    let tokens: serde_json::Value = serde_json::from_str(app.store().secret(&id)?.expose())?;
    assert!(tokens["access_token"].as_str().is_some_and(|t| !t.is_empty()), "the SSO login's token is in the keyring");
    Ok(())
}
