//! `homeport connect` for Matrix behind an MSC1730 portal (docs/protocols/matrix-msc1730.md):
//! every address form, the 307 portal and `--approve-redirect`, SSO with `--browser
//! auto-login`, `accounts verify`.

use homeport_lookup::{LookupServer, Scenario};

use crate::{code, homeport, json, lookup};

/// `host:port` of a portal.
fn server_name(url: &url::Url) -> String {
    format!("{}:{}", url.host_str().expect("host"), url.port().expect("port"))
}

fn hs_origin(server: &LookupServer, name: &str) -> String {
    server.matrix_homeserver_urls()[name].origin().ascii_serialization()
}

#[tokio::test]
async fn every_address_form_reaches_the_homeserver_behind_the_proxy_portal() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let portal = server.matrix_portal_url().clone();
    let name = server_name(&portal);
    let hs1 = server.matrix_homeserver_urls()["hs1"].to_string();
    for address in [format!("@alice:{name}"), format!("alice@{name}"), portal.to_string()] {
        let args = ["connect", &address, "--user", "alice", "--password-stdin", "--no-store"];
        let output = homeport(config.path(), &args, Some("wonderland")).await;
        let story = String::from_utf8_lossy(&output.stdout);
        assert_eq!(code(&output), 0, "{address}: {story}{}", String::from_utf8_lossy(&output.stderr));
        assert!(story.contains("✓ Connected: Alice Liddell (@alice:hs1.localhost:"), "{address}: who: {story}");
        assert!(story.contains(&format!("Homeserver  {hs1}")), "{address}: the homeserver: {story}");
        assert!(story.contains(&format!("Portal      {portal}")), "{address}: the portal hop: {story}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn the_307_portal_needs_approve_redirect_and_the_account_verifies_later() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let address = format!("@bob:{}", server_name(server.matrix_portal_307_url()));
    let hs2 = hs_origin(&server, "hs2");

    let refused =
        homeport(config.path(), &["connect", &address, "--user", "bob", "--password-stdin", "--json"], Some("builder"))
            .await;
    let failure = json(&refused);
    assert_eq!((code(&refused), failure["error"]["code"].as_str()), (7, Some("policy_refused")), "{failure}");
    let hint = failure["error"]["hint"].as_str().unwrap_or_default();
    assert!(hint.contains(&format!("--approve-redirect {hs2}")), "the flag that answers it: {hint}");
    assert_eq!(server.matrix_login_posts("hs2"), 0, "the password never reached hs2");

    let args = ["connect", &address, "--user", "bob", "--password-stdin", "--approve-redirect", &hs2, "--json"];
    let connected = homeport(config.path(), &args, Some("builder")).await;
    assert_eq!(code(&connected), 0, "{}", String::from_utf8_lossy(&connected.stdout));
    let answer = json(&connected);
    assert_eq!(answer["account"]["kind"], "matrix");
    assert_eq!(answer["account"]["auth_method"], "matrix_password");
    assert_eq!(answer["redirects"][0]["status"], 307, "the portal's 307");
    let id = answer["account"]["id"].as_str().expect("id").to_owned();

    let show = homeport(config.path(), &["accounts", "show", &id], None).await;
    let shown = String::from_utf8_lossy(&show.stdout);
    assert!(
        shown.contains("Device") && shown.contains("Access and refresh tokens present"),
        "device and tokens: {shown}"
    );
    let verify = homeport(config.path(), &["accounts", "verify", &id], None).await;
    assert_eq!(code(&verify), 0, "re-verified with the stored token: {}", String::from_utf8_lossy(&verify.stderr));
    assert_eq!(server.matrix_login_posts("hs2"), 1, "re-verify logs in nowhere: whoami only");
    server.shutdown().await;
}

#[tokio::test]
async fn sso_auto_login_and_matrix_refusals_have_their_exit_codes() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let proxy = server_name(server.matrix_portal_url());
    let sso = homeport(
        config.path(),
        &[
            "connect",
            &format!("@alice:{proxy}"),
            "--user",
            "alice",
            "--password-stdin",
            "--browser",
            "auto-login",
            "--json",
            "--no-store",
        ],
        Some("wonderland"),
    )
    .await;
    assert_eq!(code(&sso), 0, "{}", String::from_utf8_lossy(&sso.stdout));
    assert_eq!(json(&sso)["account"]["auth_method"], "matrix_sso", "the browser login was used");

    for (user, password, why) in [("dave", "deactivated", "deactivated"), ("alice", "wrong", "password")] {
        let args = ["connect", &format!("@{user}:{proxy}"), "--user", user, "--password-stdin", "--json", "--no-store"];
        let output = homeport(config.path(), &args, Some(password)).await;
        let failure = json(&output);
        assert_eq!(code(&output), 5, "{user}: a failed login: {failure}");
        let message = failure["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(why), "{user}: says why: {failure}");
    }
    server.shutdown().await;
}

/// The OAuth-only homeserver (docs/protocols/matrix-oauth.md): the Matrix ID alone, the login in
/// the system browser (`$BROWSER` the robot), `accounts verify` refreshing after the access token
/// expired, and `accounts remove` revoking the login at the server.
#[tokio::test]
async fn the_oauth_only_homeserver_connects_by_matrix_id_verifies_with_a_refresh_and_remove_revokes() {
    let lifetime = std::time::Duration::from_secs(2);
    let server = lookup(Scenario { token_lifetime: lifetime, ..Scenario::default() }).await;
    let config = tempfile::tempdir().expect("temp");
    let robot = homeport_lookup::testing::browser_robot("einstein", "relativity");
    let address = format!("@einstein:{}", server.matrix_oauth_server_name());
    let output = crate::homeport_with(
        config.path(),
        &["connect", &address, "--browser", "system", "--json"],
        None,
        &robot.envs(),
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(code(&output), 0, "{stdout}{}\nrobot: {}", String::from_utf8_lossy(&output.stderr), robot.log());
    let answer = json(&output);
    let account = &answer["account"];
    assert_eq!(account["auth_method"], "matrix_oauth", "{answer}");
    assert_eq!(account["user_id"], address.as_str());
    assert_eq!(account["instance_url"], server.matrix_oauth_homeserver_url().as_str());
    assert_eq!(account["matrix"]["oauth"]["issuer"], server.matrix_oauth_issuer().as_str(), "{answer}");
    assert!(account["matrix"]["account_management_uri"].as_str().is_some_and(|uri| uri.contains("/account")));
    let id = account["id"].as_str().expect("id").to_owned();

    let shown = homeport(config.path(), &["accounts", "show", &id], None).await;
    let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(shown.contains("Manage account  http"), "the account page is named: {shown}");

    tokio::time::sleep(lifetime + std::time::Duration::from_millis(500)).await;
    let tokens = |server: &LookupServer| server.requests().iter().filter(|r| r.path.ends_with("/token")).count();
    let before = tokens(&server);
    let verified = homeport(config.path(), &["accounts", "verify", &id, "--json"], None).await;
    assert_eq!(code(&verified), 0, "verified with a refresh: {}", String::from_utf8_lossy(&verified.stdout));
    assert_eq!(tokens(&server), before + 1, "one refresh at the token endpoint");

    let removed = homeport(config.path(), &["accounts", "remove", &id, "--json"], None).await;
    assert_eq!(code(&removed), 0, "{}", String::from_utf8_lossy(&removed.stdout));
    let removed = json(&removed);
    assert_eq!(removed["revocation"]["outcome"], "deleted", "{removed}");
    assert_eq!(removed["revocation"]["what"], "oauth_tokens", "{removed}");
    assert!(removed["app_password"].is_null(), "no app password: {removed}");
    let revoked = server.requests().iter().filter(|r| r.path.ends_with("/revoke")).count();
    assert_eq!(revoked, 1, "revoked once at the revocation endpoint");
    server.shutdown().await;
}
