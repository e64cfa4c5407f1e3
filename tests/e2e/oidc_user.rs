//! OpenID Connect: the identity provider logs in another user than the one typed (the browser
//! was logged in there as someone else). The window names both; Escape starts over with the
//! address kept, and "Continue as …" connects the provider's user, all from the keyboard.

use homeport_engine::ErrorCode;
use thirtyfour::prelude::*;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_user_than_typed_is_named_and_either_answer_works_from_the_keyboard() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let browser = BrowserRobot::new().expect("a browser robot in a temp folder");
    let app = App::launch_with(&["--demo"], Some(&browser)).await.expect("the app starts under tauri-driver");
    let outcome = another_user(&app, &browser).await;
    app.finish("oidc-other-user", outcome).await;
}

/// On the browser page: "Open the login page" from the keyboard, and the (robot) browser logs in
/// there as `user` — whoever was typed in Homeport.
async fn log_in_at_the_provider_as(app: &App, browser: &BrowserRobot, (user, password): (&str, &str)) -> TestResult {
    app.wait_for("#page-browser").await?;
    assert!(app.driver.find_all(By::Css("#browser-elsewhere")).await?.is_empty(), "the demo's IdP is on this machine");
    app.focus_reaches("browser-opened").await?;
    let opened_before = browser.opened().len();
    app.keys(Key::Enter).await?;
    let opened = browser.wait_for_url(opened_before + 1).await?;
    let hint = opened.query_pairs().find(|(key, _)| key == "login_hint").map(|(_, hint)| hint.into_owned());
    assert_eq!(hint.as_deref(), Some("einstein"), "the typed user goes to the provider as a hint: {opened}");
    browser.log_in(&opened, user, password).await?;
    Ok(())
}

async fn another_user(app: &App, browser: &BrowserRobot) -> TestResult {
    let ocis = app.text("#demo-ocis-url").await?;
    // The person means einstein; the browser is still logged in at the provider as marie.
    let address = ocis.replacen("http://", "http://einstein@", 1);
    app.type_into("#address", address.clone() + Key::Enter).await?;
    log_in_at_the_provider_as(app, browser, ("marie", "radioactivity")).await?;

    app.wait_for("#page-confirm-user").await?;
    assert_eq!(app.text("#confirm-user-typed").await?, "einstein");
    assert_eq!(app.text("#confirm-user-logged-in").await?, "Marie Curie (marie)", "the provider's user, named");
    app.focus_reaches("confirm-user-continue").await?;
    assert_eq!(app.text("#confirm-user-continue").await?, "Continue as marie", "the button says who");
    app.snapshot("oidc-other-user-0-question").await?;

    // Escape: start over. The address is kept and the error says what to do.
    app.keys(Key::Escape).await?;
    let message = app.error_with_code(ErrorCode::AuthFailed).await?;
    assert!(message.contains("marie") && message.contains("einstein"), "both are named: {message}");
    let explained = app.text("#error").await?;
    assert!(explained.contains("You logged in as someone else"), "in plain words: {explained}");
    app.wait_for("#page-address").await?;
    assert_eq!(app.value("#address").await?, address, "the typed address is kept");
    app.focus_reaches("address").await?;
    assert!(app.store().list()?.is_empty(), "nothing was stored");
    app.snapshot("oidc-other-user-1-start-over").await?;

    // Again, and this time Enter: continue as marie, on the instance she picks.
    app.keys(Key::Enter).await?;
    log_in_at_the_provider_as(app, browser, ("marie", "radioactivity")).await?;
    app.wait_for("#page-confirm-user").await?;
    app.focus_reaches("confirm-user-continue").await?;
    app.keys(Key::Enter).await?;
    app.wait_for("#page-choose-instance").await?;
    app.keys(Key::Enter).await?;
    assert_eq!(app.text("#verified-name").await?, "Marie Curie", "the provider's user, as confirmed");
    assert!(
        app.driver.find_all(By::Css("#verified-login-end")).await?.is_empty(),
        "with consent the provider gave a refresh token: no end to announce"
    );
    app.focus_reaches("done").await?;
    app.keys(Key::Enter).await?;
    let listed = app.text("li.account").await?;
    assert!(listed.contains("Marie Curie"), "stored as marie: {listed}");
    Ok(())
}
