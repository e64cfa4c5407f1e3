//! The harness: the app under test with its own tauri-driver and config folder ([`App`]), the
//! person's browser played by a robot ([`BrowserRobot`]), and the waits and ports they share.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use homeport_engine::{AccountStore, ErrorCode, Origin};
use thirtyfour::prelude::*;
use url::Url;

pub(crate) type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// One window at a time: two cores, and one X display.
pub(crate) static ONE_APP_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub(crate) const WAIT: Duration = Duration::from_secs(20);
pub(crate) const POLL: Duration = Duration::from_millis(100);

/// The app under test, with its own tauri-driver and config folder.
pub(crate) struct App {
    pub(crate) driver: WebDriver,
    tauri_driver: Child,
    pub(crate) config: tempfile::TempDir,
}

impl App {
    pub(crate) async fn launch(args: &[&str]) -> Result<App, Box<dyn std::error::Error + Send + Sync>> {
        App::launch_with(args, None).await
    }

    /// Starts the app with `browser` as its system browser (`$BROWSER`, which xdg-open runs when
    /// no desktop environment is detected: the desktop's own variables are cleared).
    pub(crate) async fn launch_with(
        args: &[&str],
        browser: Option<&BrowserRobot>,
    ) -> Result<App, Box<dyn std::error::Error + Send + Sync>> {
        let envs = browser.map(|browser| vec![("BROWSER", browser.script.display().to_string())]).unwrap_or_default();
        App::launch_with_envs(args, &envs).await
    }

