//! The administrators' configuration (docs/administrators.md) as `homeport` honours it: each key
//! in a file of the test's own, named by `HOMEPORT_SYSTEM_CONFIG` (so /etc is never read).

use std::path::Path;

use homeport_lookup::{IdpSetup, PublicClient, Scenario};

use crate::{code, homeport_with, json, lookup};

/// Writes `text` as the administrators' file in `dir`; the variable pointing at it.
fn admin_file(dir: &Path, text: &str) -> [(&'static str, String); 1] {
    let path = dir.join("config.toml");
    std::fs::write(&path, text).expect("write the admin file");
    [("HOMEPORT_SYSTEM_CONFIG", path.display().to_string())]
}

#[tokio::test]
async fn a_locked_server_refuses_every_other_address_with_who_decided_and_exit_7() {
    let server = lookup(Scenario::default()).await;
    let (config, etc) = (tempfile::tempdir().expect("temp"), tempfile::tempdir().expect("temp"));
    let env = admin_file(etc.path(), "[server]\naddress = \"https://cloud.example.com\"\nlock = true\n");
    let central = server.central_url().to_string();
    let args = ["connect", &central, "--user", "test@instance2.com", "--password-stdin", "--json"];
    let output = homeport_with(config.path(), &args, Some("secret"), &env).await;
    assert_eq!(code(&output), 7, "policy_refused's exit code: {}", String::from_utf8_lossy(&output.stdout));
    let answer = json(&output);
    assert_eq!(answer["error"]["code"], "policy_refused", "{answer}");
    let message = answer["error"]["message"].as_str().expect("message");
    assert!(message.starts_with("Your organisation set this server (https://cloud.example.com/)"), "{message}");
    assert!(message.contains(&env[0].1), "names the file: {message}");
    assert_eq!(answer["error"]["detail"]["key"], "server.lock");
    assert!(server.requests().is_empty(), "nothing was sent to a refused server: {:?}", server.requests());

    let text = homeport_with(config.path(), &args[..5], Some("secret"), &env).await;
    let stderr = String::from_utf8_lossy(&text.stderr);
    assert!(stderr.contains("error: Your organisation set this server"), "the words without --json: {stderr}");
    assert!(stderr.contains("hint: your organisation's administrators decide this"), "{stderr}");
    server.shutdown().await;
}

#[tokio::test]
async fn allowed_servers_admit_theirs_only_and_verify_checks_a_stored_account_again() {
    let server = lookup(Scenario::default()).await;
    let (config, etc) = (tempfile::tempdir().expect("temp"), tempfile::tempdir().expect("temp"));
    let central = server.central_url().to_string();
    let instance2 = crate::origin(&server, "instance2");
    let allowed = format!("[server]\nallowed = [\"{}\"]\n", central.trim_end_matches('/'));
    let env = admin_file(etc.path(), &allowed);
    let args =
        ["connect", &central, "--user", "test@instance2.com", "--password-stdin", "--approve-redirect", &instance2];
    let output = homeport_with(config.path(), &args, Some("secret"), &env).await;
    assert_eq!(code(&output), 0, "an allowed server connects: {}", String::from_utf8_lossy(&output.stderr));

    let other = homeport_with(config.path(), &["connect", &instance2, "--json"], None, &env).await;
    assert_eq!(code(&other), 7, "{}", String::from_utf8_lossy(&other.stdout));
    let message = json(&other)["error"]["message"].as_str().expect("message").to_owned();
    assert!(message.starts_with("Your organisation allows only these servers: http://127.0.0.1:"), "{message}");

    let list = json(&homeport_with(config.path(), &["accounts", "list", "--json"], None, &env).await);
    let id = list[0]["id"].as_str().expect("id").to_owned();
    let verify = homeport_with(config.path(), &["accounts", "verify", &id, "--json"], None, &env).await;
    assert_eq!(code(&verify), 0, "still allowed: {}", String::from_utf8_lossy(&verify.stdout));
    // The organisation changes its mind: the stored account's server is no longer allowed.
    let env = admin_file(etc.path(), "[server]\nallowed = [\"https://cloud.example.com\"]\n");
    let before = server.requests().len();
    let verify = homeport_with(config.path(), &["accounts", "verify", &id, "--json"], None, &env).await;
    assert_eq!(code(&verify), 7, "{}", String::from_utf8_lossy(&verify.stdout));
    assert_eq!(json(&verify)["error"]["detail"]["key"], "server.allowed");
    assert_eq!(server.requests().len(), before, "verify sent nothing to a server no longer allowed");
    server.shutdown().await;
}

#[tokio::test]
async fn the_files_oidc_client_applies_and_a_locked_one_refuses_client_flags() {
    let scenario = Scenario {
        idp: IdpSetup { public_client: Some(PublicClient::AnyPort), ..IdpSetup::default() },
        ..Scenario::default()
    };
    let server = lookup(scenario).await;
    let (config, etc) = (tempfile::tempdir().expect("temp"), tempfile::tempdir().expect("temp"));
    let ocis = server.ocis_url().to_string();
    let profile = format!(
        "[oidc]\nlock = true\n[[oidc.client]]\nissuer = \"{}\"\nclient_id = \"homeport\"\nprompt = \"login\"\n",
        server.idp_issuer()
    );
    let env = admin_file(etc.path(), &profile);
    let refused = homeport_with(config.path(), &["connect", &ocis, "--client-id", "mine", "--json"], None, &env).await;
    assert_eq!(code(&refused), 7, "{}", String::from_utf8_lossy(&refused.stdout));
    let message = json(&refused)["error"]["message"].as_str().expect("message").to_owned();
    assert!(message.starts_with("Your organisation set the identity provider client"), "{message}");
    let refused = homeport_with(config.path(), &["connect", &ocis, "--prompt", "none", "--json"], None, &env).await;
    assert_eq!(code(&refused), 7, "every client flag is refused: {}", String::from_utf8_lossy(&refused.stdout));

    let args = ["connect", &ocis, "--user", "einstein", "--password-stdin", "--browser", "auto-login", "--json"];
    let output = homeport_with(config.path(), &args, Some("relativity"), &env).await;
    assert_eq!(code(&output), 0, "connected: {}", String::from_utf8_lossy(&output.stdout));
    let accounts = json(&homeport_with(config.path(), &["accounts", "list", "--json"], None, &env).await);
    assert_eq!(
        accounts[0]["oidc"]["client_id"], "homeport",
        "the file's client, not the product's (the ownCloud desktop client): {accounts}"
    );
    let authorize = server.requests().into_iter().find(|r| r.path.starts_with("/authorize")).expect("an authorization");
    assert!(authorize.path.contains("prompt=login"), "the file's prompt: {}", authorize.path);
    server.shutdown().await;
}

#[tokio::test]
async fn a_preset_proxy_carries_the_requests_and_a_locked_one_refuses_the_flag() {
    let server = lookup(Scenario::default()).await;
    let (config, etc) = (tempfile::tempdir().expect("temp"), tempfile::tempdir().expect("temp"));
    // A port nothing listens on: the preset proxy is used when the connection fails at it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let env = admin_file(etc.path(), &format!("[proxy]\nurl = \"http://127.0.0.1:{closed}\"\nlock = true\n"));
    let central = server.central_url().to_string();
    let output = homeport_with(config.path(), &["connect", &central, "--json"], None, &env).await;
    let answer = json(&output);
    assert_eq!(answer["error"]["code"], "unreachable", "through the preset proxy: {answer}");
    assert!(
        answer["error"]["message"].as_str().unwrap_or_default().contains(&format!("127.0.0.1:{closed}")),
        "{answer}"
    );
    assert!(server.requests().is_empty(), "nothing went around the proxy");

    let flag = ["connect", &central, "--proxy", "http://127.0.0.1:1", "--json"];
    let refused = homeport_with(config.path(), &flag, None, &env).await;
    assert_eq!(code(&refused), 7, "{}", String::from_utf8_lossy(&refused.stdout));
    let message = json(&refused)["error"]["message"].as_str().expect("message").to_owned();
    assert!(message.starts_with(&format!("Your organisation set this proxy (http://127.0.0.1:{closed})")), "{message}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_broken_file_names_file_line_and_key_and_stops_every_command() {
    let (config, etc) = (tempfile::tempdir().expect("temp"), tempfile::tempdir().expect("temp"));
    let env = admin_file(etc.path(), "[server]\naddress = \"https://cloud.example.com\"\nlok = true\n");
    let output = homeport_with(config.path(), &["connect", "https://cloud.example.com", "--json"], None, &env).await;
    assert_eq!(code(&output), 2, "bad_input: {}", String::from_utf8_lossy(&output.stdout));
    let error = &json(&output)["error"];
    let message = error["message"].as_str().expect("message");
    assert!(message.starts_with(&format!("{}:3:1: ", env[0].1)), "file:line:column: {message}");
    assert!(message.contains("lok"), "the key: {message}");
    assert_eq!((error["detail"]["line"].as_u64(), error["detail"]["reason"].as_str()), (Some(3), Some("admin_config")));
}
