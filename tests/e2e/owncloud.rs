//! ownCloud through the demo: connect through the redirect, store in the keyring, remove; a wrong password; maintenance.

use base64::Engine as _;
use homeport_engine::ErrorCode;
use homeport_lookup::{Fault, Scenario};
use thirtyfour::prelude::*;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_connects_through_the_redirect_stores_in_the_keyring_and_removes() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let app = App::launch(&["--demo"]).await.expect("the app starts under tauri-driver");
    let outcome = demo_account_lifecycle(&app).await;
    app.finish("demo-account-lifecycle", outcome).await;
}

async fn demo_account_lifecycle(app: &App) -> TestResult {
    // --demo opens in demo mode: the banner names the embedded server, the address is pre-filled.
    let banner = app.text("#demo-banner").await?;
    let central = app.value("#address").await?;
    let central_origin = origin_of(&central)?;
    assert!(central.starts_with("http://127.0.0.1:"), "the demo server is on loopback: {central}");
    assert!(banner.contains(central_origin.as_str()), "the banner says where the demo runs: {banner}");
    let gss = app.text("#demo-nextcloud-url").await?;
    assert!(gss.starts_with("http://127.0.0.1:") && banner.contains(&gss), "and names the Nextcloud GSS: {banner}");

    app.snapshot("demo-0-address").await?;
    app.click("#connect").await?;
    let server = app.text("#server-info").await?;
    assert!(server.contains("ownCloud"), "the server check shows the product: {server}");
    app.type_into("#username", "test@instance2.com").await?;
    app.type_into("#password", "secret" + Key::Enter).await?;

    let redirect = app.text("#redirect-to").await?;
    app.snapshot("demo-1-redirect").await?;
    let rows_before_approval = app.driver.find_all(By::Css(".trace-row")).await?.len();
    assert!(rows_before_approval >= 3, "status.php, PROPFIND 401, PROPFIND 301 are drawn: {rows_before_approval}");
    app.click("#approve-redirect").await?;

    let name = app.text("#verified-name").await?;
    let instance = app.text("#verified-instance").await?;
    assert_eq!(name, "Test User Two", "ocs display-name of test@instance2.com");
    let instance_origin = origin_of(&instance)?;
    assert_ne!(instance_origin, central_origin, "the account lives on another server than the central one");
    assert!(redirect.contains(instance_origin.as_str()), "the confirmed redirect led there: {redirect}");
    assert!(app.wait_for("#initials").await.is_ok(), "instance 2 has no avatar: initials are shown");
    let rows = app.driver.find_all(By::Css(".trace-row")).await?.len();
    assert!(rows > rows_before_approval, "the diagram grew while verifying: {rows}");

    app.snapshot("demo-2-verified").await?;
    // The diagram's details show headers as recorded: credentials redacted.
    app.click(".trace-row[aria-label*='207']").await?;
    let detail = app.text("#trace-detail").await?;
    let basic = base64::engine::general_purpose::STANDARD.encode("test@instance2.com:secret");
    assert!(detail.contains("Basic [redacted]"), "the Authorization header is shown redacted: {detail}");
    assert!(!detail.contains(&basic) && !detail.contains("secret"), "no credential in the details: {detail}");
    // Copy as text asks the shell for the engine's PlantUML (trace_plantuml): granted, and the
    // events the window drew read back there, or no confirmation would appear.
    app.click("#copy-trace").await?;
    let copied = app.text(".copied").await?;
    assert_eq!(copied, "Copied the diagram as PlantUML text.", "the diagram was copied");
    app.click("#done").await?;
    let entry = app.wait_for("li.account").await?;
    app.snapshot("demo-3-accounts").await?;
    let id = entry.attr("data-account-id").await?.ok_or("the account row carries its id")?;
    let listed = entry.text().await?;
    assert!(listed.contains("Test User Two") && listed.contains(&instance), "the accounts page lists it: {listed}");
    let stored = app.store().get(&id)?;
    assert_eq!(stored.instance_url.as_url().as_str(), instance, "accounts.json holds the instance");
    assert_eq!(app.store().secret(&id)?.expose(), "secret", "the password is in the Secret Service");

    app.click(&format!("li.account[data-account-id='{id}'] .remove-account")).await?;
    app.wait_for("#confirm-remove-dialog").await?;
    assert!(app.store().get(&id).is_ok(), "nothing is removed before the person confirms");
    app.click("#confirm-remove").await?;
    app.wait_for("#no-accounts").await?;
    assert!(app.store().list()?.is_empty(), "gone from accounts.json");
    let secret = app.store().secret(&id);
    assert!(secret.is_err(), "gone from the keyring too");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_keeps_the_form_and_the_right_one_then_connects() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let app = App::launch(&["--demo"]).await.expect("the app starts under tauri-driver");
    let outcome = wrong_password(&app).await;
    app.finish("wrong-password", outcome).await;
}

async fn wrong_password(app: &App) -> TestResult {
    app.wait_for("#demo-banner").await?;
    app.click("#connect").await?;
    app.type_into("#username", "test@instance2.com").await?;
    app.type_into("#password", "not-the-password").await?;
    app.click("#login").await?;
    // The central server routes by name alone; the instance checks the password.
    app.click("#approve-redirect").await?;
    let message = app.error_with_code(ErrorCode::AuthFailed).await?;
    assert!(message.contains("test@instance2.com"), "the message names the user: {message}");
    app.wait_for("#page-login").await?;
    assert_eq!(app.value("#username").await?, "test@instance2.com", "the user name is kept");
    assert_eq!(app.value("#password").await?, "not-the-password", "the password field is kept");
    assert!(app.store().list()?.is_empty(), "nothing stored after a failed login");
    app.snapshot("wrong-password-form").await?;

    app.type_into("#password", "secret" + Key::Enter).await?;
    // The approval is remembered for this connection: straight to the verified page.
    assert_eq!(app.text("#verified-name").await?, "Test User Two");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_in_maintenance_is_explained() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let scenario = Scenario { fault: Some(Fault::Maintenance), ..Scenario::default() };
    let server = homeport_lookup::testing::start(scenario).await;
    let app = App::launch(&[]).await.expect("the app starts under tauri-driver");
    let outcome = maintenance(&app, server.central_url().as_str()).await;
    app.finish("maintenance", outcome).await;
    server.shutdown().await;
}

async fn maintenance(app: &App, central: &str) -> TestResult {
    assert!(app.driver.find_all(By::Css("#demo-banner")).await?.is_empty(), "no --demo: no demo banner");
    app.type_into("#address", central.to_owned() + Key::Enter).await?;
    let explanation = app.error_with_code(ErrorCode::ServerNotReady).await?;
    assert!(explanation.to_lowercase().contains("maintenance"), "says why: {explanation}");
    app.wait_for("#retry").await?;
    Ok(())
}
