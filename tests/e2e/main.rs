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
        App::launch_with(args, None).await
    }

    /// Starts the app with `browser` as its system browser (`$BROWSER`, which xdg-open runs when
    /// no desktop environment is detected: the desktop's own variables are cleared).
    async fn launch_with(
        args: &[&str],
        browser: Option<&BrowserRobot>,
    ) -> Result<App, Box<dyn std::error::Error + Send + Sync>> {
        if std::env::var_os("DISPLAY").is_none() {
            return Err("no X display: run the end-to-end tests through `./dev.sh test` (it starts Xvfb)".into());
        }
        let config = tempfile::tempdir()?;
        let port = free_port()?;
        let native_port = free_port()?;
        let mut command = Command::new(tauri_driver_path()?);
        command
            .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
            .env("HOMEPORT_CONFIG_DIR", config.path())
            .env("NO_AT_BRIDGE", "1")
            .stdout(Stdio::null())
            // It logs connection-refused backtraces while WebKitWebDriver starts: noise.
            .stderr(Stdio::null());
        if let Some(browser) = browser {
            // tauri-driver → WebKitWebDriver → the app → xdg-open: the environment goes all the way.
            command.env("BROWSER", &browser.script);
            for desktop in ["XDG_CURRENT_DESKTOP", "XDG_SESSION_DESKTOP", "DESKTOP_SESSION", "KDE_FULL_SESSION"] {
                command.env_remove(desktop);
            }
        }
        let tauri_driver = command.spawn()?;
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

    /// Clicks `element` once it is scrolled to the middle of its scrolling page and painted there
    /// (a long page's lower buttons otherwise move while the click is aimed).
    async fn click_settled(&self, element: &WebElement) -> WebDriverResult<()> {
        let script = "arguments[0].scrollIntoView({ block: 'center' });";
        self.driver.execute(script, vec![element.to_json()?]).await?;
        self.painted().await?;
        element.click().await
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

    /// Waits until the element with keyboard focus has `attribute` = `value`.
    async fn focused_attr_is(&self, attribute: &str, value: &str) -> TestResult {
        let deadline = Instant::now() + WAIT;
        loop {
            let focused = self.driver.active_element().await?.attr(attribute).await?;
            if focused.as_deref() == Some(value) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("focus is on an element with {attribute}={focused:?}, not {value:?}").into());
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

/// The person's browser, played by a script (`$BROWSER`) that writes down each URL it is asked
/// to open; the test then logs in at the IdP as the person would ([`homeport_lookup::auto_login`])
/// and follows the IdP's redirect to Homeport's loopback callback.
struct BrowserRobot {
    folder: tempfile::TempDir,
    script: PathBuf,
}

impl BrowserRobot {
    fn new() -> std::io::Result<BrowserRobot> {
        use std::os::unix::fs::PermissionsExt as _;
        let folder = tempfile::tempdir()?;
        let script = folder.path().join("browser");
        let opened = folder.path().join("opened");
        let quoted = opened.display().to_string().replace('\'', r"'\''");
        std::fs::write(&script, format!("#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{quoted}'\n"))?;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
        Ok(BrowserRobot { folder, script })
    }

    /// Every URL the app asked the browser to open so far.
    fn opened(&self) -> Vec<String> {
        std::fs::read_to_string(self.folder.path().join("opened"))
            .map(|text| text.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// Waits until the app opened its `count`th URL; returns it.
    async fn wait_for_url(&self, count: usize) -> Result<Url, Box<dyn std::error::Error + Send + Sync>> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(url) = self.opened().get(count - 1) {
                return Ok(Url::parse(url)?);
            }
            if Instant::now() > deadline {
                return Err(format!("the app did not open a browser (opened so far: {:?})", self.opened()).into());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Logs in on the IdP's page at `login_page` and follows its redirect back to Homeport, as a
    /// browser would; returns the callback's query (`code` and `state`, or the IdP's `error`)
    /// and the page Homeport's loopback listener answered with.
    async fn log_in(
        &self,
        login_page: &Url,
        user: &str,
        password: &str,
    ) -> Result<(Vec<(String, String)>, String), Box<dyn std::error::Error + Send + Sync>> {
        let callback = homeport_lookup::auto_login(login_page, user, password).await?;
        assert_eq!(callback.host_str(), Some("127.0.0.1"), "the IdP sends the browser back to loopback: {callback}");
        let query = callback.query_pairs().into_owned().collect();
        let answer = reqwest::get(callback).await?;
        assert!(answer.status().is_success(), "Homeport's listener takes the callback: {}", answer.status());
        Ok((query, answer.text().await?))
    }
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
async fn a_self_signed_certificate_is_shown_declined_then_trusted_for_this_account_only() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    // S0 over https: every server presents the same self-signed certificate.
    let scenario = Scenario { tls: true, ..Scenario::default() };
    let server = LookupServer::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), scenario)
        .await
        .expect("the lookup server starts on loopback with TLS");
    let app = App::launch(&[]).await.expect("the app starts under tauri-driver");
    let outcome = trust_certificate(&app, &server).await;
    app.finish("trust-certificate", outcome).await;
    server.shutdown().await;
}

async fn trust_certificate(app: &App, server: &LookupServer) -> TestResult {
    let central = server.central_url().to_string();
    assert!(central.starts_with("https://"), "{central}");
    let expected =
        server.description()["tls_certificate_sha256"].as_str().ok_or("the server's fingerprint")?.to_owned();

    // First "Don't trust", with Escape: the connection ends with the certificate's words.
    app.type_into("#address", central.clone() + Key::Enter).await?;
    app.wait_for("#page-trust").await?;
    app.focus_reaches("distrust").await?;
    app.keys(Key::Escape).await?;
    let words = app.text("#error[data-code='tls'][data-reason='untrusted']").await?;
    assert!(words.contains("not trusted") && words.contains(&expected), "declined, the certificate named: {words}");
    app.wait_for("#page-address").await?;
    assert!(app.store().list()?.is_empty(), "nothing stored");
    app.snapshot("trust-declined").await?;

    // Again, and trust it: the fingerprint shown is the server's, in rows for reading.
    app.click("#connect").await?;
    let shown = app.wait_for("#trust-fingerprint").await?;
    assert_eq!(shown.attr("data-sha256").await?.as_deref(), Some(expected.as_str()), "the server's certificate");
    let mut rows = Vec::new();
    for row in shown.find_all(By::Css(".fingerprint-row")).await? {
        rows.push(row.text().await?.trim().to_owned());
    }
    assert_eq!(rows.len(), 4, "four rows of eight pairs: {rows:?}");
    assert_eq!(rows.join(":"), expected, "the rows read as the fingerprint");
    let page = app.text("#page-trust").await?;
    for words in ["administrator", "this account only", "Subject", "Issuer", "Valid"] {
        assert!(page.contains(words), "the page says {words:?}: {page}");
    }
    assert!(page.contains(origin_of(&central)?.as_str()), "the server is named: {page}");
    app.snapshot("trust-0-certificate").await?;
    app.click("#trust").await?;

    app.wait_for("#page-login").await?;
    app.type_into("#username", "test@instance2.com").await?;
    app.type_into("#password", "secret" + Key::Enter).await?;
    app.click("#approve-redirect").await?;
    let certificate = app.text("#verified-certificate").await?;
    assert!(certificate.contains("Trusted certificate SHA-256") && certificate.contains(&expected), "{certificate}");
    app.snapshot("trust-1-verified").await?;
    app.click("#done").await?;

    let listed = app.text("li.account .account-certificate").await?;
    assert!(listed.contains(&expected), "the accounts list shows the trusted fingerprint: {listed}");
    let accounts = app.store().list()?;
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].trusted_certificates, vec![expected.clone()], "stored with this account");
    // The pin is honoured on re-verify: no question, verified.
    app.click(".verify-account").await?;
    let notice = app.text(".notice").await?;
    assert!(notice.contains("is verified"), "re-verified with the trusted certificate: {notice}");
    app.snapshot("trust-2-accounts").await?;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ocis_logs_in_in_the_system_browser_and_keeps_the_refresh_token_in_the_keyring() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let browser = BrowserRobot::new().expect("a browser robot in a temp folder");
    let app = App::launch_with(&["--demo"], Some(&browser)).await.expect("the app starts under tauri-driver");
    let outcome = ocis_oidc_login(&app, &browser).await;
    app.finish("oidc-ocis-verified", outcome).await;
}

/// What the browser brings back to Homeport's loopback listener.
#[derive(Clone, Copy)]
enum Callback {
    /// OpenID Connect: `state` and a `code` (or the IdP's `error`).
    Oidc,
    /// Matrix SSO: a one-time `loginToken`.
    MatrixSso,
}

/// On the browser page (after picking an OIDC person, or SSO on a Matrix form), opens the login
/// page in the (robot) browser with the keyboard, and logs in there. Returns the issuer the
/// browser page named.
async fn log_in_through_the_browser(
    app: &App,
    browser: &BrowserRobot,
    (user, password): (&str, &str),
    callback: Callback,
    screenshot: &str,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    app.wait_for("#page-browser").await?;
    let issuer = app.text("#browser-issuer").await?;
    let hint = app.text("#browser-demo-hint").await?;
    if !(hint.contains(user) && hint.contains(password)) {
        return Err(format!("the demo should say to type {user} / {password} at the IdP: {hint}").into());
    }
    let shown = app.value("#browser-url").await?;
    assert!(shown.starts_with(&issuer), "the login page is the IdP's ({issuer}): {shown}");
    app.focus_reaches("browser-opened").await?;
    app.click("#copy-url").await?;
    assert_eq!(app.text("#copy-url").await?, "Copied", "the Copy button says it copied");
    app.snapshot(screenshot).await?;
    let opened_before = browser.opened().len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(browser.opened().len(), opened_before, "nothing opens before the person asks");

    // From the keyboard: Tab from Copy reaches "Open the login page".
    app.keys(Key::Tab).await?;
    app.focus_reaches("browser-opened").await?;
    app.keys(Key::Enter).await?;
    let progress = app.text("#progress").await?;
    // The label the UI sets, or the engine's step that replaces it as soon as the wait begins.
    assert!(
        progress.contains("Waiting for the login in your browser") || progress.contains("Logging in"),
        "the wait is shown: {progress}"
    );
    let waiting = app.text("#browser-waiting").await?;
    assert!(waiting.contains("Escape"), "the page says how to stop waiting: {waiting}");
    app.snapshot(&format!("{screenshot}-waiting")).await?;
    let opened = browser.wait_for_url(opened_before + 1).await?;
    assert_eq!(opened.as_str(), shown, "the browser got exactly the link the page shows");
    let (query, page) = browser.log_in(&opened, user, password).await?;
    let has = |name: &str| query.iter().any(|(key, _)| key == name);
    match callback {
        Callback::Oidc => {
            assert!(has("state"), "the callback carries the state: {query:?}");
            assert!(has("code") || has("error"), "and a code, or the IdP's refusal: {query:?}");
        }
        Callback::MatrixSso => assert!(has("loginToken"), "the portal sends back a login token: {query:?}"),
    }
    assert!(page.contains("Return to Homeport"), "the browser is told to return to Homeport: {page}");
    Ok(issuer)
}

async fn ocis_oidc_login(app: &App, browser: &BrowserRobot) -> TestResult {
    let ocis = app.text("#demo-ocis-url").await?;
    let person = app.wait_for(".demo-oidc-person[data-login='einstein']").await?;
    let instance = person.attr("data-instances").await?.ok_or("the demo names einstein's instance")?;
    app.click_settled(&person).await?;
    let issuer =
        log_in_through_the_browser(app, browser, ("einstein", "relativity"), Callback::Oidc, "oidc-0-browser").await?;

    // Back from the browser: the verified page, with the account's instance and its IdP.
    assert_eq!(app.text("#verified-name").await?, "Albert Einstein");
    assert_eq!(app.text("#verified-instance").await?, instance, "WebFinger sent einstein to instance A");
    assert_ne!(instance, ocis, "the instance is not the server that was typed");
    assert_eq!(app.text("#verified-idp").await?, issuer, "the verified page names the IdP");
    let idp_rows = app.driver.find_all(By::Css(".trace-row[data-to='idp']")).await?;
    let mut idp_labels = Vec::new();
    for row in &idp_rows {
        idp_labels.push(row.attr("aria-label").await?.unwrap_or_default());
    }
    for wanted in ["openid-configuration", "token"] {
        assert!(
            idp_labels.iter().any(|label| label.contains(wanted)),
            "the diagram's IdP lane shows the {wanted} exchange: {idp_labels:?}"
        );
    }
    app.snapshot("oidc-1-verified").await?;
    app.focus_reaches("done").await?;
    app.keys(Key::Enter).await?;

    let entry = app.wait_for("li.account").await?;
    let id = entry.attr("data-account-id").await?.ok_or("the account row carries its id")?;
    let listed = entry.text().await?;
    assert!(listed.contains("Albert Einstein") && listed.contains(&instance), "the accounts page lists it: {listed}");
    let stored = app.store().get(&id)?;
    assert_eq!(stored.auth_method, homeport_engine::AuthMethod::Oidc);
    assert_eq!(stored.oidc.as_ref().map(|oidc| oidc.issuer.as_str()), Some(issuer.as_str()), "the IdP is kept");
    let refresh_token = app.store().secret(&id)?.expose().to_owned();
    assert!(refresh_token.len() > 16, "a refresh token is in the Secret Service");
    assert_ne!(refresh_token, "relativity", "the password never reaches Homeport, let alone the keyring");
    let file = std::fs::read_to_string(app.config.path().join("accounts.json"))?;
    assert!(!file.contains(&refresh_token), "no token in accounts.json");

    // Re-verify logs in with the refresh token, which the IdP rotates: the new one is stored.
    app.click(".verify-account").await?;
    let notice = app.text(".notice").await?;
    assert!(notice.contains("Albert Einstein is verified"), "re-verified with the refresh token: {notice}");
    let rotated = app.store().secret(&id)?.expose().to_owned();
    assert_ne!(rotated, refresh_token, "the rotated refresh token replaced the used one in the keyring");
    assert_eq!(browser.opened().len(), 1, "re-verify needs no browser");
    app.snapshot("oidc-2-reverified").await?;

    // The IdP ends the grant (a logout elsewhere, an administrator): re-verify says to log in
    // again, and "Log in again" goes through the browser to a fresh token.
    let revoked = reqwest::Client::new()
        .post(format!("{issuer}/revoke"))
        .form(&[("token", rotated.as_str()), ("token_type_hint", "refresh_token")])
        .send()
        .await?;
    assert!(revoked.status().is_success(), "the IdP revokes the grant: {}", revoked.status());
    app.click(".verify-account").await?;
    let message = app.error_with_code(ErrorCode::AuthFailed).await?;
    assert!(message.contains("Log in again"), "the person is told to log in again: {message}");
    app.focus_reaches("relogin").await?;
    app.snapshot("oidc-3-log-in-again").await?;
    assert_eq!(app.store().secret(&id)?.expose(), rotated, "the account is kept until the new login");
    app.keys(Key::Enter).await?;
    log_in_through_the_browser(app, browser, ("einstein", "relativity"), Callback::Oidc, "oidc-4-browser-again")
        .await?;
    assert_eq!(app.text("#verified-name").await?, "Albert Einstein");
    app.click("#done").await?;
    app.wait_for("li.account").await?;
    assert_eq!(app.store().list()?.len(), 1, "the same account, logged in again, not a second one");
    let fresh = app.store().secret(&id)?.expose().to_owned();
    assert!(fresh != rotated && fresh != refresh_token, "a fresh refresh token is in the keyring");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_on_two_instances_asks_which_one_from_the_keyboard() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let browser = BrowserRobot::new().expect("a browser robot in a temp folder");
    let app = App::launch_with(&["--demo"], Some(&browser)).await.expect("the app starts under tauri-driver");
    let outcome = choose_instance(&app, &browser).await;
    app.finish("oidc-choose-instance", outcome).await;
}

async fn choose_instance(app: &App, browser: &BrowserRobot) -> TestResult {
    let person = app.wait_for(".demo-oidc-person[data-login='marie']").await?;
    let instances = person.attr("data-instances").await?.ok_or("the demo names marie's instances")?;
    let instances: Vec<&str> = instances.split(' ').collect();
    assert_eq!(instances.len(), 2, "marie lives on A and B: {instances:?}");
    app.click_settled(&person).await?;
    log_in_through_the_browser(app, browser, ("marie", "radioactivity"), Callback::Oidc, "oidc-browser-marie").await?;

    app.wait_for("#page-choose-instance").await?;
    let choices = app.driver.find_all(By::Css(".choose-instance")).await?;
    let mut offered = Vec::new();
    for choice in &choices {
        offered.push(choice.attr("data-url").await?.unwrap_or_default());
        let label = choice.attr("aria-label").await?.unwrap_or_default();
        assert!(label.starts_with("Connect at "), "each choice says what it does: {label}");
    }
    assert_eq!(offered, instances, "both instances are offered, in order");
    app.focused_attr_is("data-url", instances[0]).await?;
    app.snapshot("oidc-choose-instance-page").await?;
    app.keys(Key::Tab).await?;
    app.focused_attr_is("data-url", instances[1]).await?;
    app.keys(Key::Enter).await?;

    assert_eq!(app.text("#verified-name").await?, "Marie Curie");
    assert_eq!(app.text("#verified-instance").await?, instances[1], "verified at the chosen instance B");
    app.click("#done").await?;
    let listed = app.text("li.account").await?;
    assert!(listed.contains("Marie Curie") && listed.contains(instances[1]), "stored at B: {listed}");
    Ok(())
}

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

/// The labels of the diagram's rows that go to `lane` (`lookup`, `instance`, `idp`).
async fn lane_labels(app: &App, lane: &str) -> Result<Vec<String>, Box<dyn std::error::Error + Send + Sync>> {
    let mut labels = Vec::new();
    for row in app.driver.find_all(By::Css(format!(".trace-row[data-to='{lane}']"))).await? {
        labels.push(row.attr("aria-label").await?.unwrap_or_default());
    }
    Ok(labels)
}

/// The Matrix demo button of `localpart` at the portal in `mode` (`proxy` or `redirect`).
fn matrix_demo_button(localpart: &str, mode: &str) -> String {
    format!(".demo-matrix[data-login='{localpart}'][data-portal='{mode}']")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_behind_the_proxy_portal_verifies_at_the_homeserver_and_keeps_the_tokens_in_the_keyring() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let app = App::launch(&["--demo"]).await.expect("the app starts under tauri-driver");
    let outcome = matrix_proxy_portal(&app).await;
    app.finish("matrix-proxy", outcome).await;
}

async fn matrix_proxy_portal(app: &App) -> TestResult {
    // The demo page names both portals and gives each person an address per portal.
    let portal = app.text("#demo-matrix-proxy").await?;
    assert!(portal.starts_with("http://proxy.localhost:"), "the proxy portal is on this machine: {portal}");
    assert!(app.text("#demo-matrix-307").await?.starts_with("http://redirect.localhost:"), "and the 307 portal");
    let button = app.wait_for(&matrix_demo_button("alice", "proxy")).await?;
    let address = button.attr("data-address").await?.ok_or("the demo names alice's address")?;
    let portal_url = Url::parse(&portal)?;
    let server_name = format!("{}:{}", portal_url.host_str().unwrap_or_default(), portal_url.port().unwrap_or(80));
    assert_eq!(address, format!("@alice:{server_name}"), "a Matrix ID at the portal");
    let label = button.attr("aria-label").await?.unwrap_or_default();
    assert!(label.contains("wonderland") && label.contains("proxy portal"), "says what it does: {label}");
    let section = app.wait_for("#demo-matrix").await?;
    app.driver.execute("arguments[0].scrollIntoView({ block: 'start' });", vec![section.to_json()?]).await?;
    app.snapshot("matrix-0-demo").await?;

    // Typed, as a person would: the Matrix ID alone.
    app.type_into("#address", address.clone() + Key::Enter).await?;
    app.wait_for("#page-login").await?;
    let server = app.text("#server-info").await?;
    assert!(server.contains("Matrix"), "the product line says Matrix: {server}");
    assert!(server.contains(&portal), "and names the portal: {server}");
    assert_eq!(app.value("#username").await?, "alice", "the Matrix ID's localpart is the user name");
    assert!(app.wait_for("#use-sso").await.is_ok(), "the browser (SSO) is offered instead of the password");
    app.focus_reaches("password").await?;
    app.keys("wonderland" + Key::Enter).await?;

    // Verified at the homeserver the portal's answer named.
    assert_eq!(app.text("#verified-name").await?, "Alice Liddell", "the display name from alice's profile");
    let user_id = app.text("#verified-user").await?;
    assert!(user_id.starts_with("@alice:hs1.localhost:"), "whoami's user id, on hs1: {user_id}");
    assert_eq!(app.text("#verified-portal").await?, portal, "the portal that was asked");
    let homeserver = app.text("#verified-instance").await?;
    assert!(homeserver.starts_with("http://hs1.localhost:"), "alice's homeserver: {homeserver}");
    let hop = app.text("#verified-hop").await?;
    assert!(
        hop.contains(origin_of(&portal)?.as_str()) && hop.contains(origin_of(&homeserver)?.as_str()),
        "the portal → homeserver hop: {hop}"
    );
    let device = app.text("#verified-device").await?;
    assert!(!device.is_empty() && device != "unknown", "the login's device: {device}");
    let lookup = lane_labels(app, "lookup").await?;
    assert!(lookup.iter().any(|l| l.contains("POST /_matrix/client/v3/login")), "login at the portal: {lookup:?}");
    let instance = lane_labels(app, "instance").await?;
    assert!(instance.iter().any(|l| l.contains("whoami")), "whoami at the homeserver (Instance lane): {instance:?}");
    assert!(!lookup.iter().any(|l| l.contains("whoami")), "not at the portal: {lookup:?}");
    app.snapshot("matrix-1-verified").await?;

    app.focus_reaches("done").await?;
    app.keys(Key::Enter).await?;
    let entry = app.wait_for("li.account").await?;
    let id = entry.attr("data-account-id").await?.ok_or("the account row carries its id")?;
    let listed = entry.text().await?;
    assert!(listed.contains(&user_id) && listed.contains(&homeserver), "listed with user id and homeserver: {listed}");
    let stored = app.store().get(&id)?;
    assert_eq!(stored.kind, homeport_engine::AccountKind::Matrix);
    assert_eq!(stored.instance_url.as_url().as_str(), homeserver, "accounts.json holds the homeserver");
    assert_eq!(stored.matrix.as_ref().map(|m| m.device_id.as_str()), Some(device.as_str()), "and the device");
    let secret = app.store().secret(&id)?.expose().to_owned();
    let tokens: serde_json::Value = serde_json::from_str(&secret)?;
    let access_token = tokens["access_token"].as_str().unwrap_or_default();
    assert!(
        access_token.len() > 8,
        "the access token is in the Secret Service: {}",
        tokens.as_object().map(|t| t.len()).unwrap_or(0)
    );
    assert!(!secret.contains("wonderland"), "the password itself is not kept");
    let file = std::fs::read_to_string(app.config.path().join("accounts.json"))?;
    assert!(!file.contains(access_token), "no token in accounts.json");

    // Re-verify asks the homeserver who the stored token belongs to.
    app.click(".verify-account").await?;
    let notice = app.text(".notice").await?;
    assert!(notice.contains("Alice Liddell is verified"), "re-verified with the stored token: {notice}");
    let instance = lane_labels(app, "instance").await?;
    assert!(instance.iter().any(|l| l.contains("whoami")), "re-verify is a whoami: {instance:?}");
    app.snapshot("matrix-2-accounts").await?;

    // carol's first login is answered "wait": the wait shows, then the one retry logs her in.
    app.click("#nav-connect").await?;
    app.click_settled(&app.wait_for(&matrix_demo_button("carol", "proxy")).await?).await?;
    app.wait_for("#page-login").await?;
    assert_eq!(app.value("#password").await?, "rate-limit", "the demo person's password is filled in");
    app.click("#login").await?;
    app.wait_for("#page-verified").await?;
    let notes = app.driver.find_all(By::Css(".trace-note")).await?;
    let mut words = Vec::new();
    for note in notes {
        words.push(note.text().await?);
    }
    assert!(words.iter().any(|w| w.contains("asks to wait")), "the wait is shown in the diagram: {words:?}");
    // The label ends with the answer ("… → 429 Too Many Requests"); a port or path may contain 429 too.
    let limited = app.driver.find_all(By::Css(".trace-row[aria-label*='→ 429 ']")).await?;
    assert_eq!(limited.len(), 1, "one 429, then the retry");
    app.snapshot("matrix-rate-limit").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_behind_the_307_portal_sends_the_password_on_only_after_approval() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let server = LookupServer::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), Scenario::default())
        .await
        .expect("the lookup server starts on loopback");
    let app = App::launch(&[]).await.expect("the app starts under tauri-driver");
    let outcome = matrix_307_portal(&app, &server).await;
    app.finish("matrix-307", outcome).await;
    server.shutdown().await;
}

