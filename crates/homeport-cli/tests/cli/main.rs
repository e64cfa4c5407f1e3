//! The `homeport` binary as a user and a script run it: against the lookup server over loopback,
//! with the real Secret Service (started by the README test command), and the documented curl of
//! docs/protocols/owncloud-redirect.md.

mod admin;
mod broken_pipe;
mod certificates;
mod client_certificates;
mod demo_file;
mod matrix;
mod nextcloud;
mod oidc;
mod owncloudcmd;
mod plain_http;
mod proxy;
mod real_connect;
mod real_idp;
mod run;
mod secrets;
mod store;
mod synapse;
mod terminal;
mod terminal_secrets;
mod timeout;
mod trace;
mod user_from_address;
mod words;

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use homeport_lookup::{Fault, LookupServer, Scenario};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::Command;

const HOMEPORT: &str = env!("CARGO_BIN_EXE_homeport");

async fn lookup(scenario: Scenario) -> LookupServer {
    homeport_lookup::testing::start(scenario).await
}

fn origin(server: &LookupServer, instance: &str) -> String {
    server.instance_urls()[instance].origin().ascii_serialization()
}

/// Runs `homeport ARGS`, the password (if any) on stdin, in a private config dir.
async fn homeport(config: &Path, args: &[&str], password: Option<&str>) -> Output {
    homeport_with(config, args, password, &[]).await
}

