//! One authorization code flow at a [`RealIdp`] driven by the `$BROWSER` robot, built by hand as a client
//! would (PKCE S256, state, nonce, a one-shot loopback listener at the redirect URI): for tests of the peer
//! itself and of servers that accept its tokens (the lookup's oCIS with an external issuer).

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

use super::real_idp::{BrowserRobot, RealIdp};

/// How long a flow's loopback listener waits for the robot's callback.
const CALLBACK_TIMEOUT: Duration = Duration::from_secs(60);

/// What came of sending the robot to the authorization URL.
#[derive(Debug)]
pub struct Authorized {
    /// The robot's exit status (0: it reached the callback) and its stderr.
    pub robot_success: bool,
    pub robot_stderr: String,
    /// The callback URL the loopback listener got, when it got one.
    pub callback: Option<Url>,
    pub redirect_uri: String,
    pub verifier: String,
    pub state: String,
}

impl Authorized {
    /// The callback's query parameter `name`.
    pub fn callback_param(&self, name: &str) -> Option<String> {
        self.callback.as_ref()?.query_pairs().find(|(key, _)| key == name).map(|(_, value)| value.into_owned())
    }

    /// The code, after checking the robot succeeded and `state` came back.
    pub fn code(&self) -> String {
        assert!(self.robot_success, "the robot reached the callback: {}", self.robot_stderr);
        assert_eq!(self.callback_param("state").as_deref(), Some(self.state.as_str()), "the state comes back");
        self.callback_param("code").unwrap_or_else(|| panic!("the callback carries a code: {:?}", self.callback))
    }
}

/// `GET <issuer>/.well-known/openid-configuration`.
pub async fn discovery(idp: &RealIdp) -> Value {
    let response =
        super::client().get(idp.discovery_url()).send().await.expect("the real OpenID Provider answers discovery");
    assert_eq!(response.status(), 200, "discovery answers 200");
    response.json().await.expect("discovery is JSON")
}

/// The endpoint `name` (`authorization_endpoint`, `token_endpoint`, …) of the discovery document.
pub fn endpoint(discovery: &Value, name: &str) -> String {
    discovery[name].as_str().unwrap_or_else(|| panic!("discovery names {name}: {discovery}")).to_owned()
}

/// Sends `robot` to the authorization URL for `redirect_uri` (a loopback URL whose port this binds), with the
/// scopes `openid profile email offline_access`, the login hint of the robot's user and `extra` parameters
/// (`("prompt", "consent")`…), and waits for the robot.
pub async fn authorize(idp: &RealIdp, robot: &BrowserRobot, redirect_uri: &str, extra: &[(&str, &str)]) -> Authorized {
    let discovery = discovery(idp).await;
    let redirect = Url::parse(redirect_uri).expect("a redirect URI");
    let port = redirect.port().expect("the redirect URI names its port");
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("the callback port is free");
    let listening = tokio::spawn(async move { tokio::time::timeout(CALLBACK_TIMEOUT, one_request(listener)).await });
    let nonce_seed = super::real_idp::unique("flow");
    let verifier = format!("verifier-{nonce_seed}-{}", "v".repeat(48));
    let state = format!("state-{nonce_seed}");
    let mut url = Url::parse(&endpoint(&discovery, "authorization_endpoint")).expect("the authorization endpoint");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", idp.client_id())
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", "openid profile email offline_access")
        .append_pair("state", &state)
        .append_pair("nonce", &format!("nonce-{nonce_seed}"))
        .append_pair("code_challenge", &crate::oidc::pkce_challenge(&verifier))
        .append_pair("code_challenge_method", "S256")
        .append_pair("login_hint", &robot.user)
        .extend_pairs(extra);
    let robot_run = robot.clone();
    let (status, robot_stderr) = tokio::task::spawn_blocking(move || robot_run.run(url.as_str()))
        .await
        .expect("the robot's thread does not panic");
    let callback = if status.success() {
        match listening.await {
            Ok(Ok(Some(target))) => Some(redirect.join(&target).expect("the callback's request target")),
            other => panic!("the robot succeeded but the listener got no callback: {other:?}"),
        }
    } else {
        listening.abort();
        None
    };
    Authorized {
        robot_success: status.success(),
        robot_stderr,
        callback,
        redirect_uri: redirect_uri.to_owned(),
        verifier,
        state,
    }
}

/// Answers one HTTP request with 200 and returns its request target.
async fn one_request(listener: tokio::net::TcpListener) -> Option<String> {
    let (mut stream, _) = listener.accept().await.ok()?;
    let mut request = Vec::new();
    let mut buffer = [0_u8; 2048];
    while !request.windows(4).any(|window| window == b"\r\n\r\n") && request.len() < 64 * 1024 {
        let read = stream.read(&mut buffer).await.ok()?;
        if read == 0 {
            break;
        }
        request.extend_from_slice(&buffer[..read]);
    }
    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").await;
    let head = String::from_utf8_lossy(&request).into_owned();
    head.lines().next()?.split(' ').nth(1).map(str::to_owned)
}

/// `POST` the token endpoint with `fields`, authenticating as the client does (HTTP Basic with the secret when
/// it has one, else `client_id` in the body): the status and the JSON answer.
pub async fn token_request(idp: &RealIdp, fields: &[(&str, &str)]) -> (u16, Value) {
    let discovery = discovery(idp).await;
    let mut fields: Vec<(&str, &str)> = fields.to_vec();
    let mut request = super::client().post(endpoint(&discovery, "token_endpoint"));
    match idp.client_secret() {
        Some(secret) => request = request.basic_auth(idp.client_id(), Some(secret)),
        None => fields.push(("client_id", idp.client_id())),
    }
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
    let response = request
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("the token endpoint answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("the token endpoint answers JSON"))
}

/// Exchanges the code of `authorized`.
pub async fn exchange_code(idp: &RealIdp, authorized: &Authorized) -> (u16, Value) {
    let code = authorized.code();
    token_request(
        idp,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &authorized.redirect_uri),
            ("code_verifier", &authorized.verifier),
        ],
    )
    .await
}

/// The whole flow for the robot's user with `prompt=consent` (a refresh token where the provider gives one): the
/// token response.
pub async fn real_idp_tokens(idp: &RealIdp, robot: &BrowserRobot, redirect_port: Option<u16>) -> Value {
    let port = redirect_port.unwrap_or_else(super::real_idp::free_loopback_port);
    let redirect_uri = format!("http://127.0.0.1:{port}/homeport/test/callback");
    let authorized = authorize(idp, robot, &redirect_uri, &[("prompt", "consent")]).await;
    let (status, tokens) = exchange_code(idp, &authorized).await;
    assert_eq!(status, 200, "the code is exchanged: {tokens}; provider log:\n{}", idp.log());
    tokens
}

/// Whether `check` comes true within `bound`, asking every 200 ms (a bound, not a timed assertion).
pub async fn eventually<F, Fut>(bound: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
