//! The central server: `status.php` and `remote.php/webdav`, nothing else — exactly the seed's two files.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use url::Url;

use super::{instance_for_login, not_found, status_response, unavailable, with_basic_challenge, BasicCredentials};
use crate::{Fault, Scenario};

const WEBDAV: &str = "/remote.php/webdav";
/// Where the redirect-loop fault bounces authenticated requests through.
const LOOP_WEBDAV: &str = "/loop/remote.php/webdav";

#[derive(Debug)]
pub(crate) struct CentralState {
    pub(crate) central: Url,
    /// Base URL (with trailing slash) of each instance.
    pub(crate) instances: BTreeMap<String, Url>,
    pub(crate) scenario: Scenario,
}

/// The central server's routes; the caller adds the path-layout instances, the 404 fallback and the recorder.
pub(crate) fn router(state: Arc<CentralState>) -> Router {
    let looping = state.scenario.fault == Some(Fault::RedirectLoop);
    let mut router = Router::new()
        .route("/status.php", get(status))
        .route(WEBDAV, any(webdav))
        .route("/remote.php/webdav/", any(webdav))
        .route("/remote.php/webdav/{*rest}", any(webdav));
    if looping {
        router = router
            .route(LOOP_WEBDAV, any(loop_back))
            .route("/loop/remote.php/webdav/", any(loop_back))
            .route("/loop/remote.php/webdav/{*rest}", any(loop_back));
    }
    router.with_state(state)
}

pub(crate) async fn fallback() -> Response {
    // The seed's central server is two PHP files; the web server answers everything else with a plain 404.
    (StatusCode::NOT_FOUND, "Not Found").into_response()
}

async fn status(State(state): State<Arc<CentralState>>) -> Response {
    status_response(state.scenario.fault)
}

/// Any method on `remote.php/webdav[/...]`: challenge, or redirect by the user name's domain.
async fn webdav(State(state): State<Arc<CentralState>>, headers: HeaderMap, uri: Uri) -> Response {
    if let Some(outage) = unavailable(state.scenario.fault) {
        return outage;
    }
    // The central server only reads the user name; it cannot check a password it does not know.
    let Some(credentials) = BasicCredentials::from_headers(&headers) else {
        return challenge();
    };
    let rest = rest_after(&uri, WEBDAV);
    if state.scenario.fault == Some(Fault::RedirectLoop) {
        let target = format!("{}{}/{rest}", state.central, &LOOP_WEBDAV[1..]);
        return redirect(&state, &target);
    }
    let Some(instance) = instance_for_login(&credentials.user) else {
        return challenge();
    };
    let Some(base) = state.instances.get(instance) else {
        return challenge();
    };
    let mut base = base.clone();
    if state.scenario.fault == Some(Fault::RedirectToPlainHttp) {
        // http and https are both special schemes, so this cannot fail; if it did, the URL stays https.
        let _ = base.set_scheme("http");
    }
    redirect(&state, &format!("{base}remote.php/webdav/{rest}"))
}

/// The second half of the redirect loop: straight back to where the client came from.
async fn loop_back(State(state): State<Arc<CentralState>>, uri: Uri) -> Response {
    let rest = rest_after(&uri, LOOP_WEBDAV);
    redirect(&state, &format!("{}remote.php/webdav/{rest}", state.central))
}

/// What follows `prefix/` in the request, query included, still percent-encoded as received.
fn rest_after(uri: &Uri, prefix: &str) -> String {
    let path = uri.path().strip_prefix(prefix).unwrap_or_default();
    let path = path.strip_prefix('/').unwrap_or(path);
    match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    }
}

fn redirect(state: &CentralState, location: &str) -> Response {
    let status = StatusCode::from_u16(state.scenario.redirect_status).unwrap_or(StatusCode::MOVED_PERMANENTLY);
    match HeaderValue::from_str(location) {
        Ok(location) => (status, [(header::LOCATION, location)]).into_response(),
        // Only reachable with bytes a URI cannot carry; refuse rather than send a broken Location.
        Err(_) => not_found(),
    }
}

/// The seed's answer to a request without usable credentials.
fn challenge() -> Response {
    let mut response = (StatusCode::UNAUTHORIZED, "Authentication required\n").into_response();
    with_basic_challenge(&mut response);
    response
}

#[cfg(test)]
mod tests {
    use crate::test_support::{client, propfind, start, with_password};
    use crate::{Fault, Scenario};