/// [`homeport`] with more environment (`$BROWSER`, a client secret).
async fn homeport_with(config: &Path, args: &[&str], password: Option<&str>, envs: &[(&str, String)]) -> Output {
    let mut child = Command::new(HOMEPORT)
        .args(args)
        .env("HOMEPORT_CONFIG_DIR", config)
        // Hermetic: no administrators' configuration of this machine applies (a test sets its own).
        .env("HOMEPORT_SYSTEM_CONFIG", "")
        .envs(envs.iter().map(|(name, value)| (*name, value.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("homeport runs");
    let mut stdin = child.stdin.take().expect("stdin");
    if let Some(password) = password {
        // A homeport that already ended (a refused flag) closed its stdin: its output tells why.
        if let Err(e) = stdin.write_all(format!("{password}\n").as_bytes()).await {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write password: {e}");
        }
    }
    drop(stdin);
    tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("homeport finishes")
        .expect("output")
}

/// Starts `homeport ARGS` (a `mock` command) and reads its description, the one JSON line it
/// prints first; the mock is killed when the child is dropped.
async fn start_mock(args: &[&str]) -> (tokio::process::Child, Value) {
    let mut mock = Command::new(HOMEPORT)
        .args(args)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("homeport mock runs");
    let mut lines = BufReader::new(mock.stdout.take().expect("stdout")).lines();
    let first =
        tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await.expect("a line in time").expect("read");
    let description: Value = serde_json::from_str(&first.expect("one line")).expect("the line is JSON");
    (mock, description)
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is one JSON object ({e}): {}", String::from_utf8_lossy(&output.stdout)))
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited, not killed")
}

#[tokio::test]
async fn connect_tells_a_clear_story_and_stores_the_account() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let central = server.central_url().to_string();
    let instance2 = origin(&server, "instance2");
    let args =
        ["connect", &central, "--user", "test@instance2.com", "--password-stdin", "--approve-redirect", &instance2];
    let output = homeport(config.path(), &args, Some("secret")).await;
    let story = String::from_utf8_lossy(&output.stdout);
    assert_eq!(code(&output), 0, "connect succeeds: {story}{}", String::from_utf8_lossy(&output.stderr));
    assert!(story.contains("✓ Connected: Test User Two (test@instance2.com)"), "who: {story}");
    assert!(story.contains(&format!("Redirected  301 to {instance2}/remote.php/webdav/")), "where: {story}");
    assert!(story.contains("2 round trips"), "how fast: {story}");
    assert!(story.contains("password in the system keyring"), "where the secret went: {story}");

    let list = homeport(config.path(), &["accounts", "list", "--json"], None).await;
    let accounts = json(&list);
    assert_eq!(accounts.as_array().map(Vec::len), Some(1), "one stored account: {accounts}");
    let id = accounts[0]["id"].as_str().expect("id").to_owned();
    assert_eq!(accounts[0]["instance_url"], format!("{instance2}/"));

    let show = homeport(config.path(), &["accounts", "show", &id], None).await;
    let shown = String::from_utf8_lossy(&show.stdout);
    assert!(code(&show) == 0 && shown.contains("Password        present"), "the keyring has it: {shown}");
    assert!(!shown.contains("secret\n"), "show never prints the password");

    for entry in walk(config.path()) {
        let bytes = std::fs::read(&entry).expect("read");
        assert!(!String::from_utf8_lossy(&bytes).contains("secret"), "{} contains the password", entry.display());
    }

    let remove = homeport(config.path(), &["accounts", "remove", &id], None).await;
    assert_eq!(code(&remove), 0, "{}", String::from_utf8_lossy(&remove.stderr));
    let again = homeport(config.path(), &["accounts", "show", &id, "--json"], None).await;
    assert_eq!(code(&again), 10, "a removed account is not found");
    assert_eq!(json(&again)["error"]["code"], "not_found");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[tokio::test]
async fn connect_json_is_one_object_with_account_round_trips_and_trace() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let central = server.central_url().to_string();
    let instance3 = origin(&server, "instance3");
    let args = [
        "connect",
        &central,
        "-u",
        "test@instance3.com",
        "--password-stdin",
        "--approve-redirect",
        &instance3,
        "--json",
        "--no-store",
    ];
    let output = homeport(config.path(), &args, Some("secret")).await;
    assert_eq!(code(&output), 0, "{}", String::from_utf8_lossy(&output.stderr));
    let result = json(&output);
    assert_eq!(result["status"], "connected");
    for field in ["id", "kind", "user_id", "display_name", "server_url", "instance_url", "auth_method"] {
        assert!(result["account"][field].is_string(), "account.{field} is present: {result}");
    }
    assert_eq!(result["account"]["kind"], "owncloud");
    assert_eq!(result["account"]["auth_method"], "basic");
    assert_eq!(result["round_trips"], 2);
    assert_eq!(result["trace"].as_array().map(Vec::len), Some(8), "every exchange is in the trace");
    assert_eq!(result["trace"][0]["to"], "lookup");
    assert_eq!(result["trace"][5]["to"], "instance");
    assert!(!output.stdout.windows(6).any(|w| w == b"secret"), "no password in the JSON");
    assert_eq!(result["stored"], false, "--no-store");
    assert!(walk(config.path()).is_empty(), "--no-store writes nothing");
}

#[tokio::test]
async fn each_error_class_has_its_own_exit_code() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let central = server.central_url().to_string();
    let instance1 = origin(&server, "instance1");
    let run = |args: Vec<String>, password: Option<&'static str>| {
        let config = config.path().to_owned();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            homeport(&config, &args, password).await
        }
    };
    let connect = |address: &str, extra: &[&str]| {
        let mut args = vec!["connect".to_owned(), address.to_owned(), "--json".to_owned()];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    };

    let bad = run(connect("ftp://example.com", &[]), None).await;
    assert_eq!((code(&bad), json(&bad)["error"]["code"].clone()), (2, "bad_input".into()), "bad input");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let unreachable = run(connect(&format!("http://127.0.0.1:{closed}"), &[]), None).await;
    assert_eq!(code(&unreachable), 3, "unreachable: {}", String::from_utf8_lossy(&unreachable.stdout));

    let wrong = run(
        connect(&central, &["-u", "test@instance1.com", "--password-stdin", "--approve-redirect", &instance1]),
        Some("wrong"),
    )
    .await;
    assert_eq!((code(&wrong), json(&wrong)["error"]["code"].clone()), (5, "auth_failed".into()), "wrong password");

    let refused = run(connect(&central, &["-u", "test@instance1.com", "--password-stdin"]), Some("secret")).await;
    let refusal = json(&refused);
    assert_eq!((code(&refused), refusal["error"]["code"].clone()), (7, "policy_refused".into()), "unapproved redirect");
    let hint = refusal["error"]["hint"].as_str().unwrap_or_default();
    assert!(hint.contains(&format!("--approve-redirect {instance1}")), "the hint names the flag and origin: {hint}");

    let needs = run(connect(&central, &[]), None).await;
    assert_eq!((code(&needs), json(&needs)["error"]["code"].clone()), (5, "auth_failed".into()), "credentials needed");

    let maintenance = lookup(Scenario { fault: Some(Fault::Maintenance), ..Scenario::default() }).await;
    let down = run(
        connect(maintenance.central_url().as_str(), &["-u", "test@instance1.com", "--password-stdin"]),
        Some("secret"),
    )
    .await;
    assert_eq!(
        (code(&down), json(&down)["error"]["detail"]["reason"].clone()),
        (6, "maintenance".into()),
        "server not ready"
    );

    let tls = lookup(Scenario { tls: true, ..Scenario::default() }).await;
    let untrusted = run(connect(tls.central_url().as_str(), &[]), None).await;
    assert_eq!(code(&untrusted), 4, "self-signed certificate: {}", String::from_utf8_lossy(&untrusted.stdout));

    let human =
        homeport(config.path(), &["connect", &central, "-u", "test@instance1.com", "--password-stdin"], Some("secret"))
            .await;
    let message = String::from_utf8_lossy(&human.stderr);
    assert!(message.starts_with("error: ") && message.contains("hint: "), "people get a message and a hint: {message}");
}

