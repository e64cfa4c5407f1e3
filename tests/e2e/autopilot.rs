//! The GUI autopilot: the same scenario file, headless (`homeport run`) and played in the window.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use homeport_engine::ErrorCode;
use thirtyfour::prelude::*;

use crate::harness::*;

fn scenario_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios").join(name)
}

/// `homeport run FILE --json`: the headless verdict. The CLI is built with the workspace, next
/// to the desktop binary.
fn headless_run(file: &Path) -> Result<serde_json::Value, Box<dyn std::error::Error + Send + Sync>> {
    let desktop = Path::new(env!("CARGO_BIN_EXE_homeport-desktop"));
    let cli = desktop.with_file_name("homeport");
    if !cli.is_file() {
        return Err(format!("{} is missing: build the workspace first (cargo build --workspace)", cli.display()).into());
    }
    let artifacts = tempfile::tempdir()?;
    let output = Command::new(&cli)
        .arg("run")
        .arg(file)
        .arg("--json")
        .arg("--artifacts")
        .arg(artifacts.path())
        .env("HOMEPORT_CONFIG_DIR", artifacts.path())
        .output()?;
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    Ok(report["scenarios"][0].clone())
}

/// From now on, records in the page what the autopilot shows only for a moment: the redirect
/// page, and Stop while it plays. The autopilot plays on without waiting for the test, so a test
/// that looked for them with a query would race it (on a busy machine it arrives after they are
/// gone, or between finding an element and reading it); the record is read after the verdict.
/// Installed right after launch: the autopilot first types the address, seconds before either.
async fn watch_autopilot(app: &App) -> TestResult {
    let script = r#"
        const seen = (window.homeportTestSeen = { redirectPage: false, stopWhilePlaying: false });
        const shown = (id) => (document.getElementById(id)?.getClientRects().length ?? 0) > 0;
        const look = () => {
          if (shown("page-redirect")) seen.redirectPage = true;
          const banner = document.getElementById("autopilot-banner");
          if (banner?.dataset.state === "running" && shown("autopilot-stop")) seen.stopWhilePlaying = true;
        };
        look();
        new MutationObserver(look).observe(document.body, { subtree: true, childList: true, attributes: true });
    "#;
    app.driver.execute(script, Vec::new()).await?;
    Ok(())
}

/// What [`watch_autopilot`] saw: `redirectPage` or `stopWhilePlaying`.
async fn autopilot_showed(app: &App, what: &str) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
    let script = format!("return window.homeportTestSeen?.{what} === true;");
    Ok(app.driver.execute(&script, Vec::new()).await?.convert::<bool>()?)
}

/// Plays `file` in the window and waits for the autopilot's verdict; returns it as
/// `(passed, line)`. The picture of the page before the verdict is `<picture>`.
async fn play_in_window(app: &App, name: &str) -> Result<(bool, String), Box<dyn std::error::Error + Send + Sync>> {
    let banner = app.text("#autopilot-banner").await?;
    assert!(banner.contains(&format!("Autopilot: {name}")), "the banner names the scenario: {banner}");
    let verdict = app
        .driver
        .query(By::Css("#autopilot-verdict"))
        .ignore_errors(true)
        .wait(Duration::from_secs(60), POLL)
        .and_displayed()
        .first()
        .await?;
    let passed = verdict.attr("data-passed").await?.unwrap_or_default() == "true";
    let line = verdict.find(By::Css(".verdict-line")).await?.text().await?;
    assert!(autopilot_showed(app, "stopWhilePlaying").await?, "Stop while it plays");
    Ok((passed, line))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autopilot_plays_s0_visibly_with_the_same_outcome_as_headless() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let file = scenario_file("s0-instance2.toml");
    let path = file.display().to_string();
    let app = App::launch(&["--script", &path]).await.expect("the app starts under tauri-driver");
    let outcome = match watch_autopilot(&app).await {
        Ok(()) => autopilot_s0(&app, &file).await,
        Err(e) => Err(e),
    };
    app.finish("autopilot-1-s0-verdict", outcome).await;
}

