//! `homeport connect` for servers that log in with OpenID Connect (docs/protocols/oidc-ocis.md)
//! and tenants by host (docs/protocols/tenant-by-host.md), with `--browser auto-login` and
//! `--browser print`, and `accounts verify`.

use std::process::Stdio;
use std::time::Duration;

use homeport_lookup::{complete_browser_login, Scenario, TENANT_HOST_PATTERN};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::Command;

use crate::{code, homeport, json, lookup, walk, HOMEPORT};

#[tokio::test]
async fn auto_login_connects_stores_the_refresh_token_and_verify_rotates_it() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let ocis = server.ocis_url().to_string();
    let args = ["connect", &ocis, "--user", "einstein", "--password-stdin", "--browser", "auto-login"];
    let output = homeport(config.path(), &args, Some("relativity")).await;
    let story = String::from_utf8_lossy(&output.stdout);
    assert_eq!(code(&output), 0, "connected: {story}{}", String::from_utf8_lossy(&output.stderr));
    assert!(story.contains("✓ Connected: Albert Einstein (einstein)"), "who: {story}");
    assert!(story.contains(&format!("Instance    {}", server.ocis_instance_urls()["A"])), "where: {story}");
    assert!(story.contains(&format!("Identity    {}", server.idp_issuer())), "the IdP: {story}");
    assert!(story.contains("refresh token in the system keyring"), "where the secret went: {story}");

    let accounts = json(&homeport(config.path(), &["accounts", "list", "--json"], None).await);
    let account = &accounts[0];
    assert_eq!((account["kind"].as_str(), account["auth_method"].as_str()), (Some("ocis"), Some("oidc")));
    assert_eq!(account["oidc"]["issuer"], server.idp_issuer(), "the issuer is kept for re-verify");
    let id = account["id"].as_str().expect("id").to_owned();
    let show = homeport(config.path(), &["accounts", "show", &id], None).await;
    let shown = String::from_utf8_lossy(&show.stdout);
    assert!(shown.contains("Refresh token   present"), "the keyring has it: {shown}");
    for file in walk(config.path()) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(!text.contains("relativity"), "{} holds the password", file.display());
        assert!(!text.contains("refresh_token\""), "{} holds a token", file.display());
    }

    let verify = homeport(config.path(), &["accounts", "verify", &id, "--json"], None).await;
    assert_eq!(code(&verify), 0, "re-verified: {}", String::from_utf8_lossy(&verify.stdout));
    assert_eq!(json(&verify)["status"], "verified");
    let refreshes = server.requests().iter().filter(|r| r.server == "idp" && r.path == "/token").count();
    assert_eq!(refreshes, 2, "the login's code exchange, then the re-verify's refresh");
    let again = homeport(config.path(), &["accounts", "verify", &id], None).await;
    assert_eq!(
        code(&again),
        0,
        "the rotated refresh token was stored and works: {}",
        String::from_utf8_lossy(&again.stderr)
    );

    // Remove revokes the refresh token at the identity provider (RFC 7009), and says so.
    let remove = homeport(config.path(), &["accounts", "remove", &id], None).await;
    let said = String::from_utf8_lossy(&remove.stdout);
    assert_eq!(code(&remove), 0, "removed: {said}{}", String::from_utf8_lossy(&remove.stderr));
    assert!(
        said.contains(&format!("was revoked at the identity provider at {}", server.idp_issuer())),
        "the words say where the login was ended: {said}"
    );
    let revokes = server.requests().iter().filter(|r| r.server == "idp" && r.path == "/revoke").count();
    assert_eq!(revokes, 1, "the provider's revocation endpoint was asked");
    server.shutdown().await;
}

