//! "Save…" beside "Copy as text": the trace in the chosen format, written where the person types
//! in GTK's native save dialog (driven here with xdotool, as a person's keyboard would).

use std::process::Command;

use thirtyfour::prelude::*;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trace_is_saved_as_mermaid_through_the_native_save_dialog() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let app = App::launch(&["--demo"]).await.expect("the app starts under tauri-driver");
    let outcome = save_trace(&app).await;
    app.finish("trace-saved", outcome).await;
}

/// Runs xdotool (installed by dev.sh) with a bound, so a dialog that never shows fails the test.
fn xdotool(args: &[&str]) -> Result<String, String> {
    let output = Command::new("timeout")
        .arg("20")
        .arg("xdotool")
        .args(args)
        .output()
        .map_err(|e| format!("xdotool could not run ({e}): ./dev.sh installs it (apt-get install xdotool)"))?;
    if !output.status.success() {
        return Err(format!("xdotool {args:?} failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

async fn save_trace(app: &App) -> TestResult {
    app.click("#connect").await?;
    app.type_into("#username", "test@instance2.com").await?;
    app.type_into("#password", "secret" + Key::Enter).await?;
    app.click("#approve-redirect").await?;
    assert_eq!(app.text("#verified-name").await?, "Test User Two", "connected: the trace is complete");

    let target = app.config.path().join("saved-trace.mmd");
    app.driver.find(By::Css("#trace-format option[value='mermaid']")).await?.click().await?;
    app.click("#save-trace").await?;
    let dialog = xdotool(&["search", "--sync", "--name", "^Save File$"])?;
    let dialog = dialog.lines().last().unwrap_or_default().to_owned();
    xdotool(&["windowfocus", "--sync", &dialog])?;
    // The name field has the focus, the proposed name selected: a whole path replaces it.
    xdotool(&["key", "--clearmodifiers", "ctrl+a"])?;
    xdotool(&["type", "--delay", "15", &target.display().to_string()])?;
    xdotool(&["key", "Return"])?;

    let said = app.text("#trace-saved").await?;
    assert!(said.contains("saved-trace.mmd"), "the page says where the file went: {said}");
    let text = std::fs::read_to_string(&target)?;
    assert!(text.starts_with("sequenceDiagram"), "Mermaid, as chosen: {text}");
    assert!(text.contains("PROPFIND") && text.contains("207"), "the exchanges are in it: {text}");
    let basic = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "test@instance2.com:secret");
    assert!(!text.contains(&basic) && !text.contains("secret"), "no credential in the file: {text}");
    Ok(())
}