#[tokio::test]
async fn a_missing_keyring_is_a_clear_error_and_stores_nothing() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let central = server.central_url().to_string();
    let instance2 = origin(&server, "instance2");
    let output = Command::new(HOMEPORT)
        .args([
            "connect",
            &central,
            "-u",
            "test@instance2.com",
            "--password-stdin",
            "--approve-redirect",
            &instance2,
            "--json",
        ])
        .env("HOMEPORT_CONFIG_DIR", config.path())
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/homeport-test-bus")
        .env_remove("DISPLAY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let output = {
        let mut child = output;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(b"secret\n").await.expect("password");
        drop(stdin);
        child.wait_with_output().await.expect("output")
    };
    let result = json(&output);
    assert_eq!((code(&output), result["error"]["code"].clone()), (8, "keyring_unavailable".into()), "{result}");
    let message = result["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("Secret Service") || message.contains("keyring"), "tells what to do: {message}");
    assert!(!config.path().join("accounts.json").exists(), "no account without its secret");
    assert!(!config.path().join("accounts.pending").exists(), "a failed save leaves no journal behind");

    // Stored with the keyring, then removed without it: nothing changes, nothing is left pending.
    let args = ["connect", &central, "-u", "test@instance2.com", "--password-stdin", "--approve-redirect", &instance2];
    let stored = homeport(config.path(), &[&args[..], &["--json"]].concat(), Some("secret")).await;
    assert_eq!(code(&stored), 0, "{}", String::from_utf8_lossy(&stored.stdout));
    let id = json(&stored)["account"]["id"].as_str().expect("id").to_owned();
    let removed = Command::new(HOMEPORT)
        .args(["accounts", "remove", &id, "--json"])
        .env("HOMEPORT_CONFIG_DIR", config.path())
        .env("HOMEPORT_SYSTEM_CONFIG", "")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/homeport-test-bus")
        .env_remove("DISPLAY")
        .output()
        .await
        .expect("homeport runs");
    assert_eq!(code(&removed), 8, "no keyring: {}", String::from_utf8_lossy(&removed.stdout));
    assert!(!config.path().join("accounts.pending").exists(), "a failed remove leaves no journal behind");
    let list = json(&homeport(config.path(), &["accounts", "list", "--json"], None).await);
    assert_eq!(list[0]["id"], id.as_str(), "the account is still there, with its secret: {list}");
    let show = homeport(config.path(), &["accounts", "show", &id, "--json"], None).await;
    assert_eq!(json(&show)["secret"], "present", "its secret too");
}

