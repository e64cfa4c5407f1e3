//! What a person reads (docs/cli.md): product words, not type names, in `accounts show`, `list`
//! and `remove`; "1 round trip"; a pinned certificate's fingerprint; `accounts --help` naming
//! `verify`; and a `hint` in every `--json` error, whatever its code.

use homeport_lookup::{Fault, Scenario};
use serde_json::Value;
use tokio::io::AsyncWriteExt as _;

use crate::{code, homeport, json, lookup, origin};

/// Type names that must never reach a person.
const TYPE_NAMES: [&str; 8] =
    ["Owncloud", "Ocis", "Oidc", "MatrixPassword", "MatrixSso", "MatrixOAuth", "AppPassword", "Basic"];

fn text(output: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn assert_product_words(what: &str, said: &str) {
    for name in TYPE_NAMES {
        assert!(!said.contains(name), "{what}: no type name {name:?} in: {said}");
    }
}

async fn stored_id(config: &std::path::Path, args: &[&str], password: &str) -> String {
    let output = homeport(config, &[args, &["--json"]].concat(), Some(password)).await;
    assert_eq!(code(&output), 0, "{args:?}: {}", text(&output));
    json(&output)["account"]["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn accounts_show_list_and_remove_speak_of_products_and_logins() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let central = server.central_url().to_string();
    let instance2 = origin(&server, "instance2");
    let portal = server.matrix_portal_url();
    let matrix_id = format!("@alice:{}:{}", portal.host_str().expect("host"), portal.port().expect("port"));
    let ocis = server.ocis_url().to_string();
    let owncloud_args =
        ["connect", &central, "-u", "test@instance2.com", "--password-stdin", "--approve-redirect", &instance2];
    let owncloud = stored_id(config.path(), &owncloud_args, "secret").await;
    let ocis_args = ["connect", &ocis, "-u", "einstein", "--password-stdin", "--browser", "auto-login"];
    let ocis = stored_id(config.path(), &ocis_args, "relativity").await;
    let matrix = stored_id(config.path(), &["connect", &matrix_id, "--password-stdin"], "wonderland").await;

    for (id, kind, secret) in [
        (&owncloud, "Kind            ownCloud Server, password login as test@instance2.com", "Password        present"),
        (
            &ocis,
            "Kind            ownCloud Infinite Scale, browser login (OpenID Connect) as einstein",
            "Refresh token   present",
        ),
        (&matrix, "Kind            Matrix, password login as", "Access and refresh tokens present"),
    ] {
        let show = homeport(config.path(), &["accounts", "show", id], None).await;
        let shown = text(&show);
        assert!(shown.contains(kind), "show {id} says {kind:?}: {shown}");
        assert!(shown.contains(secret), "show {id} names its secret {secret:?}: {shown}");
        assert_product_words("show", &shown);
    }

    let list = text(&homeport(config.path(), &["accounts", "list"], None).await);
    assert_product_words("list", &list);
    let header = list.lines().next().unwrap_or_default();
    assert!(header.split_whitespace().eq(["ID", "USER", "SERVER", "INSTANCE", "VERIFIED"]), "{list}");
    for (id, product) in [(&owncloud, "ownCloud Server"), (&ocis, "ownCloud Infinite Scale"), (&matrix, "Matrix")] {
        let line = list.lines().find(|line| line.starts_with(id.as_str())).unwrap_or_default();
        assert!(line.contains(product), "the list names {product}: {list}");
    }
    let column = |id: &str| list.lines().find(|line| line.starts_with(id)).and_then(|line| line.find("http"));
    assert_eq!(column(&owncloud), column(&matrix), "the instance column lines up: {list}");

    for (id, secret) in
        [(&ocis, "its refresh token"), (&matrix, "its access and refresh tokens"), (&owncloud, "its password")]
    {
        let removed = text(&homeport(config.path(), &["accounts", "remove", id], None).await);
        assert!(removed.contains(&format!("{secret} from the keyring")), "remove {id} names {secret:?}: {removed}");
        if secret != "its password" {
            assert!(!removed.contains("password"), "a token login is not a password: {removed}");
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn show_prints_a_pinned_certificates_fingerprint_and_round_trips_are_counted_in_words() {
    let crate::certificates::SelfSigned { server, fingerprint, central, instance2 } =
        crate::certificates::self_signed().await;
    let config = tempfile::tempdir().expect("temp");
    let args = [
        "connect",
        &central,
        "-u",
        "test@instance2.com",
        "--password-stdin",
        "--approve-redirect",
        &instance2,
        "--trust-cert",
        &fingerprint,
    ];
    let id = stored_id(config.path(), &args, "secret").await;
    let shown = text(&homeport(config.path(), &["accounts", "show", &id], None).await);
    let port = server.central_url().port().expect("port");
    assert!(
        shown.contains(&format!("Trusted cert    SHA-256 {fingerprint} at 127.0.0.1:{port}, 127.0.0.1:")),
        "the pinned fingerprint and where: {shown}"
    );

    let verify_json = json(&homeport(config.path(), &["accounts", "verify", &id, "--json"], None).await);
    let round_trips = verify_json["round_trips"].as_u64().expect("round trips");
    let verify = text(&homeport(config.path(), &["accounts", "verify", &id], None).await);
    let words =
        if round_trips == 1 { "in 1 round trip\n".to_owned() } else { format!("in {round_trips} round trips\n") };
    assert!(verify.contains(&words), "{words:?}: {verify}");
    assert!(!verify.contains(" 1 round trips"), "{verify}");
    server.shutdown().await;
}

#[tokio::test]
async fn accounts_help_names_verify() {
    let config = tempfile::tempdir().expect("temp");
    let help = text(&homeport(config.path(), &["--help"], None).await);
    let line = help.lines().find(|line| line.trim_start().starts_with("accounts")).unwrap_or_default();
    assert!(line.contains("verify"), "homeport --help: {help}");
    let accounts = text(&homeport(config.path(), &["accounts", "--help"], None).await);
    assert!(accounts.contains("verify"), "homeport accounts --help: {accounts}");
    assert!(!accounts.contains("and its password from"), "remove is not only passwords: {accounts}");
}

/// The code a command ends with, the command, the password on stdin, the reason.
type Case<'a> = (&'a str, Vec<&'a str>, Option<&'a str>, Option<&'a str>);

/// Every error code a person can meet, each with its `hint` in the JSON and on stderr.
#[tokio::test]
async fn every_json_error_has_a_hint() {
    let server = lookup(Scenario::default()).await;
    let maintenance = lookup(Scenario { fault: Some(Fault::Maintenance), ..Scenario::default() }).await;
    let broken = lookup(Scenario { fault: Some(Fault::MalformedJson), ..Scenario::default() }).await;
    let tls = lookup(Scenario { tls: true, ..Scenario::default() }).await;
    let config = tempfile::tempdir().expect("temp");
    let central = server.central_url().to_string();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let unreachable = format!("http://127.0.0.1:{closed}/");
    let instance1 = origin(&server, "instance1");
    let ocis = server.ocis_url().to_string();
    let portal = server.matrix_portal_url();
    let dave = format!("@dave:{}:{}", portal.host_str().expect("host"), portal.port().expect("port"));
    let cases: Vec<Case> = vec![
        ("bad_input", vec!["connect", "ftp://example.com"], None, None),
        ("unreachable", vec!["connect", &unreachable], None, None),
        ("tls", vec!["connect", tls.central_url().as_str()], None, None),
        (
            "auth_failed",
            vec!["connect", &central, "-u", "test@instance1.com", "--password-stdin", "--approve-redirect", &instance1],
            Some("wrong"),
            Some("wrong_password"),
        ),
        ("server_not_ready", vec!["connect", maintenance.central_url().as_str()], None, Some("maintenance")),
        (
            "policy_refused",
            vec!["connect", &central, "-u", "test@instance1.com", "--password-stdin"],
            Some("secret"),
            None,
        ),
        ("protocol", vec!["connect", broken.central_url().as_str()], None, None),
        ("not_found", vec!["accounts", "show", "acct-0000"], None, None),
        (
            "auth_failed",
            vec!["connect", &ocis, "-u", "richard", "--password-stdin", "--browser", "auto-login", "--no-store"],
            Some("superfluidity"),
            Some("account_disabled"),
        ),
        (
            "auth_failed",
            vec!["connect", &dave, "--password-stdin", "--no-store"],
            Some("deactivated"),
            Some("account_deactivated"),
        ),
    ];
    let mut hints = Vec::new();
    for (expected, args, password, reason) in cases {
        let output = homeport(config.path(), &[&args[..], &["--json"]].concat(), password).await;
        let failure: Value = json(&output);
        let error = &failure["error"];
        assert_eq!(error["code"], expected, "{args:?}: {failure}");
        if let Some(reason) = reason {
            assert_eq!(error["reason"], reason, "{args:?}: {failure}");
        }
        let hint = error["hint"].as_str().unwrap_or_default();
        assert!(hint.len() > 10, "{args:?}: every error has a hint: {failure}");
        let human = homeport(config.path(), &args, password).await;
        let stderr = String::from_utf8_lossy(&human.stderr);
        assert!(stderr.contains(&format!("  hint: {hint}")), "{args:?}: the same hint for people: {stderr}");
        hints.push((reason, hint.to_owned()));
    }
    let of = |wanted: &str| hints.iter().find(|(reason, _)| *reason == Some(wanted)).map(|(_, hint)| hint.clone());
    assert_ne!(of("account_disabled"), of("account_deactivated"), "different causes, different words");

    // keyring_unavailable: no Secret Service at all, when the account is to be stored.
    let mut child = tokio::process::Command::new(crate::HOMEPORT)
        .args(["connect", &central, "-u", "test@instance1.com", "--password-stdin", "--approve-redirect"])
        .args([instance1.as_str(), "--json"])
        .env("HOMEPORT_CONFIG_DIR", config.path())
        .env("HOMEPORT_SYSTEM_CONFIG", "")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/homeport-test-bus")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("homeport runs");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"secret\n").await.expect("password");
    drop(stdin);
    let failure = json(&child.wait_with_output().await.expect("output"));
    assert_eq!(failure["error"]["code"], "keyring_unavailable", "{failure}");
    let hint = failure["error"]["hint"].as_str().unwrap_or_default();
    assert!(hint.contains("Secret Service"), "what to start: {failure}");
    for server in [server, maintenance, broken, tls] {
        server.shutdown().await;
    }
}
