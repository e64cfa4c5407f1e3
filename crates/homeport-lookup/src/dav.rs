//! The WebDAV shapes the demo's file servers share: the ownCloud 10 instances, oCIS (the server and its
//! instances) and the approuter each serve one read-only demo home under the same endpoints, and answer
//! PROPFIND, GET, HEAD, OPTIONS and every other method alike, but for the few details where the products differ.

use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::Router;

use crate::owncloud::webdav::{self, decode_path, Depth};
use crate::owncloud::{not_found, sabre_error, xml_response};

/// The methods the read-only demo home supports.
pub(crate) const ALLOWED_METHODS: &str = "OPTIONS, GET, HEAD, PROPFIND";

/// The legacy endpoint every client knows: `remote.php/webdav/...` is the user's home.
pub(crate) const LEGACY_WEBDAV: &str = "/remote.php/webdav";
/// The routes of the legacy endpoint: itself, with a slash, and everything below.
pub(crate) const LEGACY_WEBDAV_ROUTES: [&str; 3] =
    ["/remote.php/webdav", "/remote.php/webdav/", "/remote.php/webdav/{*rest}"];
/// The routes of the newer endpoint, `remote.php/dav/files/<user id>/...`.
pub(crate) const DAV_FILES_ROUTES: [&str; 3] =
    ["/remote.php/dav/files/{user}", "/remote.php/dav/files/{user}/", "/remote.php/dav/files/{user}/{*rest}"];

/// `router` with `handler` at each of `routes`.
pub(crate) fn route_each<S>(mut router: Router<S>, routes: [&str; 3], handler: MethodRouter<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    for route in routes {
        router = router.route(route, handler.clone());
    }
    router
}

/// The path below the home of a request to the legacy endpoint (percent-encoded; empty for another endpoint).
pub(crate) fn legacy_relative(path: &str) -> &str {
    path.strip_prefix(LEGACY_WEBDAV).unwrap_or_default()
}

/// Splits `/remote.php/dav/files/<owner>/<rest>` after the prefix into the decoded owner and the rest.
pub(crate) fn dav_files_owner(path: &str) -> Option<(String, &str)> {
    let after = path.strip_prefix("/remote.php/dav/files/")?;
    let (owner, rest) = after.split_once('/').unwrap_or((after, ""));
    Some((decode_path(owner)?, rest))
}

/// Which product answers, where their answers differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Product {
    /// ownCloud 10: a browser's GET of a folder gets SabreDAV's notice, OPTIONS says `MS-Author-Via`, and the
    /// `malformed-xml` fault breaks off every PROPFIND answer with a PHP fatal error.
    OwnCloud { malformed_xml: bool },
    /// oCIS and the approuter.
    Ocis,
}

/// The demo home as one server serves it.
#[derive(Debug)]
pub(crate) struct Home {
    /// The home's href as the client sees it (mount path and endpoint included), with a trailing slash.
    pub(crate) href: String,
    /// The suffix of every `oc:id`.
    pub(crate) instance_tag: String,
    pub(crate) product: Product,
}

/// What ownCloud answers a browser that GETs a WebDAV folder.
const WEBDAV_GET_NOTICE: &str = "This is the WebDAV interface. It can only be accessed by WebDAV clients such as the \
                                 ownCloud desktop sync client.";

