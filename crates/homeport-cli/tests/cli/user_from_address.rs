//! An address that names the user needs no `--user` (docs/cli.md): `bob@server`, `@bob:server`
//! and a server URL's userinfo are the login name for `--password-stdin`, through the engine's
//! one rule (`Address::user`), as scenario files use it.

use homeport_lookup::Scenario;

use crate::{code, homeport, json, lookup, origin};

fn server_name(url: &url::Url) -> String {
    format!("{}:{}", url.host_str().expect("host"), url.port().expect("port"))
}

#[tokio::test]
async fn a_matrix_id_or_user_at_server_is_the_login_without_user() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let portal = server_name(server.matrix_portal_url());
    for address in [format!("@alice:{portal}"), format!("alice@{portal}")] {
        let args = ["connect", &address, "--password-stdin", "--no-store", "--json"];
        let output = homeport(config.path(), &args, Some("wonderland")).await;
        assert_eq!(code(&output), 0, "{address} names alice: {}", String::from_utf8_lossy(&output.stdout));
        let user_id = json(&output)["account"]["user_id"].as_str().unwrap_or_default().to_owned();
        assert!(user_id.starts_with("@alice:hs1.localhost:"), "{address}: logged in as alice: {user_id}");
    }
    let portal_307 = format!("@bob:{}", server_name(server.matrix_portal_307_url()));
    let hs2 = server.matrix_homeserver_urls()["hs2"].origin().ascii_serialization();
    let args = ["connect", &portal_307, "--password-stdin", "--approve-redirect", &hs2, "--no-store", "--json"];
    let output = homeport(config.path(), &args, Some("builder")).await;
    assert_eq!(code(&output), 0, "@bob: {}", String::from_utf8_lossy(&output.stdout));
    server.shutdown().await;
}

#[tokio::test]
async fn a_server_urls_userinfo_is_the_login_and_user_still_wins() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let central = server.central_url();
    let with_user = format!("http://test%40instance2.com@{}/", server_name(central));
    let instance2 = origin(&server, "instance2");
    let args = ["connect", &with_user, "--password-stdin", "--approve-redirect", &instance2, "--no-store", "--json"];
    let output = homeport(config.path(), &args, Some("secret")).await;
    assert_eq!(code(&output), 0, "the URL names the user: {}", String::from_utf8_lossy(&output.stdout));
    assert_eq!(json(&output)["account"]["login_name"], "test@instance2.com", "the decoded userinfo");

    // --user is the person's explicit choice: it goes before the address's user.
    let instance1 = origin(&server, "instance1");
    let args = [
        "connect",
        &with_user,
        "--user",
        "test@instance1.com",
        "--password-stdin",
        "--approve-redirect",
        &instance1,
        "--no-store",
        "--json",
    ];
    let output = homeport(config.path(), &args, Some("secret")).await;
    assert_eq!(code(&output), 0, "{}", String::from_utf8_lossy(&output.stdout));
    assert_eq!(json(&output)["account"]["login_name"], "test@instance1.com", "--user wins");
    server.shutdown().await;
}

#[tokio::test]
async fn a_bare_server_with_password_stdin_still_asks_for_the_user() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let args = ["connect", server.central_url().as_str(), "--password-stdin", "--json"];
    let output = homeport(config.path(), &args, Some("secret")).await;
    let failure = json(&output);
    assert_eq!((code(&output), failure["error"]["code"].as_str()), (2, Some("bad_input")), "{failure}");
    let message = failure["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("--user") && message.contains("alice@example.com"), "both ways named: {message}");
    assert_eq!(server.requests().len(), 0, "nothing was sent");
    server.shutdown().await;
}
