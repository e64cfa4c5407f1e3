//! Saving accounts: an unreachable keyring keeps the verified account for "Try again".

use super::*;

/// Set in the child process of the keyring test.
const KEYRING_CHILD: &str = "HOMEPORT_TEST_KEYRING_CHILD";
/// The real session bus, for the child to reach once "the keyring is back".
const REAL_BUS: &str = "HOMEPORT_TEST_REAL_BUS";

/// The keyring is unreachable (the D-Bus session bus address points nowhere), as with no
/// Secret Service running: Done says so, keeps the verified account, and "Try again" (the
/// same `wizard_save`) stores it once the bus is there. Runs in a child process: the bus
/// address is read from the environment, and other tests need the real one.
#[test]
fn a_missing_keyring_keeps_the_verified_account_until_try_again_saves_it() {
    if std::env::var_os(KEYRING_CHILD).is_none() {
        let scratch = tempfile::tempdir().expect("scratch");
        let output = std::process::Command::new(std::env::current_exe().expect("the test binary"))
            .args([
                "--exact",
                "tests::accounts::a_missing_keyring_keeps_the_verified_account_until_try_again_saves_it",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(KEYRING_CHILD, scratch.path())
            .env("HOMEPORT_CONFIG_DIR", scratch.path().join("config"))
            .env("DBUS_SESSION_BUS_ADDRESS", format!("unix:path={}", scratch.path().join("bus").display()))
            .env(REAL_BUS, std::env::var("DBUS_SESSION_BUS_ADDRESS").unwrap_or_default())
            // No X11 autolaunch of a bus either.
            .env_remove("DISPLAY")
            .output()
            .expect("run the child");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("1 passed"),
            "the child failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
            assert!(stdout.contains("saved after Try again"), "the retry was checked: {stdout}");
        }
        return;
    }
    let scratch = std::path::PathBuf::from(std::env::var_os(KEYRING_CHILD).unwrap_or_default());
    let config = scratch.join("config");
    std::fs::create_dir_all(&config).expect("config dir");
    let app = app(false);

    // A proxy password needs the keyring: refused with its message, and nothing written.
    let change = json!({ "url": "http://127.0.0.1:3128", "user": "alice", "password": "proxy-secret" });
    let refused = app.invoke("proxy_set", json!({ "change": change })).expect_err("no keyring");
    assert_eq!(refused["code"], "keyring_unavailable", "{refused}");
    assert!(refused["message"].as_str().is_some_and(|m| m.contains("keyring")), "{refused}");
    assert!(!config.join("proxy.json").exists(), "no proxy saved without its password");
    // A saved proxy user whose password cannot be read stops the wizard with the keyring's words.
    let file = json!({ "version": 1, "url": "http://127.0.0.1:3128", "user": "alice" });
    std::fs::write(config.join("proxy.json"), file.to_string()).expect("a proxy.json");
    let central = app.invoke("demo_start", json!({})).expect("demo")["central_url"].clone();
    let stopped = app
        .invoke("wizard_start", json!({ "address": central, "onEvent": "__CHANNEL__:9", "call": 9 }))
        .expect_err("the proxy password is in the keyring");
    assert_eq!(stopped["code"], "keyring_unavailable", "{stopped}");
    // "None" works without a keyring.
    let none = app.invoke("proxy_set", json!({ "change": { "url": null, "user": null, "password": null } }));
    assert_eq!(none.expect("cleared without a keyring")["url"], Value::Null);
    assert!(!config.join("proxy.json").exists(), "the proxy is off");

    app.invoke("wizard_start", json!({ "address": central, "onEvent": "__CHANNEL__:1", "call": 1 })).expect("probe");
    let credentials = json!({ "answer": "credentials", "user": "test@instance2.com", "password": "secret" });
    let step = app.invoke("wizard_answer", json!({ "answer": credentials, "call": 2 })).expect("login");
    let origin = step["decision"]["to"].clone();
    let answer = json!({ "answer": { "answer": "approve_redirect", "origin": origin }, "call": 3 });
    let verified = app.invoke("wizard_answer", answer).expect("verified");
    assert_eq!(verified["outcome"], "verified", "{verified}");
    assert_eq!(verified["verified"]["already_stored"], false, "a new account");

    let failed = app.invoke("wizard_save", json!({})).expect_err("no keyring");
    assert_eq!(failed["code"], "keyring_unavailable", "{failed}");
    assert!(failed["message"].as_str().is_some_and(|m| m.contains("keyring")), "{failed}");
    assert!(!config.join("accounts.json").exists(), "nothing stored without its password (never a file fallback)");
    let again = app.invoke("wizard_save", json!({})).expect_err("still no keyring");
    assert_eq!(again["code"], "keyring_unavailable", "the verified account was kept for Try again: {again}");

    // The list still shows what accounts.json holds, and names the keyring problem once.
    let file = json!({ "version": 1, "accounts": [verified["verified"]["account"]] });
    std::fs::write(config.join("accounts.json"), file.to_string()).expect("an accounts.json");
    let list = app.invoke("accounts_list", json!({})).expect("listed without the keyring");
    assert_eq!(list["keyring"]["code"], "keyring_unavailable", "{list}");
    assert_eq!(list["accounts"][0]["has_secret"], Value::Null, "unknown, not 'missing': {list}");
    std::fs::remove_file(config.join("accounts.json")).expect("remove");

    // The keyring is back: a bus at that address (forwarded to the real session bus).
    let real = std::env::var(REAL_BUS).unwrap_or_default();
    if real.is_empty() {
        eprintln!("no session bus to come back to: the retry's success is not checked");
        return;
    }
    forward_bus(&scratch.join("bus"), &real);
    let saved = app.invoke("wizard_save", json!({})).expect("Try again stores the same account");
    assert_eq!(saved["user_id"], "test@instance2.com", "{saved}");
    let list = app.invoke("accounts_list", json!({})).expect("listed");
    assert_eq!(list["keyring"], Value::Null, "{list}");
    assert_eq!(list["accounts"][0]["has_secret"], true, "the password is in the keyring now: {list}");
    // The same account again: the verified page says Done updates it instead of adding another.
    app.invoke("wizard_start", json!({ "address": central, "onEvent": "__CHANNEL__:1", "call": 11 })).expect("probe");
    let credentials = json!({ "answer": "credentials", "user": "test@instance2.com", "password": "secret" });
    let step = app.invoke("wizard_answer", json!({ "answer": credentials, "call": 12 })).expect("login");
    let answer = json!({ "answer": { "answer": "approve_redirect", "origin": step["decision"]["to"] }, "call": 13 });
    let again = app.invoke("wizard_answer", answer).expect("verified again");
    assert_eq!(again["verified"]["already_stored"], true, "a duplicate is named before Done: {again}");
    let id = list["accounts"][0]["account"]["id"].clone();
    app.invoke("account_remove", json!({ "id": id })).expect("removed, with its keyring entry");
    println!("saved after Try again");
}

/// Serves `path` as a unix socket that forwards every connection to the D-Bus `address`.
fn forward_bus(path: &std::path::Path, address: &str) {
    let target = address.split(',').next().unwrap_or_default().to_owned();
    let listener = std::os::unix::net::UnixListener::bind(path).expect("bind the bus socket");
    listener.set_nonblocking(true).expect("nonblocking");
    tauri::async_runtime::spawn(async move {
        let Ok(listener) = tokio::net::UnixListener::from_std(listener) else { return };
        while let Ok((mut client, _)) = listener.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                let upstream = if let Some(path) = target.strip_prefix("unix:path=") {
                    std::os::unix::net::UnixStream::connect(path)
                } else if let Some(name) = target.strip_prefix("unix:abstract=") {
                    use std::os::linux::net::SocketAddrExt as _;
                    std::os::unix::net::SocketAddr::from_abstract_name(name)
                        .and_then(|addr| std::os::unix::net::UnixStream::connect_addr(&addr))
                } else {
                    return;
                };
                let Ok(upstream) = upstream.and_then(|s| s.set_nonblocking(true).map(|()| s)) else { return };
                let Ok(mut upstream) = tokio::net::UnixStream::from_std(upstream) else { return };
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
}