/// PROPFIND / GET / HEAD / OPTIONS on the demo home at `relative` (percent-encoded, relative to the home).
pub(crate) fn serve_home(method: &Method, headers: &HeaderMap, relative: &str, home: &Home) -> Response {
    let Some(relative) = decode_path(relative) else {
        return not_found();
    };
    let Some(resource) = webdav::find(&relative) else {
        return not_found();
    };
    let text = |content_type: &'static str, body: String| {
        (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], body).into_response()
    };
    match (method.as_str(), home.product) {
        ("PROPFIND", _) => {
            let depth = Depth::from_header(headers.get("depth").and_then(|value| value.to_str().ok()));
            let mut body = webdav::multistatus(resource, depth, &home.href, &home.instance_tag);
            if home.product == (Product::OwnCloud { malformed_xml: true }) {
                body = webdav::cut_short_by_a_fatal_error(&body);
            }
            xml_response(StatusCode::MULTI_STATUS, "application/xml; charset=utf-8", body)
        }
        ("GET" | "HEAD", Product::OwnCloud { .. }) if resource.is_collection() => {
            text("text/plain; charset=utf-8", WEBDAV_GET_NOTICE.to_owned())
        }
        ("GET" | "HEAD", Product::Ocis) if resource.is_collection() => {
            text("text/plain; charset=utf-8", format!("Homeport demo: {}\n", resource.path))
        }
        ("GET" | "HEAD", product) => download(resource, home, product),
        ("OPTIONS", product) => {
            let mut response = (
                StatusCode::OK,
                [
                    (header::HeaderName::from_static("dav"), HeaderValue::from_static("1, 3")),
                    (header::ALLOW, HeaderValue::from_static(ALLOWED_METHODS)),
                ],
            )
                .into_response();
            if let Product::OwnCloud { .. } = product {
                response
                    .headers_mut()
                    .insert(header::HeaderName::from_static("ms-author-via"), HeaderValue::from_static("DAV"));
            }
            response
        }
        _ => {
            let mut response = sabre_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "Sabre\\DAV\\Exception\\MethodNotAllowed",
                "The demo home is read-only",
            );
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(ALLOWED_METHODS));
            response
        }
    }
}

