//! The login portals of MSC1730: clients log in at the portal, which picks the user's homeserver and either
//! proxies the login there (adding `well_known` and `base_cs_url` to the answer) or redirects it with a `307`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use url::Url;

use super::api::{
    json_response, login_flows, merge, method_not_allowed, unrecognized, versions, well_known, LoginKind, LoginRequest,
    MatrixError,
};
use super::sso;
use super::state::{PortalMode, PortalState, MAX_FORWARDED_BYTES};
use super::LOGIN_PATH;

pub(crate) fn router(state: Arc<PortalState>) -> Router {
    Router::new()
        .route("/.well-known/matrix/client", get(client_well_known))
        .route("/_matrix/client/versions", get(client_versions))
        .route("/_matrix/client/v3/login", get(flows).post(login))
        .merge(sso::routes())
        .fallback(unrecognized)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

fn ok(body: Value) -> Response {
    json_response(StatusCode::OK, body)
}

/// A portal names itself: clients log in at the portal.
async fn client_well_known(State(state): State<Arc<PortalState>>) -> Response {
    ok(well_known(&state.url))
}

async fn client_versions() -> Response {
    ok(versions())
}

async fn flows() -> Response {
    ok(login_flows(true))
}

/// `POST /_matrix/client/v3/login`: the user's homeserver decides; the mode says how the client gets there.
async fn login(State(state): State<Arc<PortalState>>, body: Bytes) -> Response {
    let request = match LoginRequest::parse(&body) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    let homeserver = match &request.kind {
        LoginKind::Password { user, .. } => match state.matrix.find_user(user) {
            Some(user) => user.homeserver,
            None => return MatrixError::forbidden().into_response(),
        },
        // MSC1730's footnote [1]: the token is the only thing that identifies an SSO session, so the portal
        // looks up the state it stored under it.
        LoginKind::Token { token } => match state.matrix.login_token_homeserver(token) {
            Some(homeserver) => homeserver,
            None => return MatrixError::invalid_login_token().into_response(),
        },
    };
    match state.mode {
        PortalMode::Redirect => redirect(&state, &request, homeserver),
        PortalMode::Proxy => proxy(&state, body, homeserver).await,
    }
}

/// `307` to the homeserver's login, without looking at the password: the homeserver checks it.
fn redirect(state: &PortalState, request: &LoginRequest, homeserver: &str) -> Response {
    if let LoginKind::Password { user, .. } = &request.kind {
        // The rate limit is the portal's: the first attempt never leaves it.
        if let Some(user) = state.matrix.find_user(user) {
            if let Err(limited) = state.matrix.rate_limit(user) {
                return limited.into_response();
            }
        }
    }
    let location = state.matrix.advertised_base(homeserver).and_then(|base| base.join(LOGIN_PATH).ok());
    let Some(location) = location.and_then(|url| HeaderValue::from_str(url.as_str()).ok()) else {
        return MatrixError::new(StatusCode::INTERNAL_SERVER_ERROR, "M_UNKNOWN", "no homeserver URL").into_response();
    };
    (
        StatusCode::TEMPORARY_REDIRECT,
        [(header::LOCATION, location), (header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
    )
        .into_response()
}

/// Passes the login body on to the homeserver unchanged; its errors come back as they are, its success with
/// `well_known` (the spec's field) and `base_cs_url` (MSC1730's original one).
async fn proxy(state: &PortalState, body: Bytes, homeserver: &str) -> Response {
    let (Some(real), Some(advertised)) =
        (state.matrix.homeserver_url(homeserver), state.matrix.advertised_base(homeserver))
    else {
        return MatrixError::new(StatusCode::INTERNAL_SERVER_ERROR, "M_UNKNOWN", "no homeserver URL").into_response();
    };
    let Ok(login_url) = real.join(LOGIN_PATH) else {
        return MatrixError::new(StatusCode::INTERNAL_SERVER_ERROR, "M_UNKNOWN", "no login URL").into_response();
    };
    let (status, answer) = match forward(&state.client, login_url, body).await {
        Ok(answer) => answer,
        Err(problem) => {
            return MatrixError::new(
                StatusCode::BAD_GATEWAY,
                "M_UNKNOWN",
                format!("the homeserver {homeserver} did not answer: {problem}"),
            )
            .into_response()
        }
    };
    let mut answer = answer;
    if status == StatusCode::OK {
        merge(
            &mut answer,
            json!({
                "well_known": well_known(&advertised),
                "base_cs_url": advertised.as_str(),
            }),
        );
    }
    json_response(status, answer)
}

/// POSTs `body` to `url`: the status and the JSON answer.
async fn forward(client: &reqwest::Client, url: Url, body: Bytes) -> Result<(StatusCode, Value), String> {
    let mut response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|error| error.to_string())?;
    let status = StatusCode::from_u16(response.status().as_u16()).map_err(|error| error.to_string())?;
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|error| error.to_string())? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_FORWARDED_BYTES {
            return Err("the answer is too large".into());
        }
    }
    let answer = serde_json::from_slice(&bytes).map_err(|error| format!("the answer is not JSON: {error}"))?;
    Ok((status, answer))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::matrix::test_support::{get, login, password_login, post_raw, token_login};
    use crate::matrix::LOGIN_PATH;
    use crate::testing::start;
    use crate::{Fault, Scenario};

    fn login_posts_at(server: &crate::LookupServer, name: &str) -> usize {
        server.matrix_login_posts(name)
    }

    #[tokio::test]
    async fn portals_name_themselves_and_offer_sso() {
        let server = start(Scenario::default()).await;
        for (portal, host) in
            [(server.matrix_portal_url(), "proxy.localhost"), (server.matrix_portal_307_url(), "redirect.localhost")]
        {
            assert_eq!(portal.host_str(), Some(host), "the portal's host");
            let answer = get(portal, ".well-known/matrix/client").await;
            assert_eq!(
                answer.json,
                json!({"m.homeserver": {"base_url": portal.as_str().trim_end_matches('/')}}),
                "{host}: clients log in at the portal"
            );
            let answer = get(portal, "_matrix/client/versions").await;
            assert_eq!(answer.json["versions"].as_array().map(Vec::len), Some(11), "{host}: v1.1 to v1.11");
            let answer = get(portal, "_matrix/client/v3/login").await;
            assert_eq!(
                answer.json,
                json!({"flows": [
                    {"type": "m.login.password"},
                    {"type": "m.login.sso", "identity_providers": [{"id": "portal", "name": "Portal login"}]},
                    {"type": "m.login.token"},
                ]}),
                "{host}: password, SSO and token"
            );
            let answer = get(portal, "_matrix/client/v3/account/whoami").await;
            assert_eq!((answer.status, answer.json["errcode"].as_str()), (404, Some("M_UNRECOGNIZED")), "{host}");
        }
        server.shutdown().await;
    }

    #[tokio::test]
    async fn the_proxy_portal_logs_in_at_the_users_homeserver_and_names_its_base_url() {
        let server = start(Scenario::default()).await;
        let portal = server.matrix_portal_url();
        for (user, password, homeserver) in [("alice", "wonderland", "hs1"), ("bob", "builder", "hs2")] {
            let base = &server.matrix_homeserver_urls()[homeserver];
            let answer = login(portal, &password_login(user, password)).await;
            assert_eq!(answer.status, 200, "{user} logs in through the portal: {:?}", answer.json);
            assert_eq!(answer.json["user_id"], format!("@{user}:{}", base.authority()), "{user}'s id");
            assert_eq!(answer.json["home_server"], base.authority(), "the homeserver's server name");
            assert_eq!(
                answer.json["well_known"],
                json!({"m.homeserver": {"base_url": base.as_str().trim_end_matches('/')}}),
                "{user}: the spec's well_known names the homeserver"
            );
            assert_eq!(answer.json["base_cs_url"], base.as_str(), "{user}: MSC1730's base_cs_url, with slash");
            let whoami = crate::matrix::test_support::get_with_token(
                base,
                "_matrix/client/v3/account/whoami",
                answer.json["access_token"].as_str().expect("a token"),
            )
            .await;
            assert_eq!(whoami.json["user_id"], answer.json["user_id"], "the token is the homeserver's own");
        }
        let by_portal_name =
            login(portal, &password_login(&format!("@alice:{}", portal.authority()), "wonderland")).await;
        assert_eq!(by_portal_name.status, 200, "an id on the portal's name passes through: {:?}", by_portal_name.json);
        assert_eq!(login_posts_at(&server, "hs1"), 2, "the logins really reached hs1");
        assert_eq!(login_posts_at(&server, "hs2"), 1, "and bob's reached hs2");
        assert_eq!(login_posts_at(&server, "matrix-proxy"), 3, "all went through the portal");

        for (body, status, errcode) in [
            (password_login("alice", "wrong"), 403, "M_FORBIDDEN"),
            (password_login("mallory", "x"), 403, "M_FORBIDDEN"),
            (password_login("dave", "deactivated"), 403, "M_USER_DEACTIVATED"),
            (token_login("made-up"), 403, "M_FORBIDDEN"),
            (json!({"type": "m.login.magic"}), 400, "M_UNKNOWN"),
        ] {
            let answer = login(portal, &body).await;
            assert_eq!((answer.status, answer.json["errcode"].as_str()), (status, Some(errcode)), "{body}");
            assert!(answer.json.get("well_known").is_none(), "errors carry no base URL: {body}");
        }
        let not_json = post_raw(&portal.join(LOGIN_PATH).expect("URL"), "nope").await;
        assert_eq!((not_json.status, not_json.json["errcode"].as_str()), (400, Some("M_NOT_JSON")), "bad JSON");
        assert_eq!(login_posts_at(&server, "hs1"), 3, "only alice's wrong password was passed on to hs1");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn the_307_portal_redirects_without_checking_the_password() {
        let server = start(Scenario::default()).await;
        let portal = server.matrix_portal_307_url();
        let hs2 = &server.matrix_homeserver_urls()["hs2"];
        let body = password_login(&format!("@bob:{}", hs2.authority()), "builder");
        let answer = login(portal, &body).await;
        assert_eq!(answer.status, 307, "a temporary redirect that keeps the method");
        let location = answer.headers["location"].to_str().expect("ASCII");
        assert_eq!(location, format!("{hs2}_matrix/client/v3/login"), "to bob's homeserver's login");
        assert_eq!(answer.json, serde_json::Value::Null, "an empty body");
        assert_eq!(login_posts_at(&server, "hs2"), 0, "the password has not reached hs2 yet");

        let portal_id = format!("@bob:{}", portal.authority());
        let by_portal_name = login(portal, &password_login(&portal_id, "builder")).await;
        assert_eq!(by_portal_name.headers["location"], location, "an id on the portal's name finds bob too");
        let followed =
            post_raw(&url::Url::parse(location).expect("URL"), &password_login(&portal_id, "builder").to_string())
                .await;
        assert_eq!(followed.status, 200, "and hs2 takes the same body: {:?}", followed.json);
        assert_eq!(followed.json["user_id"], format!("@bob:{}", hs2.authority()), "bob's own id comes back");
        assert_eq!(login_posts_at(&server, "hs2"), 1, "that re-POST reached hs2");

        let wrong = login(portal, &password_login("bob", "not-checked-here")).await;
        assert_eq!(wrong.status, 307, "the portal does not check passwords");

        let followed = post_raw(&url::Url::parse(location).expect("URL"), &body.to_string()).await;
        assert_eq!(followed.status, 200, "re-POSTed at the homeserver, the login succeeds: {:?}", followed.json);
        assert_eq!(followed.json["user_id"], format!("@bob:{}", hs2.authority()), "as bob");
        assert_eq!(login_posts_at(&server, "hs2"), 2, "the second re-POST reached hs2");

        let unknown = login(portal, &password_login("mallory", "x")).await;
        assert_eq!((unknown.status, unknown.json["errcode"].as_str()), (403, Some("M_FORBIDDEN")), "unknown user");
        let token = login(portal, &token_login("made-up")).await;
        assert_eq!((token.status, token.json["errcode"].as_str()), (403, Some("M_FORBIDDEN")), "unknown token");
        let dave = login(portal, &password_login("dave", "deactivated")).await;
        assert_eq!(dave.status, 307, "deactivation is the homeserver's to say");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn the_rate_limited_user_is_refused_once_then_logs_in() {
        let server = start(Scenario::default()).await;
        let limited = json!({"errcode": "M_LIMIT_EXCEEDED", "error": "Too many requests", "retry_after_ms": 400});
        let portal = server.matrix_portal_url();
        let first = login(portal, &password_login("carol", "rate-limit")).await;
        assert_eq!((first.status, &first.json), (429, &limited), "the first attempt is rate limited, passed through");
        let second = login(portal, &password_login("carol", "rate-limit")).await;
        assert_eq!(second.status, 200, "the retry succeeds: {:?}", second.json);
        assert!(second.json["base_cs_url"].is_string(), "with the base URL");
        server.shutdown().await;

        let server = start(Scenario::default()).await;
        let portal = server.matrix_portal_307_url();
        let first = login(portal, &password_login("carol", "rate-limit")).await;
        assert_eq!((first.status, &first.json), (429, &limited), "the 307 portal limits the first attempt itself");
        assert_eq!(login_posts_at(&server, "hs1"), 0, "the limited attempt never left the portal");
        let second = login(portal, &password_login("carol", "rate-limit")).await;
        assert_eq!(second.status, 307, "the retry is redirected");
        let hs1 = &server.matrix_homeserver_urls()["hs1"];
        let at_hs = login(hs1, &password_login("carol", "rate-limit")).await;
        assert_eq!(at_hs.status, 200, "and the homeserver logs carol in: one 429 per start");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn the_bad_base_url_fault_names_a_base_whose_versions_fail() {
        let server = start(Scenario { fault: Some(Fault::MatrixBadBaseUrl), ..Scenario::default() }).await;
        let hs1 = &server.matrix_homeserver_urls()["hs1"];
        let answer = login(server.matrix_portal_url(), &password_login("alice", "wonderland")).await;
        assert_eq!(answer.status, 200, "the login itself works: {:?}", answer.json);
        let base_cs_url = answer.json["base_cs_url"].as_str().expect("base_cs_url");
        let well_known = answer.json["well_known"]["m.homeserver"]["base_url"].as_str().expect("well_known");
        assert_ne!(base_cs_url, hs1.as_str(), "not the real homeserver");
        assert_eq!(format!("{well_known}/"), base_cs_url, "both fields name the same wrong base");

        let redirect = login(server.matrix_portal_307_url(), &password_login("alice", "wonderland")).await;
        let location = redirect.headers["location"].to_str().expect("ASCII").to_owned();
        assert_eq!(location, format!("{base_cs_url}_matrix/client/v3/login"), "the 307 names the wrong base too");

        let base = url::Url::parse(base_cs_url).expect("a URL");
        let started = std::time::Instant::now();
        let versions = get(&base, "_matrix/client/versions").await;
        assert_eq!(versions.status, 404, "versions fails under the advertised base");
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "and fails fast");
        let at_location = login(&base, &password_login("alice", "wonderland")).await;
        assert_eq!(at_location.status, 404, "the Location is no login endpoint either");
        assert_eq!(login_posts_at(&server, "hs1"), 1, "only the proxied login reached hs1's login");
        let well_known = get(server.matrix_portal_url(), ".well-known/matrix/client").await;
        assert_eq!(
            well_known.json["m.homeserver"]["base_url"],
            server.matrix_portal_url().as_str().trim_end_matches('/'),
            "the portal's own well-known is unchanged"
        );
        server.shutdown().await;
    }
}
