//! A homeserver (`hs1`, `hs2`): the client-server API a login needs, for the users it owns, and the devices list
//! and logout that end a login.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::api::{
    json_response, login_flows, method_not_allowed, unrecognized, versions, well_known, LoginRequest, MatrixError,
};
use super::state::Matrix;
use crate::oidc::bearer_token;

#[derive(Debug)]
pub(crate) struct HomeserverState {
    /// `hs1` or `hs2`.
    pub(crate) name: &'static str,
    pub(crate) matrix: Arc<Matrix>,
}

pub(crate) fn router(state: Arc<HomeserverState>) -> Router {
    Router::new()
        .route("/.well-known/matrix/client", get(client_well_known))
        .route("/_matrix/client/versions", get(client_versions))
        .route("/_matrix/client/v3/login", get(flows).post(login))
        .route("/_matrix/client/v3/refresh", post(refresh))
        .route("/_matrix/client/v3/account/whoami", get(whoami))
        .route("/_matrix/client/v3/logout", post(logout))
        .route("/_matrix/client/v3/devices", get(devices))
        .route("/_matrix/client/v3/profile/{user_id}", get(profile))
        .fallback(unrecognized)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

fn ok(body: Value) -> Response {
    json_response(StatusCode::OK, body)
}

async fn client_well_known(State(state): State<Arc<HomeserverState>>) -> Response {
    match state.matrix.homeserver_url(state.name) {
        Some(base) => ok(well_known(base)),
        None => unrecognized().await,
    }
}

async fn client_versions() -> Response {
    ok(versions())
}

async fn flows() -> Response {
    ok(login_flows(false))
}

/// `POST /_matrix/client/v3/login`: password or SSO login token, for the users this homeserver owns.
async fn login(State(state): State<Arc<HomeserverState>>, body: Bytes) -> Response {
    let answer = LoginRequest::parse(&body).and_then(|request| state.matrix.log_in(state.name, &request));
    match answer {
        Ok(session) => ok(session),
        Err(error) => error.into_response(),
    }
}

/// `POST /_matrix/client/v3/refresh` (spec v1.3): rotates the refresh token.
async fn refresh(State(state): State<Arc<HomeserverState>>, body: Bytes) -> Response {
    let token = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|body| body.get("refresh_token").and_then(Value::as_str).map(str::to_owned));
    let Some(token) = token else {
        return MatrixError::bad_json("refresh_token must be a string").into_response();
    };
    match state.matrix.refresh(state.name, &token) {
        Ok(tokens) => ok(tokens),
        Err(error) => error.into_response(),
    }
}

async fn whoami(State(state): State<Arc<HomeserverState>>, headers: HeaderMap) -> Response {
    match state.matrix.whoami(state.name, bearer_token(&headers)) {
        Ok(identity) => ok(identity),
        Err(error) => error.into_response(),
    }
}

/// `POST /_matrix/client/v3/logout`: the device of the token ends (its access and refresh tokens).
async fn logout(State(state): State<Arc<HomeserverState>>, headers: HeaderMap) -> Response {
    match state.matrix.log_out(state.name, bearer_token(&headers)) {
        Ok(answer) => ok(answer),
        Err(error) => error.into_response(),
    }
}

/// `GET /_matrix/client/v3/devices`: the token's user's devices.
async fn devices(State(state): State<Arc<HomeserverState>>, headers: HeaderMap) -> Response {
    match state.matrix.devices(state.name, bearer_token(&headers)) {
        Ok(answer) => ok(answer),
        Err(error) => error.into_response(),
    }
}