/// A file's GET (or HEAD): its content with the headers a sync client needs. Without an `ETag` the ownCloud
/// client refuses the download ("No E-Tag received from server"), and it checks `Content-Length` against the
/// listing's size; `Last-Modified` gives the file its time. ownCloud 10 (SabreDAV) sends `ETag`, `Last-Modified`
/// and `Content-Disposition`; oCIS adds `OC-ETag` and `OC-FileId` (the `oc:id`). See docs/protocols/owncloud-redirect.md.
fn download(resource: &webdav::Resource, home: &Home, product: Product) -> Response {
    let body = resource.content();
    let name = webdav::encode_path(resource.name());
    let disposition = format!("attachment; filename*=UTF-8''{name}; filename=\"{name}\"");
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(resource.content_type()));
    // Set here, not left to the body: a HEAD answer has no body but must still say the file's length.
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    headers.insert(header::ETAG, HeaderValue::from_static(resource.etag()));
    headers.insert(header::LAST_MODIFIED, HeaderValue::from_static(resource.last_modified()));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    if product == Product::Ocis {
        headers.insert(header::HeaderName::from_static("oc-etag"), HeaderValue::from_static(resource.etag()));
        if let Ok(value) = HeaderValue::from_str(&resource.oc_id(&home.instance_tag)) {
            headers.insert(header::HeaderName::from_static("oc-fileid"), value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dav_files_paths_split() {
        assert_eq!(dav_files_owner("/remote.php/dav/files/marie/"), Some(("marie".to_owned(), "")), "home");
        assert_eq!(
            dav_files_owner("/remote.php/dav/files/ma%72ie/Photos/"),
            Some(("marie".to_owned(), "Photos/")),
            "decoded owner, raw rest"
        );
        assert_eq!(dav_files_owner("/remote.php/webdav/"), None, "another endpoint");
    }

    /// What the ownCloud client's download (`GETFileJob`) and discovery read, at both endpoints of an ownCloud 10
    /// instance: the ETag of the listing again on GET and HEAD, a length that matches `getcontentlength`, the
    /// listing's date, and the properties discovery refuses a file without (size, permissions, etag, file id).
    #[tokio::test]
    async fn owncloud_downloads_carry_what_a_sync_client_checks() {
        use crate::testing::{client, propfind, start, with_password};
        let server = start(crate::Scenario::default()).await;
        let instance = &server.instance_urls()["instance1"];
        for home in ["remote.php/webdav/", "remote.php/dav/files/test@instance1.com/"] {
            let listing = with_password(propfind(&client(), instance.join(home).expect("URL")), "test@instance1.com")
                .header("Depth", "1")
                .send()
                .await
                .expect("instance answers");
            assert_eq!(listing.status(), 207, "{home}: Multi-Status");
            let listing = listing.text().await.expect("body");
            let manual = webdav::find("ownCloud Manual.pdf").expect("the manual is in the demo home");
            let entry = listing
                .split("<d:response>")
                .find(|entry| entry.contains("ownCloud%20Manual.pdf</d:href>"))
                .unwrap_or_else(|| panic!("{home}: the manual is listed: {listing}"));
            let length = manual.content().len();
            for property in [
                format!("<d:getetag>{}</d:getetag>", crate::owncloud::xml_escape(manual.etag())),
                format!("<d:getcontentlength>{length}</d:getcontentlength>"),
                format!("<oc:size>{length}</oc:size>"),
                "<oc:permissions>RDNVW</oc:permissions>".to_owned(),
                "<oc:fileid>6</oc:fileid>".to_owned(),
                "<oc:id>00000006ocinstance1</oc:id>".to_owned(),
                "<d:getlastmodified>Tue, 14 Nov 2023 10:21:03 GMT</d:getlastmodified>".to_owned(),
                "<d:getcontenttype>application/pdf</d:getcontenttype>".to_owned(),
                "<d:resourcetype/>".to_owned(),
            ] {
                assert!(entry.contains(&property), "{home}: the manual's listing has {property}: {entry}");
            }
            let total: usize = ["Documents/Example.odt", "ownCloud Manual.pdf", "Photos/Paris.jpg"]
                .into_iter()
                .map(|path| webdav::find(path).expect("demo file").content().len())
                .sum();
            assert!(
                listing.contains(&format!("<oc:size>{total}</oc:size>")),
                "{home}: the home's size is the total of its files ({total}): {listing}"
            );

            let url = instance.join(&format!("{home}ownCloud%20Manual.pdf")).expect("URL");
            for method in [reqwest::Method::GET, reqwest::Method::HEAD] {
                let response = with_password(client().request(method.clone(), url.clone()), "test@instance1.com")
                    .send()
                    .await
                    .expect("instance answers");
                assert_eq!(response.status(), 200, "{home}: {method} of a file");
                let headers = response.headers().clone();
                assert_eq!(headers["etag"], manual.etag(), "{home}: {method} names the listing's ETag, quoted");
                assert_eq!(headers["content-length"], length.to_string(), "{home}: {method}: the listed size");
                assert_eq!(headers["last-modified"], manual.last_modified(), "{home}: {method}: the listed date");
                assert_eq!(headers["content-type"], "application/pdf", "{home}: {method}: the listed type");
                assert_eq!(
                    headers["content-disposition"],
                    "attachment; filename*=UTF-8''ownCloud%20Manual.pdf; filename=\"ownCloud%20Manual.pdf\"",
                    "{home}: {method}: a download, as SabreDAV's FilesPlugin says"
                );
                assert!(!headers.contains_key("oc-fileid"), "{home}: ownCloud 10 sends OC-FileId on writes only");
                let body = response.bytes().await.expect("body");
                let expected: &[u8] = if method == reqwest::Method::HEAD { b"" } else { manual.content() };
                assert_eq!(&body[..], expected, "{home}: {method}: the file's content (none for HEAD)");
            }
        }
        server.shutdown().await;
    }

    /// oCIS answers a download like ownCloud and adds `OC-ETag` and `OC-FileId` (reva's ocdav GET and HEAD).
    #[tokio::test]
    async fn ocis_downloads_add_oc_etag_and_oc_fileid() {
        use crate::testing::{access_token, localhost_client, log_in, start};
        let server = start(crate::Scenario::default()).await;
        let marie = access_token(&log_in(&server.idp_issuer(), "marie", "radioactivity").await);
        let url = server.ocis_instance_urls()["A"].join("remote.php/dav/files/marie/Photos/Paris.jpg").expect("URL");
        let paris = webdav::find("Photos/Paris.jpg").expect("demo file");
        for method in [reqwest::Method::GET, reqwest::Method::HEAD] {
            let response = localhost_client()
                .request(method.clone(), url.clone())
                .bearer_auth(&marie)
                .send()
                .await
                .expect("answers");
            assert_eq!(response.status(), 200, "{method} of a file");
            let headers = response.headers();
            assert_eq!(headers["etag"], paris.etag(), "{method}: ETag");
            assert_eq!(headers["oc-etag"], paris.etag(), "{method}: OC-ETag repeats it");
            assert_eq!(headers["oc-fileid"], "00000007ocisA", "{method}: OC-FileId is the oc:id");
            assert_eq!(headers["content-length"], paris.content().len().to_string(), "{method}: the listed size");
            assert_eq!(headers["content-type"], "image/jpeg", "{method}: the listed type");
        }
        server.shutdown().await;
    }
}
