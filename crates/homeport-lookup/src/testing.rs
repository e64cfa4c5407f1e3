//! Test helpers (cargo feature `testing`, and this crate's own tests): a server on loopback, clients like the
//! engine's, an OIDC code flow. They panic on anything unexpected, as test code does; not for production code.

pub mod mtls;
pub mod real_flow;
mod real_idp;
mod real_synapse;

use std::net::SocketAddr;

use url::Url;

use crate::people::DEMO_PASSWORD;
use crate::scenario::Scenario;
use crate::server::LookupServer;

pub use real_idp::{
    browser_robot, free_loopback_port, peers_dir, BrowserRobot, RealIdp, RealIdpSetup, PEER_INSTALL_COMMAND,
};
pub use real_synapse::{RealSynapse, SynapseAdmin, SynapseOptions, SynapseRequest, SYNAPSE_INSTALL_COMMAND};

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
    builder = builder.resolve(&format!("{}.auth.localhost", crate::oidc::MATRIX_ZONE_LABEL), loopback);
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
    /// The client's secret, for the token request (`None`: a public client).
    pub client_secret: Option<String>,
}

/// An authorization request to `issuer` for the client a zone knows without registration — at the main zone (on
/// 127.0.0.1) the ownCloud desktop client with `prompt=select_account consent` as the ownCloud client sends it, at
/// a tenant's zone the public `homeport-desktop` — PKCE S256, redirect to a loopback port.
pub fn authorization(issuer: &str, seed: &str) -> Authorization {
    let main_zone = Url::parse(issuer).ok().and_then(|url| url.host_str().map(|host| host == "127.0.0.1"));
    if main_zone == Some(true) {
        let mut request =
            authorization_for(issuer, seed, crate::OWNCLOUD_DESKTOP_CLIENT_ID, Some("select_account consent"));
        request.client_secret = Some(crate::OWNCLOUD_DESKTOP_CLIENT_SECRET.to_owned());
        request
    } else {
        authorization_for(issuer, seed, crate::BUILT_IN_CLIENT_ID, None)
    }
}

/// An authorization request to `issuer` for `client_id` (no secret), with `prompt` when given.
pub fn authorization_for(issuer: &str, seed: &str, client_id: &str, prompt: Option<&str>) -> Authorization {
    authorization_to(issuer, seed, client_id, prompt, "http://127.0.0.1:53682/callback")
}

/// [`authorization_for`] with another redirect URI.
pub fn authorization_to(
    issuer: &str,
    seed: &str,
    client_id: &str,
    prompt: Option<&str>,
    redirect_uri: &str,
) -> Authorization {
    let verifier = format!("verifier-{seed}-{}", "v".repeat(48));
    let redirect_uri = redirect_uri.to_owned();
    let state = format!("state-{seed}");
    let nonce = format!("nonce-{seed}");
    let mut url = Url::parse(&format!("{issuer}/authorize")).expect("authorize URL");
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("scope", "openid profile email offline_access")
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &crate::oidc::pkce_challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
        if let Some(prompt) = prompt {
            query.append_pair("prompt", prompt);
        }
    }
    Authorization { url, verifier, state, redirect_uri, client_id: client_id.to_owned(), client_secret: None }
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

/// The whole code flow for `user` at `issuer` with [`authorization`]'s client (its secret sent as
/// `client_secret_post`): the token response.
pub async fn log_in(issuer: &str, user: &str, password: &str) -> serde_json::Value {
    let authorization = authorization(issuer, user);
    let callback = crate::robot::auto_login(&authorization.url, user, password).await.expect("the robot logs in");
    let code = code_of(&callback, &authorization);
    let mut fields = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", authorization.redirect_uri.as_str()),
        ("client_id", authorization.client_id.as_str()),
        ("code_verifier", authorization.verifier.as_str()),
    ];
    if let Some(secret) = &authorization.client_secret {
        fields.push(("client_secret", secret.as_str()));
    }
    let (status, tokens) = token_request(issuer, &fields).await;
    assert_eq!(status, 200, "the code is exchanged: {tokens}");
    tokens
}

/// `grant_type=refresh_token` at `issuer` for [`authorization`]'s client of that zone (with its secret at the main
/// zone): the status and the JSON answer.
pub async fn refresh_grant(issuer: &str, refresh_token: &str) -> (u16, serde_json::Value) {
    let client = authorization(issuer, "refresh");
    let mut fields = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", client.client_id.as_str()),
    ];
    if let Some(secret) = &client.client_secret {
        fields.push(("client_secret", secret.as_str()));
    }
    token_request(issuer, &fields).await
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