#[tokio::test]
async fn the_mock_command_prints_its_urls_serves_and_stops_cleanly_on_sigterm() {
    let (mut mock, description) = start_mock(&["mock", "--listen", "127.0.0.1:0", "--path-instances"]).await;
    let central = description["central"].as_str().expect("central URL").to_owned();
    assert!(central.starts_with("http://127.0.0.1:"), "loopback by default: {central}");
    assert_eq!(description["instances"]["instance3"], format!("{central}instance3/"), "path layout");

    // The documented command of docs/protocols/owncloud-redirect.md, exactly: curl -v -L -u
    // 'test@instance3.com:secret' <central>/remote.php/webdav/
    let curl = |extra: &'static [&'static str]| {
        let url = format!("{central}remote.php/webdav/");
        async move {
            let output = Command::new("curl")
                .args([
                    "-sS",
                    "-v",
                    "-L",
                    "-u",
                    "test@instance3.com:secret",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code} %{url_effective}",
                ])
                .args(extra)
                .arg(&url)
                .output()
                .await
                .expect("curl is installed by the README test command");
            (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
        }
    };
    let (result, verbose) = curl(&[]).await;
    assert_eq!(result, format!("200 {central}instance3/remote.php/webdav/"), "curl -L ends at instance 3: {verbose}");
    assert!(verbose.contains("< HTTP/1.1 301"), "the central server redirected: {verbose}");
    let (result, _) = curl(&["-X", "PROPFIND", "-H", "Depth: 0"]).await;
    assert_eq!(result, format!("207 {central}instance3/remote.php/webdav/"), "PROPFIND answers 207 Multi-Status");

    let pid = mock.id().expect("running");
    let kill = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().expect("kill");
    assert!(kill.success());
    let status =
        tokio::time::timeout(Duration::from_secs(10), mock.wait()).await.expect("stops in time").expect("status");
    assert!(status.success(), "SIGTERM is a clean exit: {status:?}");
}

#[tokio::test]
async fn the_mock_flags_set_up_the_idp_as_a_realm_with_registration_and_refuse_contradictions() {
    let (mut mock, description) =
        start_mock(&["mock", "--idp-registration", "--idp-realm-redirect-port", "53874"]).await;
    assert_eq!(description["oidc_client_id"], "homeport", "the realm's one client: {description}");
    assert_eq!(description["oidc_client_secret"], Value::Null, "a public client");
    assert_eq!(description["oidc_redirect_port"], 53874, "its one redirect port");
    assert_eq!(description["oidc_registration"], true, "registration on");
    mock.kill().await.expect("stopped");

    let server = homeport_lookup::testing::start(Scenario::default()).await;
    let default = server.description().to_json();
    server.shutdown().await;
    assert_eq!(default["oidc_client_id"], homeport_lookup::OWNCLOUD_DESKTOP_CLIENT_ID, "oCIS's desktop client");
    assert_eq!(default["oidc_client_secret"], homeport_lookup::OWNCLOUD_DESKTOP_CLIENT_SECRET, "with its secret");
    assert_eq!(default["oidc_registration"], false, "no registration, as oCIS ships");

    for (args, why) in [
        (&["--idp-public-client", "--idp-realm-redirect-port", "53875"][..], "two public clients"),
        (&["--idp-realm-redirect-port", "0"][..], "port 0"),
        (&["--fault", "idp-no-registration"][..], "the removed fault"),
    ] {
        let output = Command::new(HOMEPORT).arg("mock").args(args).output().await.expect("runs");
        assert_eq!(output.status.code(), Some(2), "{why}: a usage error: {}", String::from_utf8_lossy(&output.stderr));
    }
}

/// `--help` says the command line's messages are English only (the desktop app's languages:
/// docs/desktop.md#languages).
#[tokio::test]
async fn help_says_the_messages_are_english_only() {
    let config = tempfile::tempdir().expect("temp");
    let output = homeport(config.path(), &["--help"], None).await;
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "--help succeeds: {help}");
    assert!(help.contains("command line speaks English only"), "one line says the CLI is English: {help}");
}
