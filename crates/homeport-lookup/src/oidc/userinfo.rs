//! `GET|POST /userinfo` with a bearer access token of the zone.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::answers::{no_store, unauthorized, InZone};
use super::{bearer_token, Provider};

/// `GET|POST /userinfo` with a bearer access token of this zone.
pub(super) async fn userinfo(
    State(provider): State<Arc<Provider>>,
    InZone(zone): InZone,
    headers: HeaderMap,
) -> Response {
    let Some(token) = bearer_token(&headers) else {
        return unauthorized(format!("Bearer realm=\"{}\"", provider.issuer(zone)));
    };
    let claims = match provider.validate_access(zone, token) {
        Ok(claims) => claims,
        Err(problem) => return unauthorized(problem.challenge()),
    };
    let Some(user) = claims.user(provider.people()) else {
        return unauthorized(super::TokenProblem::Invalid.challenge());
    };
    let mut info = json!({
        "sub": user.sub,
        "name": user.display_name,
        "preferred_username": user.login,
        "email": user.email,
        "email_verified": true,
    });
    if let Some(zid) = claims.zid {
        info["zid"] = Value::from(zid);
    }
    (no_store(), Json(info)).into_response()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::testing::{access_token, localhost_client, log_in, start};

    use crate::scenario::Scenario;
    #[tokio::test]
    async fn expired_access_tokens_are_refused_at_userinfo() {
        let server = start(Scenario { token_lifetime: Duration::from_secs(1), ..Scenario::default() }).await;
        let issuer = server.idp_issuer();
        let tokens = log_in(&issuer, "marie", "radioactivity").await;
        assert_eq!(tokens["expires_in"], 1, "the scenario's lifetime");
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let response = localhost_client()
            .get(format!("{issuer}/userinfo"))
            .bearer_auth(access_token(&tokens))
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status(), 401, "expired");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\", error_description=\"The Access Token expired\"",
            "seed 002's message"
        );
        server.shutdown().await;
    }
}
