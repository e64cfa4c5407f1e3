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

/// A QA script for the same situation: the file names einstein (the login hint), the system
/// browser logs in as marie, and the file's `continue_as = "marie"` answers the page visibly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_goes_on_as_the_user_its_file_names() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let folder = tempfile::tempdir().expect("scratch");
    let file = folder.path().join("s2-continue-as-marie.toml");
    std::fs::write(
        &file,
        "name = \"S2: einstein typed, marie logged in, the script goes on as marie\"\n[connect]\n\
         address = \"${ocis}\"\nuser = \"einstein\"\nbrowser = \"system\"\ncontinue_as = \"marie\"\n\
         instance = \"${ocis_instances.B}\"\n[expect]\nuser_id = \"marie\"\ninstance = \"${ocis_instances.B}\"\n",
    )
    .expect("a scenario file");
    let browser = BrowserRobot::new().expect("a browser robot in a temp folder");
    let path = file.display().to_string();
    let app = App::launch_with(&["--script", &path], Some(&browser)).await.expect("the app starts under tauri-driver");
    let outcome = script_continues_as_marie(&app, &browser).await;
    app.finish("autopilot-continue-as", outcome).await;
}

async fn script_continues_as_marie(app: &App, browser: &BrowserRobot) -> TestResult {
    // The autopilot opens the login page in the system browser; there, marie is logged in.
    let opened = browser.wait_for_url(1).await?;
    let hint = opened.query_pairs().find(|(key, _)| key == "login_hint").map(|(_, hint)| hint.into_owned());
    assert_eq!(hint.as_deref(), Some("einstein"), "the file's user is the login hint: {opened}");
    browser.log_in(&opened, "marie", "radioactivity").await?;
    app.wait_for("#page-confirm-user").await?;
    let verdict = app
        .driver
        .query(By::Css("#autopilot-verdict"))
        .ignore_errors(true)
        .wait(std::time::Duration::from_secs(60), POLL)
        .and_displayed()
        .first()
        .await?;
    let line = verdict.text().await?;
    assert_eq!(verdict.attr("data-passed").await?.as_deref(), Some("true"), "expectations met: {line}");
    assert_eq!(app.text("#verified-name").await?, "Marie Curie", "went on as marie, at B");
    Ok(())
}