async fn matrix_307_portal(app: &App, server: &LookupServer) -> TestResult {
    let portal = server.matrix_portal_307_url().clone();
    let hs2 = server.matrix_homeserver_urls()["hs2"].clone();
    let bob = server.matrix_people().into_iter().find(|p| p.localpart == "bob").ok_or("bob is a Matrix user")?;
    let address = format!("bob@{}:{}", portal.host_str().unwrap_or_default(), portal.port().unwrap_or(80));
    app.type_into("#address", address + Key::Enter).await?;
    app.wait_for("#page-login").await?;
    assert_eq!(app.value("#username").await?, "bob", "the address names the user");
    app.type_into("#password", bob.password.to_owned() + Key::Enter).await?;

    // The portal answers the login with 307: Homeport asks before the password goes anywhere else.
    app.wait_for("#page-redirect").await?;
    app.focus_reaches("approve-redirect").await?;
    let (portal_origin, hs2_origin) = (Origin::of(&portal), Origin::of(&hs2));
    let explanation = app.text("#redirect-matrix").await?;
    assert!(explanation.contains(portal_origin.as_str()), "names the portal: {explanation}");
    assert!(explanation.contains(hs2_origin.as_str()), "names the homeserver: {explanation}");
    assert!(explanation.contains("RFC 9700"), "says why re-sending a password is a question: {explanation}");
    assert!(explanation.contains("307") && explanation.contains("password"), "what is re-sent: {explanation}");
    assert_eq!(app.text("#approve-redirect").await?, format!("Send credentials to {hs2_origin}"));
    assert_eq!(server.matrix_login_posts("hs2"), 0, "the password has not reached hs2 before approval");
    app.snapshot("matrix-307-confirm").await?;
    app.keys(Key::Enter).await?;

    assert_eq!(app.text("#verified-name").await?, bob.display_name, "bob's profile");
    assert_eq!(app.text("#verified-user").await?, bob.user_id);
    assert_eq!(app.text("#verified-portal").await?, portal.as_str(), "the portal that was asked");
    assert_eq!(app.text("#verified-instance").await?, hs2.as_str(), "bob's homeserver");
    let redirect = app.text(".verified-redirect").await?;
    assert!(
        redirect.starts_with("307")
            && redirect.contains(portal_origin.as_str())
            && redirect.contains(hs2_origin.as_str()),
        "the 307 hop, portal → homeserver: {redirect}"
    );
    assert_eq!(server.matrix_login_posts("hs2"), 1, "one login at hs2, after approval");
    let instance = lane_labels(app, "instance").await?;
    assert!(
        instance.iter().any(|l| l.contains("POST /_matrix/client/v3/login")),
        "the re-sent login is drawn to the homeserver: {instance:?}"
    );
    app.snapshot("matrix-307-verified").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_sso_logs_in_in_the_system_browser_instead_of_the_password_form() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let browser = BrowserRobot::new().expect("a browser robot in a temp folder");
    let app = App::launch_with(&["--demo"], Some(&browser)).await.expect("the app starts under tauri-driver");
    let outcome = matrix_sso(&app, &browser).await;
    app.finish("matrix-sso", outcome).await;
}