    /// Starts the app with `envs` in its environment; with `BROWSER` among them, that is its
    /// system browser (xdg-open runs `$BROWSER` when no desktop environment is detected: the
    /// desktop's own variables are cleared) — the harness's [`BrowserRobot`], or the peers'
    /// robot that fills a real provider's forms (`homeport_lookup::testing::browser_robot`).
    pub(crate) async fn launch_with_envs(
        args: &[&str],
        envs: &[(&str, String)],
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
            // Hermetic: no administrators' configuration of this machine (a test names its own).
            .env("HOMEPORT_SYSTEM_CONFIG", "")
            // English unless a test names its language (tests/e2e/german.rs): the window's language
            // follows LC_ALL, LC_MESSAGES, LANG (src-tauri/src/locale.rs), whatever this machine has.
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env("LANG", "C.UTF-8")
            .stdout(Stdio::null())
            // It logs connection-refused backtraces while WebKitWebDriver starts: noise.
            .stderr(Stdio::null());
        // tauri-driver → WebKitWebDriver → the app → xdg-open: the environment goes all the way.
        command.envs(envs.iter().map(|(name, value)| (*name, value.as_str())));
        if envs.iter().any(|(name, _)| *name == "BROWSER") {
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
        // Under load tauri-driver may drop the first session request while WebKitWebDriver is still
        // starting (seen as "error sending request for url …/session"): the start-up, not the app,
        // so a transport error is retried a few times; any other error is reported at once.
        let mut attempt = 0;
        let driver = loop {
            attempt += 1;
            match WebDriver::new(format!("http://127.0.0.1:{port}"), capabilities.clone()).await {
                Err(error) if attempt < 4 && format!("{error:?}").contains("HttpError") => {
                    eprintln!("tauri-driver did not take the session yet ({error}): attempt {attempt}, again");
                    tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
                }
                other => break other?,
            }
        };
        let tauri_driver = app.tauri_driver.take().ok_or("tauri-driver vanished")?;
        Ok(App { driver, tauri_driver, config })
    }

    pub(crate) fn store(&self) -> AccountStore {
        AccountStore::at(self.config.path())
    }

    /// Waits until an element matching `css` is displayed. One that is found but re-rendered
    /// before its check (a stale element reference) is looked up again at the next poll.
    pub(crate) async fn wait_for(&self, css: &str) -> WebDriverResult<WebElement> {
        self.driver.query(By::Css(css)).ignore_errors(true).wait(WAIT, POLL).and_displayed().first().await
    }

    pub(crate) async fn text(&self, css: &str) -> WebDriverResult<String> {
        self.wait_for(css).await?.text().await
    }

    /// Waits until the element's `textContent` (also of visually hidden text, as a screen reader
    /// reads it) is `expected`; returns what it held last.
    pub(crate) async fn text_content_becomes(&self, css: &str, expected: &str) -> WebDriverResult<String> {
        // Present, not necessarily displayed: visually hidden text is for screen readers.
        let element = self.driver.query(By::Css(css)).wait(WAIT, POLL).first().await?;
        let deadline = Instant::now() + WAIT;
        loop {
            let text = element.prop("textContent").await?.unwrap_or_default();
            if text.trim() == expected || Instant::now() > deadline {
                return Ok(text.trim().to_owned());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    pub(crate) async fn value(&self, css: &str) -> WebDriverResult<String> {
        Ok(self.wait_for(css).await?.prop("value").await?.unwrap_or_default())
    }

    pub(crate) async fn type_into(&self, css: &str, text: impl Into<TypingData>) -> WebDriverResult<()> {
        let field = self.wait_for(css).await?;
        field.clear().await?;
        field.send_keys(text).await
    }

    /// Clicks the element once it is displayed and enabled: a disabled button ignores a click
    /// (the address page's, while the demo starts).
    pub(crate) async fn click(&self, css: &str) -> WebDriverResult<()> {
        let query = self.driver.query(By::Css(css)).ignore_errors(true).wait(WAIT, POLL);
        query.and_displayed().and_enabled().first().await?.click().await
    }

    /// Clicks `element` once it is scrolled to the middle of its scrolling page and painted there
    /// (a long page's lower buttons otherwise move while the click is aimed).
    pub(crate) async fn click_settled(&self, element: &WebElement) -> WebDriverResult<()> {
        let script = "arguments[0].scrollIntoView({ block: 'center' });";
        self.driver.execute(script, vec![element.to_json()?]).await?;
        self.painted().await?;
        element.click().await
    }

    /// Waits until keyboard focus is on the element with this id.
    pub(crate) async fn focus_reaches(&self, id: &str) -> TestResult {
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
    pub(crate) async fn focused_attr_is(&self, attribute: &str, value: &str) -> TestResult {
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
    pub(crate) async fn keys(&self, keys: impl Into<TypingData>) -> WebDriverResult<()> {
        self.driver.active_element().await?.send_keys(keys).await
    }

    /// The error box shows `code`; returns its text.
    pub(crate) async fn error_with_code(&self, code: ErrorCode) -> WebDriverResult<String> {
        self.text(&format!("#error[data-code='{}']", code.as_str())).await
    }

    /// WebDriver's screenshot shows the last painted frame: wait for the DOM to be painted.
    pub(crate) async fn painted(&self) -> WebDriverResult<()> {
        let script = "const done = arguments[arguments.length - 1];\n\
                      requestAnimationFrame(() => requestAnimationFrame(() => done()));";
        self.driver.execute_async(script, Vec::new()).await.map(drop)
    }

    /// Saves the page as it is now as `target/e2e-screenshots/<name>.png` (README pictures come from
    /// here), and has axe-core audit it: a serious or critical violation fails the test.
    pub(crate) async fn snapshot(&self, name: &str) -> TestResult {
        self.painted().await?;
        std::fs::create_dir_all(screenshot_folder())?;
        self.driver.screenshot(&screenshot_folder().join(format!("{name}.png"))).await?;
        crate::accessibility::audit(&self.driver, name, &screenshot_folder()).await
    }

    /// Saves the last page as `target/e2e-screenshots/<name>.png`, closes the app, then reports.
    pub(crate) async fn finish(mut self, name: &str, outcome: TestResult) {
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

pub(crate) fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

pub(crate) fn wait_for_port(port: u16) -> Result<(), String> {
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
pub(crate) struct BrowserRobot {
    folder: tempfile::TempDir,
    script: PathBuf,
}

impl BrowserRobot {
    pub(crate) fn new() -> std::io::Result<BrowserRobot> {
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
    pub(crate) fn opened(&self) -> Vec<String> {
        std::fs::read_to_string(self.folder.path().join("opened"))
            .map(|text| text.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// Waits until the app opened its `count`th URL; returns it.
    pub(crate) async fn wait_for_url(&self, count: usize) -> Result<Url, Box<dyn std::error::Error + Send + Sync>> {
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
    pub(crate) async fn log_in(
        &self,
        login_page: &Url,
        user: &str,
        password: &str,
    ) -> Result<(Vec<(String, String)>, String), Box<dyn std::error::Error + Send + Sync>> {
        let login = homeport_lookup::browser_login(login_page, user, password).await?;
        let callback = &login.callback;
        assert_eq!(callback.host_str(), Some("127.0.0.1"), "the IdP sends the browser back to loopback: {callback}");
        let query = callback.query_pairs().into_owned().collect();
        assert!((200..300).contains(&login.status), "Homeport's listener takes the callback: {}", login.status);
        Ok((query, login.page))
    }
}

pub(crate) fn origin_of(url: &str) -> Result<Origin, url::ParseError> {
    Ok(Origin::of(&Url::parse(url)?))
}

/// What the browser brings back to Homeport's loopback listener.
#[derive(Clone, Copy)]
pub(crate) enum Callback {
    /// OpenID Connect: `state` and a `code` (or the IdP's `error`).
    Oidc,
    /// Matrix SSO: a one-time `loginToken`.
    MatrixSso,
}

/// On the browser page (after picking an OIDC person, or SSO on a Matrix form), opens the login
/// page in the (robot) browser with the keyboard, and logs in there. Returns the issuer the
/// browser page named.
pub(crate) async fn log_in_through_the_browser(
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
    // Progress is a polite status region: a screen reader hears each step without losing its place.
    let region = app.wait_for("#progress").await?;
    let live = (region.attr("role").await?, region.attr("aria-live").await?);
    assert_eq!((live.0.as_deref(), live.1.as_deref()), (Some("status"), Some("polite")), "progress is announced");
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
