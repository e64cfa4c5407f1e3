//! The OAuth-only homeserver and its OAuth 2.0 server (the IdP's Matrix zone), by plain HTTP as a Matrix client
//! (Element X, matrix-rust-sdk) speaks it: discovery, registration, the browser login through the robot, the token
//! exchange, whoami, refresh, revocation, the devices list, and the faults.

use std::collections::HashMap;

use serde_json::{json, Value};
use url::Url;

use super::test_support::{get, get_with_token, Answer};
use crate::robot::auto_login;
use crate::testing::{localhost_client, start, token_request};
use crate::{LookupServer, Scenario};

pub(super) const WHOAMI: &str = "_matrix/client/v3/account/whoami";
const DEVICES: &str = "_matrix/client/v3/devices";
/// Registered without a port, as the spec wants it; the authorization requests use any port.
const REGISTERED_REDIRECT: &str = "http://127.0.0.1/callback";
pub(super) const REDIRECT: &str = "http://127.0.0.1:53777/callback";

/// The registration body a Matrix native client sends.
pub(super) fn native_client() -> Value {
    json!({
        "client_name": "Homeport tests",
        "client_uri": "https://homeport.example.org/",
        "logo_uri": "https://homeport.example.org/logo.png",
        "application_type": "native",
        "redirect_uris": [REGISTERED_REDIRECT],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:token-exchange"],
        "response_types": ["code"],
    })
}

/// `GET <homeserver>/_matrix/client/v1/auth_metadata`, which must answer.
pub(super) async fn metadata(server: &LookupServer) -> Value {
    let answer = get(server.matrix_oauth_homeserver_url(), "_matrix/client/v1/auth_metadata").await;
    assert_eq!(answer.status, 200, "auth_metadata answers: {:?}", answer.json);
    answer.json
}

pub(super) async fn post_json(url: &str, body: &Value) -> (u16, Value) {
    let response = localhost_client().post(url).json(body).send().await.expect("the server answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn post_form(url: &str, fields: &[(&str, &str)]) -> u16 {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
    let response = localhost_client()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("the server answers");
    response.status().as_u16()
}

/// Registers [`native_client`]: its `client_id`.
pub(super) async fn register(metadata: &Value) -> String {
    let endpoint = metadata["registration_endpoint"].as_str().expect("a registration endpoint");
    let (status, client) = post_json(endpoint, &native_client()).await;
    assert_eq!(status, 201, "registered: {client}");
    client["client_id"].as_str().expect("a client id").to_owned()
}

/// One authorization request of a Matrix client.
pub(super) struct Login {
    pub(super) url: Url,
    pub(super) verifier: String,
    pub(super) state: String,
}

pub(super) fn authorization(
    metadata: &Value,
    client_id: &str,
    device: &str,
    scope: &str,
    extra: &[(&str, &str)],
) -> Login {
    let verifier = format!("verifier-{device}-{}", "m".repeat(48));
    let state = format!("state-{device}");
    let mut url = Url::parse(metadata["authorization_endpoint"].as_str().expect("an endpoint")).expect("URL");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", scope)
        .append_pair("state", &state)
        .append_pair("code_challenge", &crate::oidc::pkce_challenge(&verifier))
        .append_pair("code_challenge_method", "S256")
        .extend_pairs(extra);
    Login { url, verifier, state }
}

pub(super) fn matrix_scope(device: &str) -> String {
    format!("urn:matrix:client:api:* urn:matrix:client:device:{device}")
}

pub(super) fn query_of(url: &Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

/// The browser part through the robot (login form, consent page), then the code exchange: status and answer.
pub(super) async fn log_in(metadata: &Value, client_id: &str, login: &Login) -> (u16, Value) {
    let callback = auto_login(&login.url, "einstein", "relativity").await.expect("the robot logs in");
    let query = query_of(&callback);
    assert_eq!(query.get("state"), Some(&login.state), "the state comes back: {callback}");
    assert_eq!(query.get("iss").map(String::as_str), metadata["issuer"].as_str(), "RFC 9207's iss");
    let code = query.get("code").expect("a code");
    let token_endpoint = metadata["token_endpoint"].as_str().expect("a token endpoint");
    let issuer = token_endpoint.trim_end_matches("/token");
    token_request(
        issuer,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", client_id),
            ("code_verifier", &login.verifier),
        ],
    )
    .await
}

async fn refresh(metadata: &Value, client_id: &str, refresh_token: &str) -> (u16, Value) {
    let issuer = metadata["token_endpoint"].as_str().expect("an endpoint").trim_end_matches("/token").to_owned();
    token_request(
        &issuer,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("client_id", client_id)],
    )
    .await
}