async fn matrix_sso(app: &App, browser: &BrowserRobot) -> TestResult {
    let portal = app.text("#demo-matrix-proxy").await?;
    app.click_settled(&app.wait_for(&matrix_demo_button("alice", "proxy")).await?).await?;
    app.wait_for("#page-login").await?;
    let sso = app.wait_for("#use-sso").await?;
    assert_eq!(sso.text().await?, "Log in in the browser (SSO)");
    sso.click().await?;
    let issuer =
        log_in_through_the_browser(app, browser, ("alice", "wonderland"), Callback::MatrixSso, "matrix-sso-browser")
            .await?;
    assert_eq!(issuer, portal, "the portal's own login page, not an OpenID Provider");

    assert_eq!(app.text("#verified-name").await?, "Alice Liddell");
    assert!(app.text("#verified-instance").await?.starts_with("http://hs1.localhost:"), "alice's homeserver");
    assert_eq!(app.text("#verified-sso").await?, "in the browser (single sign-on)");
    app.click("#done").await?;
    let entry = app.wait_for("li.account").await?;
    let id = entry.attr("data-account-id").await?.ok_or("the account row carries its id")?;
    assert_eq!(app.store().get(&id)?.auth_method, homeport_engine::AuthMethod::MatrixSso);
    let tokens: serde_json::Value = serde_json::from_str(app.store().secret(&id)?.expose())?;
    assert!(tokens["access_token"].as_str().is_some_and(|t| !t.is_empty()), "the SSO login's token is in the keyring");
    Ok(())
}

