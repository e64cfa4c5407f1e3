//! The central server: `status.php` and `remote.php/webdav`, nothing else — exactly the deployment's two files.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::middleware::from_fn;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use url::Url;

use super::{
    instance_for_login, not_found, status_document, status_response, unavailable, with_basic_challenge,
    BasicCredentials, USER_BUFFER,
};
use crate::wire_faults;
use crate::{Fault, Scenario};

const WEBDAV: &str = "/remote.php/webdav";
/// Where the redirect-loop fault bounces authenticated requests through.
const LOOP_WEBDAV: &str = "/loop/remote.php/webdav";

#[derive(Debug)]
pub(crate) struct CentralState {
    pub(crate) central: Url,
    /// The canary's base URL (trailing slash), where `redirect-to-other-origin` sends everyone.
    pub(crate) canary: Url,
    pub(crate) scenario: Scenario,
    /// Per instance, where its users are sent: `<base>remote.php/webdav/` (http under
    /// `redirect-to-plain-http`), built once instead of on every request.
    webdav_locations: BTreeMap<String, WebdavLocation>,
}

/// An instance's WebDAV URL as the redirect's `Location`: the prefix a request's rest is appended to, and the
/// ready header for the common request with nothing after `remote.php/webdav/`.
#[derive(Debug)]
struct WebdavLocation {
    prefix: String,
    bare: Option<HeaderValue>,
}

impl CentralState {
    /// `instances`: the base URL (with trailing slash) of each instance.
    pub(crate) fn new(central: Url, instances: BTreeMap<String, Url>, canary: Url, scenario: Scenario) -> CentralState {
        let webdav_locations = instances
            .iter()
            .map(|(name, base)| {
                let mut base = base.clone();
                if scenario.fault == Some(Fault::RedirectToPlainHttp) {
                    // http and https are both special schemes, so this cannot fail; if it did, the URL stays https.
                    let _ = base.set_scheme("http");
                }
                let prefix = format!("{base}remote.php/webdav/");
                let bare = HeaderValue::from_str(&prefix).ok();
                (name.clone(), WebdavLocation { prefix, bare })
            })
            .collect();
        CentralState { central, canary, scenario, webdav_locations }
    }
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

/// The faults of the whole central listener, the instances mounted under it included (they share its web
/// server): `server-error` answers 500 instead of every handler, `connection-reset` cuts every answer off. The
/// caller adds the recorder outside, so the requests are still logged.
pub(crate) fn with_listener_fault(router: Router, fault: Option<Fault>) -> Router {
    match fault {
        Some(Fault::ServerError) => router.layer(from_fn(wire_faults::answer_server_error)),
        Some(Fault::ConnectionReset) => router.layer(from_fn(wire_faults::cut_off_mid_response)),
        _ => router,
    }
}

pub(crate) async fn fallback() -> Response {
    // The deployment's central server is two PHP files; the web server answers everything else with a plain 404.
    (StatusCode::NOT_FOUND, "Not Found").into_response()
}

/// The canary of `redirect-to-other-origin`: an unrelated web server that knows nothing (404 to everything).
/// Its recorder logs every request, and whether credentials came with it.
pub(crate) fn canary_router() -> Router {
    Router::new().fallback(fallback)
}

/// `oversized-body`: the size of status.php's answer, far beyond what any client should read (10 MiB).
pub(crate) const OVERSIZED_STATUS_BYTES: usize = 10 * 1024 * 1024;
/// `slow-body`: the pause before each byte of status.php.
pub(crate) const TRICKLE_INTERVAL: Duration = Duration::from_millis(200);

async fn status(State(state): State<Arc<CentralState>>) -> Response {
    let document = || status_document(state.scenario.people, None).to_string();
    match state.scenario.fault {
        Some(Fault::OversizedBody) => {
            // The real document, opened up for a "debug" member that never seems to end.
            let mut head = document();
            head.pop();
            head.push_str(",\"debug\":\"");
            wire_faults::oversized("application/json", head, "\"}", OVERSIZED_STATUS_BYTES)
        }
        Some(Fault::MalformedJson) => {
            let document = document();
            (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], truncated_json(&document).to_owned())
                .into_response()
        }
        Some(Fault::HtmlInsteadOfJson) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")],
            CAPTIVE_PORTAL_PAGE,
        )
            .into_response(),
        Some(Fault::SlowBody) => wire_faults::trickle("application/json", document(), TRICKLE_INTERVAL),
        fault => status_response(state.scenario.people, fault),
    }
}

/// The document cut off in the middle of the `versionstring` key, as if the output stopped there.
fn truncated_json(document: &str) -> &str {
    let cut = document.find("\"versionstring\"").map_or(document.len() / 2, |at| at + "\"versions".len());
    document.get(..cut).unwrap_or(document)
}

