//! The OCS envelope (`{"ocs":{"meta":…,"data":…}}` or its XML twin) in both API versions.

use std::fmt::Write as _;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::{status_document, xml_escape, xml_response};
use crate::people::People;
use crate::Fault;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OcsVersion {
    V1,
    V2,
}

impl OcsVersion {
    /// From the path segment `v1.php` / `v2.php`.
    pub(crate) fn from_segment(segment: &str) -> Option<OcsVersion> {
        match segment {
            "v1.php" => Some(OcsVersion::V1),
            "v2.php" => Some(OcsVersion::V2),
            _ => None,
        }
    }

    /// v1 reports success as 100 in the body; v2 mirrors HTTP.
    fn ok_code(self) -> u16 {
        match self {
            OcsVersion::V1 => 100,
            OcsVersion::V2 => 200,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OcsFormat {
    Json,
    Xml,
}

impl OcsFormat {
    /// `?format=json` selects JSON; anything else is ownCloud's default, XML.
    pub(crate) fn from_query(query: Option<&str>) -> OcsFormat {
        let wants_json = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .any(|(key, value)| key == "format" && value.eq_ignore_ascii_case("json"));
        if wants_json {
            OcsFormat::Json
        } else {
            OcsFormat::Xml
        }
    }
}

/// A successful OCS answer carrying `data`.
pub(crate) fn ok(version: OcsVersion, format: OcsFormat, data: Value) -> Response {
    envelope(StatusCode::OK, format, "ok", version.ok_code(), "OK", data)
}

/// A failed OCS answer: `http` is the HTTP status, `code` the one in `meta.statuscode`.
pub(crate) fn failure(http: StatusCode, format: OcsFormat, code: u16, message: &str) -> Response {
    envelope(http, format, "failure", code, message, json!([]))
}

/// The `Unauthorised` failure of a request without valid credentials, with the `WWW-Authenticate` challenge
/// (when there is one) that tells the client where and how to log in.
pub(crate) fn unauthorised(http: StatusCode, format: OcsFormat, code: u16, challenge: Option<&str>) -> Response {
    let mut response = failure(http, format, code, "Unauthorised");
    if let Some(value) = challenge.and_then(|challenge| HeaderValue::from_str(challenge).ok()) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

fn envelope(http: StatusCode, format: OcsFormat, status: &str, code: u16, message: &str, data: Value) -> Response {
    let document = json!({
        "ocs": {
            "meta": {
                "status": status,
                "statuscode": code,
                "message": message,
                "totalitems": "",
                "itemsperpage": "",
            },
            "data": data,
        }
    });
    match format {
        OcsFormat::Json => (
            http,
            [(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"))],
            document.to_string(),
        )
            .into_response(),
        OcsFormat::Xml => {
            let mut body = String::from("<?xml version=\"1.0\"?>\n");
            write_xml_element(&mut body, "ocs", &document["ocs"], 0);
            xml_response(http, "text/xml; charset=UTF-8", body)
        }
    }
}

/// Writes a JSON value the way ownCloud's OCS XML formatter does: objects become nested elements, list items
/// `<element>`, `true` becomes `1` and `false`/`null` an empty element.
fn write_xml_element(out: &mut String, name: &str, value: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    // Writing into a String cannot fail; the results are ignored for that reason.
    match value {
        Value::Object(map) if !map.is_empty() => {
            let _ = writeln!(out, "{pad}<{name}>");
            for (key, child) in map {
                write_xml_element(out, key, child, indent + 1);
            }
            let _ = writeln!(out, "{pad}</{name}>");
        }
        Value::Array(items) if !items.is_empty() => {
            let _ = writeln!(out, "{pad}<{name}>");
            for item in items {
                write_xml_element(out, "element", item, indent + 1);
            }
            let _ = writeln!(out, "{pad}</{name}>");
        }
        Value::Object(_) | Value::Array(_) | Value::Null | Value::Bool(false) => {
            let _ = writeln!(out, "{pad}<{name}/>");
        }
        Value::Bool(true) => {
            let _ = writeln!(out, "{pad}<{name}>1</{name}>");
        }
        Value::Number(number) => {
            let _ = writeln!(out, "{pad}<{name}>{number}</{name}>");
        }
        Value::String(text) if text.is_empty() => {
            let _ = writeln!(out, "{pad}<{name}></{name}>");
        }
        Value::String(text) => {
            let _ = writeln!(out, "{pad}<{name}>{}</{name}>", xml_escape(text));
        }
    }
}

/// `cloud/capabilities` data of an ownCloud 10.13.4 server; `core.status` repeats `status.php`.
pub(crate) fn capabilities(people: &People, fault: Option<Fault>) -> Value {
    json!({
        "version": {
            "major": 10,
            "minor": 13,
            "micro": 4,
            "string": "10.13.4",
            "edition": "Community",
            "product": "ownCloud",
        },
        "capabilities": {
            "core": {
                "pollinterval": 60,
                "webdav-root": "remote.php/webdav",
                "status": status_document(people, fault),
            },
            "dav": { "chunking": "1.0" },
            "files": {
                "bigfilechunking": true,
                "undelete": true,
                "versioning": true,
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_follows_the_query() {
        assert_eq!(OcsFormat::from_query(Some("format=json")), OcsFormat::Json, "format=json");
        assert_eq!(OcsFormat::from_query(Some("a=1&format=JSON")), OcsFormat::Json, "anywhere, any case");
        assert_eq!(OcsFormat::from_query(None), OcsFormat::Xml, "XML is ownCloud's default");
        assert_eq!(OcsFormat::from_query(Some("format=xml")), OcsFormat::Xml, "explicit XML");
        assert_eq!(OcsFormat::from_query(Some("%%%")), OcsFormat::Xml, "garbage is no request for JSON");
    }

    #[test]
    fn xml_rendering_follows_ownclouds_formatter() {
        let mut out = String::new();
        write_xml_element(&mut out, "data", &json!({"a": true, "b": false, "c": [1, "x<y"], "d": ""}), 0);
        assert_eq!(
            out,
            "<data>\n <a>1</a>\n <b/>\n <c>\n  <element>1</element>\n  <element>x&lt;y</element>\n </c>\n <d></d>\n</data>\n",
            "true→1, false→empty, lists→element, text escaped"
        );
    }
}
