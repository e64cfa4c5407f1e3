//! OpenID Connect at oCIS: the login in the system browser, and an account on two instances.

use homeport_engine::ErrorCode;
use thirtyfour::prelude::*;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ocis_logs_in_in_the_system_browser_and_keeps_the_refresh_token_in_the_keyring() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let browser = BrowserRobot::new().expect("a browser robot in a temp folder");
    let app = App::launch_with(&["--demo"], Some(&browser)).await.expect("the app starts under tauri-driver");
    let outcome = ocis_oidc_login(&app, &browser).await;
    app.finish("oidc-ocis-verified", outcome).await;
}

async fn ocis_oidc_login(app: &App, browser: &BrowserRobot) -> TestResult {
    let ocis = app.text("#demo-ocis-url").await?;
    let person = app.wait_for(".demo-oidc-person[data-login='einstein']").await?;
    let instance = person.attr("data-instances").await?.ok_or("the demo names einstein's instance")?;
    app.click_settled(&person).await?;
    let issuer =
        log_in_through_the_browser(app, browser, ("einstein", "relativity"), Callback::Oidc, "oidc-0-browser").await?;

    // Back from the browser: the verified page, with the account's instance and its IdP.
    assert_eq!(app.text("#verified-name").await?, "Albert Einstein");
    assert_eq!(app.text("#verified-instance").await?, instance, "WebFinger sent einstein to instance A");
    assert_ne!(instance, ocis, "the instance is not the server that was typed");
    assert_eq!(app.text("#verified-idp").await?, issuer, "the verified page names the IdP");
    let idp_rows = app.driver.find_all(By::Css(".trace-row[data-to='idp']")).await?;
    let mut idp_labels = Vec::new();
    for row in &idp_rows {
        idp_labels.push(row.attr("aria-label").await?.unwrap_or_default());
    }
    for wanted in ["openid-configuration", "token"] {
        assert!(
            idp_labels.iter().any(|label| label.contains(wanted)),
            "the diagram's IdP lane shows the {wanted} exchange: {idp_labels:?}"
        );
    }
    app.snapshot("oidc-1-verified").await?;
    app.focus_reaches("done").await?;
    app.keys(Key::Enter).await?;

    let entry = app.wait_for("li.account").await?;
    let id = entry.attr("data-account-id").await?.ok_or("the account row carries its id")?;
    let listed = entry.text().await?;
    assert!(listed.contains("Albert Einstein") && listed.contains(&instance), "the accounts page lists it: {listed}");
    let stored = app.store().get(&id)?;
    assert_eq!(stored.auth_method, homeport_engine::AuthMethod::Oidc);
    assert_eq!(stored.oidc.as_ref().map(|oidc| oidc.issuer.as_str()), Some(issuer.as_str()), "the IdP is kept");
    assert_eq!(
        stored.oidc.as_ref().map(|oidc| oidc.client_id.as_str()),
        Some(homeport_engine::oidc_client::OWNCLOUD_DESKTOP_CLIENT_ID),
        "oCIS's IdP knows the ownCloud desktop client, and Homeport is that client there"
    );
    let refresh_token = refresh_token_of(app, &id)?;
    assert!(refresh_token.len() > 16, "a refresh token is in the Secret Service");
    assert_ne!(refresh_token, "relativity", "the password never reaches Homeport, let alone the keyring");
    let file = std::fs::read_to_string(app.config.path().join("accounts.json"))?;
    assert!(!file.contains(&refresh_token), "no token in accounts.json");

    // Re-verify logs in with the refresh token, which the IdP rotates: the new one is stored.
    app.click(".verify-account").await?;
    let notice = app.text(".notice").await?;
    assert!(notice.contains("Albert Einstein is verified"), "re-verified with the refresh token: {notice}");
    let rotated = refresh_token_of(app, &id)?;
    assert_ne!(rotated, refresh_token, "the rotated refresh token replaced the used one in the keyring");
    assert_eq!(browser.opened().len(), 1, "re-verify needs no browser");
    app.snapshot("oidc-2-reverified").await?;

    // The IdP ends the grant (a logout elsewhere, an administrator): re-verify says to log in
    // again, and "Log in again" goes through the browser to a fresh token.
    // As the client the token was issued to (RFC 7009 §2.1).
    let revoked = reqwest::Client::new()
        .post(format!("{issuer}/revoke"))
        .basic_auth(
            homeport_engine::oidc_client::OWNCLOUD_DESKTOP_CLIENT_ID,
            Some(homeport_engine::oidc_client::OWNCLOUD_DESKTOP_CLIENT_SECRET),
        )
        .form(&[("token", rotated.as_str()), ("token_type_hint", "refresh_token")])
        .send()
        .await?;
    assert!(revoked.status().is_success(), "the IdP revokes the grant: {}", revoked.status());
    app.click(".verify-account").await?;
    let message = app.error_with_code(ErrorCode::AuthFailed).await?;
    assert!(message.contains("Log in again"), "the person is told to log in again: {message}");
    app.focus_reaches("relogin").await?;
    app.snapshot("oidc-3-log-in-again").await?;
    assert_eq!(refresh_token_of(app, &id)?, rotated, "the account is kept until the new login");
    app.keys(Key::Enter).await?;
    log_in_through_the_browser(app, browser, ("einstein", "relativity"), Callback::Oidc, "oidc-4-browser-again")
        .await?;
    assert_eq!(app.text("#verified-name").await?, "Albert Einstein");
    app.click("#done").await?;
    app.wait_for("li.account").await?;
    assert_eq!(app.store().list()?.len(), 1, "the same account, logged in again, not a second one");
    let fresh = refresh_token_of(app, &id)?;
    assert!(fresh != rotated && fresh != refresh_token, "a fresh refresh token is in the keyring");
    Ok(())
}

