//! The administrators' configuration in the real window (docs/administrators.md): the product's
//! name and logo, the address page on the locked preset with the words saying who decided, no
//! "Try the demo", the proxy page read-only.

use homeport_lookup::{LookupServer, Scenario};
use thirtyfour::prelude::*;

use crate::harness::*;

#[tokio::test]
async fn a_locked_address_opens_read_only_with_who_decided_and_connects_to_the_preset() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let server = homeport_lookup::testing::start(Scenario::default()).await;
    let etc = tempfile::tempdir().expect("temp dir");
    // A small square logo, as an organisation's theme would ship it.
    let logo = "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 26 26'><rect width='26' height='26' \
                rx='6' fill='#b5651d'/><text x='13' y='18' font-size='14' text-anchor='middle' fill='white'>A</text></svg>";
    std::fs::write(etc.path().join("acme.svg"), logo).expect("logo");
    let file = etc.path().join("config.toml");
    let text = format!(
        "product_name = \"Acme Files\"\nlogo = \"acme.svg\"\ndemo = false\n\n[server]\naddress = \"{}\"\nlock = true\n\n\
         [proxy]\nurl = \"system\"\nlock = true\n",
        server.central_url()
    );
    std::fs::write(&file, text).expect("admin file");
    let envs = [("HOMEPORT_SYSTEM_CONFIG", file.display().to_string())];
    // `--demo` too: the organisation's `demo = false` wins over the flag.
    let app = App::launch_with_envs(&["--demo"], &envs).await.expect("the app starts under tauri-driver");
    let outcome = locked_address(&app, &server).await;
    app.finish("admin-locked-address", outcome).await;
    server.shutdown().await;
}

async fn locked_address(app: &App, server: &LookupServer) -> TestResult {
    app.focus_reaches("address").await?;
    assert_eq!(app.text("#brand-name").await?, "Acme Files", "the product name in the header");
    assert_eq!(app.driver.title().await?, "Acme Files", "and in the title");
    let logo = app.wait_for("#brand-logo").await?.attr("src").await?.unwrap_or_default();
    assert!(logo.starts_with("data:image/svg+xml;base64,"), "the organisation's logo: {logo:.40}");
    let central = server.central_url().to_string();
    assert_eq!(app.value("#address").await?, central, "the page opens on the preset address");
    let field = app.wait_for("#address").await?;
    assert!(field.attr("readonly").await?.is_some(), "read-only: the organisation locked it");
    let words = app.text("#address-locked").await?;
    assert!(words.starts_with("Your organisation set this server."), "who decided: {words}");
    assert_eq!(field.attr("aria-describedby").await?.as_deref(), Some("address-locked address-hint"));
    assert!(app.driver.find_all(By::Css("#try-demo")).await?.is_empty(), "no Try the demo");
    assert!(app.driver.find_all(By::Css("#demo-banner")).await?.is_empty(), "--demo did not start it");
    // Typing changes nothing.
    field.send_keys("https://elsewhere.example").await?;
    assert_eq!(app.value("#address").await?, central, "a read-only field takes no typing");
    app.snapshot("admin-0-locked-address").await?;

    app.click("#proxy-toggle").await?;
    let proxy = app.text("#proxy-locked").await?;
    assert!(proxy.starts_with("Your organisation set this proxy: the system's proxy settings."), "{proxy}");
    assert!(app.driver.find_all(By::Css("#proxy-save")).await?.is_empty(), "nothing to save");
    let system = app.text("#proxy-system").await?;
    assert!(system.starts_with("Now: "), "what the system's settings are now: {system}");
    app.snapshot("admin-1-locked-proxy").await?;
    app.click("#proxy-panel button[type='button']").await?;

    app.click("#connect").await?;
    let info = app.text("#server-info").await?;
    assert!(info.contains("ownCloud"), "the preset server is checked: {info}");
    Ok(())
}

#[tokio::test]
async fn a_broken_file_is_named_in_the_window_and_nothing_connects() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let etc = tempfile::tempdir().expect("temp dir");
    let file = etc.path().join("config.toml");
    std::fs::write(&file, "[server]\naddress = \"https://cloud.acme.example\"\nlok = true\n").expect("admin file");
    let envs = [("HOMEPORT_SYSTEM_CONFIG", file.display().to_string())];
    let app = App::launch_with_envs(&[], &envs).await.expect("the app starts under tauri-driver");
    let outcome = broken_file(&app, &file).await;
    app.finish("admin-broken-file", outcome).await;
}

async fn broken_file(app: &App, file: &std::path::Path) -> TestResult {
    let error = app.error_with_code(homeport_engine::ErrorCode::BadInput).await?;
    assert!(error.contains(&format!("{}:3:1: server.lok:", file.display())), "file:line: key in the window: {error}");
    assert!(error.contains("Your organisation's configuration for Homeport is broken"), "whose it is: {error}");
    assert!(app.driver.find_all(By::Css("#try-demo")).await?.is_empty(), "no demo with a broken file");
    app.type_into("#address", "http://127.0.0.1:9/").await?;
    app.click("#connect").await?;
    let again = app.error_with_code(homeport_engine::ErrorCode::BadInput).await?;
    assert!(again.contains("server.lok"), "connecting is refused with the same words: {again}");
    Ok(())
}