pub(super) fn token<'a>(tokens: &'a Value, field: &str) -> &'a str {
    tokens[field].as_str().unwrap_or_else(|| panic!("a {field}: {tokens}"))
}

fn device_ids(answer: &Answer) -> Vec<&str> {
    answer.json["devices"].as_array().expect("a devices list").iter().filter_map(|d| d["device_id"].as_str()).collect()
}

#[tokio::test]
async fn the_oauth_homeserver_names_its_oauth_server_and_has_no_password_login() {
    let server = start(Scenario::default()).await;
    let base = server.matrix_oauth_homeserver_url();
    let server_name = server.matrix_oauth_server_name();
    assert_eq!(base.as_str(), format!("http://{server_name}/"), "served by name: {base}");
    assert!(server_name.starts_with("oauth.localhost:"), "{server_name}");
    let issuer = server.matrix_oauth_issuer();
    assert!(issuer.starts_with("http://matrix.auth.localhost:") && !issuer.ends_with('/'), "{issuer}");

    let well_known = get(base, ".well-known/matrix/client").await;
    assert_eq!(well_known.json, json!({"m.homeserver": {"base_url": base.as_str().trim_end_matches('/')}}), "itself");
    let versions = get(base, "_matrix/client/versions").await;
    assert!(versions.json["versions"].as_array().expect("a list").contains(&json!("v1.15")), "{:?}", versions.json);

    let stable = metadata(&server).await;
    let unstable = get(base, "_matrix/client/unstable/org.matrix.msc2965/auth_metadata").await;
    assert_eq!((unstable.status, &unstable.json), (200, &stable), "MSC2965's path answers the same");
    assert_eq!(stable["issuer"], issuer.as_str(), "the IdP's Matrix zone");
    for (field, path) in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("registration_endpoint", "/register"),
        ("revocation_endpoint", "/revoke"),
        ("account_management_uri", "/account/"),
    ] {
        assert_eq!(stable[field], format!("{issuer}{path}"), "{field}");
    }
    assert_eq!(stable["response_types_supported"], json!(["code"]), "code");
    assert_eq!(stable["response_modes_supported"], json!(["query", "fragment"]), "the spec's two modes");
    assert_eq!(stable["grant_types_supported"], json!(["authorization_code", "refresh_token"]), "grants");
    assert_eq!(stable["code_challenge_methods_supported"], json!(["S256"]), "PKCE");
    assert_eq!(stable["prompt_values_supported"], json!(["create"]), "prompt=create");
    let actions = stable["account_management_actions_supported"].as_array().expect("actions");
    for action in
        ["org.matrix.profile", "org.matrix.sessions_list", "org.matrix.session_view", "org.matrix.session_end"]
    {
        assert!(actions.contains(&json!(action)), "{action} in {actions:?}");
    }
    let (status, discovery) = crate::testing::get_json(&format!("{issuer}/.well-known/openid-configuration")).await;
    assert_eq!((status, &discovery), (200, &stable), "the zone's own discovery document is the same");

    let account = localhost_client().get(format!("{issuer}/account/?action=org.matrix.profile")).send().await;
    let account = account.expect("the account page answers");
    assert_eq!(account.status(), 200, "an HTML page");
    assert!(account.headers()["content-type"].to_str().expect("ASCII").starts_with("text/html"), "HTML");
    let page = account.text().await.expect("text");
    assert!(page.contains(&server_name) && page.contains("org.matrix.profile"), "{page}");
    let (status, _) = crate::testing::get_json(&format!("{}/account/", server.idp_issuer())).await;
    assert_eq!(status, 404, "the oCIS zone has no account page");

    let unrecognized = json!("M_UNRECOGNIZED");
    let login = get(base, "_matrix/client/v3/login").await;
    assert_eq!((login.status, &login.json["errcode"]), (404, &unrecognized), "no login flows: {:?}", login.json);
    let body = json!({"type": "m.login.password", "identifier": {"type": "m.id.user", "user": "einstein"},
                      "password": "relativity"});
    let (status, answer) = post_json(base.join("_matrix/client/v3/login").expect("URL").as_str(), &body).await;
    assert_eq!((status, &answer["errcode"]), (404, &unrecognized), "no password login: {answer}");
    for (name, hs) in server.matrix_homeserver_urls() {
        for path in ["_matrix/client/v1/auth_metadata", "_matrix/client/unstable/org.matrix.msc2965/auth_metadata"] {
            let answer = get(hs, path).await;
            assert_eq!((answer.status, &answer.json["errcode"]), (404, &unrecognized), "{name} has no {path}");
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_matrix_client_registers_logs_in_refreshes_and_revokes() {
    let server = start(Scenario::default()).await;
    let base = server.matrix_oauth_homeserver_url().clone();
    let user_id = format!("@einstein:{}", server.matrix_oauth_server_name());
    let metadata = metadata(&server).await;
    let client_id = register(&metadata).await;

    let hint = format!("mxid:{user_id}");
    let login =
        authorization(&metadata, &client_id, "DEVICEAAAA", &matrix_scope("DEVICEAAAA"), &[("login_hint", &hint)]);
    let page = localhost_client().get(login.url.clone()).send().await.expect("the login page");
    assert_eq!(page.status(), 200, "the login form");
    let page = page.text().await.expect("HTML");
    assert!(page.contains("value=\"einstein\""), "the login hint names the localpart: {page}");

    let (status, tokens) = log_in(&metadata, &client_id, &login).await;
    assert_eq!(status, 200, "the code is exchanged: {tokens}");
    assert_eq!(tokens["token_type"], "Bearer", "{tokens}");
    assert_eq!(tokens["expires_in"], 300, "the scenario's token lifetime");
    assert_eq!(tokens["scope"], matrix_scope("DEVICEAAAA"), "the Matrix scope granted");
    assert!(tokens.get("id_token").is_none(), "no openid scope, no ID token: {tokens}");
    let access = token(&tokens, "access_token").to_owned();
    let refresh_token = token(&tokens, "refresh_token").to_owned();

    let whoami = get_with_token(&base, WHOAMI, &access).await;
    assert_eq!(whoami.status, 200, "whoami: {:?}", whoami.json);
    assert_eq!(whoami.json, json!({"user_id": user_id, "device_id": "DEVICEAAAA", "is_guest": false}), "the device");
    let profile = get(&base, &format!("_matrix/client/v3/profile/{user_id}")).await;
    assert_eq!(profile.json, json!({"displayname": "Albert Einstein"}), "the IdP person's name");
    let devices = get_with_token(&base, DEVICES, &access).await;
    assert_eq!(devices.json, json!({"devices": [{"device_id": "DEVICEAAAA", "display_name": "Homeport tests"}]}));

    server.expire_access_tokens();
    let expired = get_with_token(&base, WHOAMI, &access).await;
    assert_eq!(expired.status, 401, "expired");
    assert_eq!((&expired.json["errcode"], &expired.json["soft_logout"]), (&json!("M_UNKNOWN_TOKEN"), &json!(true)));
    let (status, renewed) = refresh(&metadata, &client_id, &refresh_token).await;
    assert_eq!(status, 200, "refresh works without offline_access: {renewed}");
    let new_refresh = token(&renewed, "refresh_token").to_owned();
    assert_ne!(new_refresh, refresh_token, "the refresh token rotates");
    let new_access = token(&renewed, "access_token").to_owned();
    let whoami = get_with_token(&base, WHOAMI, &new_access).await;
    assert_eq!(whoami.json["device_id"], "DEVICEAAAA", "the same device, refreshed");
    let (status, reused) = refresh(&metadata, &client_id, &refresh_token).await;
    assert_eq!((status, reused["error"].as_str()), (400, Some("invalid_grant")), "the old one is used up");

    // A second device of the same person, then the first one revoked by its refresh token.
    let second = authorization(&metadata, &client_id, "DEVICEBBBB", &matrix_scope("DEVICEBBBB"), &[]);
    let (status, second_tokens) = log_in(&metadata, &client_id, &second).await;
    assert_eq!(status, 200, "a second device logs in: {second_tokens}");
    let second_access = token(&second_tokens, "access_token").to_owned();
    let devices = get_with_token(&base, DEVICES, &second_access).await;
    assert_eq!(device_ids(&devices), ["DEVICEAAAA", "DEVICEBBBB"], "two live devices");

    let revocation = metadata["revocation_endpoint"].as_str().expect("a revocation endpoint");
    let fields = [("token", new_refresh.as_str()), ("token_type_hint", "refresh_token"), ("client_id", &client_id)];
    assert_eq!(post_form(revocation, &fields).await, 200, "RFC 7009: 200");
    let revoked = get_with_token(&base, WHOAMI, &new_access).await;
    assert_eq!(revoked.status, 401, "the access token of the revoked refresh token ends too");
    assert_eq!(
        revoked.json,
        json!({"errcode": "M_UNKNOWN_TOKEN", "error": "Unknown access token", "soft_logout": false}),
        "revoked is no soft logout"
    );
    let (status, _) = refresh(&metadata, &client_id, &new_refresh).await;
    assert_eq!(status, 400, "the revoked refresh token is gone");
    let devices = get_with_token(&base, DEVICES, &second_access).await;
    assert_eq!(device_ids(&devices), ["DEVICEBBBB"], "the first device left the list");

    // The second device revoked by its access token: its refresh token ends with it.
    assert_eq!(post_form(revocation, &[("token", second_access.as_str())]).await, 200, "revoked");
    let gone = get_with_token(&base, DEVICES, &second_access).await;
    assert_eq!((gone.status, &gone.json["errcode"]), (401, &json!("M_UNKNOWN_TOKEN")), "no device left");
    let (status, _) = refresh(&metadata, &client_id, token(&second_tokens, "refresh_token")).await;
    assert_eq!(status, 400, "the access token's revocation ended the refresh token too");
    assert_eq!(post_form(revocation, &[("token", "unknown")]).await, 200, "an unknown token: 200 all the same");

    let log = serde_json::to_string(&server.requests()).expect("the log serializes");
    assert!(log.contains("\"server\":\"oauth\""), "the homeserver is named in the log");
    for secret in [&access, &refresh_token, &new_access, &second_access, &"relativity".to_owned()] {
        assert!(!log.contains(secret.as_str()), "no tokens or passwords in the log");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_refresh_whose_answer_was_lost_can_be_retried_until_its_tokens_are_used() {
    let server = start(Scenario::default()).await;
    let base = server.matrix_oauth_homeserver_url().clone();
    let metadata = metadata(&server).await;
    let client_id = register(&metadata).await;
    let login = authorization(&metadata, &client_id, "RETRY", &matrix_scope("RETRY"), &[]);
    let (status, first) = log_in(&metadata, &client_id, &login).await;
    assert_eq!(status, 200, "{first}");

    let (status, lost) = refresh(&metadata, &client_id, token(&first, "refresh_token")).await;
    assert_eq!(status, 200, "refreshed; say the answer never arrived: {lost}");
    let old_access = get_with_token(&base, WHOAMI, token(&first, "access_token")).await;
    assert_eq!((old_access.status, &old_access.json["soft_logout"]), (401, &json!(false)), "the old access token ends");
    let (status, retried) = refresh(&metadata, &client_id, token(&first, "refresh_token")).await;
    assert_eq!(status, 200, "the spec's retry of a lost answer (MAS's double refresh): {retried}");
    let (status, _) = refresh(&metadata, &client_id, token(&lost, "refresh_token")).await;
    assert_eq!(status, 400, "the lost refresh token was replaced");
    let lost_access = get_with_token(&base, WHOAMI, token(&lost, "access_token")).await;
    assert_eq!(lost_access.status, 401, "and its access token");

    let whoami = get_with_token(&base, WHOAMI, token(&retried, "access_token")).await;
    assert_eq!(whoami.json["device_id"], "RETRY", "the retried tokens work");
    let (status, again) = refresh(&metadata, &client_id, token(&first, "refresh_token")).await;
    assert_eq!((status, again["error"].as_str()), (400, Some("invalid_grant")), "no retry once its tokens are used");
    let (status, next) = refresh(&metadata, &client_id, token(&retried, "refresh_token")).await;
    assert_eq!(status, 200, "the chain goes on: {next}");
    let (status, _) = refresh(&metadata, &client_id, token(&first, "refresh_token")).await;
    assert_eq!(status, 400, "the first refresh token is history");
    server.shutdown().await;
}
