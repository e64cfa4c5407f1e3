//! The desktop through a real, certified OpenID Provider (node-oidc-provider set up like oCIS's
//! built-in IdP, lico: registration off, only the ownCloud desktop client with its secret, a
//! refresh token only with consent), behind the lookup server's oCIS (`Scenario::oidc_issuer`).
//! The app opens the login in the system browser — xdg-open runs `$BROWSER`, the peers' robot
//! (tests/peers/browser-robot.py) that fills the provider's own login and consent forms — and the
//! window shows the verified account, with no setting a person would not know.

use std::time::Duration;

use homeport_engine::oidc_client::{OWNCLOUD_DESKTOP_CLIENT_ID, OWNCLOUD_DESKTOP_CLIENT_SECRET};
use homeport_lookup::testing::{browser_robot, RealIdp, RealIdpSetup};
use homeport_lookup::Scenario;
use thirtyfour::prelude::*;

use crate::harness::*;

/// The access tokens' lifetime: the re-verify after it has passed refreshes.
const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ocis_behind_a_real_openid_provider_connects_in_the_system_browser_and_refreshes() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let idp = RealIdp::start(RealIdpSetup::Ocis { access_token_ttl: Some(ACCESS_TOKEN_TTL) });
    let issuer = idp.issuer_url().clone();
    let server = homeport_lookup::testing::start(Scenario { oidc_issuer: Some(issuer), ..Scenario::default() }).await;
    let robot = browser_robot("einstein", "relativity");
    let app = App::launch_with_envs(&[], &robot.envs()).await.expect("the app starts under tauri-driver");
    let outcome = real_idp_login(&app, &idp, server.ocis_url().as_str()).await;
    let outcome =
        outcome.map_err(|e| format!("{e}\nthe robot's log:\n{}\nthe provider's log:\n{}", robot.log(), idp.log()));
    app.finish("real-idp-verified", outcome.map_err(Into::into)).await;
    server.shutdown().await;
}

async fn real_idp_login(app: &App, idp: &RealIdp, ocis: &str) -> TestResult {
    app.type_into("#address", ocis.to_owned() + Key::Enter).await?;
    app.wait_for("#page-browser").await?;
    assert_eq!(app.text("#browser-issuer").await?, idp.issuer(), "the page names the real provider");
    let login_page = url::Url::parse(&app.value("#browser-url").await?)?;
    let client_id = login_page.query_pairs().find(|(key, _)| key == "client_id").map(|(_, id)| id.into_owned());
    assert_eq!(client_id.as_deref(), Some(OWNCLOUD_DESKTOP_CLIENT_ID), "oCIS: the ownCloud desktop client");
    app.focus_reaches("browser-opened").await?;
    app.keys(Key::Enter).await?;

    // The robot logs in and consents in the provider's own pages; the window comes back verified.
    wait_for_verified(app).await?;
    assert_eq!(app.text("#verified-name").await?, "Albert Einstein");
    assert_eq!(app.text("#verified-idp").await?, idp.issuer(), "logged in at the real provider");
    assert!(
        app.driver.find_all(By::Css("#verified-login-end")).await?.is_empty(),
        "with consent the provider gave a refresh token: the login does not end"
    );
    app.snapshot("real-idp-0-verified").await?;
    app.focus_reaches("done").await?;
    app.keys(Key::Enter).await?;

    let entry = app.wait_for("li.account").await?;
    let id = entry.attr("data-account-id").await?.ok_or("the account row carries its id")?;
    let stored = app.store().get(&id)?;
    let oidc = stored.oidc.as_ref().ok_or("an OIDC account")?;
    assert_eq!((oidc.issuer.as_str(), oidc.client_id.as_str()), (idp.issuer(), OWNCLOUD_DESKTOP_CLIENT_ID));
    assert_eq!(oidc.login_expires_at, None, "a refresh token: the login refreshes itself");
    let kept: serde_json::Value = serde_json::from_str(app.store().secret(&id)?.expose())?;
    let refresh_token = kept["refresh_token"].as_str().ok_or("the keyring holds the refresh token")?.to_owned();
    assert_eq!(kept["client_secret"], OWNCLOUD_DESKTOP_CLIENT_SECRET, "and the client's secret, for refreshing");
    let file = std::fs::read_to_string(app.config.path().join("accounts.json"))?;
    assert!(!file.contains(&refresh_token) && !file.contains(OWNCLOUD_DESKTOP_CLIENT_SECRET), "no secret in the file");

    // The access token has expired: Re-verify refreshes at the real provider (its token endpoint
    // checks the client's secret) and keeps the rotated refresh token.
    tokio::time::sleep(ACCESS_TOKEN_TTL + Duration::from_secs(1)).await;
    app.click(".verify-account").await?;
    let notice = app.text(".notice").await?;
    assert!(notice.contains("Albert Einstein is verified"), "re-verified with the refresh token: {notice}");
    let kept: serde_json::Value = serde_json::from_str(app.store().secret(&id)?.expose())?;
    assert!(kept["refresh_token"].as_str().is_some_and(|token| !token.is_empty()), "still a refresh token: {kept}");
    app.snapshot("real-idp-1-reverified").await?;
    Ok(())
}

