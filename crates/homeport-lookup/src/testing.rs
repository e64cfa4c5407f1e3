//! Test helpers (cargo feature `testing`, and this crate's own tests): a server on loopback, clients like the
//! engine's, an OIDC code flow. They panic on anything unexpected, as test code does; not for production code.

pub mod real_flow;
mod real_idp;

use std::net::SocketAddr;

use url::Url;

use crate::people::DEMO_PASSWORD;
use crate::scenario::Scenario;
use crate::server::LookupServer;

pub use real_idp::{
    browser_robot, free_loopback_port, peers_dir, BrowserRobot, RealIdp, RealIdpSetup, PEER_INSTALL_COMMAND,
};

/// Starts the lookup server on a free port of 127.0.0.1.
pub async fn start(scenario: Scenario) -> LookupServer {
    LookupServer::start(SocketAddr::from(([127, 0, 0, 1], 0)), scenario)
        .await
        .expect("the lookup server starts on loopback")
}

/// A client like the engine's: no automatic redirects, and no proxy from the environment between it and
/// the loopback servers.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a plain reqwest client")
}

pub fn propfind(client: &reqwest::Client, url: impl reqwest::IntoUrl) -> reqwest::RequestBuilder {
    let method = reqwest::Method::from_bytes(b"PROPFIND").expect("PROPFIND is a valid method token");
    client.request(method, url)
}

pub fn with_password(request: reqwest::RequestBuilder, user: &str) -> reqwest::RequestBuilder {
    request.basic_auth(user, Some(DEMO_PASSWORD))
}

/// Like [`client`], and connecting the demo's `*.localhost` hosts to 127.0.0.1 (RFC 6761), as the engine does.
pub fn localhost_client() -> reqwest::Client {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut builder = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none());
    for tenant in ["tenant1", "tenant2", "tenant3", "tenant9"] {
        for domain in ["auth.localhost", "approuter.localhost"] {
            builder = builder.resolve(&format!("{tenant}.{domain}"), loopback);
        }
    }
    for host in crate::matrix::MATRIX_HOSTS {
        builder = builder.resolve(host, loopback);
    }
    builder.build().expect("a plain reqwest client")
}

/// One authorization request's secrets, as the engine keeps them.
#[derive(Debug)]
pub struct Authorization {
    pub url: Url,
    pub verifier: String,
    pub state: String,
    pub redirect_uri: String,
    pub client_id: String,
}

/// An authorization request to `issuer` for the built-in client, PKCE S256, redirect to a loopback port.
pub fn authorization(issuer: &str, seed: &str) -> Authorization {
    let verifier = format!("verifier-{seed}-{}", "v".repeat(48));
    let redirect_uri = "http://127.0.0.1:53682/callback".to_owned();
    let state = format!("state-{seed}");
    let nonce = format!("nonce-{seed}");
    let mut url = Url::parse(&format!("{issuer}/authorize")).expect("authorize URL");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", crate::oidc::BUILT_IN_CLIENT_ID)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", "openid profile email offline_access")
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &crate::oidc::pkce_challenge(&verifier))
        .append_pair("code_challenge_method", "S256");
    Authorization { url, verifier, state, redirect_uri, client_id: crate::oidc::BUILT_IN_CLIENT_ID.to_owned() }
}

/// The `code` of a callback URL, after checking its `state`.
pub fn code_of(callback: &Url, authorization: &Authorization) -> String {
    let query: std::collections::HashMap<String, String> = callback.query_pairs().into_owned().collect();
    assert_eq!(query.get("state"), Some(&authorization.state), "the state comes back: {callback}");
    query.get("code").cloned().expect("the callback carries a code")
}

/// `POST <issuer>/token` with form fields; the status and the JSON answer.
pub async fn token_request(issuer: &str, fields: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
    let response = localhost_client()
        .post(format!("{issuer}/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("the token endpoint answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

/// The whole code flow for `user` at `issuer`: the token response.
pub async fn log_in(issuer: &str, user: &str, password: &str) -> serde_json::Value {
    let authorization = authorization(issuer, user);
    let callback = crate::robot::auto_login(&authorization.url, user, password).await.expect("the robot logs in");
    let code = code_of(&callback, &authorization);
    let (status, tokens) = token_request(
        issuer,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &authorization.redirect_uri),
            ("client_id", &authorization.client_id),
            ("code_verifier", &authorization.verifier),
        ],
    )
    .await;
    assert_eq!(status, 200, "the code is exchanged: {tokens}");
    tokens
}

/// The access token of a token response.
pub fn access_token(tokens: &serde_json::Value) -> String {
    tokens["access_token"].as_str().expect("an access token").to_owned()
}

/// `GET url` with [`localhost_client`]: the status and the JSON answer.
pub async fn get_json(url: &str) -> (u16, serde_json::Value) {
    let response = localhost_client().get(url).send().await.expect("the IdP answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}
