//! The demo from a demo file (`--demo-scenario`, the file `homeport mock --scenario` takes): the
//! demo page lists the file's people, and one of them connects at her own instance.

use thirtyfour::prelude::*;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_page_lists_the_files_people_and_one_connects() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/examples/demo-acme.toml");
    let app = App::launch(&["--demo", "--demo-scenario", example]).await.expect("the app starts under tauri-driver");
    let outcome = acme_demo(&app).await;
    app.finish("demo-file-acme", outcome).await;
}

async fn acme_demo(app: &App) -> TestResult {
    let owncloud = app.text("#demo-owncloud").await?;
    for expected in ["Anna Berg", "anna@berlin.acme.test", "Hannes Hafen", "acme-demo"] {
        assert!(owncloud.contains(expected), "the file's people and password are listed ({expected}): {owncloud}");
    }
    assert!(!owncloud.contains("test@instance1.com"), "the built-in ownCloud people are not: {owncloud}");
    app.snapshot("demo-file-0-people").await?;
    app.click("#connect").await?;
    let server = app.text("#server-info").await?;
    assert!(server.contains("ACME Cloud"), "the server check shows the customer's product name: {server}");
    app.type_into("#username", "anna@berlin.acme.test").await?;
    app.type_into("#password", "acme-demo" + Key::Enter).await?;
    app.click("#approve-redirect").await?;
    let name = app.text("#verified-name").await?;
    assert_eq!(name, "Anna Berg", "she is verified at her instance");
    app.snapshot("demo-file-1-verified").await?;
    Ok(())
}
