//! `homeport connect` through a real, certified OpenID Provider (node-oidc-provider, started by
//! the tests: docs/testing.md) in the two set-ups real deployments have — oCIS's built-in IdP and a
//! Keycloak realm — with the lookup server's oCIS in front of it. As a person runs it:
//! `--browser system`, and `$BROWSER` is a robot that fills the provider's own login and consent
//! forms. Then the access token expires and `accounts verify` refreshes the login.

use std::time::Duration;

use homeport_lookup::testing::{browser_robot, free_loopback_port, RealIdp, RealIdpSetup};
use homeport_lookup::Scenario;

use crate::{code, homeport, homeport_with, json, lookup};

/// The access tokens' lifetime: short, so a re-verify after it must refresh.
const TOKEN_TTL: Duration = Duration::from_secs(2);

fn failure_context(output: &std::process::Output, idp: &RealIdp, robot_log: &str) -> String {
    format!(
        "stdout: {}\nstderr: {}\nrobot: {robot_log}\nprovider: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        idp.log()
    )
}

/// The code exchanges and refreshes the provider answered so far (its log names each request).
fn token_requests(idp: &RealIdp) -> usize {
    idp.log().lines().filter(|line| line.starts_with("provider: POST") && line.contains("/token")).count()
}

/// `accounts verify ID --json` after the access token expired: a refresh, as the same client.
async fn verify_after_expiry(config: &std::path::Path, id: &str, idp: &RealIdp) {
    tokio::time::sleep(TOKEN_TTL + Duration::from_secs(1)).await;
    let before = token_requests(idp);
    let verify = homeport(config, &["accounts", "verify", id, "--json"], None).await;
    assert_eq!(code(&verify), 0, "verify refreshes the login: {}", failure_context(&verify, idp, ""));
    assert_eq!(token_requests(idp), before + 1, "one refresh at the token endpoint, no browser: {}", idp.log());
}

/// `accounts remove ID --json`: the refresh token is revoked at the provider's revocation endpoint
/// (RFC 7009), as the client that logged in — the provider authenticates it as at its token
/// endpoint, and its log names the request.
async fn remove_revokes(config: &std::path::Path, id: &str, idp: &RealIdp) {
    let remove = homeport(config, &["accounts", "remove", id, "--json"], None).await;
    assert_eq!(code(&remove), 0, "removed: {}", failure_context(&remove, idp, ""));
    let revocation = &json(&remove)["revocation"];
    assert_eq!(
        (revocation["outcome"].as_str(), revocation["what"].as_str()),
        (Some("deleted"), Some("oidc_tokens")),
        "the real provider revoked the login: {revocation}\n{}",
        idp.log()
    );
    assert_eq!(revocation["server"], idp.issuer(), "at the account's issuer");
    let revoked = idp.log().lines().any(|line| line.starts_with("provider: POST") && line.contains("revo"));
    assert!(revoked, "the provider's log names the revocation request: {}", idp.log());
}

