//! One ownCloud 10 instance: status, WebDAV (legacy and new endpoint), OCS capabilities and user, avatars.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use serde_json::json;

use super::ocs::{self, OcsFormat, OcsVersion};
use super::webdav::encode_path;
use super::{
    authenticate, not_found, status_response, unauthorized, unavailable, with_basic_challenge, BasicCredentials,
};
use crate::dav::{
    dav_files_owner, legacy_relative, route_each, serve_home, Home, Product, DAV_FILES_ROUTES, LEGACY_WEBDAV_ROUTES,
};
use crate::log::is_ocs_api_request;
use crate::people::{DemoUser, People};
use crate::Fault;

#[derive(Debug)]
pub(crate) struct InstanceState {
    /// `instance1`, ...
    pub(crate) name: String,
    /// The URL path this instance is mounted under as the client sees it: `""` on its own origin,
    /// `/instance1` in the path layout. WebDAV hrefs must carry it.
    pub(crate) mount_path: String,
    pub(crate) fault: Option<Fault>,
    pub(crate) people: &'static People,
}

impl InstanceState {
    /// ownCloud's instance id, the suffix of every `oc:id`.
    fn instance_id(&self) -> String {
        format!("oc{}", self.name)
    }

    /// The demo home at `href`, as this instance serves it.
    fn home(&self, href: String) -> Home {
        let malformed_xml = self.fault == Some(Fault::MalformedXml);
        Home { href, instance_tag: self.instance_id(), product: Product::OwnCloud { malformed_xml } }
    }
}

/// The instance's routes with a 404 fallback; the caller adds the recorder.
pub(crate) fn router(state: Arc<InstanceState>) -> Router {
    let router = Router::new().route("/status.php", get(status));
    let router = route_each(router, LEGACY_WEBDAV_ROUTES, any(legacy_webdav));
    route_each(router, DAV_FILES_ROUTES, any(dav_files))
        .route("/remote.php/dav/avatars/{id}/{size}", get(avatar))
        .route("/ocs/{version}/cloud/capabilities", get(capabilities))
        .route("/ocs/{version}/cloud/user", get(user))
        .fallback(fallback)
        .with_state(state)
}

async fn fallback() -> Response {
    (StatusCode::NOT_FOUND, "Not Found").into_response()
}

async fn status(State(state): State<Arc<InstanceState>>) -> Response {
    status_response(state.people, state.fault)
}

/// `remote.php/webdav/...`: the user's home, the endpoint ownCloud's clients use.
async fn legacy_webdav(
    State(state): State<Arc<InstanceState>>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    if let Some(outage) = unavailable(state.fault) {
        return outage;
    }
    if let Err(challenge) = authenticated(&state, &headers) {
        return *challenge;
    }
    let home_href = format!("{}/remote.php/webdav/", state.mount_path);
    serve_home(&method, &headers, legacy_relative(uri.path()), &state.home(home_href))
}

/// `remote.php/dav/files/<user id>/...`: the same home under the newer endpoint; only the owner may look.
async fn dav_files(State(state): State<Arc<InstanceState>>, method: Method, headers: HeaderMap, uri: Uri) -> Response {
    if let Some(outage) = unavailable(state.fault) {
        return outage;
    }
    let user = match authenticated(&state, &headers) {
        Ok(user) => user,
        Err(challenge) => return *challenge,
    };
    match dav_files_owner(uri.path()) {
        Some((owner, relative)) if owner == user.login => {
            let home_href = format!("{}/remote.php/dav/files/{}/", state.mount_path, encode_path(user.login));
            serve_home(&method, &headers, relative, &state.home(home_href))
        }
        // Another user's files do not exist for this user, as in ownCloud.
        _ => not_found(),
    }
}

/// The demo user behind valid credentials for this instance, or the 401 to send (boxed: responses are large).
fn authenticated(state: &InstanceState, headers: &HeaderMap) -> Result<&'static DemoUser, Box<Response>> {
    authenticate(state.people, headers, &state.name).ok_or_else(|| {
        Box::new(if BasicCredentials::from_headers(headers).is_none() {
            unauthorized(
                "No 'Authorization: Basic' header found. Either the client didn't send one, or the server is \
                 misconfigured",
            )
        } else {
            unauthorized("Username or password was incorrect")
        })
    })
}

