use std::path::{Path, PathBuf};

use super::*;
use crate::oidc_client::ClientProfile;
use crate::secret::Secret;

fn parse(text: &str) -> Result<AdminConfig, AdminConfigError> {
    AdminConfig::parse(text, Path::new("/etc/homeport/config.toml"))
}

fn error(text: &str) -> String {
    parse(text).expect_err("a broken file is an error").to_string()
}

#[test]
fn no_file_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = AdminConfig::load_first(&[dir.path().join("none.toml")]).expect("no file is no error");
    assert_eq!(config, AdminConfig::default(), "nothing preset, nothing locked");
    assert!(config.demo, "the demo is offered");
    assert!(config.check_address("https://anywhere.example").is_ok());
    let own = ClientProfile { client_id: Some("mine".into()), ..ClientProfile::default() };
    assert_eq!(config.client_profiles(Some(own.clone())).expect("not locked"), vec![own]);
    assert_eq!(config.proxy(None, false).expect("no proxy"), None, "the system's settings");
}

#[test]
fn the_first_file_found_is_the_whole_configuration() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (first, second) = (dir.path().join("a.toml"), dir.path().join("b.toml"));
    std::fs::write(&second, "demo = false\nproduct_name = \"Second\"\n").expect("write");
    let config = AdminConfig::load_first(&[first.clone(), second.clone()]).expect("the second file");
    assert_eq!(config.source.as_deref(), Some(second.as_path()));
    assert_eq!(config.product_name.as_deref(), Some("Second"));
    std::fs::write(&first, "product_name = \"First\"\n").expect("write");
    let config = AdminConfig::load_first(&[first.clone(), second]).expect("the first file");
    assert_eq!(config.product_name.as_deref(), Some("First"));
    assert!(config.demo, "not merged: the second file's demo = false does not apply");
}

#[test]
fn system_paths_are_etc_then_each_xdg_config_dir() {
    let paths = system_paths();
    assert_eq!(paths[0], PathBuf::from("/etc/homeport/config.toml"));
    assert!(paths[1..].iter().all(|p| p.ends_with("homeport/config.toml")), "{paths:?}");
}

#[test]
fn a_locked_address_refuses_every_other_server_with_who_decided() {
    let config = parse("[server]\naddress = \"cloud.example.com\"\nlock = true\n").expect("valid");
    assert_eq!(config.server.address.as_deref(), Some("cloud.example.com"));
    assert!(config.check_address("https://cloud.example.com/").is_ok(), "the preset itself");
    assert!(config.check_address("alice@cloud.example.com").is_ok(), "an account at the preset server");
    let refusal = config.check_address("https://elsewhere.example").expect_err("another server");
    assert!(refusal.message.starts_with("Your organisation set this server (https://cloud.example.com/)"), "{refusal}");
    assert!(refusal.message.contains("https://elsewhere.example"), "names what was refused: {refusal}");
    assert!(refusal.message.contains("/etc/homeport/config.toml"), "names the file: {refusal}");
    let report = refusal.report();
    assert_eq!(report.code, crate::ErrorCode::PolicyRefused);
    assert_eq!(report.detail["key"], "server.lock");
    assert_eq!(report.reason, Some(crate::ErrorReason::AdminConfig), "typed, for the UI's words");
    let view = config.view();
    assert!(view.address_locked && view.address.as_deref() == Some("cloud.example.com"));
    assert_eq!(view.decided_by_server, "Your organisation set this server");
}

#[test]
fn allowed_servers_are_origins_or_subdomains() {
    let config = parse(
        "[server]\naddress = \"https://cloud.example.com\"\nallowed = [\"https://files.example.org:8443\", \"*.corp.example\"]\n",
    )
    .expect("valid");
    assert!(config.check_address("cloud.example.com").is_ok(), "the preset is allowed");
    assert!(config.check_address("https://files.example.org:8443/owncloud").is_ok());
    assert!(config.check_address("https://files.example.org/").is_err(), "another port is another origin");
    assert!(config.check_address("https://eu.corp.example").is_ok(), "a subdomain");
    assert!(config.check_address("http://eu.corp.example").is_err(), "subdomains over https only");
    assert!(config.check_address("https://corp.example").is_err(), "*.corp.example is not corp.example");
    let refusal = config.check_address("https://evil.example").expect_err("not allowed");
    assert!(refusal.message.starts_with("Your organisation allows only these servers:"), "{refusal}");
    assert_eq!(refusal.key, "server.allowed");
    assert!(!config.view().address_locked, "allowed without lock: the field stays editable");
}

#[test]
fn oidc_clients_are_per_issuer_and_a_lock_refuses_the_persons() {
    let config = parse(
        r#"
[oidc]
lock = true
[[oidc.client]]
issuer = "https://idp.example.com/realms/acme"
client_id = "homeport-acme"
client_secret = "s3cret"
scopes = ["openid", "offline_access"]
prompt = "consent"
redirect = { host = "localhost", port = { fixed = 8400 } }
"#,
    )
    .expect("valid");
    let client = &config.oidc.clients[0];
    assert_eq!(client.client_id.as_deref(), Some("homeport-acme"));
    assert_eq!(client.client_secret.as_ref().map(Secret::expose), Some("s3cret"));
    assert_eq!(client.prompt.as_deref(), Some("consent"));
    assert_eq!(client.redirect.map(|r| r.port), Some(crate::RedirectPort::Fixed(8400)));
    assert!(client.is_for("https://idp.example.com/realms/acme/") && !client.is_for("https://other.example"));
    let own = ClientProfile { client_id: Some("mine".into()), ..ClientProfile::default() };
    let refusal = config.client_profiles(Some(own)).expect_err("locked");
    assert!(refusal.message.starts_with("Your organisation set the identity provider client"), "{refusal}");
    assert_eq!(config.client_profiles(None).expect("the file's").len(), 1);
    assert!(!format!("{:?}", config.view()).contains("s3cret"), "the view carries no secret");

    let open = parse("[[oidc.client]]\nissuer = \"https://idp.example.com\"\nclient_id = \"x\"\n").expect("valid");
    let own = ClientProfile { client_id: Some("mine".into()), ..ClientProfile::default() };
    let profiles = open.client_profiles(Some(own)).expect("not locked");
    assert_eq!(profiles[0].client_id.as_deref(), Some("mine"), "unlocked: the person's first, the file's after");
    assert_eq!(profiles[1].client_id.as_deref(), Some("x"));
}

