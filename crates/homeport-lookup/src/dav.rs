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
        // The demo files have no real content; a short stand-in keeps downloads from failing.
        ("GET" | "HEAD", Product::OwnCloud { .. }) => {
            text(resource.content_type(), format!("Homeport demo file: {}\n", resource.path))
        }
        ("GET" | "HEAD", Product::Ocis) => {
            text("text/plain; charset=utf-8", format!("Homeport demo: {}\n", resource.path))
        }
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
}