/// lico's ID token carries only `sub` (the profile is at userinfo): the user typed is still
/// recognised — einstein is not asked "another user?" about himself — and another one is named as
/// the provider knows her.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_typed_is_recognised_behind_a_real_provider_whose_id_token_has_only_sub() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let idp = RealIdp::start(RealIdpSetup::Ocis { access_token_ttl: None });
    let issuer = idp.issuer_url().clone();
    let server = homeport_lookup::testing::start(Scenario { oidc_issuer: Some(issuer), ..Scenario::default() }).await;
    let address = server.ocis_url().as_str().replacen("http://", "http://einstein@", 1);
    // The browser's session at the provider is einstein's, then marie's.
    for (user, password, picture) in
        [("einstein", "relativity", "real-idp-typed-user"), ("marie", "radioactivity", "real-idp-other-user")]
    {
        let robot = browser_robot(user, password);
        let app = App::launch_with_envs(&[], &robot.envs()).await.expect("the app starts under tauri-driver");
        let outcome = typed_einstein_logged_in_as(&app, &address, user).await;
        let outcome =
            outcome.map_err(|e| format!("{e}\nthe robot's log:\n{}\nthe provider's log:\n{}", robot.log(), idp.log()));
        app.finish(picture, outcome.map_err(Into::into)).await;
    }
    server.shutdown().await;
}

async fn typed_einstein_logged_in_as(app: &App, address: &str, user: &str) -> TestResult {
    app.type_into("#address", address.to_owned() + Key::Enter).await?;
    app.wait_for("#page-browser").await?;
    app.focus_reaches("browser-opened").await?;
    app.keys(Key::Enter).await?;
    let next = app
        .driver
        .query(By::Css("#page-confirm-user, #page-choose-instance, #page-verified, #error"))
        .ignore_errors(true)
        .wait(Duration::from_secs(60), POLL)
        .and_displayed()
        .first()
        .await?;
    let (page, shown) = (next.id().await?, next.text().await?);
    if user == "einstein" {
        assert_eq!(page.as_deref(), Some("page-verified"), "einstein is einstein: no question: {shown}");
        assert_eq!(app.text("#verified-name").await?, "Albert Einstein");
    } else {
        assert_eq!(page.as_deref(), Some("page-confirm-user"), "{user} is not einstein: asked: {shown}");
        assert_eq!(app.text("#confirm-user-logged-in").await?, "Marie Curie (marie)", "as the provider knows her");
    }
    Ok(())
}

