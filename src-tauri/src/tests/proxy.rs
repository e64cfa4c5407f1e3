//! The proxy settings: saved with the password in the keyring, and carrying every wizard request.

use super::*;

/// The child runs with its own config dir (`HOMEPORT_CONFIG_DIR`, set before it starts) and
/// without the environment's proxies.
const PROXY_CHILD: &str = "HOMEPORT_TEST_PROXY_CHILD";
const PROXY_USER: &str = "alice";
const PROXY_PASSWORD: &str = "proxy-pass-desktop-9";

/// tinyproxy on a free loopback port, asking for `PROXY_USER`/`PROXY_PASSWORD` and logging
/// every request to `dir/tinyproxy.log`; killed when dropped.
struct Tinyproxy {
    child: std::process::Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Tinyproxy {
    fn start(dir: &std::path::Path) -> Tinyproxy {
        let port = free_port();
        let log = dir.join("tinyproxy.log");
        let config = dir.join("tinyproxy.conf");
        // No ConnectPort line: CONNECT to any port (the lookup server's are random).
        let text = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 20\nLogLevel Info\nLogFile \"{}\"\nBasicAuth {PROXY_USER} {PROXY_PASSWORD}\n",
            log.display()
        );
        std::fs::write(&config, text).expect("write tinyproxy.conf");
        let program = std::env::var_os("PATH")
            .into_iter()
            .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
            .map(|dir| dir.join("tinyproxy"))
            .find(|path| path.is_file())
            .expect("tinyproxy is needed for the proxy test: ./dev.sh test installs it (apt-get install tinyproxy)");
        // -d: in the foreground, so it is this test's child and dies with it.
        let child = std::process::Command::new(program)
            .arg("-d")
            .arg("-c")
            .arg(&config)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("tinyproxy starts");
        let proxy = Tinyproxy { child, port, log };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "tinyproxy listens within 10 s: {}", proxy.log());
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        proxy
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// A loopback port nothing listens on (it was free a moment ago).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("addr").port()
}