/// What a hotel or train Wi-Fi answers to any request before the person accepts its terms.
const CAPTIVE_PORTAL_PAGE: &str = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
    <title>Welcome to Guest Wi-Fi</title>\n</head>\n<body>\n<h1>Welcome to Guest Wi-Fi</h1>\n\
    <p>Please log in to access the Internet.</p>\n\
    <form method=\"post\" action=\"/login\">\n\
    <label>Room number <input name=\"room\"></label>\n\
    <label>Last name <input name=\"name\"></label>\n\
    <label><input type=\"checkbox\" name=\"terms\" value=\"accepted\"> I accept the terms of use</label>\n\
    <button type=\"submit\">Connect</button>\n</form>\n</body>\n</html>\n";

/// Any method on `remote.php/webdav[/...]`: challenge, or redirect by the user name's domain.
async fn webdav(State(state): State<Arc<CentralState>>, request: Request) -> Response {
    if let Some(outage) = unavailable(state.scenario.fault) {
        return outage;
    }
    // The central server only reads the user name; it cannot check a password it does not know.
    let mut buffer = [0; USER_BUFFER];
    let Some(user) = BasicCredentials::decode_user(request.headers(), &mut buffer) else {
        return challenge();
    };
    let uri = request.uri();
    if state.scenario.fault == Some(Fault::RedirectLoop) {
        let target = format!("{}{}/{}", state.central, &LOOP_WEBDAV[1..], rest_after(uri, WEBDAV));
        return redirect(&state, &target);
    }
    let Some(instance) = instance_for_login(state.scenario.people, &user) else {
        return challenge();
    };
    if state.scenario.fault == Some(Fault::RedirectToOtherOrigin) {
        return redirect(&state, &format!("{}remote.php/webdav/{}", state.canary, rest_after(uri, WEBDAV)));
    }
    let Some(location) = state.webdav_locations.get(instance) else {
        return challenge();
    };
    let rest = rest_after(uri, WEBDAV);
    match (&location.bare, rest.is_empty()) {
        (Some(bare), true) => redirect_to(&state, bare.clone()),
        _ => redirect(&state, &format!("{}{rest}", location.prefix)),
    }
}

/// The second half of the redirect loop: straight back to where the client came from.
async fn loop_back(State(state): State<Arc<CentralState>>, uri: Uri) -> Response {
    let rest = rest_after(&uri, LOOP_WEBDAV);
    redirect(&state, &format!("{}remote.php/webdav/{rest}", state.central))
}

/// What follows `prefix/` in the request, query included, still percent-encoded as received.
fn rest_after<'a>(uri: &'a Uri, prefix: &str) -> Cow<'a, str> {
    let path = uri.path().strip_prefix(prefix).unwrap_or_default();
    let path = path.strip_prefix('/').unwrap_or(path);
    match uri.query() {
        Some(query) => Cow::Owned(format!("{path}?{query}")),
        None => Cow::Borrowed(path),
    }
}

fn redirect(state: &CentralState, location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(location) => redirect_to(state, location),
        // Only reachable with bytes a URI cannot carry; refuse rather than send a broken Location.
        Err(_) => not_found(),
    }
}

fn redirect_to(state: &CentralState, location: HeaderValue) -> Response {
    let status = StatusCode::from_u16(state.scenario.redirect_status).unwrap_or(StatusCode::MOVED_PERMANENTLY);
    (status, [(header::LOCATION, location)]).into_response()
}

/// The central server's answer to a request without usable credentials.
fn challenge() -> Response {
    let mut response = (StatusCode::UNAUTHORIZED, "Authentication required\n").into_response();
    with_basic_challenge(&mut response);
    response
}

#[cfg(test)]
mod tests {
    use crate::testing::{client, propfind, start, with_password};
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

    async fn propfind_as(url: &url::Url, user: Option<&str>) -> reqwest::Response {
        let request = propfind(&client(), url.join("remote.php/webdav/").expect("URL"));
        let request = match user {
            Some(user) => with_password(request, user),
            None => request,
        };
        request.send().await.expect("the server answers")
    }