async fn autopilot_s0(app: &App, file: &Path) -> TestResult {
    let headless = headless_run(file)?;
    assert_eq!(headless["passed"], true, "headless: {headless}");
    // The autopilot types the address, presses Continue, and stops at the redirect to approve it
    // visibly: the file approves instance2's origin.
    app.wait_for("#page-redirect").await?;
    app.snapshot("autopilot-0-s0-redirect").await?;
    let name = "S0: test@instance2.com is redirected to instance2";
    let (passed, line) = play_in_window(app, name).await?;
    assert!(passed, "the GUI meets the expectations too: {line}");
    assert!(line.starts_with(&format!("✓ {name} — connected as test@instance2.com at http://127.0.0.1:")), "{line}");
    assert!(line.contains("; 2 round trips,"), "as many round trips as headless: {line}");
    let account = &headless["result"]["account"];
    assert_eq!(app.text("#verified-user").await?, account["user_id"].as_str().unwrap_or_default(), "same user");
    let instance = app.text("#verified-instance").await?;
    assert!(line.contains(&instance), "the verified page shows the instance the verdict names: {instance}");
    assert_eq!(headless["round_trips"], 2, "{headless}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autopilot_declines_a_redirect_the_file_does_not_approve_as_headless_does() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let file = scenario_file("s0-unapproved-redirect.toml");
    let path = file.display().to_string();
    let app = App::launch(&["--script", &path]).await.expect("the app starts under tauri-driver");
    let outcome = match watch_autopilot(&app).await {
        Ok(()) => autopilot_unapproved(&app, &file).await,
        Err(e) => Err(e),
    };
    app.finish("autopilot-2-unapproved-verdict", outcome).await;
}

async fn autopilot_unapproved(app: &App, file: &Path) -> TestResult {
    let headless = headless_run(file)?;
    assert_eq!(headless["passed"], true, "failing by design, as expected: {headless}");
    assert_eq!(headless["result"]["error"]["code"], "policy_refused", "{headless}");
    let (passed, line) = play_in_window(app, "S0: credentials never go to an unapproved instance").await?;
    assert!(autopilot_showed(app, "redirectPage").await?, "the autopilot stops at the redirect visibly");
    assert!(passed, "the GUI declined the redirect, as the file expects: {line}");
    assert!(line.contains("(policy_refused)"), "{line}");
    app.error_with_code(ErrorCode::PolicyRefused).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autopilot_logs_in_with_oidc_through_the_login_robot_as_headless_does() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    // A browser that only writes down what it is asked to open: the robot logs in instead.
    let browser = BrowserRobot::new().expect("a browser stand-in in a temp folder");
    let file = scenario_file("s2-einstein.toml");
    let path = file.display().to_string();
    let app = App::launch_with(&["--script", &path], Some(&browser)).await.expect("the app starts under tauri-driver");
    let outcome = match watch_autopilot(&app).await {
        Ok(()) => autopilot_oidc(&app, &file, &browser).await,
        Err(e) => Err(e),
    };
    app.finish("autopilot-4-oidc-verdict", outcome).await;
}

async fn autopilot_oidc(app: &App, file: &Path, browser: &BrowserRobot) -> TestResult {
    let headless = headless_run(file)?;
    assert_eq!(headless["passed"], true, "headless: {headless}");
    app.wait_for("#browser-autopilot-hint").await?;
    app.snapshot("autopilot-3-oidc-browser").await?;
    // The scenario's own name, as the headless run reports it.
    let name = headless["name"].as_str().ok_or("the headless verdict names its scenario")?;
    assert!(name.starts_with("S2: einstein logs in with OIDC"), "{name}");
    let (passed, line) = play_in_window(app, name).await?;
    assert!(passed, "the GUI meets the expectations too: {line}");
    let account = &headless["result"]["account"];
    assert_eq!(app.text("#verified-user").await?, account["user_id"].as_str().unwrap_or_default(), "same user");
    assert_eq!(account["kind"], "ocis");
    assert!(app.text("#verified-idp").await?.starts_with("http://127.0.0.1:"), "logged in at the lookup server's IdP");
    assert!(browser.opened().is_empty(), "no real browser opened: the robot logged in: {:?}", browser.opened());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escape_stops_the_autopilot_and_leaves_the_person_in_control() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let path = scenario_file("s0-instance2.toml").display().to_string();
    let app = App::launch(&["--script", &path]).await.expect("the app starts under tauri-driver");
    let outcome = autopilot_escape(&app).await;
    app.finish("autopilot-5-stopped", outcome).await;
}

async fn autopilot_escape(app: &App) -> TestResult {
    app.wait_for("#autopilot-banner[data-state='running']").await?;
    app.keys(Key::Escape).await?;
    app.wait_for("#autopilot-banner[data-state='stopped']").await?;
    assert!(app.driver.find_all(By::Css("#autopilot-stop")).await?.is_empty(), "Stop is gone once stopped");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(app.driver.find_all(By::Css("#autopilot-verdict")).await?.is_empty(), "nothing plays on: no verdict");
    assert!(app.driver.find_all(By::Css("#page-verified")).await?.is_empty(), "and no connection was finished");
    Ok(())
}

/// `--exit-when-done`: the verdict line on stdout, exit 0 when the expectations were met and 12
/// when not — no WebDriver, the app as a QA job runs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_when_done_prints_the_verdict_and_exits_0_or_12() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    assert!(std::env::var_os("DISPLAY").is_some(), "run the end-to-end tests through `./dev.sh test` (Xvfb)");
    let scratch = tempfile::tempdir().expect("scratch");
    // The same redirect, but the file expects to connect without approving it: not met.
    let failing = scratch.path().join("expects-too-much.toml");
    std::fs::write(
        &failing,
        "name = \"expects to connect without approval\"\n[connect]\naddress = \"${central}\"\n\
         user = \"test@instance3.com\"\npassword = \"secret\"\n",
    )
    .expect("write a scenario");
    for (file, code, mark) in [(scenario_file("s0-unapproved-redirect.toml"), 0, "✓ "), (failing, 12, "✗ ")] {
        let output = Command::new(env!("CARGO_BIN_EXE_homeport-desktop"))
            .arg("--script")
            .arg(&file)
            .arg("--exit-when-done")
            .env("HOMEPORT_CONFIG_DIR", scratch.path())
            .env("NO_AT_BRIDGE", "1")
            .stderr(Stdio::null())
            .output()
            .expect("the app runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(code), "{}: {stdout}", file.display());
        let verdict = stdout.lines().find(|line| line.starts_with(mark));
        assert!(verdict.is_some_and(|line| line.contains("(policy_refused)")), "the verdict line: {stdout}");
        if code == 12 {
            assert!(stdout.contains("    expected to connect, failed with policy_refused"), "the failure: {stdout}");
        }
    }
}
