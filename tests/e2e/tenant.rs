//! A tenant address: the login at its own identity zone, with tenant and scopes shown.

use std::net::{Ipv4Addr, TcpStream};
use std::time::Instant;

use homeport_engine::ErrorCode;
use thirtyfour::prelude::*;
use url::Url;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_address_logs_in_at_its_zone_and_shows_tenant_and_scopes() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let browser = BrowserRobot::new().expect("a browser robot in a temp folder");
    let app = App::launch_with(&["--demo"], Some(&browser)).await.expect("the app starts under tauri-driver");
    let outcome = tenant_login(&app, &browser).await;
    app.finish("tenant-verified", outcome).await;
}

async fn tenant_login(app: &App, browser: &BrowserRobot) -> TestResult {
    // Escape while Homeport waits for the browser stops waiting and closes the loopback listener.
    app.click_settled(&app.wait_for(".demo-tenant[data-tenant='tenant1']").await?).await?;
    app.click("#browser-opened").await?;
    app.focus_reaches("browser-cancel").await?;
    let login_page = browser.wait_for_url(1).await?;
    app.keys(Key::Escape).await?;
    let notice = app.text(".notice").await?;
    assert!(notice.contains("Cancelled"), "says it was cancelled: {notice}");
    let redirect_uri = login_page
        .query_pairs()
        .find(|(name, _)| name == "redirect_uri")
        .map(|(_, value)| Url::parse(&value))
        .ok_or("the login page names Homeport's redirect URI")??;
    let port = redirect_uri.port().ok_or("the redirect URI has a port")?;
    let deadline = Instant::now() + WAIT;
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
        if Instant::now() > deadline {
            return Err(format!("the loopback listener on port {port} is still open after Cancel").into());
        }
        tokio::time::sleep(POLL).await;
    }

    // An unsubscribed tenant's zone refuses; the app says so plainly.
    app.click_settled(&app.wait_for(".demo-tenant[data-tenant='tenant3']").await?).await?;
    log_in_through_the_browser(app, browser, ("einstein", "relativity"), Callback::Oidc, "tenant-browser").await?;
    let refusal = app.error_with_code(ErrorCode::AuthFailed).await?;
    assert!(refusal.contains("tenant3"), "the refusal names the tenant: {refusal}");
    assert!(refusal.contains("may not use"), "and says why in plain words: {refusal}");
    app.snapshot("tenant-refused").await?;

    app.click_settled(&app.wait_for(".demo-tenant[data-tenant='tenant1']").await?).await?;
    app.wait_for("#page-browser").await?;
    let issuer = app.text("#browser-issuer").await?;
    assert!(issuer.starts_with("http://tenant1.auth.localhost:"), "tenant1's identity zone logs in: {issuer}");
    app.click("#browser-opened").await?;
    let opened = browser.wait_for_url(3).await?;
    let (query, _) = browser.log_in(&opened, "einstein", "relativity").await?;
    assert!(query.iter().any(|(name, _)| name == "code"), "tenant1's zone logs einstein in: {query:?}");
    let tenant = app.text("#verified-tenant").await?;
    assert!(tenant.starts_with("tenant1"), "the tenant is shown: {tenant}");
    let scopes = app.text("#verified-scopes").await?;
    assert!(scopes.contains("!t"), "the application's tenant scopes are shown: {scopes}");
    assert_eq!(app.text("#verified-idp").await?, issuer);
    Ok(())
}
