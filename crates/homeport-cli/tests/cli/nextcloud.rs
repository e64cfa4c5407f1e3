//! `homeport connect` against the lookup server's Nextcloud Global Scale
//! (docs/protocols/nextcloud-login-flow.md): Login Flow v2 with `$BROWSER` the robot that logs in
//! and grants access on the GSS's pages, a password converted to an app password at the node, the
//! keyring holding the app password and never the account password, and `accounts remove`
//! deleting the app password at the node. The keyring is read with libsecret's `secret-tool`.

use homeport_lookup::testing::browser_robot;
use homeport_lookup::{LookupServer, Scenario};
use tokio::process::Command;

use crate::{code, homeport, homeport_with, json, lookup, HOMEPORT};

fn node_origin(server: &LookupServer, node: &str) -> String {
    server.nextcloud_node_urls()[node].origin().ascii_serialization()
}

fn password_of(server: &LookupServer, login: &str) -> String {
    let person = server.nextcloud_people().into_iter().find(|p| p.login == login);
    person.expect("the lookup server has this Nextcloud person").password.to_owned()
}

/// The keyring's secret for account `id` (service `homeport`), if any.
async fn keyring_secret(id: &str) -> Option<String> {
    let output = Command::new("secret-tool")
        .args(["lookup", "service", "homeport", "username", id])
        .output()
        .await
        .expect("secret-tool (libsecret-tools) is installed by ./dev.sh");
    match output.status.code() {
        Some(0) => Some(String::from_utf8_lossy(&output.stdout).trim_end_matches('\n').to_owned()),
        _ => None,
    }
}

fn context(output: &std::process::Output) -> String {
    format!("stdout: {}\nstderr: {}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[tokio::test]
async fn connect_with_browser_system_lands_on_the_node_and_stores_only_the_app_password() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let robot = browser_robot("alice", &password_of(&server, "alice"));
    let gss = server.nextcloud_gss_url().to_string();
    let node1 = node_origin(&server, "node1");
    let args = ["connect", gss.as_str(), "--browser", "system", "--approve-redirect", node1.as_str(), "--json"];
    let output = homeport_with(config.path(), &args, None, &robot.envs()).await;
    assert_eq!(code(&output), 0, "connected through the browser: {}\nrobot: {}", context(&output), robot.log());
    let connected = json(&output);
    let account = &connected["account"];
    assert_eq!(account["kind"], "nextcloud", "{connected}");
    assert_eq!(account["auth_method"], "app_password", "{connected}");
    assert_eq!(account["instance_url"], server.nextcloud_node_urls()["node1"].as_str(), "alice lives on node1");
    assert_eq!(account["server_url"], gss.as_str(), "typed: the GSS");
    let id = account["id"].as_str().expect("an id").to_owned();
    let secret = keyring_secret(&id).await.expect("the keyring holds the account's secret");
    assert!(!secret.is_empty());
    assert_ne!(secret, password_of(&server, "alice"), "the keyring holds the app password, never the account password");

    let removed = homeport(config.path(), &["accounts", "remove", &id, "--json"], None).await;
    assert_eq!(code(&removed), 0, "{}", context(&removed));
    let removed = json(&removed);
    assert_eq!(removed["app_password"]["outcome"], "deleted", "deleted at the node: {removed}");
    assert!(keyring_secret(&id).await.is_none(), "gone from the keyring");
    let deleted = server.requests().into_iter().find(|r| r.method == "DELETE" && r.path.contains("core/apppassword"));
    assert_eq!(deleted.map(|r| r.server), Some("nextcloud-node1".to_owned()), "at the node that made it");
}

#[tokio::test]
async fn a_password_on_stdin_is_converted_and_never_stored() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let gss = server.nextcloud_gss_url().to_string();
    let node2 = node_origin(&server, "node2");
    let password = password_of(&server, "bob");
    let args = ["connect", gss.as_str(), "--user", "bob", "--password-stdin", "--approve-redirect", node2.as_str()];
    let output = homeport(config.path(), &args, Some(&password)).await;
    assert_eq!(code(&output), 0, "{}", context(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("app password"), "the story names what is stored: {text}");
    assert!(text.contains("exchanging the password for an app password"), "and the conversion: {text}");
    let list = json(&homeport(config.path(), &["accounts", "list", "--json"], None).await);
    let account = &list[0];
    assert_eq!(account["instance_url"], server.nextcloud_node_urls()["node2"].as_str(), "bob lives on node2: {list}");
    let id = account["id"].as_str().expect("an id").to_owned();
    let secret = keyring_secret(&id).await.expect("stored");
    assert_ne!(secret, password, "only the app password is kept");
    let removed = homeport(config.path(), &["accounts", "remove", &id], None).await;
    assert_eq!(code(&removed), 0, "{}", context(&removed));
    assert!(String::from_utf8_lossy(&removed.stdout).contains("app password was deleted"), "{}", context(&removed));
}

#[tokio::test]
async fn without_an_approved_node_a_script_is_told_which_flag() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let gss = server.nextcloud_gss_url().to_string();
    let output =
        homeport(config.path(), &["connect", gss.as_str(), "--user", "alice", "--password-stdin"], Some("alice-pw"))
            .await;
    assert_eq!(code(&output), 7, "policy_refused: the node was not approved: {}", context(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("--approve-redirect {}", node_origin(&server, "node1"))), "{stderr}");
    assert!(server.requests().iter().all(|r| r.server != "nextcloud-node1"), "nothing went to the node");
}