/// `remote.php/dav/avatars/<user id>/<size>.png`: a picture for users that have one, else 404 (initials).
async fn avatar(
    State(state): State<Arc<InstanceState>>,
    Path((id, size)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(outage) = unavailable(state.fault) {
        return outage;
    }
    if let Err(challenge) = authenticated(&state, &headers) {
        return *challenge;
    }
    let valid_size =
        size.strip_suffix(".png").and_then(|pixels| pixels.parse::<u16>().ok()).is_some_and(|pixels| pixels > 0);
    if !valid_size {
        return not_found();
    }
    // Every size gets the one 128×128 picture: clients scale it anyway.
    let picture = state
        .people
        .owncloud_users
        .iter()
        .find(|user| user.login == id && user.instance == state.name)
        .and_then(|user| user.avatar_png);
    match picture {
        Some(png) => {
            (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("image/png"))], png).into_response()
        }
        None => not_found(),
    }
}

async fn capabilities(
    State(state): State<Arc<InstanceState>>,
    Path(version): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    match ocs_request(&state, &version, &headers, &uri) {
        Ok((version, format, _user)) => ocs::ok(version, format, ocs::capabilities(state.people, state.fault)),
        Err(refusal) => *refusal,
    }
}

async fn user(
    State(state): State<Arc<InstanceState>>,
    Path(version): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    match ocs_request(&state, &version, &headers, &uri) {
        Ok((version, format, user)) => ocs::ok(
            version,
            format,
            json!({
                "id": user.login,
                "display-name": user.display_name,
                "email": user.login,
                "language": "en",
            }),
        ),
        Err(refusal) => *refusal,
    }
}

