//! One oCIS instance: `status.php`, WebDAV (legacy and spaces-less new endpoint) and the OCS user, for valid
//! bearer tokens of the IdP only.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use serde_json::json;
use url::Url;

use super::external::ExternalIssuer;
use super::{ocis_account, ocis_home, ocis_status, BearerRefusal};
use crate::dav::{dav_files_owner, legacy_relative, route_each, serve_home, DAV_FILES_ROUTES, LEGACY_WEBDAV_ROUTES};
use crate::oidc::Provider;
use crate::owncloud::not_found;
use crate::owncloud::ocs::{self, OcsFormat, OcsVersion};
use crate::owncloud::webdav::encode_path;
use crate::people::OcisAccount;

#[derive(Debug)]
pub(crate) struct OcisInstanceState {
    /// `A` or `B`.
    pub(crate) name: String,
    /// Base URL with trailing slash: the realm of its challenges.
    pub(crate) url: Url,
    pub(crate) provider: Arc<Provider>,
    /// The issuer oCIS trusts instead of `provider`, when the scenario names one.
    pub(crate) external: Option<Arc<ExternalIssuer>>,
}

impl OcisInstanceState {
    fn realm(&self) -> &str {
        self.url.as_str().trim_end_matches('/')
    }

    /// The account behind the bearer token (its user name and oCIS account), if it lives on this instance.
    async fn account(&self, headers: &HeaderMap) -> Result<(String, &'static OcisAccount), BearerRefusal> {
        let (user, account) = ocis_account(&self.provider, self.external.as_deref(), headers).await?;
        if !account.instances.contains(&self.name.as_str()) {
            return Err(BearerRefusal::Forbidden(format!(
                "{} has no account on instance {}",
                account.login, self.name
            )));
        }
        Ok((user, account))
    }
}

pub(crate) fn router(state: Arc<OcisInstanceState>) -> Router {
    let router = Router::new().route("/status.php", get(status));
    let router = route_each(router, LEGACY_WEBDAV_ROUTES, any(legacy_webdav));
    route_each(router, DAV_FILES_ROUTES, any(dav_files))
        .route("/ocs/{version}/cloud/user", get(user))
        .fallback(fallback)
        .with_state(state)
}

pub(crate) async fn fallback() -> Response {
    (StatusCode::NOT_FOUND, "404 page not found\n").into_response()
}

async fn status(State(state): State<Arc<OcisInstanceState>>) -> Response {
    Json(ocis_status(state.provider.people())).into_response()
}

async fn legacy_webdav(
    State(state): State<Arc<OcisInstanceState>>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    if let Err(refusal) = state.account(&headers).await {
        return refusal.dav_response(state.realm());
    }
    let home = ocis_home("/remote.php/webdav/".to_owned(), &state.name);
    serve_home(&method, &headers, legacy_relative(uri.path()), &home)
}

async fn dav_files(
    State(state): State<Arc<OcisInstanceState>>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let (user, _) = match state.account(&headers).await {
        Ok(found) => found,
        Err(refusal) => return refusal.dav_response(state.realm()),
    };
    let Some((owner, relative)) = dav_files_owner(uri.path()) else {
        return not_found();
    };
    if owner != user {
        return not_found();
    }
    let home_href = format!("/remote.php/dav/files/{}/", encode_path(&owner));
    serve_home(&method, &headers, relative, &ocis_home(home_href, &state.name))
}