#[tokio::test]
async fn a_script_without_browser_is_told_to_pass_one() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let gss = server.nextcloud_gss_url().to_string();
    // Not on a terminal (stdout is a pipe): no link printed to wait on, the flag is named.
    let output = homeport(config.path(), &["connect", gss.as_str()], None).await;
    assert_eq!(code(&output), 7, "{}", context(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--browser system"), "the hint names the flag: {stderr}");
}

/// Reads the terminal's output until `wanted` shows up; all of it so far is returned.
async fn read_until(output: &mut (impl tokio::io::AsyncRead + Unpin), seen: &mut String, wanted: &str) {
    use tokio::io::AsyncReadExt as _;
    let mut buffer = [0u8; 4096];
    while !seen.contains(wanted) {
        let read = tokio::time::timeout(std::time::Duration::from_secs(30), output.read(&mut buffer))
            .await
            .unwrap_or_else(|_| panic!("no {wanted:?} on the terminal within 30 s; it showed: {seen}"))
            .expect("the terminal's output");
        assert!(read > 0, "the terminal closed before {wanted:?}; it showed: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buffer[..read]));
    }
}

/// The done-criterion: `homeport connect https://<gss>/` with no flags, as a person runs
/// it at a terminal (a pty, by util-linux `script`): the link is printed and Homeport waits, the
/// person logs in in a browser (the robot), the node is asked about (y/N), and the account is
/// connected on the node.
#[tokio::test]
async fn at_a_terminal_with_no_flags_the_browser_and_the_node_are_asked_and_the_account_connected() {
    use tokio::io::AsyncWriteExt as _;
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let gss = server.nextcloud_gss_url().to_string();
    let command = format!("{HOMEPORT} connect {gss}");
    let mut terminal = Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .env("HOMEPORT_CONFIG_DIR", config.path())
        // "Open the browser?" is answered yes: a browser that opens nothing (the person logs in
        // from the printed link, as on another device).
        .env("BROWSER", "true")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("script (util-linux) gives homeport a terminal");
    let mut input = terminal.stdin.take().expect("the terminal's input");
    let mut output = terminal.stdout.take().expect("the terminal's output");
    let mut seen = String::new();
    read_until(&mut output, &mut seen, "Open the browser to log in? [Y/n] ").await;
    input.write_all(b"\n").await.expect("Enter: yes");
    read_until(&mut output, &mut seen, "Log in in your browser: ").await;
    read_until(&mut output, &mut seen, "\n").await;
    let link = seen.split("Log in in your browser: ").nth(1).and_then(|rest| rest.split_whitespace().next());
    let link = url::Url::parse(link.expect("a link after the words")).expect("the link is a URL");
    homeport_lookup::auto_login_nextcloud(&link, "alice", &password_of(&server, "alice"))
        .await
        .expect("the person logs in and grants access in the browser");
    read_until(&mut output, &mut seen, "[y/N]").await;
    assert!(seen.contains(&node_origin(&server, "node1")), "the question names alice's node: {seen}");
    input.write_all(b"y\n").await.expect("answer yes");
    read_until(&mut output, &mut seen, "Connected").await;
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), terminal.wait())
        .await
        .expect("homeport ends")
        .expect("exit status");
    assert_eq!(status.code(), Some(0), "connected: {seen}");
    let list = json(&homeport(config.path(), &["accounts", "list", "--json"], None).await);
    assert_eq!(list[0]["instance_url"], server.nextcloud_node_urls()["node1"].as_str(), "on alice's node: {list}");
    assert_eq!(list[0]["auth_method"], "app_password", "{list}");
    let id = list[0]["id"].as_str().expect("an id").to_owned();
    let removed = homeport(config.path(), &["accounts", "remove", &id], None).await;
    assert_eq!(code(&removed), 0, "clean up the keyring: {}", context(&removed));
}
