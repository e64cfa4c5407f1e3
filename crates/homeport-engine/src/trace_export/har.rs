//! HAR 1.2, the format browsers' network panels import.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use url::Url;

use super::{lane, reason, resolve, TraceMeta};
use crate::redact::{redact_any_header, redact_text, redact_url};
use crate::trace::Exchange;

/// HAR 1.2 (<http://www.softwareishard.com/blog/har-12-spec/>), with only what the trace knows:
/// no bodies (`bodySize` -1), sizes unknown (-1), all time counted as `wait`. A failed exchange
/// has status 0 and says why in `response._error`, as Chrome's own export does.
pub fn to_har(exchanges: &[Exchange], meta: &TraceMeta<'_>) -> Value {
    const PAGE: &str = "homeport";
    let entries: Vec<Value> = exchanges
        .iter()
        .map(|exchange| {
            let url = redact_url(&exchange.url);
            let started = meta.started + Duration::from_secs_f64(exchange.started_ms.max(0.0) / 1000.0);
            let response_headers = har_headers(&exchange.response_headers);
            let header = |name: &str| {
                exchange.response_headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
            };
            let mut response = json!({
                "status": exchange.status.unwrap_or(0),
                "statusText": exchange.status.map(reason).unwrap_or_default(),
                "httpVersion": "HTTP/1.1",
                "headers": response_headers,
                "cookies": [],
                "content": {
                    "size": header("content-length").and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(0),
                    "mimeType": header("content-type").unwrap_or("x-unknown"),
                },
                "redirectURL": header("location").map(|l| redact_url(&resolve(&exchange.url, l))).unwrap_or_default(),
                "headersSize": -1,
                "bodySize": -1,
            });
            if let (Some(error), Some(object)) = (&exchange.error, response.as_object_mut()) {
                object.insert("_error".into(), redact_text(error).into());
            }
            json!({
                "pageref": PAGE,
                "startedDateTime": iso8601(started),
                "time": exchange.duration_ms,
                "request": {
                    "method": exchange.method,
                    "url": url,
                    "httpVersion": "HTTP/1.1",
                    "headers": har_headers(&exchange.request_headers),
                    "queryString": query_string(&url),
                    "cookies": [],
                    "headersSize": -1,
                    "bodySize": -1,
                },
                "response": response,
                "cache": {},
                "timings": { "blocked": -1, "dns": -1, "connect": -1, "send": 0, "wait": exchange.duration_ms, "receive": 0, "ssl": -1 },
                "_round": exchange.round,
                "_from": lane(exchange.from).1,
                "_to": lane(exchange.to).1,
            })
        })
        .collect();
    json!({
        "log": {
            "version": "1.2",
            "creator": { "name": "Homeport", "version": meta.creator_version },
            "pages": [{
                "startedDateTime": iso8601(meta.started),
                "id": PAGE,
                "title": format!("homeport connect {}", redact_url(&crate::address::Address::entered(meta.address))),
                "pageTimings": { "onContentLoad": -1, "onLoad": -1 },
            }],
            "entries": entries,
            "comment": "Recorded by Homeport. Credentials, cookies, tokens and login codes are redacted; bodies are not recorded.",
        }
    })
}

fn har_headers(headers: &[(String, String)]) -> Vec<Value> {
    headers.iter().map(|(name, value)| json!({ "name": name, "value": redact_any_header(name, value) })).collect()
}

fn query_string(url: &str) -> Vec<Value> {
    Url::parse(url)
        .map(|url| url.query_pairs().map(|(name, value)| json!({ "name": name, "value": value })).collect())
        .unwrap_or_default()
}

/// `2026-11-23T12:03:04.123Z` (UTC), without a calendar crate.
fn iso8601(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since.as_secs();
    let (year, month, day) = crate::account::civil_date(seconds);
    let rem = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}