/// `GET /_matrix/client/v3/profile/{userId}`: the display name of a user of this homeserver (no federation).
async fn profile(State(state): State<Arc<HomeserverState>>, Path(user_id): Path<String>) -> Response {
    let user = state
        .matrix
        .find_user(&user_id)
        .filter(|user| user.homeserver == state.name && user_id.starts_with('@') && !user.deactivated);
    match user {
        Some(user) => ok(json!({"displayname": user.display_name})),
        None => MatrixError::new(StatusCode::NOT_FOUND, "M_NOT_FOUND", "Profile was not found").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::matrix::test_support::{get, get_with_token, login, password_login, post_raw, token_login};
    use crate::testing::start;
    use crate::Scenario;

    #[tokio::test]
    async fn homeservers_answer_well_known_versions_and_password_and_token_flows() {
        let server = start(Scenario::default()).await;
        for (name, base) in server.matrix_homeserver_urls() {
            assert_eq!(base.host_str(), Some(format!("{name}.localhost").as_str()), "{name} is served by name");
            let answer = get(base, ".well-known/matrix/client").await;
            assert_eq!(answer.status, 200, "{name}: well-known");
            assert_eq!(
                answer.json,
                json!({"m.homeserver": {"base_url": base.as_str().trim_end_matches('/')}}),
                "{name} names itself, without the trailing slash"
            );
            assert_eq!(answer.headers["content-type"], "application/json", "{name}: JSON");
            let answer = get(base, "_matrix/client/versions").await;
            assert_eq!(answer.status, 200, "{name}: versions");
            assert_eq!(answer.json["versions"][0], "v1.1", "from v1.1");
            assert_eq!(answer.json["versions"][10], "v1.11", "to v1.11");
            assert_eq!(answer.json["unstable_features"], json!({}), "no unstable features");
            let answer = get(base, "_matrix/client/v3/login").await;
            assert_eq!(
                answer.json,
                json!({"flows": [{"type": "m.login.password"}, {"type": "m.login.token"}]}),
                "{name}: no SSO at the homeservers"
            );
            let answer = get(base, "_matrix/client/v3/nothing").await;
            assert_eq!(answer.status, 404, "{name}: unknown endpoints");
            assert_eq!(
                answer.json,
                json!({"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}),
                "{name}: the spec's answer"
            );
            let answer = get(base, "_matrix/client/v3/login/sso/redirect?redirectUrl=http://127.0.0.1:1/").await;
            assert_eq!(answer.status, 404, "{name}: SSO is the portal's");
            let answer = post_raw(&base.join("_matrix/client/versions").expect("URL"), "{}").await;
            assert_eq!((answer.status, answer.json["errcode"].as_str()), (405, Some("M_UNRECOGNIZED")), "405");
        }
        server.shutdown().await;
    }

    #[tokio::test]
    async fn homeservers_log_in_their_own_users_only() {
        let server = start(Scenario::default()).await;
        let hs1 = &server.matrix_homeserver_urls()["hs1"];
        let hs2 = &server.matrix_homeserver_urls()["hs2"];
        let server_name = hs1.authority().to_owned();

        let answer = login(hs1, &password_login("alice", "wonderland")).await;
        assert_eq!(answer.status, 200, "alice logs in at hs1: {:?}", answer.json);
        assert_eq!(answer.json["user_id"], format!("@alice:{server_name}"), "her full user id");
        assert_eq!(answer.json["home_server"], server_name, "the server name is the authority");
        assert_eq!(answer.json["expires_in_ms"], 300_000, "the scenario's token lifetime");
        for field in ["access_token", "refresh_token", "device_id"] {
            assert!(answer.json[field].as_str().is_some_and(|value| !value.is_empty()), "{field} is issued");
        }
        assert!(answer.json.get("well_known").is_none(), "the homeserver itself adds no well_known");

        let full_id = login(hs1, &password_login(&format!("@alice:{server_name}"), "wonderland")).await;
        assert_eq!(full_id.status, 200, "a full user id works too");
        assert_ne!(full_id.json["access_token"], answer.json["access_token"], "each login its own token");

        let mut with_device = password_login("alice", "wonderland");
        with_device["device_id"] = json!("KITCHEN");
        with_device["refresh_token"] = json!(false);
        let answer = login(hs1, &with_device).await;
        assert_eq!(answer.json["device_id"], "KITCHEN", "a given device id is kept");
        assert!(answer.json.get("refresh_token").is_none(), "no refresh token unless asked for");
        assert!(answer.json.get("expires_in_ms").is_none(), "and then no expiry either");

        let forbidden = json!({"errcode": "M_FORBIDDEN", "error": "Invalid username or password"});
        for (base, user, password, why) in [
            (hs2, "alice", "wonderland", "hs2 does not own alice"),
            (hs1, "alice", "wrong", "a wrong password"),
            (hs1, "mallory", "x", "an unknown user"),
        ] {
            let answer = login(base, &password_login(user, password)).await;
            assert_eq!((answer.status, &answer.json), (403, &forbidden), "{why}");
        }

        let dave = login(hs2, &password_login("dave", "deactivated")).await;
        assert_eq!(dave.status, 403, "dave is deactivated");
        assert_eq!(
            dave.json,
            json!({"errcode": "M_USER_DEACTIVATED", "error": "This account has been deactivated"}),
            "the spec's errcode"
        );
        let dave_wrong = login(hs2, &password_login("dave", "guess")).await;
        assert_eq!(dave_wrong.json["errcode"], "M_FORBIDDEN", "a wrong password tells nothing about deactivation");

        let login_url = hs1.join("_matrix/client/v3/login").expect("URL");
        let not_json = post_raw(&login_url, "{not json").await;
        assert_eq!((not_json.status, not_json.json["errcode"].as_str()), (400, Some("M_NOT_JSON")), "bad JSON");
        let unknown = login(hs1, &json!({"type": "m.login.magic"})).await;
        assert_eq!((unknown.status, unknown.json["errcode"].as_str()), (400, Some("M_UNKNOWN")), "unknown type");
        let token = login(hs1, &token_login("no-such-token")).await;
        assert_eq!((token.status, token.json["errcode"].as_str()), (403, Some("M_FORBIDDEN")), "unknown token");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn whoami_needs_a_valid_token_of_this_homeserver() {
        let server = start(Scenario::default()).await;
        let hs1 = &server.matrix_homeserver_urls()["hs1"];
        let hs2 = &server.matrix_homeserver_urls()["hs2"];
        let session = login(hs2, &password_login("bob", "builder")).await.json;
        let token = session["access_token"].as_str().expect("an access token");

        let answer = get_with_token(hs2, "_matrix/client/v3/account/whoami", token).await;
        assert_eq!(answer.status, 200, "whoami with the token");
        assert_eq!(
            answer.json,
            json!({"user_id": session["user_id"], "device_id": session["device_id"], "is_guest": false}),
            "the session's identity"
        );

        let missing = get(hs2, "_matrix/client/v3/account/whoami").await;
        assert_eq!(missing.status, 401, "no token");
        assert_eq!(missing.json, json!({"errcode": "M_MISSING_TOKEN", "error": "Missing access token"}), "missing");
        let unknown_token =
            json!({"errcode": "M_UNKNOWN_TOKEN", "error": "Unknown access token", "soft_logout": false});
        let unknown = get_with_token(hs2, "_matrix/client/v3/account/whoami", "garbage").await;
        assert_eq!((unknown.status, &unknown.json), (401, &unknown_token), "an unknown token");
        let elsewhere = get_with_token(hs1, "_matrix/client/v3/account/whoami", token).await;
        assert_eq!((elsewhere.status, &elsewhere.json), (401, &unknown_token), "hs1 does not know hs2's tokens");

        server.expire_access_tokens();
        let expired = get_with_token(hs2, "_matrix/client/v3/account/whoami", token).await;
        assert_eq!(expired.status, 401, "expired");
        assert_eq!(expired.json["soft_logout"], true, "an expired token is a soft logout: refresh");
        let refresh_url = hs2.join("_matrix/client/v3/refresh").expect("URL");
        let refresh_body = json!({"refresh_token": session["refresh_token"]}).to_string();
        let renewed = post_raw(&refresh_url, &refresh_body).await;
        assert_eq!(renewed.status, 200, "the refresh token works: {:?}", renewed.json);
        assert_ne!(renewed.json["refresh_token"], session["refresh_token"], "rotated");
        let new_token = renewed.json["access_token"].as_str().expect("a new access token");
        let answer = get_with_token(hs2, "_matrix/client/v3/account/whoami", new_token).await;
        assert_eq!(answer.json["device_id"], session["device_id"], "the same device, refreshed");
        let again = post_raw(&refresh_url, &refresh_body).await;
        assert_eq!((again.status, again.json["errcode"].as_str()), (401, Some("M_UNKNOWN_TOKEN")), "used up");

        let profile =
            get(hs2, &format!("_matrix/client/v3/profile/{}", session["user_id"].as_str().expect("id"))).await;
        assert_eq!(profile.json, json!({"displayname": "Bob Builder"}), "bob's display name");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn logout_ends_the_device_and_its_refresh_token_and_devices_lists_the_rest() {
        let server = start(Scenario::default()).await;
        let hs1 = &server.matrix_homeserver_urls()["hs1"];
        let mut kitchen = password_login("alice", "wonderland");
        kitchen["device_id"] = json!("KITCHEN");
        kitchen["initial_device_display_name"] = json!("Kitchen tablet");
        let first = login(hs1, &kitchen).await.json;
        let mut study = password_login("alice", "wonderland");
        study["device_id"] = json!("STUDY");
        let second = login(hs1, &study).await.json;
        let carol = login(hs1, &password_login("carol", "rate-limit")).await;
        assert_eq!(carol.status, 429, "carol's first login is rate limited");
        let carol = login(hs1, &password_login("carol", "rate-limit")).await.json;
        let token = |session: &serde_json::Value| session["access_token"].as_str().expect("a token").to_owned();

        let devices = get_with_token(hs1, "_matrix/client/v3/devices", &token(&second)).await;
        assert_eq!(devices.status, 200, "devices: {:?}", devices.json);
        assert_eq!(
            devices.json,
            json!({"devices": [
                {"device_id": "KITCHEN", "display_name": "Kitchen tablet"},
                {"device_id": "STUDY", "display_name": "Homeport tests"},
            ]}),
            "alice's two devices, not carol's"
        );

        let logout_url = hs1.join("_matrix/client/v3/logout").expect("URL");
        let logout = |token: String| {
            let url = logout_url.clone();
            async move {
                let response = crate::testing::localhost_client()
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({}))
                    .send()
                    .await
                    .expect("logout answers");
                let status = response.status().as_u16();
                (status, response.json::<serde_json::Value>().await.expect("JSON"))
            }
        };
        assert_eq!(logout(token(&first)).await, (200, json!({})), "the kitchen device logs out");
        let whoami = get_with_token(hs1, "_matrix/client/v3/account/whoami", &token(&first)).await;
        assert_eq!((whoami.status, whoami.json["soft_logout"].as_bool()), (401, Some(false)), "its token is gone");
        let refresh_url = hs1.join("_matrix/client/v3/refresh").expect("URL");
        let refresh = post_raw(&refresh_url, &json!({"refresh_token": first["refresh_token"]}).to_string()).await;
        assert_eq!((refresh.status, refresh.json["errcode"].as_str()), (401, Some("M_UNKNOWN_TOKEN")), "refresh too");
        let devices = get_with_token(hs1, "_matrix/client/v3/devices", &token(&second)).await;
        assert_eq!(devices.json["devices"].as_array().map(Vec::len), Some(1), "one device left: {:?}", devices.json);

        server.expire_access_tokens();
        assert_eq!(logout(token(&second)).await, (200, json!({})), "an expired token still logs out, as at Synapse");
        let refresh = post_raw(&refresh_url, &json!({"refresh_token": second["refresh_token"]}).to_string()).await;
        assert_eq!(refresh.status, 401, "the study device's refresh token ended with it");
        let (status, answer) = logout("garbage".to_owned()).await;
        assert_eq!((status, answer["errcode"].as_str()), (401, Some("M_UNKNOWN_TOKEN")), "an unknown token");
        let carol_refresh = post_raw(&refresh_url, &json!({"refresh_token": carol["refresh_token"]}).to_string()).await;
        assert_eq!(carol_refresh.status, 200, "carol's session is untouched");
        server.shutdown().await;
    }
}