/// A Keycloak-style realm: the admin registered the public client `homeport` for one redirect
/// port. The person types both into "Advanced: identity provider client" — from the keyboard —
/// and connects; the account keeps that client (no secret anywhere).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keycloak_realms_client_and_redirect_port_from_the_advanced_settings_connect() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let redirect_port = homeport_lookup::testing::free_loopback_port();
    let idp = RealIdp::start(RealIdpSetup::Keycloak { redirect_port, access_token_ttl: None });
    let issuer = idp.issuer_url().clone();
    let server = homeport_lookup::testing::start(Scenario { oidc_issuer: Some(issuer), ..Scenario::default() }).await;
    let robot = browser_robot("einstein", "relativity");
    let app = App::launch_with_envs(&[], &robot.envs()).await.expect("the app starts under tauri-driver");
    let outcome = realm_login(&app, &idp, server.ocis_url().as_str(), redirect_port).await;
    let outcome =
        outcome.map_err(|e| format!("{e}\nthe robot's log:\n{}\nthe provider's log:\n{}", robot.log(), idp.log()));
    app.finish("real-idp-keycloak-verified", outcome.map_err(Into::into)).await;
    server.shutdown().await;
}

async fn realm_login(app: &App, idp: &RealIdp, ocis: &str, redirect_port: u16) -> TestResult {
    app.type_into("#address", ocis).await?;
    app.click("#client-toggle").await?;
    app.focus_reaches("client-id").await?;
    app.keys(idp.client_id()).await?;
    app.type_into("#client-redirect-port", redirect_port.to_string()).await?;
    assert!(app.text("#client-toggle").await?.contains("(2 set)"), "the toggle says what is set");
    app.snapshot("real-idp-keycloak-0-advanced").await?;
    // Enter in the settings' fields connects, as in the address field.
    app.keys(Key::Enter).await?;

    app.wait_for("#page-browser").await?;
    assert_eq!(app.text("#browser-issuer").await?, idp.issuer(), "the realm is the provider");
    let login_page = url::Url::parse(&app.value("#browser-url").await?)?;
    let param = |name: &str| login_page.query_pairs().find(|(key, _)| key == name).map(|(_, v)| v.into_owned());
    assert_eq!(param("client_id").as_deref(), Some(idp.client_id()), "the realm's client: {login_page}");
    let redirect_uri = url::Url::parse(&param("redirect_uri").unwrap_or_default())?;
    assert_eq!(redirect_uri.port(), Some(redirect_port), "the one registered port: {redirect_uri}");
    app.focus_reaches("browser-opened").await?;
    app.keys(Key::Enter).await?;
    wait_for_verified(app).await?;
    assert_eq!(app.text("#verified-name").await?, "Albert Einstein");
    app.click("#done").await?;
    let entry = app.wait_for("li.account").await?;
    let id = entry.attr("data-account-id").await?.ok_or("the account row carries its id")?;
    let oidc = app.store().get(&id)?.oidc.ok_or("an OIDC account")?;
    assert_eq!(oidc.client_id, idp.client_id(), "the account keeps the realm's client");
    assert_eq!(oidc.token_auth, homeport_engine::oidc_client::TokenAuth::Public, "a public client");
    let kept: serde_json::Value = serde_json::from_str(app.store().secret(&id)?.expose())?;
    assert!(kept["refresh_token"].is_string() && kept.get("client_secret").is_none(), "no secret: {kept}");
    Ok(())
}

/// Waits (a minute at most) for the verified page; else fails with the error the window shows.
async fn wait_for_verified(app: &App) -> TestResult {
    let verified = app
        .driver
        .query(By::Css("#page-verified"))
        .ignore_errors(true)
        .wait(Duration::from_secs(60), POLL)
        .and_displayed()
        .first()
        .await;
    if verified.is_err() {
        let shown = match app.driver.find_all(By::Css("#error")).await?.first() {
            Some(error) => error.text().await?,
            None => "no error shown".into(),
        };
        return Err(format!("the window did not show the verified account: {shown}").into());
    }
    Ok(())
}
