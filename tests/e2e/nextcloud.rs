//! Nextcloud Global Scale in a real window (docs/protocols/nextcloud-login-flow.md): the person
//! types the Global Site Selector; the app opens Login Flow v2 in the system browser (xdg-open
//! runs `$BROWSER`, the peers' robot, which logs in and grants access on the GSS's own pages),
//! polls, asks before the app password goes to the node the grant names, and verifies there. The
//! keyring holds the node's app password, never the account password.

use std::time::Duration;

use homeport_lookup::testing::browser_robot;
use homeport_lookup::Scenario;
use thirtyfour::prelude::*;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_global_site_selector_logs_bob_in_in_the_browser_and_the_app_lands_on_his_node() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let server = homeport_lookup::testing::start(Scenario::default()).await;
    let robot = browser_robot("bob", "bob-pw");
    let app = App::launch_with_envs(&[], &robot.envs()).await.expect("the app starts under tauri-driver");
    let outcome = nextcloud_flow(&app, &server).await;
    let outcome = outcome.map_err(|e| format!("{e}\nthe robot's log:\n{}", robot.log()));
    app.finish("nextcloud-verified", outcome.map_err(Into::into)).await;
    server.shutdown().await;
}

async fn nextcloud_flow(app: &App, server: &homeport_lookup::LookupServer) -> TestResult {
    let gss = server.nextcloud_gss_url().to_string();
    let node2 = server.nextcloud_node_urls()["node2"].to_string();
    app.type_into("#address", gss.clone() + Key::Enter).await?;
    app.wait_for("#page-browser").await?;
    let words = app.text("#browser-nextcloud").await?;
    assert!(words.contains("Login Flow v2") && words.contains("app password"), "the page says what happens: {words}");
    let login = app.value("#browser-url").await?;
    assert!(login.starts_with(gss.trim_end_matches('/')), "the login page is the GSS's: {login}");
    app.focus_reaches("browser-opened").await?;
    app.keys(Key::Enter).await?;
    let waiting = app.text("#browser-waiting").await?;
    assert!(waiting.contains("every few seconds"), "the wait says Homeport is polling: {waiting}");

    // The grant names bob's node: his app password goes there only once approved.
    let redirect =
        app.driver.query(By::Css("#page-redirect")).wait(Duration::from_secs(60), POLL).and_displayed().first().await?;
    let to = app.text("#redirect-to").await?;
    assert!(to.contains(node2.trim_end_matches('/')), "the node is named before anything goes there: {to}");
    app.snapshot("nextcloud-0-node").await?;
    drop(redirect);
    app.focus_reaches("approve-redirect").await?;
    app.keys(Key::Enter).await?;

    app.driver.query(By::Css("#page-verified")).wait(Duration::from_secs(30), POLL).and_displayed().first().await?;
    assert_eq!(app.text("#verified-instance").await?, node2, "verified at bob's node");
    let method = app.text("#verified-app-password").await?;
    assert!(method.contains("app password"), "the page says how it logs in: {method}");
    app.snapshot("nextcloud-1-verified").await?;
    app.focus_reaches("done").await?;
    app.keys(Key::Enter).await?;

    let entry = app.wait_for("li.account").await?;
    let id = entry.attr("data-account-id").await?.ok_or("the account row carries its id")?;
    let shown = app.text("li.account .account-method").await?;
    assert_eq!(shown, "Logs in with an app password", "the accounts page names the method");
    let secret = app.store().secret(&id)?;
    assert_ne!(secret.expose(), "bob-pw", "the account password is never kept");
    assert!(server.is_nextcloud_app_password("bob", secret.expose()), "the keyring holds the node's app password");

    // Removing the account deletes its app password at the node, and says so.
    app.click(&format!("li.account[data-account-id='{id}'] .remove-account")).await?;
    app.wait_for("#confirm-remove-dialog").await?;
    app.click("#confirm-remove").await?;
    app.wait_for("#no-accounts").await?;
    let notice = app.text(".notice").await?;
    assert!(
        notice.contains("The app password was deleted at"),
        "the removal names what happened at the node: {notice}"
    );
    assert!(!server.is_nextcloud_app_password("bob", secret.expose()), "the node no longer takes it");
    Ok(())
}
