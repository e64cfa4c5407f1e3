//! End to end in a real window: the built `homeport-desktop` in WebKitGTK under Xvfb, driven over
//! WebDriver (tauri-driver in front of WebKitWebDriver), storing into the real Secret Service.
//!
//! `./dev.sh test` provides the display (xvfb-run), the D-Bus session with an unlocked
//! gnome-keyring, and installs tauri-driver; each test starts its own tauri-driver and app with
//! a private config folder. Every test leaves a screenshot of its last page in
//! `target/e2e-screenshots/` (kept by CI as an artifact), also when it fails.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use homeport_engine::{AccountStore, ErrorCode, Origin};
use homeport_lookup::{Fault, LookupServer, Scenario};
use thirtyfour::prelude::*;
use url::Url;

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// One window at a time: two cores, and one X display.
static ONE_APP_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(100);

/// The app under test, with its own tauri-driver and config folder.
struct App {
    driver: WebDriver,
    tauri_driver: Child,
    config: tempfile::TempDir,
}

impl App {
    async fn launch(args: &[&str]) -> Result<App, Box<dyn std::error::Error + Send + Sync>> {
        if std::env::var_os("DISPLAY").is_none() {
            return Err("no X display: run the end-to-end tests through `./dev.sh test` (it starts Xvfb)".into());
        }
        let config = tempfile::tempdir()?;
        let port = free_port()?;
        let native_port = free_port()?;
        let tauri_driver = Command::new(tauri_driver_path()?)
            .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
            .env("HOMEPORT_CONFIG_DIR", config.path())
            .env("NO_AT_BRIDGE", "1")
            .stdout(Stdio::null())
            // It logs connection-refused backtraces while WebKitWebDriver starts: noise.
            .stderr(Stdio::null())
            .spawn()?;
        let mut app = PendingApp { tauri_driver: Some(tauri_driver) };
        wait_for_port(port)?;
        let mut capabilities = thirtyfour::Capabilities::new();
        capabilities.set("browserName", "wry")?;
        capabilities.set(
            "tauri:options",
            serde_json::json!({ "application": env!("CARGO_BIN_EXE_homeport-desktop"), "args": args }),
        )?;
        let driver = WebDriver::new(format!("http://127.0.0.1:{port}"), capabilities).await?;
        let tauri_driver = app.tauri_driver.take().ok_or("tauri-driver vanished")?;
        Ok(App { driver, tauri_driver, config })
    }

    fn store(&self) -> AccountStore {
        AccountStore::at(self.config.path())
    }

    async fn wait_for(&self, css: &str) -> WebDriverResult<WebElement> {
        self.driver.query(By::Css(css)).wait(WAIT, POLL).and_displayed().first().await
    }

    async fn text(&self, css: &str) -> WebDriverResult<String> {
        self.wait_for(css).await?.text().await
    }

    async fn value(&self, css: &str) -> WebDriverResult<String> {
        Ok(self.wait_for(css).await?.prop("value").await?.unwrap_or_default())
    }

    async fn type_into(&self, css: &str, text: impl Into<TypingData>) -> WebDriverResult<()> {
        let field = self.wait_for(css).await?;
        field.clear().await?;
        field.send_keys(text).await
    }

    async fn click(&self, css: &str) -> WebDriverResult<()> {
        self.wait_for(css).await?.click().await
    }

    /// Waits until keyboard focus is on the element with this id.
    async fn focus_reaches(&self, id: &str) -> TestResult {
        let deadline = Instant::now() + WAIT;
        loop {
            let focused = self.driver.active_element().await?.id().await?;
            if focused.as_deref() == Some(id) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("focus is on {focused:?}, not #{id}").into());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Types into whatever has keyboard focus, as a person at the keyboard does.
    async fn keys(&self, keys: impl Into<TypingData>) -> WebDriverResult<()> {
        self.driver.active_element().await?.send_keys(keys).await
    }

    /// The error box shows `code`; returns its text.
    async fn error_with_code(&self, code: ErrorCode) -> WebDriverResult<String> {
        self.text(&format!("#error[data-code='{}']", code.as_str())).await
    }

    /// WebDriver's screenshot shows the last painted frame: wait for the DOM to be painted.
    async fn painted(&self) -> WebDriverResult<()> {
        let script = "const done = arguments[arguments.length - 1];\n\
                      requestAnimationFrame(() => requestAnimationFrame(() => done()));";
        self.driver.execute_async(script, Vec::new()).await.map(drop)
    }

    /// Saves the page as it is now as `target/e2e-screenshots/<name>.png` (README pictures come from here).
    async fn snapshot(&self, name: &str) -> TestResult {
        self.painted().await?;
        std::fs::create_dir_all(screenshot_folder())?;
        self.driver.screenshot(&screenshot_folder().join(format!("{name}.png"))).await?;
        Ok(())
    }

    /// Saves the last page as `target/e2e-screenshots/<name>.png`, closes the app, then reports.
    async fn finish(mut self, name: &str, outcome: TestResult) {
        let _ = self.painted().await;
        let folder = screenshot_folder();
        let saved = match std::fs::create_dir_all(&folder) {
            Ok(()) => self.driver.screenshot(&folder.join(format!("{name}.png"))).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let _ = self.driver.clone().quit().await;
        let _ = self.tauri_driver.kill();
        let _ = self.tauri_driver.wait();
        if let Err(e) = outcome {
            panic!("{name}: {e} (screenshot of the last page: {saved:?})");
        }
        if let Err(e) = saved {
            panic!("{name}: passed, but the screenshot could not be saved: {e}");
        }
    }
}

/// Kills tauri-driver if launching fails half-way.
struct PendingApp {
    tauri_driver: Option<Child>,
}

impl Drop for PendingApp {
    fn drop(&mut self) {
        if let Some(mut child) = self.tauri_driver.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn screenshot_folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e-screenshots")
}

fn tauri_driver_path() -> Result<PathBuf, String> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")));
    let candidates = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(cargo_home.map(|home| home.join("bin")));
    for folder in candidates {
        let candidate = folder.join("tauri-driver");
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err("tauri-driver is not installed: `./dev.sh test` installs it (cargo install tauri-driver --locked)".into())
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

fn wait_for_port(port: u16) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("tauri-driver did not listen on port {port} within 20 s"))
}

fn origin_of(url: &str) -> Result<Origin, url::ParseError> {
    Ok(Origin::of(&Url::parse(url)?))
}

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
    let server = LookupServer::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), scenario)
        .await
        .expect("the lookup server starts on loopback");
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
    let server = LookupServer::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), scenario)
        .await
        .expect("the lookup server starts on loopback");
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