#[tokio::test]
async fn an_ocis_like_provider_logs_in_with_no_flag_at_all_and_verify_refreshes() {
    let idp = RealIdp::start(RealIdpSetup::Ocis { access_token_ttl: Some(TOKEN_TTL) });
    let server = lookup(Scenario { oidc_issuer: Some(idp.issuer_url().clone()), ..Scenario::default() }).await;
    let config = tempfile::tempdir().expect("temp");
    let robot = browser_robot("einstein", "relativity");
    let ocis = server.ocis_url().to_string();
    let output =
        homeport_with(config.path(), &["connect", &ocis, "--browser", "system", "--json"], None, &robot.envs()).await;
    assert_eq!(code(&output), 0, "connected: {}", failure_context(&output, &idp, &robot.log()));
    let connected = json(&output);
    let account = &connected["account"];
    assert_eq!(account["kind"], "ocis", "{connected}");
    assert_eq!(account["instance_url"], server.ocis_instance_urls()["A"].as_str(), "einstein lives on A");
    assert_eq!(account["oidc"]["issuer"], idp.issuer(), "the real provider is the account's issuer");
    assert_eq!(account["oidc"]["client_id"], idp.client_id(), "the ownCloud desktop client oCIS knows");
    assert_eq!(account["oidc"]["token_auth"], "client_secret_basic", "its secret in Basic");
    assert!(account["oidc"].get("login_expires_at").is_none(), "consent gave a refresh token: {connected}");
    let robot_log = robot.log();
    assert!(robot_log.to_lowercase().contains("consent"), "the robot went through the consent form: {robot_log}");
    let stored = connected["stored"].as_bool();
    assert_eq!(stored, Some(true), "stored in the keyring and accounts.json");
    let id = account["id"].as_str().expect("an id").to_owned();
    verify_after_expiry(config.path(), &id, &idp).await;
    remove_revokes(config.path(), &id, &idp).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_keycloak_like_realm_logs_in_the_public_client_its_admin_registered_for_one_port() {
    let port = free_loopback_port();
    let idp = RealIdp::start(RealIdpSetup::Keycloak { redirect_port: port, access_token_ttl: Some(TOKEN_TTL) });
    let server = lookup(Scenario { oidc_issuer: Some(idp.issuer_url().clone()), ..Scenario::default() }).await;
    let config = tempfile::tempdir().expect("temp");
    let robot = browser_robot("marie", "radioactivity");
    let ocis = server.ocis_url().to_string();
    let instance_b = server.ocis_instance_urls()["B"].to_string();
    let port_text = port.to_string();
    // What the realm's admin tells the person: the client id and its redirect port.
    let args = [
        "connect",
        &ocis,
        "--browser",
        "system",
        "--user",
        "marie",
        "--client-id",
        idp.client_id(),
        "--redirect-port",
        &port_text,
        "--instance",
        &instance_b,
        "--json",
    ];
    let output = homeport_with(config.path(), &args, None, &robot.envs()).await;
    assert_eq!(code(&output), 0, "connected: {}", failure_context(&output, &idp, &robot.log()));
    let connected = json(&output);
    let account = &connected["account"];
    assert_eq!(account["instance_url"], instance_b, "marie chose B");
    assert_eq!(account["oidc"]["issuer"], idp.issuer(), "the realm, with its path");
    assert_eq!(account["oidc"]["client_id"], "homeport", "the admin's client");
    assert_eq!(account["oidc"]["token_auth"], "none", "a public client sends no secret");
    let robot_log = robot.log();
    assert!(robot_log.contains(&format!("127.0.0.1:{port}/")), "the browser came back to the one port: {robot_log}");
    assert!(robot_log.contains("login_hint=marie"), "the typed user went as login_hint: {robot_log}");
    let id = account["id"].as_str().expect("an id").to_owned();
    verify_after_expiry(config.path(), &id, &idp).await;
    remove_revokes(config.path(), &id, &idp).await;
    server.shutdown().await;
}

#[tokio::test]
async fn scenario_files_connect_through_both_real_providers() {
    let ocis = RealIdp::start(RealIdpSetup::Ocis { access_token_ttl: None });
    let port = free_loopback_port();
    let realm = RealIdp::start(RealIdpSetup::Keycloak { redirect_port: port, access_token_ttl: None });
    let robot = browser_robot("einstein", "relativity");
    let mut envs = robot.envs();
    envs.push(("HOMEPORT_REAL_OCIS_ISSUER", ocis.issuer().to_owned()));
    envs.push(("HOMEPORT_REAL_REALM_ISSUER", realm.issuer().to_owned()));
    envs.push(("HOMEPORT_REAL_REALM_REDIRECT_PORT", port.to_string()));
    let config = tempfile::tempdir().expect("temp");
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/scenarios-real-idp");
    let output = homeport_with(config.path(), &["run", folder, "--json"], None, &envs).await;
    assert_eq!(code(&output), 0, "both scenarios pass: {}", failure_context(&output, &realm, &robot.log()));
    let report = json(&output);
    let text = report.to_string();
    assert!(text.contains("oCIS's built-in IdP") && text.contains("Keycloak-like realm"), "both played: {report}");
    assert_eq!(token_requests(&ocis), 1, "the oCIS-like provider exchanged one code: {}", ocis.log());
    assert_eq!(token_requests(&realm), 1, "and the realm one: {}", realm.log());
}
