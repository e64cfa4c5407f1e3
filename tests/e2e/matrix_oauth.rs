//! Matrix's OAuth 2.0 API in a real window (docs/protocols/matrix-oauth.md): the demo's
//! OAuth-only homeserver. The person picks (types) the Matrix ID alone; the app opens the login
//! at the homeserver's authorization server in the system browser, verifies with whoami, stores
//! the tokens, links the server's account page, re-verifies, and removing the account revokes
//! the login at the server.

use thirtyfour::prelude::*;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_matrix_id_alone_logs_in_at_the_homeservers_authorization_server_and_remove_revokes_it() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let browser = BrowserRobot::new().expect("a browser robot in a temp folder");
    let app = App::launch_with(&["--demo"], Some(&browser)).await.expect("the app starts under tauri-driver");
    let outcome = oauth_flow(&app, &browser).await;
    app.finish("matrix-oauth", outcome).await;
}

async fn oauth_flow(app: &App, browser: &BrowserRobot) -> TestResult {
    let person = app.wait_for("#demo-matrix-oauth .demo-matrix-oauth").await?;
    let matrix_id = person.attr("data-address").await?.ok_or("the demo names the Matrix ID")?;
    drop(person);
    app.click("#demo-matrix-oauth .demo-matrix-oauth").await?;

    app.wait_for("#page-browser").await?;
    // A screen reader hears which page opened (a polite live region).
    let announced = app.text_content_becomes("#page-announcement", "Continue in your browser.").await?;
    assert_eq!(announced, "Continue in your browser.", "the new page is announced");
    let words = app.text("#browser-matrix-oauth").await?;
    assert!(words.contains("account service") && words.contains("device"), "the page says what happens: {words}");
    let issuer =
        log_in_through_the_browser(app, browser, ("einstein", "relativity"), Callback::Oidc, "matrix-oauth-0-browser")
            .await?;
    let opened = browser.wait_for_url(1).await?;
    let hint = opened.query_pairs().find(|(key, _)| key == "login_hint").map(|(_, hint)| hint.into_owned());
    assert_eq!(hint, Some(format!("mxid:{matrix_id}")), "the Matrix ID goes to the server as the hint: {opened}");

    app.wait_for("#page-verified").await?;
    assert_eq!(app.text("#verified-name").await?, "Albert Einstein", "whoami and the profile name the user");
    let logged_in = app.text("#verified-matrix-oauth").await?;
    assert!(logged_in.contains(&issuer), "the page names the authorization server ({issuer}): {logged_in}");
    assert!(app.driver.find_all(By::Css("#verified-portal")).await?.is_empty(), "no portal: the homeserver itself");
    app.snapshot("matrix-oauth-1-verified").await?;
    app.focus_reaches("done").await?;
    app.keys(Key::Enter).await?;

    let entry = app.wait_for("li.account").await?;
    let id = entry.attr("data-account-id").await?.ok_or("the account row carries its id")?;
    let account = app.store().get(&id)?;
    assert_eq!(account.user_id, matrix_id, "stored as the Matrix ID typed");
    let page = account.matrix.as_ref().and_then(|m| m.account_management_uri.clone()).ok_or("an account page")?;
    app.snapshot("matrix-oauth-2-accounts").await?;

    // "Manage account" opens the server's account page in the browser: the stored page only.
    let opened_before = browser.opened().len();
    app.click(&format!("li.account[data-account-id='{id}'] .manage-account")).await?;
    let managed = browser.wait_for_url(opened_before + 1).await?;
    assert_eq!(managed.as_str(), page, "the account page the server named");

    app.click(&format!("li.account[data-account-id='{id}'] .verify-account")).await?;
    let notice = app.text(".notice").await?;
    assert!(notice.contains("Albert Einstein is verified"), "re-verified with the stored tokens: {notice}");

    app.click(&format!("li.account[data-account-id='{id}'] .remove-account")).await?;
    app.wait_for("#confirm-remove-dialog").await?;
    app.click("#confirm-remove").await?;
    app.wait_for("#no-accounts").await?;
    let notice = app.text(".notice").await?;
    assert!(notice.contains("Its login was revoked and its device logged out at"), "the removal says so: {notice}");
    Ok(())
}