/// `ocs/v{1,2}.php/cloud/user` for the bearer's user (JSON with `?format=json`, else XML).
async fn user(
    State(state): State<Arc<OcisInstanceState>>,
    Path(version): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let Some(version) = OcsVersion::from_segment(&version) else {
        return not_found();
    };
    let format = OcsFormat::from_query(uri.query());
    let user = match state.account(&headers).await {
        Ok((user, _)) => user,
        Err(refusal) => {
            let (status, code) = match refusal {
                BearerRefusal::Forbidden(_) => (StatusCode::FORBIDDEN, 403),
                _ => (StatusCode::UNAUTHORIZED, 997),
            };
            return ocs::unauthorised(status, format, code, refusal.challenge(state.realm()).as_deref());
        }
    };
    let Some(user) = state.provider.people().find_oidc_user(&user) else {
        return not_found();
    };
    ocs::ok(
        version,
        format,
        json!({
            "id": user.login,
            "display-name": user.display_name,
            "email": user.email,
            "language": "en",
        }),
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::Value;

    use crate::testing::{access_token, localhost_client, log_in, propfind, start};
    use crate::Scenario;

    #[tokio::test]
    async fn instances_serve_valid_bearer_tokens_of_their_accounts() {
        let server = start(Scenario::default()).await;
        let a = &server.ocis_instance_urls()["A"];
        let b = &server.ocis_instance_urls()["B"];
        let marie = access_token(&log_in(&server.idp_issuer(), "marie", "radioactivity").await);
        for url in [a, b] {
            for path in ["remote.php/dav/files/marie/", "remote.php/webdav/"] {
                let response = propfind(&localhost_client(), url.join(path).expect("URL"))
                    .bearer_auth(&marie)
                    .header("Depth", "1")
                    .send()
                    .await
                    .expect("answers");
                assert_eq!(response.status(), 207, "{url}{path}: Multi-Status for marie");
                let body = response.text().await.expect("body");
                assert!(body.contains(&format!("<d:href>/{path}Documents/</d:href>")), "{path}: the home: {body}");
            }
        }
        let user: Value = localhost_client()
            .get(a.join("ocs/v1.php/cloud/user?format=json").expect("URL"))
            .bearer_auth(&marie)
            .send()
            .await
            .expect("answers")
            .json()
            .await
            .expect("JSON");
        assert_eq!(user["ocs"]["meta"]["statuscode"], 100, "OCS ok");
        assert_eq!(user["ocs"]["data"]["id"], "marie", "the user id");
        assert_eq!(user["ocs"]["data"]["display-name"], "Marie Curie", "the display name");

        let einstein = access_token(&log_in(&server.idp_issuer(), "einstein", "relativity").await);
        let response = propfind(&localhost_client(), b.join("remote.php/webdav/").expect("URL"))
            .bearer_auth(&einstein)
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status(), 403, "einstein has no account on B");
        let response = propfind(&localhost_client(), a.join("remote.php/dav/files/marie/").expect("URL"))
            .bearer_auth(&einstein)
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status(), 404, "another user's files do not exist for einstein");

        let response =
            propfind(&localhost_client(), a.join("remote.php/webdav/").expect("URL")).send().await.expect("answers");
        assert_eq!(response.status(), 401, "no token");
        assert!(
            response.headers()["www-authenticate"].to_str().expect("ASCII").starts_with("Bearer realm="),
            "a Bearer challenge"
        );
        let zone_token =
            access_token(&log_in(&server.tenant_issuer("tenant1").expect("zone"), "marie", "radioactivity").await);
        let response = propfind(&localhost_client(), a.join("remote.php/webdav/").expect("URL"))
            .bearer_auth(&zone_token)
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status(), 401, "a tenant zone's token is not oCIS's");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn a_disabled_account_is_refused_with_seed_002s_reason() {
        let server = start(Scenario::default()).await;
        let richard = access_token(&log_in(&server.idp_issuer(), "richard", "superfluidity").await);
        let url = server.ocis_instance_urls()["A"].join("remote.php/dav/files/richard/").expect("URL");
        let response = propfind(&localhost_client(), url).bearer_auth(&richard).send().await.expect("answers");
        assert_eq!(response.status(), 401, "disabled");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\", error_description=\"account is disabled\"",
            "the reason is in the challenge"
        );
        server.shutdown().await;
    }

    #[tokio::test]
    async fn an_expired_token_is_refused_with_invalid_token() {
        let server = start(Scenario { token_lifetime: Duration::from_secs(1), ..Scenario::default() }).await;
        let einstein = access_token(&log_in(&server.idp_issuer(), "einstein", "relativity").await);
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let url = server.ocis_instance_urls()["A"].join("remote.php/webdav/").expect("URL");
        let response = propfind(&localhost_client(), url).bearer_auth(&einstein).send().await.expect("answers");
        assert_eq!(response.status(), 401, "expired");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\", error_description=\"The Access Token expired\"",
            "seed 002's challenge"
        );
        server.shutdown().await;
    }
}