#[tokio::test]
async fn several_instances_need_instance_and_oidc_failures_have_their_exit_codes() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let ocis = server.ocis_url().to_string();
    let connect = |user: &'static str, extra: Vec<String>| {
        let mut args: Vec<String> = ["connect", &ocis, "--user", user, "--password-stdin", "--browser", "auto-login"]
            .map(String::from)
            .to_vec();
        args.extend(extra);
        args.push("--json".into());
        args.push("--no-store".into());
        args
    };
    let run = |args: Vec<String>, password: &'static str| {
        let config = config.path().to_owned();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            homeport(&config, &args, Some(password)).await
        }
    };

    let unchosen = run(connect("marie", vec![]), "radioactivity").await;
    let failure = json(&unchosen);
    assert_eq!((code(&unchosen), failure["error"]["code"].as_str()), (2, Some("bad_input")), "{failure}");
    let hint = failure["error"]["hint"].as_str().unwrap_or_default();
    assert!(hint.contains("--instance") && hint.contains(server.ocis_instance_urls()["B"].as_str()), "{hint}");

    let instance_b = server.ocis_instance_urls()["B"].to_string();
    let chosen = run(connect("marie", vec!["--instance".into(), instance_b.clone()]), "radioactivity").await;
    assert_eq!(code(&chosen), 0, "{}", String::from_utf8_lossy(&chosen.stdout));
    assert_eq!(json(&chosen)["account"]["instance_url"], instance_b, "at the chosen instance");

    let disabled = run(connect("richard", vec![]), "superfluidity").await;
    assert_eq!(code(&disabled), 5, "a disabled account is a failed login");
    assert!(json(&disabled)["error"]["message"].as_str().is_some_and(|m| m.contains("disabled")), "says why");

    let wrong = run(connect("einstein", vec![]), "wrong").await;
    assert_eq!(code(&wrong), 5, "a wrong password at the IdP");
    let message = json(&wrong)["error"]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("Wrong user name or password"), "the IdP's words: {message}");
    server.shutdown().await;
}

#[tokio::test]
async fn tenant_flags_take_the_tenant_from_the_host_and_unsubscribed_tenants_are_refused() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let template = server.tenant_issuer_template();
    let connect = |tenant: &str| {
        let url = server.tenant_urls()[tenant].to_string();
        let config = config.path().to_owned();
        let template = template.clone();
        async move {
            let args = [
                "connect",
                &url,
                "--user",
                "einstein",
                "--password-stdin",
                "--browser",
                "auto-login",
                "--tenant-pattern",
                TENANT_HOST_PATTERN,
                "--tenant-issuer",
                &template,
                "--json",
            ];
            homeport(&config, &args, Some("relativity")).await
        }
    };
    let tenant2 = connect("tenant2").await;
    assert_eq!(code(&tenant2), 0, "{}", String::from_utf8_lossy(&tenant2.stdout));
    let account = &json(&tenant2)["account"];
    assert_eq!(account["kind"], "tenant-oidc");
    assert_eq!(account["tenant"]["tenant"], "tenant2", "from the host");
    assert_eq!(account["tenant"]["zone_id"], "b2e4d3c5-6c7f-4a81-9bac-1d2e3f4a5b62", "the zid claim");
    assert_eq!(
        account["tenant"]["scopes"],
        serde_json::json!(["homeport-demo!t102.Read", "homeport-demo!t102.Admin"]),
        "the tenant's application scopes"
    );

    let tenant3 = connect("tenant3").await;
    assert_eq!(code(&tenant3), 5, "refused: {}", String::from_utf8_lossy(&tenant3.stdout));
    let message = json(&tenant3)["error"]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("tenant3") && message.contains("not subscribed"), "named clearly: {message}");

    let bad = homeport(
        config.path(),
        &["connect", "http://x.localhost/", "--tenant-pattern", "^(no-group$", "--tenant-issuer", "{tenant}", "--json"],
        None,
    )
    .await;
    assert_eq!(code(&bad), 2, "an invalid pattern is bad input: {}", String::from_utf8_lossy(&bad.stdout));
    server.shutdown().await;
}

#[tokio::test]
async fn browser_print_shows_the_link_and_waits_for_the_browser() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let mut child = Command::new(HOMEPORT)
        .args(["connect", server.ocis_url().as_str(), "--browser", "print", "--no-store"])
        .env("HOMEPORT_CONFIG_DIR", config.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("homeport runs");
    child.stdin.take().expect("stdin").shutdown().await.expect("close stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let link = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.expect("read") {
            if let Some(link) = line.trim().strip_prefix("Log in in your browser: ") {
                return link.to_owned();
            }
        }
        panic!("homeport ended without printing the login link")
    })
    .await
    .expect("the link is printed");
    let url = url::Url::parse(&link).expect("the link is a URL");
    assert!(link.starts_with(&server.idp_issuer()), "the IdP's login page: {link}");
    let status = complete_browser_login(&url, "einstein", "relativity").await.expect("the person logs in");
    assert_eq!(status, 200, "Homeport's loopback page answers the browser");
    let mut rest = String::new();
    while let Some(line) = lines.next_line().await.expect("read") {
        rest.push_str(&line);
        rest.push('\n');
    }
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("ends").expect("status");
    assert!(status.success(), "connected after the browser came back: {rest}");
    assert!(rest.contains("✓ Connected: Albert Einstein"), "{rest}");
    server.shutdown().await;
}