    #[tokio::test]
    async fn server_error_answers_500_with_an_html_page_to_everything() {
        let server = start(Scenario { fault: Some(Fault::ServerError), ..Scenario::default() }).await;
        let central = server.central_url();
        let answers = [
            client().get(central.join("status.php").expect("URL")).send().await.expect("status.php answers"),
            propfind_as(central, None).await,
            propfind_as(central, Some("test@instance1.com")).await,
            client().get(central.join("index.php").expect("URL")).send().await.expect("central answers"),
        ];
        for response in answers {
            let url = response.url().clone();
            assert_eq!(response.status(), 500, "{url}: a 5xx storm spares nothing");
            assert_eq!(response.headers()["content-type"], "text/html; charset=iso-8859-1", "{url}: Apache's page");
            assert!(!response.headers().contains_key("location"), "{url}: no redirect");
            assert!(!response.headers().contains_key("www-authenticate"), "{url}: no challenge");
            let body = response.text().await.expect("a body");
            assert!(body.contains("<title>500 Internal Server Error</title>") && body.len() < 1024, "{url}: {body}");
        }
        assert_eq!(server.requests().len(), 4, "every request is still logged");
        let instance = client()
            .get(server.instance_urls()["instance1"].join("status.php").expect("URL"))
            .send()
            .await
            .expect("the instance answers");
        assert_eq!(instance.status(), 200, "instances on their own ports are not affected");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn redirect_to_other_origin_points_at_the_canary_which_records_credentials() {
        let server = start(Scenario { fault: Some(Fault::RedirectToOtherOrigin), ..Scenario::default() }).await;
        let canary = server.canary_url();
        assert_eq!(canary.host_str(), Some("127.0.0.1"), "the canary listens on loopback");
        assert_ne!(canary.origin(), server.central_url().origin(), "a third origin, not the central server");
        for instance in server.instance_urls().values() {
            assert_ne!(canary.origin(), instance.origin(), "nor an instance");
        }
        let redirected = propfind_as(server.central_url(), Some("test@instance2.com")).await;
        assert_eq!(redirected.status(), 301, "the scenario's redirect status");
        let location = redirected.headers()["location"].to_str().expect("ASCII").to_owned();
        assert_eq!(location, format!("{canary}remote.php/webdav/"), "the Location names the canary, not instance2");
        assert!(server.requests().iter().all(|request| request.server != "canary"), "nothing reached it yet");

        // A client that lets credentials travel to the new origin (what Homeport must not do unasked) ...
        let leaked = with_password(propfind(&client(), location.as_str()), "test@instance2.com")
            .send()
            .await
            .expect("the canary answers");
        assert_eq!(leaked.status(), 404, "the canary knows nothing");
        // ... and one that drops them.
        let dropped = propfind(&client(), location.as_str()).send().await.expect("the canary answers");
        assert_eq!(dropped.status(), 404, "404 with or without credentials");
        let canary_log: Vec<_> = server.requests().into_iter().filter(|request| request.server == "canary").collect();
        assert_eq!(canary_log.len(), 2, "every request to the canary is logged: {canary_log:?}");
        assert_eq!(canary_log[0].path, "/remote.php/webdav/", "the path it got");
        assert!(canary_log[0].has_authorization, "the leak is visible");
        assert_eq!(canary_log[0].basic_user.as_deref(), Some("test@instance2.com"), "with the user it leaked");
        assert!(!canary_log[1].has_authorization, "and so is a request without credentials");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn the_canary_is_reached_by_no_healthy_redirect() {
        let server = start(Scenario::default()).await;
        let redirected = propfind_as(server.central_url(), Some("test@instance2.com")).await;
        let location = redirected.headers()["location"].to_str().expect("ASCII").to_owned();
        assert!(!location.starts_with(server.canary_url().as_str()), "the demo redirects to the instance: {location}");
        assert_eq!(
            server.description().to_json()["canary"].as_str(),
            Some(server.canary_url().as_str()),
            "scenario files can name the canary"
        );
        server.shutdown().await;
    }

    #[tokio::test]
    async fn oversized_body_streams_ten_mebibytes_of_json_looking_status() {
        let server = start(Scenario { fault: Some(Fault::OversizedBody), ..Scenario::default() }).await;
        let mut response =
            client().get(server.central_url().join("status.php").expect("URL")).send().await.expect("answers");
        assert_eq!(response.status(), 200, "a success status: only the size is wrong");
        assert_eq!(response.headers()["content-type"], "application/json", "it claims to be JSON");
        assert_eq!(response.content_length(), None, "no Content-Length: a client learns the size only by reading");
        let (mut total, mut chunks) = (0usize, 0usize);
        let mut head = Vec::new();
        let mut tail = Vec::new();
        while let Some(chunk) = response.chunk().await.expect("the body streams without an error") {
            if head.len() < 64 {
                head.extend_from_slice(&chunk[..chunk.len().min(64)]);
            }
            tail = chunk[chunk.len().saturating_sub(2)..].to_vec();
            total += chunk.len();
            chunks += 1;
        }
        assert_eq!(total, super::OVERSIZED_STATUS_BYTES, "exactly 10 MiB, then it ends");
        assert_eq!(total, 10 * 1024 * 1024, "10 MiB");
        assert!(chunks > 10, "streamed in many chunks, not one buffer: {chunks}");
        // Key order follows serde_json's features (sorted, or insertion order when another crate in the build asks
        // for preserve_order), so compare with the document itself.
        let document = super::status_document(&crate::BUILT_IN, None).to_string();
        assert!(head.starts_with(&document.as_bytes()[..16]), "it starts as status.php: {head:?}");
        assert_eq!(tail, b"\"}", "and ends like a JSON object");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn malformed_json_is_a_cut_off_status_document() {
        let server = start(Scenario { fault: Some(Fault::MalformedJson), ..Scenario::default() }).await;
        let response =
            client().get(server.central_url().join("status.php").expect("URL")).send().await.expect("answers");
        assert_eq!(response.status(), 200, "the HTTP answer is fine");
        assert_eq!(response.headers()["content-type"], "application/json", "and says JSON");
        let announced = response.content_length();
        let body = response.text().await.expect("the whole body arrives");
        assert_eq!(announced, Some(body.len() as u64), "the framing is intact: only the JSON is broken");
        let document = super::status_document(&crate::BUILT_IN, None).to_string();
        assert!(body.starts_with(&document[..16]), "it starts as status.php: {body}");
        assert!(body.ends_with(",\"versions"), "and stops in the middle of a key: {body}");
        let error = serde_json::from_str::<serde_json::Value>(&body).expect_err("not valid JSON");
        assert!(error.is_eof(), "the document ends too early: {error}");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn html_instead_of_json_is_a_captive_portals_login_page() {
        let server = start(Scenario { fault: Some(Fault::HtmlInsteadOfJson), ..Scenario::default() }).await;
        let response =
            client().get(server.central_url().join("status.php").expect("URL")).send().await.expect("answers");
        assert_eq!(response.status(), 200, "a captive portal answers 200");
        assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8", "with HTML");
        let body = response.text().await.expect("body");
        assert!(body.starts_with("<!DOCTYPE html>") && body.contains("<form method=\"post\""), "a login page: {body}");
        assert!(serde_json::from_str::<serde_json::Value>(&body).is_err(), "not JSON");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn slow_body_trickles_status_php_one_byte_at_a_time() {
        let server = start(Scenario { fault: Some(Fault::SlowBody), ..Scenario::default() }).await;
        let started = std::time::Instant::now();
        let mut response =
            client().get(server.central_url().join("status.php").expect("URL")).send().await.expect("answers");
        assert!(started.elapsed() < super::TRICKLE_INTERVAL, "the headers come at once: {:?}", started.elapsed());
        assert_eq!(response.status(), 200, "a success status");
        let document = super::status_document(&crate::BUILT_IN, None).to_string();
        assert_eq!(response.content_length(), Some(document.len() as u64), "the whole document is announced");
        let whole = super::TRICKLE_INTERVAL * u32::try_from(document.len()).expect("small");
        assert!(whole > std::time::Duration::from_secs(30), "longer than a client's 30 s bound: {whole:?}");
        let mut received = Vec::new();
        for _ in 0..3 {
            let chunk = response.chunk().await.expect("no error").expect("more body");
            assert_eq!(chunk.len(), 1, "one byte at a time");
            received.extend_from_slice(&chunk);
        }
        let elapsed = started.elapsed();
        assert_eq!(received, &document.as_bytes()[..3], "the document's first bytes, in order");
        assert!(elapsed >= super::TRICKLE_INTERVAL * 3 - std::time::Duration::from_millis(30), "paced: {elapsed:?}");
        assert!(elapsed < std::time::Duration::from_secs(3), "but not stuck: {elapsed:?}");
        drop(response);
        // The client went away: the server drops the trickle, and shutdown is not held up by it.
        let stopping = std::time::Instant::now();
        server.shutdown().await;
        assert!(stopping.elapsed() < std::time::Duration::from_secs(3), "shutdown took {:?}", stopping.elapsed());
    }

    #[tokio::test]
    async fn connection_reset_drops_the_connection_mid_response() {
        let server = start(Scenario { fault: Some(Fault::ConnectionReset), ..Scenario::default() }).await;
        let status = client().get(server.central_url().join("status.php").expect("URL"));
        let redirect = with_password(
            propfind(&client(), server.central_url().join("remote.php/webdav/").expect("URL")),
            "test@instance1.com",
        );
        for (what, request, expected_status) in [("status.php", status, 200u16), ("the redirect", redirect, 301)] {
            let mut response = request.send().await.expect("the status line and headers arrive");
            assert_eq!(response.status().as_u16(), expected_status, "{what}: the handler's status");
            let announced = response.content_length().expect("a Content-Length is announced");
            let mut received = 0u64;
            let error = loop {
                match response.chunk().await {
                    Ok(Some(chunk)) => received += chunk.len() as u64,
                    Ok(None) => panic!("{what}: the body must not end normally"),
                    Err(error) => break error,
                }
            };
            assert!(received > 0 && received < announced, "{what}: part of the body came: {received}/{announced}");
            assert!(error.is_body() || error.is_decode(), "{what}: the body broke off: {error:?}");
        }
        server.shutdown().await;
    }
}