#[test]
fn a_preset_proxy_applies_and_a_locked_one_wins() {
    let config = parse("[proxy]\nurl = \"http://proxy.example.com:3128\"\nlock = true\n").expect("valid");
    let own = ProxySettings::parse("http://127.0.0.1:8888", None, None).expect("proxy");
    let preset = config.proxy(None, false).expect("preset").expect("a proxy");
    assert_eq!(preset.display(), "http://proxy.example.com:3128");
    let saved = config.proxy(Some(own.clone()), false).expect("a saved setting is not used").expect("preset");
    assert_eq!(saved.display(), "http://proxy.example.com:3128", "the person's saved proxy never overrides a lock");
    let refusal = config.proxy(Some(own.clone()), true).expect_err("--proxy is refused");
    assert!(
        refusal.message.starts_with("Your organisation set this proxy (http://proxy.example.com:3128)"),
        "{refusal}"
    );
    let open = parse("[proxy]\nurl = \"system\"\n").expect("valid");
    assert_eq!(open.proxy(None, false).expect("system"), None, "the system's settings");
    assert_eq!(open.proxy(Some(own.clone()), true).expect("not locked"), Some(own), "unlocked: the person's");
    assert_eq!(open.view().proxy.as_deref(), Some("the system's proxy settings"));
}

#[test]
fn demo_product_name_and_logo() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("logo.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>").expect("write");
    let path = dir.path().join("config.toml");
    let config = AdminConfig::parse("demo = false\nproduct_name = \" Acme Files \"\nlogo = \"logo.svg\"\n", &path)
        .expect("valid");
    assert!(!config.demo && !config.view().demo, "no demo");
    assert_eq!(config.product_name.as_deref(), Some("Acme Files"));
    assert_eq!(config.logo, Some(dir.path().join("logo.svg")), "relative to the file");
    let missing = AdminConfig::parse("logo = \"none.png\"\n", &path).expect_err("a missing logo").to_string();
    assert!(missing.contains("config.toml:1:8: logo:"), "{missing}");
}

#[test]
fn a_broken_file_names_file_line_and_key() {
    let e = error("[server]\naddress = \"https://cloud.example.com\"\nlok = true\n");
    assert!(e.starts_with("/etc/homeport/config.toml:3:"), "the line of the misspelt key: {e}");
    assert!(e.contains(":3:1: server.lok: unknown field `lok`"), "the key with its table: {e}");
    let e = error("[server]\nlock = \"yes\"\n");
    assert!(e.starts_with("/etc/homeport/config.toml:2:8: server.lock:"), "a wrong type: {e}");
    let e = error("product_name = 7\n");
    assert!(e.contains(":1:16: product_name:"), "a top-level key: {e}");
    let e = error("[server]\nlock = true\n");
    assert!(e.contains(":2:8: server.lock: lock = true needs the address"), "{e}");
    let e = error("[server]\naddress = \"ftp://x\"\n");
    assert!(e.contains(":2:11: server.address:"), "{e}");
    let e = error("[server]\nallowed = [\"https://ok.example\", \"https://\"]\n");
    assert!(e.contains(":2:34: server.allowed[1]:"), "{e}");
    let e = error("[proxy]\nurl = \"http://user:pw@proxy:3128\"\n");
    assert!(e.contains(":2:7: proxy.url:") && !e.contains("pw@"), "{e}");
    let e = error("[proxy]\nlock = true\n");
    assert!(e.contains(":2:8: proxy.lock:"), "{e}");
    let e = error("\n[[oidc.client]]\nclient_id = \"x\"\n");
    assert!(e.contains(":2:") && e.contains("oidc.client[0].issuer:"), "{e}");
    let e = error("[[oidc.client]]\nissuer = \"https://idp.example\"\nclientid = \"x\"\n");
    assert!(e.contains(":3:") && e.contains("oidc.client.clientid:"), "{e}");
    let e = error("[[oidc.client]]\nissuer = \"https://idp.example\"\nscopes = [\"profile\"]\n");
    assert!(e.contains("oidc.client[0].scopes: the scopes must include openid"), "{e}");
    let e = error("product_name = \"\"\n");
    assert!(e.contains(":1:16: product_name:"), "{e}");
    let e = error("demo = no\n");
    assert!(e.starts_with("/etc/homeport/config.toml:1:"), "not TOML: {e}");
    let report = parse("[server]\nlock = true\n").expect_err("broken").report();
    assert_eq!((report.code, report.reason), (crate::ErrorCode::BadInput, Some(crate::ErrorReason::AdminConfig)));
    assert_eq!((report.detail["line"].as_u64(), report.detail["key"].as_str()), (Some(2), Some("server.lock")));
}
