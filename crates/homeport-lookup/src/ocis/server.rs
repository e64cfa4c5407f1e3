//! The oCIS server a person types: `status.php`, the Bearer challenge on WebDAV, and WebFinger (the IdP for the
//! server, the instances for an account).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use serde_json::{json, Value};
use url::Url;

use super::external::ExternalIssuer;
use super::instance::fallback;
use super::{
    instance_title, ocis_account, ocis_home, ocis_issuer, ocis_status, ocis_user, BearerRefusal, INSTANCE_REL,
    ISSUER_REL,
};
use crate::dav::{dav_files_owner, route_each, serve_home, DAV_FILES_ROUTES, LEGACY_WEBDAV, LEGACY_WEBDAV_ROUTES};
use crate::oidc::Provider;
use crate::owncloud::not_found;
use crate::owncloud::webdav::encode_path;
use crate::Fault;

/// Fault `webfinger-many-instances`: the retired instance still in WebFinger's configuration, by name, and the
/// path on the oCIS server its URL points to (where everything answers 404).
const RETIRED_INSTANCE: (&str, &str) = ("C", "retired/c/");

#[derive(Debug)]
pub(crate) struct OcisState {
    /// The server's URL with trailing slash.
    pub(crate) url: Url,
    pub(crate) provider: Arc<Provider>,
    /// The issuer oCIS trusts instead of `provider`, when the scenario names one.
    pub(crate) external: Option<Arc<ExternalIssuer>>,
    /// Each instance's base URL (trailing slash) by name.
    pub(crate) instances: BTreeMap<String, Url>,
    /// The scenario's fault; WebFinger acts out `webfinger-no-instances` and `webfinger-many-instances`.
    pub(crate) fault: Option<Fault>,
}

impl OcisState {
    fn realm(&self) -> &str {
        self.url.as_str().trim_end_matches('/')
    }

    /// `host:port` of the server, as an `acct:` resource names it.
    fn authority(&self) -> String {
        match self.url.port() {
            Some(port) => format!("{}:{port}", self.url.host_str().unwrap_or_default()),
            None => self.url.host_str().unwrap_or_default().to_owned(),
        }
    }
}

pub(crate) fn router(state: Arc<OcisState>) -> Router {
    let router = Router::new().route("/status.php", get(status)).route("/.well-known/webfinger", get(webfinger));
    let router = route_each(router, LEGACY_WEBDAV_ROUTES, any(webdav));
    route_each(router, DAV_FILES_ROUTES, any(webdav)).fallback(fallback).with_state(state)
}

async fn status(State(state): State<Arc<OcisState>>) -> Response {
    Json(ocis_status(state.provider.people())).into_response()
}

/// WebDAV at the server itself: a challenge naming the server as realm; with a valid bearer token the proxy
/// answers for the account's first instance.
async fn webdav(State(state): State<Arc<OcisState>>, method: Method, headers: HeaderMap, uri: Uri) -> Response {
    let (user, account) = match ocis_account(&state.provider, state.external.as_deref(), &headers).await {
        Ok(found) => found,
        Err(refusal) => return refusal.dav_response(state.realm()),
    };
    let instance = account.instances.first().copied().unwrap_or("A");
    if let Some(relative) = uri.path().strip_prefix(LEGACY_WEBDAV) {
        return serve_home(&method, &headers, relative, &ocis_home("/remote.php/webdav/".to_owned(), instance));
    }
    match dav_files_owner(uri.path()) {
        Some((owner, relative)) if owner == user => {
            let home_href = format!("/remote.php/dav/files/{}/", encode_path(&owner));
            serve_home(&method, &headers, relative, &ocis_home(home_href, instance))
        }
        _ => not_found(),
    }
}

/// RFC 7033: the IdP of the server (anonymous), or the instances of an account (bearer of that account).
async fn webfinger(State(state): State<Arc<OcisState>>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
    let resources: Vec<&str> =
        params.iter().filter(|(key, _)| key == "resource").map(|(_, value)| value.as_str()).collect();
    let [resource] = resources.as_slice() else {
        return jrd_error(StatusCode::BAD_REQUEST, "exactly one resource parameter is required");
    };
    let rels: Vec<&str> = params.iter().filter(|(key, _)| key == "rel").map(|(_, value)| value.as_str()).collect();
    let issuer_link = json!({"rel": ISSUER_REL, "href": ocis_issuer(&state.provider, state.external.as_deref())});

    let links = if resource.trim_end_matches('/') == state.realm() {
        vec![issuer_link]
    } else if let Some(account) = resource.strip_prefix("acct:") {
        let Some((user, host)) = account.rsplit_once('@') else {
            return jrd_error(StatusCode::NOT_FOUND, "unknown resource");
        };
        if !host.eq_ignore_ascii_case(&state.authority()) {
            return jrd_error(StatusCode::NOT_FOUND, "the account is not on this server");
        }
        let bearer = match ocis_user(&state.provider, state.external.as_deref(), &headers).await {
            Ok(bearer) => bearer,
            Err(refusal) => return jrd_refusal(&refusal, state.realm()),
        };
        if bearer != user {
            return jrd_error(StatusCode::FORBIDDEN, "the bearer token belongs to another account");
        }
        let Some(account) = state.provider.people().find_ocis_account(user) else {
            return jrd_error(StatusCode::NOT_FOUND, "unknown account");
        };
        let mut links = vec![issuer_link];
        for (name, url) in instances_of(&state, account.instances) {
            links.push(json!({
                "rel": INSTANCE_REL,
                "href": url.as_str(),
                "titles": {"en": instance_title(name)},
            }));
        }
        links
    } else {
        return jrd_error(StatusCode::NOT_FOUND, "unknown resource");
    };
    let links: Vec<Value> = links
        .into_iter()
        .filter(|link| rels.is_empty() || rels.iter().any(|rel| link["rel"].as_str() == Some(rel)))
        .collect();
    jrd(StatusCode::OK, &json!({"subject": resource, "links": links}))
}