// GUI autopilot: the same scenario file, headless (`homeport run`) and played in the window.

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

/// Plays `file` in the window and waits for the autopilot's verdict; returns it as
/// `(passed, line)`. The picture of the page before the verdict is `<picture>`.
async fn play_in_window(app: &App, name: &str) -> Result<(bool, String), Box<dyn std::error::Error + Send + Sync>> {
    let banner = app.text("#autopilot-banner").await?;
    assert!(banner.contains(&format!("Autopilot: {name}")), "the banner names the scenario: {banner}");
    assert!(app.wait_for("#autopilot-stop").await?.is_displayed().await?, "Stop while it plays");
    let verdict = app
        .driver
        .query(By::Css("#autopilot-verdict"))
        .wait(Duration::from_secs(60), POLL)
        .and_displayed()
        .first()
        .await?;
    let passed = verdict.attr("data-passed").await?.unwrap_or_default() == "true";
    let line = verdict.find(By::Css(".verdict-line")).await?.text().await?;
    Ok((passed, line))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autopilot_plays_s0_visibly_with_the_same_outcome_as_headless() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let file = scenario_file("s0-instance2.toml");
    let path = file.display().to_string();
    let app = App::launch(&["--script", &path]).await.expect("the app starts under tauri-driver");
    let outcome = autopilot_s0(&app, &file).await;
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
    assert!(line.contains("; 3 round trips,"), "as many round trips as headless: {line}");
    let account = &headless["result"]["account"];
    assert_eq!(app.text("#verified-user").await?, account["user_id"].as_str().unwrap_or_default(), "same user");
    let instance = app.text("#verified-instance").await?;
    assert!(line.contains(&instance), "the verified page shows the instance the verdict names: {instance}");
    assert_eq!(headless["round_trips"], 3, "{headless}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autopilot_declines_a_redirect_the_file_does_not_approve_as_headless_does() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let file = scenario_file("s0-unapproved-redirect.toml");
    let path = file.display().to_string();
    let app = App::launch(&["--script", &path]).await.expect("the app starts under tauri-driver");
    let outcome = autopilot_unapproved(&app, &file).await;
    app.finish("autopilot-2-unapproved-verdict", outcome).await;
}

async fn autopilot_unapproved(app: &App, file: &Path) -> TestResult {
    let headless = headless_run(file)?;
    assert_eq!(headless["passed"], true, "failing by design, as expected: {headless}");
    assert_eq!(headless["result"]["error"]["code"], "policy_refused", "{headless}");
    app.wait_for("#page-redirect").await?;
    let (passed, line) = play_in_window(app, "S0: credentials never go to an unapproved instance").await?;
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
    let outcome = autopilot_oidc(&app, &file, &browser).await;
    app.finish("autopilot-4-oidc-verdict", outcome).await;
}

async fn autopilot_oidc(app: &App, file: &Path, browser: &BrowserRobot) -> TestResult {
    let headless = headless_run(file)?;
    assert_eq!(headless["passed"], true, "headless: {headless}");
    app.wait_for("#browser-autopilot-hint").await?;
    app.snapshot("autopilot-3-oidc-browser").await?;
    let name = "S2: einstein logs in with OIDC and WebFinger finds instance A";
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

/// tinyproxy on a free loopback port, asking for a user and password, logging every request.
struct Tinyproxy {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Tinyproxy {
    fn start() -> Result<Tinyproxy, Box<dyn std::error::Error + Send + Sync>> {
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let log = dir.path().join("tinyproxy.log");
        let config = dir.path().join("tinyproxy.conf");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 20\nLogLevel Info\nLogFile \"{}\"\nBasicAuth alice proxy-pass-e2e\n",
                log.display()
            ),
        )?;
        let child = Command::new("tinyproxy")
            .arg("-d")
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let proxy = Tinyproxy { child, port, log, _dir: dir };
        wait_for_port(port)?;
        Ok(proxy)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_proxy_is_set_on_the_address_page_and_its_failure_is_named() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let proxy = Tinyproxy::start().expect("tinyproxy starts");
    let app = App::launch(&["--demo"]).await.expect("the app starts under tauri-driver");
    let outcome = manual_proxy(&app, &proxy).await;
    app.finish("proxy-settings", outcome).await;
}

async fn manual_proxy(app: &App, proxy: &Tinyproxy) -> TestResult {
    app.value("#address").await?;
    // A closed port first: the failure is the proxy's, and the error leads to the settings.
    let closed = format!("http://127.0.0.1:{}", free_port()?);
    app.click("#proxy-toggle").await?;
    app.focus_reaches("proxy-none").await?;
    app.keys(Key::Down).await?;
    app.type_into("#proxy-url", closed.as_str()).await?;
    app.type_into("#proxy-user", "alice").await?;
    app.type_into("#proxy-password", "proxy-pass-e2e").await?;
    app.click("#toggle-proxy-password").await?;
    app.snapshot("proxy-0-settings").await?;
    app.click("#proxy-save").await?;
    let summary = app.text("#proxy-summary").await?;
    assert!(summary.contains(&closed), "{summary}");
    let file = std::fs::read_to_string(app.config.path().join("proxy.json"))?;
    assert!(file.contains("alice") && !file.contains("proxy-pass-e2e"), "{file}");
    app.click("#connect").await?;
    let error = app.text("#error[data-reason='proxy']").await?;
    assert!(error.contains("The proxy refused or did not answer") && error.contains(&closed), "{error}");
    app.snapshot("proxy-1-failed").await?;
    app.click("#proxy-settings").await?;
    app.focus_reaches("proxy-url").await?;
    let working = format!("http://127.0.0.1:{}", proxy.port);
    app.type_into("#proxy-url", working.as_str() + Key::Enter).await?;
    let summary = app.text("#proxy-summary").await?;
    assert!(summary.contains("Proxy saved") || summary.contains(&closed), "{summary}");
    app.focus_reaches("proxy-toggle").await?;
    let summary = app.text("#proxy-summary").await?;
    assert!(summary.contains(&working), "{summary}");
    app.click("#connect").await?;
    let server = app.text("#server-info").await?;
    assert!(server.contains("ownCloud"), "{server}");
    let log = proxy.log();
    assert!(log.contains("/status.php"), "the check went through the proxy: {log}");
    Ok(())
}