#[test]
fn a_saved_proxy_keeps_its_password_in_the_keyring_and_carries_every_wizard_request() {
    if std::env::var_os(PROXY_CHILD).is_none() {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
            eprintln!("no session bus (run under dev.sh's scratch keyring): the saved proxy is not checked");
            return;
        }
        let scratch = tempfile::tempdir().expect("scratch");
        let mut command = std::process::Command::new(std::env::current_exe().expect("the test binary"));
        command
            .args([
                "--exact",
                "tests::proxy::a_saved_proxy_keeps_its_password_in_the_keyring_and_carries_every_wizard_request",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(PROXY_CHILD, scratch.path())
            .env("HOMEPORT_CONFIG_DIR", scratch.path().join("config"));
        for name in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
            command.env_remove(name);
        }
        let output = command.output().expect("run the child");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("1 passed") && stdout.contains("proxy checked"),
            "the child failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        return;
    }
    let scratch = std::path::PathBuf::from(std::env::var_os(PROXY_CHILD).unwrap_or_default());
    let config = scratch.join("config");
    let proxy = Tinyproxy::start(&scratch);
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    let app = app(false);
    assert_eq!(
        app.invoke("proxy_get", json!({})).expect("granted"),
        json!({ "url": null, "user": null, "has_password": false }),
        "nothing saved: the system's settings"
    );

    // Refused before anything is stored: credentials in the URL, a password without a user.
    let bad = app
        .invoke("proxy_set", json!({ "change": { "url": "http://u:p@127.0.0.1:1", "user": null, "password": null } }));
    assert_eq!(bad.expect_err("credentials in the URL")["code"], "bad_input");
    let bad = app.invoke("proxy_set", json!({ "change": { "url": proxy_url, "user": null, "password": "x" } }));
    assert_eq!(bad.expect_err("a password needs a user")["code"], "bad_input");
    assert!(!config.join("proxy.json").exists(), "nothing written for a refused setting");

    let change = json!({ "url": proxy_url, "user": PROXY_USER, "password": PROXY_PASSWORD });
    let saved = app.invoke("proxy_set", json!({ "change": change })).expect("saved");
    assert_eq!(saved, json!({ "url": proxy_url, "user": PROXY_USER, "has_password": true }));
    let file = std::fs::read_to_string(config.join("proxy.json")).expect("proxy.json beside accounts.json");
    assert!(file.contains(&proxy_url) && file.contains(PROXY_USER), "URL and user are in the file: {file}");
    assert!(!file.contains(PROXY_PASSWORD), "never the password: {file}");
    // The engine's settings read the keyring entry (service homeport, entry proxy) the shell saved.
    let entry = homeport_engine::Settings::at(&config);
    let stored = entry.proxy_password().expect("the keyring holds it");
    assert_eq!(stored.as_ref().map(homeport_engine::Secret::expose), Some(PROXY_PASSWORD));
    assert_eq!(app.invoke("proxy_get", json!({})).expect("read back"), saved);

    // The demo's servers are on loopback, which an environment proxy never gets: only the
    // saved proxy sends them there, and its log (with its Basic auth passed) is the witness.
    let central = app.invoke("demo_start", json!({})).expect("demo")["central_url"].as_str().expect("url").to_owned();
    let step = app
        .invoke("wizard_start", json!({ "address": central, "onEvent": "__CHANNEL__:1", "call": 1 }))
        .expect("probe through the proxy");
    assert_eq!(step["decision"]["decision"], "needs_credentials", "{step}");
    let credentials = json!({ "answer": "credentials", "user": "test@instance2.com", "password": "secret" });
    let step = app.invoke("wizard_answer", json!({ "answer": credentials, "call": 2 })).expect("login");
    let origin = step["decision"]["to"].clone();
    let answer = json!({ "answer": { "answer": "approve_redirect", "origin": origin }, "call": 3 });
    let verified = app.invoke("wizard_answer", answer).expect("verified");
    assert_eq!(verified["outcome"], "verified", "{verified}");
    let log = proxy.log();
    let instance = origin.as_str().expect("origin").trim_end_matches('/').to_owned();
    for server in [central.trim_end_matches('/'), instance.as_str()] {
        assert!(
            log.contains("Request (file descriptor") && log.contains(&format!("{server}/")),
            "the proxy forwarded the requests to {server}: {log}"
        );
    }
    assert!(log.contains("/status.php"), "status.php went through the proxy: {log}");

    // SOCKS5 with the same user and password (from the keyring): microsocks logs each
    // connection it makes for the wizard.
    let socks_log = scratch.join("microsocks.log");
    let socks_port = free_port();
    let mut socks = std::process::Command::new("microsocks")
        .args(["-i", "127.0.0.1", "-p", &socks_port.to_string(), "-u", PROXY_USER, "-P", PROXY_PASSWORD])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&socks_log).expect("log file"))
        .spawn()
        .expect("microsocks is needed for the proxy test (apt-get install microsocks)");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", socks_port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "microsocks listens within 10 s");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let socks_url = format!("socks5://127.0.0.1:{socks_port}");
    let change = json!({ "url": socks_url, "user": PROXY_USER, "password": null });
    app.invoke("proxy_set", json!({ "change": change })).expect("saved");
    let through_socks = app
        .invoke("wizard_start", json!({ "address": central, "onEvent": "__CHANNEL__:4", "call": 6 }))
        .map(|step| step["decision"]["decision"].clone());
    let _ = socks.kill();
    let _ = socks.wait();
    assert_eq!(through_socks.expect("probe through SOCKS5"), "needs_credentials");
    let log = std::fs::read_to_string(&socks_log).unwrap_or_default();
    let central_port = url::Url::parse(&central).expect("url").port().expect("port");
    assert!(log.contains(&format!("connected to 127.0.0.1:{central_port}")), "through microsocks: {log}");

    // A closed proxy port: the proxy's failure, not the server's (the password is kept).
    let closed = format!("http://127.0.0.1:{}", free_port());
    let change = json!({ "url": closed, "user": PROXY_USER, "password": null });
    let kept = app.invoke("proxy_set", json!({ "change": change })).expect("saved");
    assert_eq!(kept["has_password"], true, "an empty password field keeps the stored one: {kept}");
    let failed = app
        .invoke("wizard_start", json!({ "address": central, "onEvent": "__CHANNEL__:2", "call": 4 }))
        .expect_err("the proxy does not answer");
    assert_eq!(failed["code"], "unreachable", "{failed}");
    assert_eq!(failed["detail"]["reason"], "proxy", "named as the proxy's failure: {failed}");
    assert_eq!(failed["detail"]["proxy"], closed.as_str(), "{failed}");
    assert!(!failed.to_string().contains(PROXY_PASSWORD), "no password in the error: {failed}");

    // "None": the file and the keyring entry go; the system's settings apply again.
    let none = app.invoke("proxy_set", json!({ "change": { "url": null, "user": null, "password": null } }));
    assert_eq!(none.expect("cleared")["url"], Value::Null);
    assert!(!config.join("proxy.json").exists(), "the file is gone");
    assert!(matches!(entry.proxy_password(), Ok(None)), "the keyring entry is gone");
    let direct = app.invoke("wizard_start", json!({ "address": central, "onEvent": "__CHANNEL__:3", "call": 5 }));
    assert_eq!(direct.expect("direct again")["decision"]["decision"], "needs_credentials");
    app.invoke("demo_stop", json!({})).expect("the demo stops");
    println!("proxy checked");
}
