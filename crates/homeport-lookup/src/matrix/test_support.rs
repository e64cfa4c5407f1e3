//! Helpers of the Matrix tests: requests to a Matrix server and login bodies.

use reqwest::header::HeaderMap;
use serde_json::Value;
use url::Url;

use crate::testing::localhost_client;

/// One answer of a Matrix server: status, headers and the JSON body (`Null` when empty or not JSON).
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) json: Value,
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("the body arrives");
    Answer { status, headers, json: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
}

/// `GET <base><path>` (the path without its leading slash).
pub(crate) async fn get(base: &Url, path: &str) -> Answer {
    let url = base.join(path).expect("a URL under the base");
    answer(localhost_client().get(url).send().await.expect("the Matrix server answers")).await
}

/// `GET <base><path>` with a bearer token.
pub(crate) async fn get_with_token(base: &Url, path: &str, token: &str) -> Answer {
    let url = base.join(path).expect("a URL under the base");
    answer(localhost_client().get(url).bearer_auth(token).send().await.expect("the Matrix server answers")).await
}

/// `POST <url>` with a raw body.
pub(crate) async fn post_raw(url: &Url, body: &str) -> Answer {
    let response = localhost_client()
        .post(url.clone())
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("the Matrix server answers");
    answer(response).await
}

/// `POST <base>_matrix/client/v3/login` with a JSON body.
pub(crate) async fn login(base: &Url, body: &Value) -> Answer {
    post_raw(&base.join(super::LOGIN_PATH).expect("the login URL"), &body.to_string()).await
}

/// An `m.login.password` body as the engine sends it.
pub(crate) fn password_login(user: &str, password: &str) -> Value {
    serde_json::json!({
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user},
        "password": password,
        "initial_device_display_name": "Homeport tests",
        "refresh_token": true,
    })
}

/// An `m.login.token` body.
pub(crate) fn token_login(token: &str) -> Value {
    serde_json::json!({"type": "m.login.token", "token": token, "initial_device_display_name": "Homeport tests"})
}