    #[tokio::test]
    async fn status_php_is_ownclouds() {
        let server = start(Scenario::default()).await;
        let response = client()
            .get(server.central_url().join("status.php").expect("status URL"))
            .send()
            .await
            .expect("status.php answers");
        assert_eq!(response.status(), 200, "status.php is public");
        assert_eq!(response.headers()["content-type"], "application/json", "status.php is JSON");
        let status: serde_json::Value = response.json().await.expect("valid JSON");
        assert_eq!(
            status,
            serde_json::json!({"installed":true,"maintenance":false,"needsDbUpgrade":false,"version":"10.13.4.1",
                "versionstring":"10.13.4","edition":"Community","productname":"ownCloud","product":"ownCloud"}),
            "the exact document of an ownCloud 10.13.4 server"
        );
        server.shutdown().await;
    }

    #[tokio::test]
    async fn webdav_without_credentials_is_challenged() {
        let server = start(Scenario::default()).await;
        for path in ["remote.php/webdav/", "remote.php/webdav"] {
            let response = propfind(&client(), server.central_url().join(path).expect("URL"))
                .send()
                .await
                .expect("central answers");
            assert_eq!(response.status(), 401, "{path}: no credentials, no redirect");
            assert_eq!(
                response.headers()["www-authenticate"],
                "Basic realm=\"ownCloud\", charset=\"UTF-8\"",
                "{path}: the Basic challenge tells the client to ask for a password"
            );
        }
        server.shutdown().await;
    }

    #[tokio::test]
    async fn every_user_is_redirected_with_every_status() {
        for status in [301u16, 302, 307, 308] {
            let server = start(Scenario { redirect_status: status, ..Scenario::default() }).await;
            for (user, instance) in [
                ("test@instance1.com", "instance1"),
                ("test@instance2.com", "instance2"),
                ("test@instance3.com", "instance3"),
            ] {
                let response = propfind(&client(), server.central_url().join("remote.php/webdav/").expect("URL"))
                    .basic_auth(user, Some("secret"))
                    .send()
                    .await
                    .expect("central answers");
                assert_eq!(response.status().as_u16(), status, "{user}: the scenario's redirect status");
                let expected = format!("{}remote.php/webdav/", server.instance_urls()[instance]);
                assert_eq!(
                    response.headers()["location"].to_str().ok(),
                    Some(expected.as_str()),
                    "{user} is sent to {instance} by the domain of the user name"
                );
            }
            server.shutdown().await;
        }
    }

    #[tokio::test]
    async fn the_redirect_keeps_the_rest_of_the_path_and_ignores_the_password() {
        let server = start(Scenario::default()).await;
        let response = client()
            .get(server.central_url().join("remote.php/webdav/Documents/a%20b.txt?x=1").expect("URL"))
            .basic_auth("test@instance2.com", Some("not-checked-here"))
            .send()
            .await
            .expect("central answers");
        assert_eq!(response.status(), 301, "the central server does not know passwords");
        let expected = format!("{}remote.php/webdav/Documents/a%20b.txt?x=1", server.instance_urls()["instance2"]);
        assert_eq!(
            response.headers()["location"].to_str().ok(),
            Some(expected.as_str()),
            "everything after webdav/ is carried over unchanged"
        );
        server.shutdown().await;
    }

