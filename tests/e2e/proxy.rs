//! A manual proxy set on the address page, and its failure named.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use thirtyfour::prelude::*;

use crate::harness::*;

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
    // The demo starts first (the address page's buttons are disabled meanwhile), then focuses the
    // address field: open the settings after both, or the start-up takes the focus back from them.
    app.wait_for("#demo-banner").await?;
    app.focus_reaches("address").await?;
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
