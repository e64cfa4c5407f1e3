//! The keyboard alone: a whole connection, and Escape cancelling a slow server check.

use std::time::Duration;

use homeport_lookup::Scenario;
use thirtyfour::prelude::*;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_connection_works_from_the_keyboard_alone() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let app = App::launch(&["--demo"]).await.expect("the app starts under tauri-driver");
    let outcome = keyboard_only(&app).await;
    app.finish("keyboard-only", outcome).await;
}

async fn keyboard_only(app: &App) -> TestResult {
    app.wait_for("#demo-banner").await?;
    app.focus_reaches("address").await?;
    app.keys(Key::Enter).await?;
    app.wait_for("#page-login").await?;
    app.focus_reaches("username").await?;
    app.keys("test@instance3.com" + Key::Tab).await?;
    app.focus_reaches("password").await?;
    app.keys("secret" + Key::Enter).await?;
    app.wait_for("#page-redirect").await?;
    app.focus_reaches("approve-redirect").await?;
    app.keys(Key::Enter).await?;
    app.wait_for("#page-verified").await?;
    app.focus_reaches("done").await?;
    assert_eq!(app.text("#verified-name").await?, "Test User Three");
    app.keys(Key::Enter).await?;
    let listed = app.text("li.account").await?;
    assert!(listed.contains("Test User Three"), "stored with the keyboard alone: {listed}");
    // Re-verify logs in again with the password from the keyring.
    app.click(".verify-account").await?;
    let notice = app.text(".notice").await?;
    assert!(notice.contains("Test User Three is verified"), "re-verified: {notice}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escape_cancels_a_slow_server_check_and_keeps_the_address() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    // Every answer takes 3 s: long enough to see the progress and press Escape.
    let scenario = Scenario { latency: Duration::from_secs(3), ..Scenario::default() };
    let server = homeport_lookup::testing::start(scenario).await;
    let app = App::launch(&[]).await.expect("the app starts under tauri-driver");
    let outcome = cancel_slow_check(&app, server.central_url().as_str()).await;
    app.finish("cancelled", outcome).await;
    server.shutdown().await;
}

async fn cancel_slow_check(app: &App, central: &str) -> TestResult {
    app.type_into("#address", central.to_owned() + Key::Enter).await?;
    let progress = app.text("#progress").await?;
    assert!(progress.contains("Checking the server"), "progress is shown: {progress}");
    app.keys(Key::Escape).await?;
    let notice = app.text(".notice").await?;
    assert!(notice.contains("Cancelled"), "says it was cancelled: {notice}");
    app.wait_for("#page-address").await?;
    assert_eq!(app.value("#address").await?, central, "the typed address is kept");
    assert!(app.driver.find_all(By::Css("#progress")).await?.is_empty(), "no progress left running");
    Ok(())
}