/// The refresh token in the keyring's secret of account `id` (a JSON object with the tokens and
/// the confidential client's secret: never in accounts.json).
fn refresh_token_of(app: &App, id: &str) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let secret = app.store().secret(id)?;
    let kept: serde_json::Value = serde_json::from_str(secret.expose())?;
    Ok(kept["refresh_token"].as_str().ok_or_else(|| format!("the keyring holds a refresh token: {kept}"))?.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_on_two_instances_asks_which_one_from_the_keyboard() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let browser = BrowserRobot::new().expect("a browser robot in a temp folder");
    let app = App::launch_with(&["--demo"], Some(&browser)).await.expect("the app starts under tauri-driver");
    let outcome = choose_instance(&app, &browser).await;
    app.finish("oidc-choose-instance", outcome).await;
}

async fn choose_instance(app: &App, browser: &BrowserRobot) -> TestResult {
    let person = app.wait_for(".demo-oidc-person[data-login='marie']").await?;
    let instances = person.attr("data-instances").await?.ok_or("the demo names marie's instances")?;
    let instances: Vec<&str> = instances.split(' ').collect();
    assert_eq!(instances.len(), 2, "marie lives on A and B: {instances:?}");
    app.click_settled(&person).await?;
    log_in_through_the_browser(app, browser, ("marie", "radioactivity"), Callback::Oidc, "oidc-browser-marie").await?;

    app.wait_for("#page-choose-instance").await?;
    let choices = app.driver.find_all(By::Css(".choose-instance")).await?;
    let mut offered = Vec::new();
    for choice in &choices {
        offered.push(choice.attr("data-url").await?.unwrap_or_default());
        let label = choice.attr("aria-label").await?.unwrap_or_default();
        assert!(label.starts_with("Connect at "), "each choice says what it does: {label}");
    }
    assert_eq!(offered, instances, "both instances are offered, in order");
    app.focused_attr_is("data-url", instances[0]).await?;
    app.snapshot("oidc-choose-instance-page").await?;
    app.keys(Key::Tab).await?;
    app.focused_attr_is("data-url", instances[1]).await?;
    app.keys(Key::Enter).await?;

    assert_eq!(app.text("#verified-name").await?, "Marie Curie");
    assert_eq!(app.text("#verified-instance").await?, instances[1], "verified at the chosen instance B");
    app.click("#done").await?;
    let listed = app.text("li.account").await?;
    assert!(listed.contains("Marie Curie") && listed.contains(instances[1]), "stored at B: {listed}");
    Ok(())
}

/// The prompt set in "Advanced: identity provider client" goes to the provider: `login` without
/// `consent`, and oCIS's IdP (as the lookup's acts it out) grants no refresh token. The verified
/// page and the account then say when the login ends, instead of pretending it lasts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_consent_the_login_ends_and_the_window_says_when() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let browser = BrowserRobot::new().expect("a browser robot in a temp folder");
    let app = App::launch_with(&["--demo"], Some(&browser)).await.expect("the app starts under tauri-driver");
    let outcome = login_without_consent(&app, &browser).await;
    app.finish("oidc-login-ends", outcome).await;
}

async fn login_without_consent(app: &App, browser: &BrowserRobot) -> TestResult {
    let ocis = app.text("#demo-ocis-url").await?;
    app.type_into("#address", ocis).await?;
    app.click("#client-toggle").await?;
    app.type_into("#client-prompt", "login").await?;
    app.keys(Key::Enter).await?;
    app.wait_for("#page-browser").await?;
    app.focus_reaches("browser-opened").await?;
    app.keys(Key::Enter).await?;
    let opened = browser.wait_for_url(1).await?;
    let prompt = opened.query_pairs().find(|(key, _)| key == "prompt").map(|(_, prompt)| prompt.into_owned());
    assert_eq!(prompt.as_deref(), Some("login"), "the person's prompt, not select_account consent: {opened}");
    browser.log_in(&opened, "einstein", "relativity").await?;

    let ends = app.text("#verified-login-end").await?;
    assert!(ends.contains("no refresh token") && ends.contains("log in again in"), "said: {ends}");
    assert!(ends.contains("minute"), "in minutes: {ends}");
    app.snapshot("oidc-login-ends-0-verified").await?;
    app.click("#done").await?;
    let entry = app.text("li.account").await?;
    assert!(entry.contains("log in again in"), "the account says so too: {entry}");
    let id = app.wait_for("li.account").await?.attr("data-account-id").await?.ok_or("the row's id")?;
    let oidc = app.store().get(&id)?.oidc.ok_or("an OIDC account")?;
    assert!(oidc.login_expires_at.is_some(), "the end is recorded: {oidc:?}");
    let kept: serde_json::Value = serde_json::from_str(app.store().secret(&id)?.expose())?;
    assert!(kept.get("refresh_token").is_none(), "no refresh token to keep: {kept}");
    Ok(())
}
