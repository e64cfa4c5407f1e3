//! The real OpenID Provider by itself: each set-up behaves as the identity provider it stands for, and the robot
//! gets through its forms (or says why not). Real node processes on loopback.

use std::time::Duration;

use super::*;
use crate::testing::real_flow::{authorize, discovery, exchange_code, token_request};

const EINSTEIN: (&str, &str) = ("einstein", "relativity");

fn robot() -> BrowserRobot {
    browser_robot(EINSTEIN.0, EINSTEIN.1)
}

/// The claims of a JWT (not verified: the provider's own token, for what it carries).
fn jwt_claims(token: &serde_json::Value) -> serde_json::Value {
    use base64::Engine as _;
    let payload = token.as_str().and_then(|jwt| jwt.split('.').nth(1)).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

fn callback_uri(host: &str, port: u16, path: &str) -> String {
    format!("http://{host}:{port}{path}")
}

#[tokio::test(flavor = "multi_thread")]
async fn ocis_setup_publishes_what_lico_does() {
    let idp = RealIdp::start(RealIdpSetup::Ocis { access_token_ttl: None });
    let discovery = discovery(&idp).await;
    assert_eq!(discovery["issuer"], idp.issuer(), "{discovery}");
    assert!(discovery.get("registration_endpoint").is_none(), "oCIS's IdP has no dynamic registration: {discovery}");
    assert_eq!(discovery["authorization_response_iss_parameter_supported"], true, "RFC 9207: {discovery}");
    assert_eq!(
        discovery["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "none"]),
        "lico's methods"
    );
    assert!(
        discovery["authorization_endpoint"]
            .as_str()
            .is_some_and(|url| url.ends_with("/signin/v1/identifier/_/authorize")),
        "lico's authorization path: {discovery}"
    );
    assert_eq!(idp.client_id(), "xdXOt13JKxym1B1QcEncf2XDkLAexMBFwiT9j6EfhhHFJhs2KM9jbjTmf8JBXE69");
    assert_eq!(idp.client_secret(), Some("UBntmLjC2yYCeHwsyj73Uwo9TAaecAetRwMw0xYcvNL9yRdLSUi0hUAHfvCHFeFh"));
}

#[tokio::test(flavor = "multi_thread")]
async fn ocis_setup_grants_offline_access_only_with_prompt_consent() {
    let idp = RealIdp::start(RealIdpSetup::Ocis { access_token_ttl: None });
    let robot = robot();
    // What the ownCloud client (and Homeport) sends: a refresh token, and the RFC 9207 iss in the callback.
    let port = free_loopback_port();
    let with_consent = authorize(
        &idp,
        &robot,
        &callback_uri("127.0.0.1", port, "/homeport/secret-1/callback"),
        &[("prompt", "select_account consent")],
    )
    .await;
    assert!(with_consent.robot_success, "the robot logs in: {}\n{}", with_consent.robot_stderr, robot.log());
    assert_eq!(with_consent.callback_param("iss").as_deref(), Some(idp.issuer()), "RFC 9207 iss in the callback");
    let (status, tokens) = exchange_code(&idp, &with_consent).await;
    assert_eq!(status, 200, "{tokens}\n{}", idp.log());
    assert!(tokens["refresh_token"].is_string(), "prompt=consent gives offline_access: {tokens}");
    assert!(tokens["access_token"].is_string(), "{tokens}");
    let id_token = jwt_claims(&tokens["id_token"]);
    assert_eq!(id_token["aud"], idp.client_id(), "{id_token}");
    assert!(id_token.get("preferred_username").is_none(), "as lico: the user's name is at userinfo: {id_token}");

    // Any port and any path, and localhost too; without prompt=consent no refresh token.
    let port = free_loopback_port();
    let without = authorize(&idp, &robot, &callback_uri("localhost", port, "/another/path"), &[]).await;
    let (status, tokens) = exchange_code(&idp, &without).await;
    assert_eq!(status, 200, "{tokens}\n{}", idp.log());
    assert!(tokens["access_token"].is_string(), "{tokens}");
    assert!(tokens.get("refresh_token").is_none(), "no prompt=consent, no offline_access: {tokens}");
}

#[tokio::test(flavor = "multi_thread")]
async fn ocis_setup_checks_the_client_secret_and_takes_it_in_the_body_too() {
    let idp = RealIdp::start(RealIdpSetup::Ocis { access_token_ttl: None });
    let robot = robot();
    let discovery = discovery(&idp).await;
    let token_endpoint = discovery["token_endpoint"].as_str().expect("a token endpoint").to_owned();
    let mut codes = Vec::new();
    for _ in 0..2 {
        let port = free_loopback_port();
        let authorized =
            authorize(&idp, &robot, &callback_uri("127.0.0.1", port, "/cb"), &[("prompt", "consent")]).await;
        codes.push(authorized);
    }
    let post = |authorized: &crate::testing::real_flow::Authorized, secret: &str| {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", &authorized.code())
            .append_pair("redirect_uri", &authorized.redirect_uri)
            .append_pair("code_verifier", &authorized.verifier)
            .append_pair("client_id", idp.client_id())
            .append_pair("client_secret", secret)
            .finish();
        crate::testing::client()
            .post(&token_endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let wrong = post(&codes[0], "not-the-secret").await.expect("the token endpoint answers");
    assert_eq!(wrong.status(), 401, "a wrong secret is refused");
    let body: serde_json::Value = wrong.json().await.expect("JSON");
    assert_eq!(body["error"], "invalid_client", "{body}");
    let right = post(&codes[1], idp.client_secret().expect("a secret")).await.expect("the token endpoint answers");
    let status = right.status();
    let body: serde_json::Value = right.json().await.expect("JSON");
    assert_eq!(status, 200, "client_secret_post is accepted: {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn robot_says_so_when_the_password_is_wrong() {
    let idp = RealIdp::start(RealIdpSetup::Ocis { access_token_ttl: None });
    let robot = browser_robot("einstein", "not-relativity");
    let port = free_loopback_port();
    let authorized = authorize(&idp, &robot, &callback_uri("127.0.0.1", port, "/cb"), &[("prompt", "consent")]).await;
    assert!(!authorized.robot_success, "a wrong password does not reach the callback");
    assert!(authorized.callback.is_none());
    assert!(authorized.robot_stderr.contains("refused the login"), "the robot says why: {}", authorized.robot_stderr);
    assert!(robot.log().contains("Invalid login or password"), "the log shows the page: {}", robot.log());
}

#[tokio::test(flavor = "multi_thread")]
async fn robot_refuses_hosts_off_loopback() {
    let robot = robot();
    let (status, stderr) = tokio::task::spawn_blocking(move || robot.run("http://example.org/authorize?x=1"))
        .await
        .expect("the robot runs");
    assert_eq!(status.code(), Some(6), "{stderr}");
    assert!(stderr.contains("only talks to loopback"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn keycloak_setup_accepts_only_its_one_redirect_port() {
    let redirect_port = free_loopback_port();
    let idp = RealIdp::start(RealIdpSetup::Keycloak { redirect_port, access_token_ttl: None });
    assert!(idp.issuer().ends_with("/realms/homeport"), "a realm path in the issuer: {}", idp.issuer());
    assert_eq!(idp.client_id(), "homeport");
    assert_eq!(idp.client_secret(), None, "a public client");
    let discovery = discovery(&idp).await;
    assert_eq!(discovery["issuer"], idp.issuer(), "{discovery}");
    assert!(discovery.get("registration_endpoint").is_none(), "the realm's admin registers clients: {discovery}");
    let robot = robot();

    // The registered port, any path under it (Keycloak's `/*`); a refresh token without prompt=consent.
    let authorized =
        authorize(&idp, &robot, &callback_uri("127.0.0.1", redirect_port, "/homeport/secret/callback"), &[]).await;
    assert!(authorized.robot_success, "{}\n{}", authorized.robot_stderr, robot.log());
    assert_eq!(authorized.callback_param("iss").as_deref(), Some(idp.issuer()), "RFC 9207 iss with the realm path");
    let (status, tokens) = exchange_code(&idp, &authorized).await;
    assert_eq!(status, 200, "a public client exchanges the code with PKCE and no secret: {tokens}\n{}", idp.log());
    assert!(tokens["refresh_token"].is_string(), "Keycloak gives a refresh token: {tokens}");
    let id_token = jwt_claims(&tokens["id_token"]);
    assert_eq!(id_token["preferred_username"], "einstein", "Keycloak's ID token names the user: {id_token}");

    // Another port is not registered: the provider shows an error page, no callback.
    let other_port = free_loopback_port();
    let refused = authorize(&idp, &robot, &callback_uri("127.0.0.1", other_port, "/homeport/x/callback"), &[]).await;
    assert!(!refused.robot_success, "another redirect port is refused");
    assert!(refused.robot_stderr.contains("redirect_uri"), "the provider says why: {}", refused.robot_stderr);
    // And localhost is not 127.0.0.1 for an exact registration.
    let refused = authorize(&idp, &robot, &callback_uri("localhost", redirect_port, "/homeport/x/callback"), &[]).await;
    assert!(!refused.robot_success, "localhost is not the registered host: {}", refused.robot_stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn access_tokens_expire_and_the_refresh_token_renews_them() {
    // Three seconds: long enough for the first check on a loaded machine, short enough to wait out.
    let idp = RealIdp::start(RealIdpSetup::Ocis { access_token_ttl: Some(Duration::from_secs(3)) });
    let robot = robot();
    let tokens = crate::testing::real_flow::real_idp_tokens(&idp, &robot, None).await;
    let userinfo_endpoint = discovery(&idp).await["userinfo_endpoint"].as_str().expect("userinfo").to_owned();
    let userinfo = |token: String| {
        let endpoint = userinfo_endpoint.clone();
        async move { crate::testing::client().get(endpoint).bearer_auth(token).send().await.expect("userinfo answers") }
    };
    let access = tokens["access_token"].as_str().expect("an access token").to_owned();
    let fresh = userinfo(access.clone()).await;
    assert_eq!(fresh.status(), 200, "a fresh token is good at userinfo");
    let claims: serde_json::Value = fresh.json().await.expect("JSON");
    assert_eq!(claims["preferred_username"], "einstein", "{claims}");
    let expires_in = tokens["expires_in"].as_u64();
    assert!(expires_in.is_some_and(|seconds| (1..=3).contains(&seconds)), "the short lifetime: {tokens}");
    let expired = crate::testing::real_flow::eventually(Duration::from_secs(15), || {
        let attempt = userinfo(access.clone());
        async move { attempt.await.status() == 401 }
    })
    .await;
    assert!(expired, "the three-second token is refused within 15 s");
    let refresh = tokens["refresh_token"].as_str().expect("a refresh token");
    let (status, renewed) = token_request(&idp, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
    assert_eq!(status, 200, "the refresh token renews: {renewed}");
    let renewed_access = renewed["access_token"].as_str().expect("a new access token").to_owned();
    assert_eq!(userinfo(renewed_access).await.status(), 200, "the renewed token is good");
}

#[test]
fn a_missing_install_names_the_command() {
    let dir = std::env::temp_dir().join(super::unique("no-peer"));
    std::fs::create_dir_all(&dir).expect("a scratch dir");
    std::fs::write(dir.join("package.json"), r#"{"dependencies": {"oidc-provider": "9.13.3"}}"#).expect("write");
    let panic = std::panic::catch_unwind(|| check_installed(&dir)).expect_err("no node_modules: a clear failure");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains(PEER_INSTALL_COMMAND), "{message}");
    let _ = std::fs::remove_dir_all(&dir);
}