/// The instances WebFinger names for an account living on `own`: those, unless a fault says otherwise (no
/// instance rule matches anyone; or every rule matches everyone, a retired instance's included).
fn instances_of<'a>(state: &'a OcisState, own: &'a [&'static str]) -> Vec<(&'a str, Url)> {
    let known = |name: &'a str| state.instances.get(name).map(|url| (name, url.clone()));
    match state.fault {
        Some(Fault::WebfingerNoInstances) => Vec::new(),
        Some(Fault::WebfingerManyInstances) => {
            let (retired, path) = RETIRED_INSTANCE;
            let mut all: Vec<(&str, Url)> = state.instances.keys().filter_map(|name| known(name)).collect();
            all.extend(state.url.join(path).ok().map(|url| (retired, url)));
            all
        }
        _ => own.iter().filter_map(|name| known(name)).collect(),
    }
}

fn jrd(status: StatusCode, document: &Value) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/jrd+json")),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*")),
        ],
        document.to_string(),
    )
        .into_response()
}

fn jrd_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

fn jrd_refusal(refusal: &BearerRefusal, realm: &str) -> Response {
    let status = match refusal {
        BearerRefusal::Forbidden(_) => StatusCode::FORBIDDEN,
        _ => StatusCode::UNAUTHORIZED,
    };
    let mut response = jrd_error(status, "a valid bearer token of the account is required");
    if let Some(challenge) = refusal.challenge(realm).and_then(|value| HeaderValue::from_str(&value).ok()) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
    }
    response
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::testing::{access_token, localhost_client, log_in, propfind, start};
    use crate::{Fault, Scenario};

    use super::{INSTANCE_REL, ISSUER_REL};

    #[tokio::test]
    async fn status_and_the_bearer_challenge_announce_infinite_scale() {
        let server = start(Scenario::default()).await;
        let status: Value = localhost_client()
            .get(server.ocis_url().join("status.php").expect("URL"))
            .send()
            .await
            .expect("answers")
            .json()
            .await
            .expect("JSON");
        assert_eq!(
            status,
            json!({"installed": true, "maintenance": false, "needsDbUpgrade": false, "version": "7.1.0",
                   "versionstring": "7.1.0", "edition": "Community", "productname": "Infinite Scale",
                   "product": "Infinite Scale"}),
            "oCIS's status.php"
        );
        let realm = server.ocis_url().as_str().trim_end_matches('/').to_owned();
        for path in ["remote.php/webdav/", "remote.php/dav/files/einstein/"] {
            let response = propfind(&localhost_client(), server.ocis_url().join(path).expect("URL"))
                .send()
                .await
                .expect("answers");
            assert_eq!(response.status(), 401, "{path}: a challenge");
            assert_eq!(response.headers()["www-authenticate"], format!("Bearer realm=\"{realm}\"").as_str(), "{path}");
        }
        server.shutdown().await;
    }

    async fn webfinger(url: &url::Url, resource: &str, rel: &str, token: Option<&str>) -> reqwest::Response {
        let mut url = url.join(".well-known/webfinger").expect("URL");
        url.query_pairs_mut().append_pair("resource", resource).append_pair("rel", rel);
        let mut request = localhost_client().get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("WebFinger answers")
    }

    #[tokio::test]
    async fn webfinger_names_the_issuer_and_each_accounts_instances() {
        let server = start(Scenario::default()).await;
        let ocis = server.ocis_url();
        let response = webfinger(ocis, ocis.as_str(), ISSUER_REL, None).await;
        assert_eq!(response.status(), 200, "the issuer is public");
        assert_eq!(response.headers()["content-type"], "application/jrd+json", "a JRD");
        let jrd: Value = response.json().await.expect("JSON");
        assert_eq!(
            jrd,
            json!({"subject": ocis.as_str(), "links": [{"rel": ISSUER_REL, "href": server.idp_issuer()}]}),
            "the IdP's issuer"
        );

        let authority = format!("{}:{}", ocis.host_str().expect("host"), ocis.port().expect("port"));
        let instances = server.ocis_instance_urls();
        for (user, password, expected) in [
            ("einstein", "relativity", vec!["A"]),
            ("marie", "radioactivity", vec!["A", "B"]),
            ("richard", "superfluidity", vec!["A"]),
        ] {
            let token = access_token(&log_in(&server.idp_issuer(), user, password).await);
            let resource = format!("acct:{user}@{authority}");
            let response = webfinger(ocis, &resource, INSTANCE_REL, Some(&token)).await;
            assert_eq!(response.status(), 200, "{user}: own account");
            let jrd: Value = response.json().await.expect("JSON");
            assert_eq!(jrd["subject"], resource.as_str(), "{user}: the subject is the resource");
            let links = jrd["links"].as_array().expect("links");
            let hrefs: Vec<&str> = links.iter().filter_map(|link| link["href"].as_str()).collect();
            let wanted: Vec<&str> = expected.iter().map(|name| instances[*name].as_str()).collect();
            assert_eq!(hrefs, wanted, "{user}: the instances");
            assert!(links.iter().all(|link| link["rel"] == INSTANCE_REL), "{user}: only the asked rel");
            assert_eq!(links[0]["titles"]["en"], format!("Instance {}", expected[0]).as_str(), "{user}: a title");

            let other = format!("acct:someone-else@{authority}");
            let response = webfinger(ocis, &other, INSTANCE_REL, Some(&token)).await;
            assert_eq!(response.status(), 403, "{user}: another account's instances are not told");
        }
        let response = webfinger(ocis, &format!("acct:marie@{authority}"), INSTANCE_REL, None).await;
        assert_eq!(response.status(), 401, "instances need the bearer token");
        let response = webfinger(ocis, &format!("acct:marie@{authority}"), INSTANCE_REL, Some("forged")).await;
        assert_eq!(response.status(), 401, "a forged token is refused");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\", error_description=\"invalid\"",
            "with the Bearer error"
        );
        server.shutdown().await;
    }

    /// The `server-instance` links WebFinger names for `user`, as (href, title).
    async fn instance_links(server: &crate::LookupServer, user: &str, password: &str) -> Vec<(String, String)> {
        let ocis = server.ocis_url();
        let authority = format!("{}:{}", ocis.host_str().expect("host"), ocis.port().expect("port"));
        let token = access_token(&log_in(&server.idp_issuer(), user, password).await);
        let response = webfinger(ocis, &format!("acct:{user}@{authority}"), INSTANCE_REL, Some(&token)).await;
        assert_eq!(response.status(), 200, "{user}: WebFinger answers");
        let jrd: Value = response.json().await.expect("JSON");
        let links = jrd["links"].as_array().expect("links").clone();
        links
            .iter()
            .map(|link| {
                assert_eq!(link["rel"], INSTANCE_REL, "{user}: only instance links were asked for");
                let href = link["href"].as_str().expect("href").to_owned();
                (href, link["titles"]["en"].as_str().expect("a title").to_owned())
            })
            .collect()
    }

    #[tokio::test]
    async fn webfinger_no_instances_names_none_for_anyone_but_still_the_issuer() {
        let server = start(Scenario { fault: Some(Fault::WebfingerNoInstances), ..Scenario::default() }).await;
        for (user, password) in [("einstein", "relativity"), ("marie", "radioactivity")] {
            assert_eq!(instance_links(&server, user, password).await, Vec::new(), "{user}: no instance at all");
        }
        let ocis = server.ocis_url();
        let response = webfinger(ocis, ocis.as_str(), ISSUER_REL, None).await;
        let jrd: Value = response.json().await.expect("JSON");
        assert_eq!(jrd["links"][0]["href"], server.idp_issuer().as_str(), "issuer discovery still works");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn webfinger_many_instances_names_a_b_and_a_retired_c_for_everyone() {
        let server = start(Scenario { fault: Some(Fault::WebfingerManyInstances), ..Scenario::default() }).await;
        let instances = server.ocis_instance_urls();
        let retired = server.ocis_url().join("retired/c/").expect("URL");
        let expected = vec![
            (instances["A"].to_string(), "Instance A".to_owned()),
            (instances["B"].to_string(), "Instance B".to_owned()),
            (retired.to_string(), "Instance C".to_owned()),
        ];
        for (user, password) in [("einstein", "relativity"), ("marie", "radioactivity")] {
            assert_eq!(instance_links(&server, user, password).await, expected, "{user}: three instances to choose");
        }
        let token = access_token(&log_in(&server.idp_issuer(), "einstein", "relativity").await);
        let at = |base: &url::Url| base.join("remote.php/dav/files/einstein/").expect("URL");
        let client = localhost_client();
        let answer = |url: url::Url| {
            let request = propfind(&client, url).bearer_auth(&token).header("Depth", "0");
            async move { request.send().await.expect("answers").status().as_u16() }
        };
        assert_eq!(answer(at(&instances["A"])).await, 207, "einstein's data is on A");
        assert_eq!(answer(at(&instances["B"])).await, 403, "B has no account for einstein");
        assert_eq!(answer(at(&retired)).await, 404, "the retired instance's URL answers 404");
        let status = client.get(retired.join("status.php").expect("URL")).send().await.expect("answers");
        assert_eq!(status.status(), 404, "even its status.php");
        server.shutdown().await;
    }
}