/// The checks every OCS call passes: known API version, service up, valid credentials, `OCS-APIRequest`.
/// The refusal is boxed because responses are large.
fn ocs_request(
    state: &InstanceState,
    version: &str,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<(OcsVersion, OcsFormat, &'static DemoUser), Box<Response>> {
    let version = OcsVersion::from_segment(version).ok_or_else(|| Box::new(not_found()))?;
    if let Some(outage) = unavailable(state.fault) {
        return Err(Box::new(outage));
    }
    let format = OcsFormat::from_query(uri.query());
    let user = authenticate(state.people, headers, &state.name).ok_or_else(|| {
        let mut response = ocs::failure(StatusCode::UNAUTHORIZED, format, 997, "Unauthorised");
        with_basic_challenge(&mut response);
        Box::new(response)
    })?;
    if !is_ocs_api_request(headers) {
        // ownCloud's CSRF protection for the OCS API: API clients must say they are one.
        return Err(Box::new(ocs::failure(StatusCode::BAD_REQUEST, format, 400, "OCS-APIRequest header required")));
    }
    Ok((version, format, user))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::testing::{client, propfind, start, with_password};
    use crate::{Fault, LookupServer, Scenario};

    const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

    fn instance(server: &LookupServer, name: &str, path: &str) -> url::Url {
        server.instance_urls()[name].join(path).expect("instance URL")
    }

    #[tokio::test]
    async fn instance_urls_are_distinct_origins() {
        let server = start(Scenario::default()).await;
        let urls: &BTreeMap<String, url::Url> = server.instance_urls();
        assert_eq!(
            urls.keys().map(String::as_str).collect::<Vec<_>>(),
            ["instance1", "instance2", "instance3"],
            "the seed's three instances"
        );
        let mut ports: Vec<_> = urls.values().map(|url| url.port()).collect();
        ports.push(server.central_url().port());
        ports.sort();
        ports.dedup();
        assert_eq!(ports.len(), 4, "central and instances listen on four different ports (different origins)");
        for url in urls.values() {
            assert_eq!(url.path(), "/", "each instance is at the root of its own origin: {url}");
            let status = client().get(url.join("status.php").expect("URL")).send().await.expect("instance answers");
            assert_eq!(status.status(), 200, "every instance has status.php");
        }
        server.shutdown().await;
    }

    #[tokio::test]
    async fn propfind_depth_zero_answers_207_with_the_home() {
        let server = start(Scenario::default()).await;
        let response = propfind(&client(), instance(&server, "instance1", "remote.php/webdav/"))
            .basic_auth("test@instance1.com", Some("secret"))
            .header("Depth", "0")
            .send()
            .await
            .expect("instance answers");
        assert_eq!(response.status(), 207, "PROPFIND with valid credentials is a Multi-Status");
        assert_eq!(response.headers()["content-type"], "application/xml; charset=utf-8", "WebDAV answers are XML");
        let body = response.text().await.expect("body");
        assert!(body.starts_with("<?xml"), "an XML document: {body}");
        assert!(body.contains("xmlns:d=\"DAV:\""), "DAV: namespace: {body}");
        assert!(body.contains("xmlns:oc=\"http://owncloud.org/ns\""), "ownCloud namespace: {body}");
        assert!(body.contains("<d:collection/>"), "the home is a collection: {body}");
        assert!(body.contains("<d:quota-available-bytes>"), "quota is reported: {body}");
        assert!(body.contains("<oc:id>"), "oc:id is reported: {body}");
        assert_eq!(body.matches("<d:response>").count(), 1, "Depth 0 lists only the home: {body}");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn propfind_depth_one_or_missing_lists_the_home() {
        let server = start(Scenario::default()).await;
        for depth in [Some("1"), None] {
            let mut request = propfind(&client(), instance(&server, "instance2", "remote.php/webdav/"))
                .basic_auth("test@instance2.com", Some("secret"));
            if let Some(depth) = depth {
                request = request.header("Depth", depth);
            }
            let response = request.send().await.expect("instance answers");
            assert_eq!(response.status(), 207, "Depth {depth:?}: Multi-Status");
            let body = response.text().await.expect("body");
            assert!(
                body.contains("<d:href>/remote.php/webdav/Documents/</d:href>"),
                "Depth {depth:?}: the Documents folder is listed: {body}"
            );
            assert!(
                body.contains("<d:href>/remote.php/webdav/ownCloud%20Manual.pdf</d:href>"),
                "Depth {depth:?}: the manual is listed: {body}"
            );
        }
        server.shutdown().await;
    }

    #[tokio::test]
    async fn new_dav_endpoint_serves_the_owner_only() {
        let server = start(Scenario::default()).await;
        let own = propfind(&client(), instance(&server, "instance3", "remote.php/dav/files/test@instance3.com/"))
            .basic_auth("test@instance3.com", Some("secret"))
            .header("Depth", "0")
            .send()
            .await
            .expect("instance answers");
        assert_eq!(own.status(), 207, "the owner sees their files");
        let body = own.text().await.expect("body");
        assert!(
            body.contains("<d:href>/remote.php/dav/files/test@instance3.com/</d:href>"),
            "hrefs use the new endpoint: {body}"
        );
        let other = propfind(&client(), instance(&server, "instance3", "remote.php/dav/files/someone/"))
            .basic_auth("test@instance3.com", Some("secret"))
            .send()
            .await
            .expect("instance answers");
        assert_eq!(other.status(), 404, "another user's files do not exist for this user");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn wrong_password_or_wrong_instance_is_401() {
        let server = start(Scenario::default()).await;
        let url = instance(&server, "instance1", "remote.php/webdav/");
        for (user, password, why) in [
            ("test@instance1.com", Some("wrong"), "a wrong password"),
            ("test@instance2.com", Some("secret"), "a user of another instance"),
            ("felix@instance1.com", Some("secret"), "an unknown user"),
        ] {
            let response =
                propfind(&client(), url.clone()).basic_auth(user, password).send().await.expect("instance answers");
            assert_eq!(response.status(), 401, "{why} is refused");
            assert_eq!(
                response.headers()["www-authenticate"],
                "Basic realm=\"ownCloud\", charset=\"UTF-8\"",
                "{why}: the client is asked for credentials again"
            );
        }
        let anonymous = propfind(&client(), url).send().await.expect("instance answers");
        assert_eq!(anonymous.status(), 401, "no credentials, no files");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn get_options_and_other_methods() {
        let server = start(Scenario::default()).await;
        let url = instance(&server, "instance1", "remote.php/webdav/");
        let get =
            with_password(client().get(url.clone()), "test@instance1.com").send().await.expect("instance answers");
        assert_eq!(get.status(), 200, "GET on the WebDAV root works");
        assert_eq!(get.headers()["content-type"], "text/plain; charset=utf-8", "as plain text");
        assert_eq!(
            get.text().await.expect("body"),
            "This is the WebDAV interface. It can only be accessed by WebDAV clients such as the ownCloud \
             desktop sync client.",
            "ownCloud's notice for browsers"
        );
        let options = with_password(client().request(reqwest::Method::OPTIONS, url.clone()), "test@instance1.com")
            .send()
            .await
            .expect("instance answers");
        assert_eq!(options.status(), 200, "OPTIONS works");
        assert_eq!(options.headers()["dav"], "1, 3", "DAV compliance classes");
        assert!(options.headers().contains_key("allow"), "Allow lists the methods");
        let put = with_password(client().put(url.join("new.txt").expect("URL")), "test@instance1.com")
            .send()
            .await
            .expect("instance answers");
        assert_eq!(put.status(), 404, "a missing resource is not found before its method is judged");
        let delete = with_password(client().delete(url.join("Documents/").expect("URL")), "test@instance1.com")
            .send()
            .await
            .expect("instance answers");
        assert_eq!(delete.status(), 405, "the demo home is read-only");
        let missing = propfind(&client(), url.join("nope/").expect("URL"))
            .basic_auth("test@instance1.com", Some("secret"))
            .send()
            .await
            .expect("instance answers");
        assert_eq!(missing.status(), 404, "unknown paths are not found");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn ocs_json_in_both_versions() {
        let server = start(Scenario::default()).await;
        for (version, code) in [("v1.php", 100), ("v2.php", 200)] {
            let user: serde_json::Value = with_password(
                client()
                    .get(instance(&server, "instance2", &format!("ocs/{version}/cloud/user?format=json")))
                    .header("OCS-APIRequest", "true"),
                "test@instance2.com",
            )
            .send()
            .await
            .expect("instance answers")
            .json()
            .await
            .expect("format=json gives JSON");
            assert_eq!(user["ocs"]["meta"]["status"], "ok", "{version}: success");
            assert_eq!(user["ocs"]["meta"]["statuscode"], code, "{version}: its own success code");
            assert_eq!(
                user["ocs"]["data"],
                serde_json::json!({"id":"test@instance2.com","display-name":"Test User Two",
                    "email":"test@instance2.com","language":"en"}),
                "{version}: the user behind the credentials"
            );

            let capabilities: serde_json::Value = with_password(
                client()
                    .get(instance(&server, "instance2", &format!("ocs/{version}/cloud/capabilities?format=json")))
                    .header("OCS-APIRequest", "true"),
                "test@instance2.com",
            )
            .send()
            .await
            .expect("instance answers")
            .json()
            .await
            .expect("JSON");
            let data = &capabilities["ocs"]["data"];
            assert_eq!(data["version"]["string"], "10.13.4", "{version}: server version");
            assert_eq!(
                data["capabilities"]["core"]["webdav-root"], "remote.php/webdav",
                "{version}: where WebDAV lives"
            );
            assert_eq!(
                data["capabilities"]["core"]["status"]["installed"], true,
                "{version}: core.status repeats status.php"
            );

            let refused = with_password(
                client().get(instance(&server, "instance2", &format!("ocs/{version}/cloud/user?format=json"))),
                "test@instance2.com",
            )
            .send()
            .await
            .expect("instance answers");
            assert_eq!(refused.status(), 400, "{version}: OCS needs the OCS-APIRequest header");
            let refused: serde_json::Value = refused.json().await.expect("an OCS failure body in JSON");
            assert_eq!(refused["ocs"]["meta"]["status"], "failure", "{version}: an OCS failure");

            let anonymous = client()
                .get(instance(&server, "instance2", &format!("ocs/{version}/cloud/user?format=json")))
                .header("OCS-APIRequest", "true")
                .send()
                .await
                .expect("instance answers");
            assert_eq!(anonymous.status(), 401, "{version}: OCS needs credentials");
        }
        server.shutdown().await;
    }

    #[tokio::test]
    async fn ocs_defaults_to_xml() {
        let server = start(Scenario::default()).await;
        let response = with_password(
            client().get(instance(&server, "instance1", "ocs/v1.php/cloud/user")).header("OCS-APIRequest", "true"),
            "test@instance1.com",
        )
        .send()
        .await
        .expect("instance answers");
        assert_eq!(response.status(), 200, "XML user info");
        assert_eq!(response.headers()["content-type"], "text/xml; charset=UTF-8", "XML content type");
        let body = response.text().await.expect("body");
        assert!(body.contains("<statuscode>100</statuscode>"), "v1 success code in XML: {body}");
        assert!(body.contains("<display-name>Test User One</display-name>"), "the display name in XML: {body}");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn avatars_exist_for_instance1_only() {
        let server = start(Scenario::default()).await;
        let response = with_password(
            client().get(instance(&server, "instance1", "remote.php/dav/avatars/test%40instance1.com/128.png")),
            "test@instance1.com",
        )
        .send()
        .await
        .expect("instance answers");
        assert_eq!(response.status(), 200, "test@instance1.com has an avatar");
        assert_eq!(response.headers()["content-type"], "image/png", "served as PNG");
        let bytes = response.bytes().await.expect("body");
        assert!(bytes.starts_with(PNG_SIGNATURE), "the body is a PNG");

        let missing = with_password(
            client().get(instance(&server, "instance2", "remote.php/dav/avatars/test%40instance2.com/128.png")),
            "test@instance2.com",
        )
        .send()
        .await
        .expect("instance answers");
        assert_eq!(missing.status(), 404, "instance2's user has no avatar: the client shows initials");

        let anonymous = client()
            .get(instance(&server, "instance1", "remote.php/dav/avatars/test%40instance1.com/128.png"))
            .send()
            .await
            .expect("instance answers");
        assert_eq!(anonymous.status(), 401, "avatars need credentials");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn outage_faults_answer_503_at_instances() {
        for fault in [Fault::Maintenance, Fault::NeedsDbUpgrade, Fault::NotInstalled] {
            let server = start(Scenario { fault: Some(fault), ..Scenario::default() }).await;
            let webdav = propfind(&client(), instance(&server, "instance1", "remote.php/webdav/"))
                .basic_auth("test@instance1.com", Some("secret"))
                .send()
                .await
                .expect("instance answers");
            assert_eq!(webdav.status(), 503, "{fault}: WebDAV is unavailable");
            let ocs = with_password(
                client()
                    .get(instance(&server, "instance1", "ocs/v1.php/cloud/user?format=json"))
                    .header("OCS-APIRequest", "true"),
                "test@instance1.com",
            )
            .send()
            .await
            .expect("instance answers");
            assert_eq!(ocs.status(), 503, "{fault}: OCS is unavailable");
            let status =
                client().get(instance(&server, "instance1", "status.php")).send().await.expect("instance answers");
            assert_eq!(status.status(), 200, "{fault}: status.php still answers, to explain the outage");
            server.shutdown().await;
        }
        let maintenance = start(Scenario { fault: Some(Fault::Maintenance), ..Scenario::default() }).await;
        let response = propfind(&client(), instance(&maintenance, "instance1", "remote.php/webdav/"))
            .send()
            .await
            .expect("instance answers");
        assert_eq!(response.headers()["retry-after"], "120", "maintenance says when to come back");
        maintenance.shutdown().await;
    }

    #[tokio::test]
    async fn unknown_paths_are_not_found() {
        let server = start(Scenario::default()).await;
        for path in ["index.php", "ocs/v3.php/cloud/user", "remote.php/dav/avatars/x/big.png"] {
            let response = with_password(
                client().get(instance(&server, "instance1", path)).header("OCS-APIRequest", "true"),
                "test@instance1.com",
            )
            .send()
            .await
            .expect("instance answers");
            assert_eq!(response.status(), 404, "{path} does not exist");
        }
        server.shutdown().await;
    }

    #[tokio::test]
    async fn malformed_xml_breaks_off_every_multistatus_with_a_php_fatal_error() {
        for path_instances in [false, true] {
            let server =
                start(Scenario { path_instances, fault: Some(Fault::MalformedXml), ..Scenario::default() }).await;
            for (depth, path) in [("0", "remote.php/webdav/"), ("1", "remote.php/dav/files/test@instance1.com/")] {
                let response =
                    with_password(propfind(&client(), instance(&server, "instance1", path)), "test@instance1.com")
                        .header("Depth", depth)
                        .send()
                        .await
                        .expect("the instance answers");
                assert_eq!(response.status(), 207, "{path}: the status was sent before PHP died");
                assert_eq!(response.headers()["content-type"], "application/xml; charset=utf-8", "{path}: as XML");
                let body = response.text().await.expect("the body ends normally");
                assert!(body.starts_with("<?xml version=\"1.0\"?>\n<d:multistatus"), "{path}: begins well: {body}");
                assert!(!body.contains("</d:multistatus>"), "{path}: the root is never closed: {body}");
                assert!(body.contains("<oc:permiss\n<br />"), "{path}: a start tag breaks off: {body}");
                assert!(
                    body.trim_end().ends_with("on line <b>135</b><br />") && body.contains("<b>Fatal error</b>"),
                    "{path}: PHP's fatal error follows: {body}"
                );
                assert_ne!(
                    body.matches("<d:response>").count(),
                    body.matches("</d:response>").count(),
                    "{path}: a response is left open"
                );
            }
            let capabilities = with_password(
                client()
                    .get(instance(&server, "instance1", "ocs/v1.php/cloud/capabilities?format=json"))
                    .header("OCS-APIRequest", "true"),
                "test@instance1.com",
            )
            .send()
            .await
            .expect("OCS answers");
            assert_eq!(capabilities.status(), 200, "only the PROPFIND answers are broken");
            server.shutdown().await;
        }
    }
}