    #[tokio::test]
    async fn unknown_domain_or_malformed_credentials_are_challenged() {
        let server = start(Scenario::default()).await;
        let url = server.central_url().join("remote.php/webdav/").expect("URL");
        let unknown = propfind(&client(), url.clone())
            .basic_auth("test@elsewhere.com", Some("secret"))
            .send()
            .await
            .expect("central answers");
        assert_eq!(unknown.status(), 401, "no instance for that domain: ask again");
        assert!(unknown.headers().contains_key("www-authenticate"), "with a challenge");
        let malformed =
            propfind(&client(), url).header("Authorization", "Basic %%%").send().await.expect("central answers");
        assert_eq!(malformed.status(), 401, "undecodable credentials are no credentials");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn anything_else_is_not_found() {
        let server = start(Scenario::default()).await;
        for path in ["ocs/v1.php/cloud/capabilities", "index.php", "remote.php/dav/files/x/", "loop/remote.php/webdav/"]
        {
            let response =
                with_password(client().get(server.central_url().join(path).expect("URL")), "test@instance1.com")
                    .send()
                    .await
                    .expect("central answers");
            assert_eq!(response.status(), 404, "{path}: the central server knows only two files");
        }
        server.shutdown().await;
    }

    #[tokio::test]
    async fn path_layout_redirects_under_the_central_origin() {
        let server = start(Scenario { path_instances: true, ..Scenario::default() }).await;
        for n in 1..=3 {
            let instance = format!("instance{n}");
            let expected_base = format!("{}{instance}/", server.central_url());
            assert_eq!(
                server.instance_urls()[&instance].as_str(),
                expected_base,
                "in the path layout {instance} lives under the central origin"
            );
            let response = propfind(&client(), server.central_url().join("remote.php/webdav/").expect("URL"))
                .basic_auth(format!("test@{instance}.com"), Some("secret"))
                .send()
                .await
                .expect("central answers");
            assert_eq!(
                response.headers()["location"].to_str().ok(),
                Some(format!("{expected_base}remote.php/webdav/").as_str()),
                "the redirect points under <central>/{instance}/"
            );
            let followed = propfind(&client(), format!("{expected_base}remote.php/webdav/"))
                .basic_auth(format!("test@{instance}.com"), Some("secret"))
                .header("Depth", "0")
                .send()
                .await
                .expect("the path-layout instance answers");
            assert_eq!(followed.status(), 207, "{instance} serves WebDAV under its prefix");
            let body = followed.text().await.expect("body");
            assert!(
                body.contains(&format!("<d:href>/{instance}/remote.php/webdav/</d:href>")),
                "hrefs carry the prefix the client sees: {body}"
            );
        }
        let log = server.requests();
        let last = log.last().expect("requests were recorded");
        assert_eq!(last.server, "instance3", "requests under /instance3 are attributed to instance3");
        assert_eq!(last.path, "/remote.php/webdav/", "the recorded path is the one after the prefix");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn outage_faults_answer_503_at_the_central_server() {
        for fault in [Fault::Maintenance, Fault::NeedsDbUpgrade, Fault::NotInstalled] {
            let server = start(Scenario { fault: Some(fault), ..Scenario::default() }).await;
            let status: serde_json::Value = client()
                .get(server.central_url().join("status.php").expect("URL"))
                .send()
                .await
                .expect("status.php answers")
                .json()
                .await
                .expect("JSON");
            let (key, value) = match fault {
                Fault::Maintenance => ("maintenance", serde_json::json!("true")),
                Fault::NeedsDbUpgrade => ("needsDbUpgrade", serde_json::json!(true)),
                _ => ("installed", serde_json::json!(false)),
            };
            assert_eq!(status[key], value, "{fault}: status.php announces it");
            let response = propfind(&client(), server.central_url().join("remote.php/webdav/").expect("URL"))
                .basic_auth("test@instance1.com", Some("secret"))
                .send()
                .await
                .expect("central answers");
            assert_eq!(response.status(), 503, "{fault}: WebDAV is unavailable, not redirected");
            server.shutdown().await;
        }
    }

    #[tokio::test]
    async fn redirect_loop_bounces_between_two_central_urls() {
        let server = start(Scenario { fault: Some(Fault::RedirectLoop), ..Scenario::default() }).await;
        let first = propfind(&client(), server.central_url().join("remote.php/webdav/").expect("URL"))
            .basic_auth("test@instance1.com", Some("secret"))
            .send()
            .await
            .expect("central answers");
        assert_eq!(first.status(), 301, "the loop starts with the scenario's redirect");
        let loop_url = format!("{}loop/remote.php/webdav/", server.central_url());
        assert_eq!(
            first.headers()["location"].to_str().ok(),
            Some(loop_url.as_str()),
            "authenticated requests go to the loop URL"
        );
        let second = propfind(&client(), loop_url)
            .basic_auth("test@instance1.com", Some("secret"))
            .send()
            .await
            .expect("loop URL answers");
        assert_eq!(second.status(), 301, "the loop URL redirects too");
        assert_eq!(
            second.headers()["location"].to_str().ok(),
            Some(format!("{}remote.php/webdav/", server.central_url()).as_str()),
            "and points back where the client started: an endless same-origin loop"
        );
        server.shutdown().await;
    }

    #[tokio::test]
    async fn redirect_to_plain_http_downgrades_the_location() {
        let server =
            start(Scenario { tls: true, fault: Some(Fault::RedirectToPlainHttp), ..Scenario::default() }).await;
        let der = server.certificate_der().expect("TLS scenario");
        let trusting = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .add_root_certificate(reqwest::Certificate::from_der(&der).expect("DER"))
            .build()
            .expect("client");
        let response = propfind(&trusting, server.central_url().join("remote.php/webdav/").expect("URL"))
            .basic_auth("test@instance2.com", Some("secret"))
            .send()
            .await
            .expect("central answers over https");
        let instance = &server.instance_urls()["instance2"];
        assert_eq!(instance.scheme(), "https", "the instance itself is served over https");
        let expected = format!(
            "http://{}:{}/remote.php/webdav/",
            instance.host_str().unwrap_or_default(),
            instance.port().unwrap_or_default()
        );
        assert_eq!(
            response.headers()["location"].to_str().ok(),
            Some(expected.as_str()),
            "the Location downgrades to http with the instance's host and port"
        );
        server.shutdown().await;
    }
}
