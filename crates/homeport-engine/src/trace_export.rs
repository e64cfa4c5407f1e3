//! Traces as files (`homeport connect --trace`): HAR 1.2 for browsers' devtools, and Mermaid and
//! PlantUML sequence diagrams that draw the picture of seeds 000 and 002 — the same lanes and
//! labels as the UI's live diagram (`ui/src/lib/diagram.ts`), whose PlantUML goes to the clipboard.
//!
//! Pure functions over recorded [`Exchange`]s: no I/O. The exchanges are already redacted
//! (`Authorization: Basic [redacted]`, cookies); every output redacts again, and also blanks the
//! values of query parameters that carry secrets (an OAuth `code`, a Matrix `loginToken`, …),
//! because these files are made to be attached to bug reports.

use std::fmt::Write as _;
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use url::Url;

use crate::trace::{redact_header, Exchange, Participant};

/// What stands in an export for a secret value.
pub const REDACTED: &str = "[redacted]";

/// Query (and fragment) parameters whose values are secrets; compared without case.
const SECRET_PARAMETERS: [&str; 13] = [
    "code",
    "state",
    "logintoken",
    "login_token",
    "access_token",
    "id_token",
    "token",
    "password",
    "refresh_token",
    "client_secret",
    "nonce",
    "code_verifier",
    "session_state",
];

/// The lanes in the UI's order (`LANES` in diagram.ts): alias and label.
const LANES: [(Participant, &str, &str); 4] = [
    (Participant::Client, "Client", "Client"),
    (Participant::Lookup, "Lookup", "Lookup server"),
    (Participant::Instance, "Instance", "Instance"),
    (Participant::Idp, "IdP", "IdP"),
];

/// The file formats `--trace-format` offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceFormat {
    /// HTTP Archive 1.2 (JSON): Chrome's and Firefox's network panels import it.
    Har,
    /// A Mermaid `sequenceDiagram`.
    Mermaid,
    /// A PlantUML `@startuml` sequence diagram.
    PlantUml,
}

impl TraceFormat {
    /// From a file's extension: `.mmd`/`.mermaid` → Mermaid, `.puml`/`.plantuml`/`.pu` →
    /// PlantUML, anything else (`.har`, `.json`, none) → HAR.
    pub fn for_path(path: &Path) -> TraceFormat {
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
        match extension.as_str() {
            "mmd" | "mermaid" => TraceFormat::Mermaid,
            "puml" | "plantuml" | "pu" => TraceFormat::PlantUml,
            _ => TraceFormat::Har,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TraceFormat::Har => "har",
            TraceFormat::Mermaid => "mermaid",
            TraceFormat::PlantUml => "plantuml",
        }
    }
}

impl FromStr for TraceFormat {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name.to_ascii_lowercase().as_str() {
            "har" => Ok(TraceFormat::Har),
            "mermaid" | "mmd" => Ok(TraceFormat::Mermaid),
            "plantuml" | "puml" => Ok(TraceFormat::PlantUml),
            other => Err(format!("unknown trace format {other:?}: har, mermaid or plantuml")),
        }
    }
}

/// What a trace file says besides the exchanges.
#[derive(Clone, Copy, Debug)]
pub struct TraceMeta<'a> {
    /// What the person typed (the HAR page's title).
    pub address: &'a str,
    /// Wall-clock time the wizard started: the exchanges' `started_ms` count from it.
    pub started: SystemTime,
    /// Homeport's version, for HAR's `creator`.
    pub creator_version: &'a str,
}

/// The whole file in `format`.
pub fn render(format: TraceFormat, exchanges: &[Exchange], meta: &TraceMeta<'_>) -> String {
    match format {
        TraceFormat::Har => {
            let mut text = serde_json::to_string_pretty(&to_har(exchanges, meta)).unwrap_or_default();
            text.push('\n');
            text
        }
        TraceFormat::Mermaid => to_mermaid(exchanges),
        TraceFormat::PlantUml => to_plantuml(exchanges),
    }
}

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
                "title": format!("homeport connect {}", redact_url(meta.address)),
                "pageTimings": { "onContentLoad": -1, "onLoad": -1 },
            }],
            "entries": entries,
            "comment": "Recorded by Homeport. Credentials, cookies, tokens and login codes are redacted; bodies are not recorded.",
        }
    })
}

/// A Mermaid `sequenceDiagram`: a `->>` per request, a `-->>` per answer (`--x` when none came),
/// requests sent together in one round grouped by `par … and … end`, a note per round.
pub fn to_mermaid(exchanges: &[Exchange]) -> String {
    let mut out = String::from("sequenceDiagram\n");
    for (_, alias, label) in lanes_used(exchanges) {
        if alias == label {
            let _ = writeln!(out, "    participant {alias}");
        } else {
            let _ = writeln!(out, "    participant {alias} as {label}");
        }
    }
    let span = span(exchanges);
    for round in rounds(exchanges) {
        let number = round.first().map(|e| e.round).unwrap_or_default();
        let _ = writeln!(out, "    Note over {span}: round {number}");
        let indent = if round.len() > 1 { "        " } else { "    " };
        for (index, exchange) in round.iter().enumerate() {
            if round.len() > 1 {
                out.push_str(if index == 0 { "    par\n" } else { "    and\n" });
            }
            let (from, to) = (lane(exchange.from).1, lane(exchange.to).1);
            let _ = writeln!(out, "{indent}{from}->>{to}: {}", mermaid_text(&request_label(exchange)));
            let arrow = if exchange.status.is_some() { "-->>" } else { "--x" };
            let _ = writeln!(out, "{indent}{to}{arrow}{from}: {}", mermaid_text(&response_label(exchange)));
        }
        if round.len() > 1 {
            out.push_str("    end\n");
        }
    }
    out
}

/// PlantUML in the UI's export style (`participant "Lookup server" as Lookup`, `== round N ==`,
/// `->` / `-->`), with concurrent requests grouped by `par … else … end` and failures as `-->x`.
pub fn to_plantuml(exchanges: &[Exchange]) -> String {
    let mut out = String::from("@startuml\n");
    for (_, alias, label) in lanes_used(exchanges) {
        let _ = writeln!(out, "participant \"{label}\" as {alias}");
    }
    for round in rounds(exchanges) {
        let number = round.first().map(|e| e.round).unwrap_or_default();
        let _ = writeln!(out, "== round {number} ==");
        let indent = if round.len() > 1 { "  " } else { "" };
        for (index, exchange) in round.iter().enumerate() {
            if round.len() > 1 {
                out.push_str(if index == 0 { "par\n" } else { "else\n" });
            }
            let (from, to) = (lane(exchange.from).1, lane(exchange.to).1);
            let _ = writeln!(out, "{indent}{from} -> {to}: {}", plantuml_text(&request_label(exchange)));
            let arrow = if exchange.status.is_some() { "-->" } else { "-->x" };
            let _ = writeln!(out, "{indent}{to} {arrow} {from}: {}", plantuml_text(&response_label(exchange)));
        }
        if round.len() > 1 {
            out.push_str("end\n");
        }
    }
    out.push_str("@enduml\n");
    out
}

/// `url` with the values of secret query and fragment parameters replaced by `[redacted]` and a
/// password in the userinfo dropped. Text that is no URL is redacted as a query string would be.
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = Url::parse(url) else {
        return redact_text(url);
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(None);
    }
    if let Some(query) = parsed.query() {
        let query = redact_pairs(query);
        parsed.set_query(Some(&query));
    }
    if let Some(fragment) = parsed.fragment() {
        let fragment = redact_pairs(fragment);
        parsed.set_fragment(Some(&fragment));
    }
    parsed.to_string()
}

/// Free text (an error message, an unparsable URL): any `name=value` of a secret parameter in it
/// keeps its name only.
fn redact_text(text: &str) -> String {
    match text.split_once('?') {
        Some((before, query)) => format!("{before}?{}", redact_pairs(query)),
        None if text.contains('=') => redact_pairs(text),
        None => text.to_owned(),
    }
}

/// `a=1&code=xyz` → `a=1&code=[redacted]`, keeping every other byte as it was.
fn redact_pairs(pairs: &str) -> String {
    pairs
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_parameter(name) => format!("{name}={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn is_secret_parameter(name: &str) -> bool {
    // The name as a server would decode it (`%63ode` is `code`); a trailing word boundary is
    // enough to catch `token` in `foo token` of free text, and `#` the fragment of a URL in it.
    let decoded: String = url::form_urlencoded::parse(name.as_bytes()).map(|(key, _)| key.into_owned()).collect();
    let decoded = decoded.rsplit([' ', '\t', ',', ';', '(', ':', '#']).next().unwrap_or_default().to_ascii_lowercase();
    SECRET_PARAMETERS.contains(&decoded.as_str())
}

/// Headers again through the trace's redaction, plus URL-valued and token-named ones.
fn redact_header_again(name: &str, value: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if ["token", "secret", "password", "api-key", "apikey"].iter().any(|word| lower.contains(word)) {
        return REDACTED.to_owned();
    }
    match lower.as_str() {
        "location" | "content-location" | "referer" => redact_url(value),
        _ => redact_header(name, value),
    }
}

fn har_headers(headers: &[(String, String)]) -> Vec<Value> {
    headers.iter().map(|(name, value)| json!({ "name": name, "value": redact_header_again(name, value) })).collect()
}

fn query_string(url: &str) -> Vec<Value> {
    Url::parse(url)
        .map(|url| url.query_pairs().map(|(name, value)| json!({ "name": name, "value": value })).collect())
        .unwrap_or_default()
}

/// A `Location` may be relative: it counts from the request's URL.
fn resolve(base: &str, location: &str) -> String {
    Url::parse(base).and_then(|base| base.join(location)).map(String::from).unwrap_or_else(|_| location.to_owned())
}

fn lane(participant: Participant) -> (Participant, &'static str, &'static str) {
    LANES.into_iter().find(|(p, _, _)| *p == participant).unwrap_or(LANES[0])
}

/// The lanes the exchanges touch, in the UI's order; the client always.
fn lanes_used(exchanges: &[Exchange]) -> Vec<(Participant, &'static str, &'static str)> {
    LANES
        .into_iter()
        .filter(|(p, _, _)| *p == Participant::Client || exchanges.iter().any(|e| e.from == *p || e.to == *p))
        .collect()
}

/// `Client,Instance`: from the first to the last lane in use, for a note across the diagram.
fn span(exchanges: &[Exchange]) -> String {
    let used = lanes_used(exchanges);
    match (used.first(), used.last()) {
        (Some(first), Some(last)) if first.1 != last.1 => format!("{},{}", first.1, last.1),
        _ => "Client".to_owned(),
    }
}

/// Consecutive exchanges (in the order sent) of one round: sent together.
fn rounds(exchanges: &[Exchange]) -> Vec<Vec<&Exchange>> {
    let mut sorted: Vec<&Exchange> = exchanges.iter().collect();
    sorted.sort_by(|a, b| a.started_ms.total_cmp(&b.started_ms));
    let mut rounds: Vec<Vec<&Exchange>> = Vec::new();
    for exchange in sorted {
        match rounds.last_mut() {
            Some(round) if round.first().is_some_and(|first| first.round == exchange.round) => round.push(exchange),
            _ => rounds.push(vec![exchange]),
        }
    }
    rounds
}

/// `PROPFIND /remote.php/webdav/`: the lane names the host, as in the UI.
fn request_label(exchange: &Exchange) -> String {
    let url = redact_url(&exchange.url);
    let path = Url::parse(&url)
        .map(|u| match u.query() {
            Some(query) => format!("{}?{query}", u.path()),
            None => u.path().to_owned(),
        })
        .unwrap_or(url);
    format!("{} {path}", exchange.method)
}

/// `207 Multi-Status (3 ms)`, `301 Moved Permanently → http://instance2:8080 (2 ms)`, or the error.
fn response_label(exchange: &Exchange) -> String {
    let ms = exchange.duration_ms.round();
    let Some(status) = exchange.status else {
        let error = exchange.error.as_deref().map(redact_text).unwrap_or_else(|| "no answer".to_owned());
        return format!("{error} ({ms} ms)");
    };
    let mut label = format!("{status} {}", reason(status)).trim_end().to_owned();
    let location = exchange.response_headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("location"));
    if let Some((_, location)) = location {
        let target = redact_url(&resolve(&exchange.url, location));
        let same_origin = match (Url::parse(&exchange.url), Url::parse(&target)) {
            (Ok(from), Ok(to)) => from.origin() == to.origin(),
            _ => false,
        };
        let shown = match Url::parse(&target) {
            Ok(to) if same_origin => to[url::Position::BeforePath..].to_owned(),
            Ok(to) => to.origin().ascii_serialization(),
            Err(_) => target,
        };
        let _ = write!(label, " → {shown}");
    }
    format!("{label} ({ms} ms)")
}

fn reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("")
}

/// Mermaid reads `;` as the end of a statement and `#…;` as an entity: both become entities.
fn mermaid_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '#' => out.push_str("#35;"),
            ';' => out.push_str("#59;"),
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// PlantUML reads a literal `\n` in a message as a line break; a line break would end the message.
fn plantuml_text(text: &str) -> String {
    text.replace(['\r', '\n'], " ").replace("\\n", "\\\\n")
}

/// `2026-11-23T12:03:04.123Z` (UTC), without a calendar crate.
fn iso8601(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since.as_secs();
    let days = i64::try_from(seconds / 86_400).unwrap_or_default();
    let rem = seconds % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOOKUP: &str = "http://127.0.0.1:4000";
    const INSTANCE: &str = "http://127.0.0.1:4002";

    #[allow(clippy::too_many_arguments)]
    fn exchange(
        round: u32,
        started_ms: f64,
        to: Participant,
        method: &str,
        url: String,
        status: Option<u16>,
        request_headers: &[(&str, &str)],
        response_headers: &[(&str, &str)],
    ) -> Exchange {
        let pairs = |h: &[(&str, &str)]| h.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
        Exchange {
            seq: 0,
            round,
            from: Participant::Client,
            to,
            method: method.into(),
            url,
            status,
            error: status.is_none().then(|| "connection refused".to_owned()),
            started_ms,
            duration_ms: 2.5,
            request_headers: pairs(request_headers),
            response_headers: pairs(response_headers),
        }
    }

    /// Seed 000 as the CLI runs it (credentials up front): 3 rounds, 6 exchanges.
    fn s0() -> Vec<Exchange> {
        let basic = [("Authorization", "Basic [redacted]"), ("Depth", "0")];
        let ocs = [("Authorization", "Basic [redacted]"), ("OCS-APIRequest", "true")];
        vec![
            exchange(1, 0.0, Participant::Lookup, "GET", format!("{LOOKUP}/status.php"), Some(200), &[], &[]),
            exchange(
                1,
                0.2,
                Participant::Lookup,
                "PROPFIND",
                format!("{LOOKUP}/remote.php/webdav/"),
                Some(301),
                &basic,
                &[("Location", &format!("{INSTANCE}/remote.php/webdav/"))],
            ),
            exchange(
                2,
                5.0,
                Participant::Instance,
                "PROPFIND",
                format!("{INSTANCE}/remote.php/webdav/"),
                Some(207),
                &basic,
                &[("Content-Type", "application/xml; charset=utf-8"), ("Content-Length", "512")],
            ),
            exchange(
                3,
                9.0,
                Participant::Instance,
                "GET",
                format!("{INSTANCE}/ocs/v2.php/cloud/capabilities?format=json"),
                Some(200),
                &ocs,
                &[],
            ),
            exchange(
                3,
                9.1,
                Participant::Instance,
                "GET",
                format!("{INSTANCE}/ocs/v2.php/cloud/user?format=json"),
                Some(200),
                &ocs,
                &[],
            ),
            exchange(
                3,
                9.2,
                Participant::Instance,
                "GET",
                format!("{INSTANCE}/remote.php/dav/avatars/test@instance2.com/128.png"),
                Some(404),
                &ocs,
                &[],
            ),
        ]
    }

    /// Secrets that slipped past the trace's own redaction, in every place an export shows.
    fn leaky() -> Vec<Exchange> {
        let mut leaky = vec![
            exchange(
                1,
                0.0,
                Participant::Idp,
                "GET",
                format!("{LOOKUP}/authorize?client_id=homeport&state=STATE-1&nonce=NONCE-1&code_challenge=abc"),
                Some(302),
                &[("Cookie", "session=COOKIE-1"), ("Authorization", "Bearer ACCESS-1")],
                &[("Location", "http://127.0.0.1:5000/callback?code=CODE-1&state=STATE-1"), ("Set-Cookie", "s=COOKIE-2")],
            ),
            exchange(
                2,
                3.0,
                Participant::Lookup,
                "GET",
                format!("{LOOKUP}/_matrix/client/v3/login?loginToken=LOGIN-1&access_token=ACCESS-2"),
                None,
                &[("X-Auth-Token", "TOKEN-1")],
                &[],
            ),
            exchange(
                3,
                6.0,
                Participant::Instance,
                "POST",
                format!("{INSTANCE}/token?refresh_token=REFRESH-1&client_secret=CLIENT-1&code_verifier=VERIFIER-1&password=PASSWORD-1&token=TOKEN-2#id_token=ID-1"),
                Some(200),
                &[],
                &[],
            ),
        ];
        leaky[1].error = Some("refused at http://127.0.0.1:5000/cb?code=CODE-2".into());
        leaky
    }

    const SECRETS: [&str; 16] = [
        "STATE-1",
        "NONCE-1",
        "COOKIE-1",
        "COOKIE-2",
        "ACCESS-1",
        "ACCESS-2",
        "CODE-1",
        "CODE-2",
        "LOGIN-1",
        "TOKEN-1",
        "TOKEN-2",
        "REFRESH-1",
        "CLIENT-1",
        "VERIFIER-1",
        "PASSWORD-1",
        "ID-1",
    ];

    fn meta() -> TraceMeta<'static> {
        TraceMeta {
            address: "http://alice:hunter2@127.0.0.1:4000/",
            started: UNIX_EPOCH + Duration::from_millis(1_795_435_384_123),
            creator_version: "0.1.0",
        }
    }

    #[test]
    fn no_secret_reaches_any_format() {
        for format in [TraceFormat::Har, TraceFormat::Mermaid, TraceFormat::PlantUml] {
            let text = render(format, &leaky(), &meta());
            for secret in SECRETS {
                assert!(!text.contains(secret), "{format:?} shows {secret}:\n{text}");
            }
            assert!(!text.contains("hunter2"), "{format:?} shows the address's password");
            for name in ["state=[redacted]", "loginToken=[redacted]", "refresh_token=[redacted]", "code=[redacted]"] {
                assert!(
                    text.contains(name),
                    "{format:?} keeps the name {name}, so the reader sees what was sent:\n{text}"
                );
            }
        }
        let har = to_har(&leaky(), &meta());
        let first = &har["log"]["entries"][0];
        let headers = &first["request"]["headers"];
        assert_eq!(headers[1]["value"], "Bearer [redacted]", "the scheme stays readable: {headers}");
        let query = &first["request"]["queryString"];
        assert_eq!(query[1], json!({"name": "state", "value": "[redacted]"}), "queryString too: {query}");
        assert_eq!(query[3], json!({"name": "code_challenge", "value": "abc"}), "a hash is no secret");
    }

    #[test]
    fn har_has_the_fields_devtools_need() {
        let har = to_har(&s0(), &meta());
        let log = &har["log"];
        assert_eq!(log["version"], "1.2");
        assert_eq!(log["creator"], json!({"name": "Homeport", "version": "0.1.0"}));
        assert_eq!(log["pages"][0]["title"], "homeport connect http://alice@127.0.0.1:4000/");
        let entries = log["entries"].as_array().expect("entries");
        assert_eq!(entries.len(), 6, "one entry per exchange");
        let probe = &entries[1];
        assert_eq!(log["pages"][0]["startedDateTime"], "2026-11-23T12:03:04.123Z", "the wizard's start, in UTC");
        assert_eq!(entries[2]["startedDateTime"], "2026-11-23T12:03:04.128Z", "the wizard's start + 5 ms");
        assert_eq!(probe["time"], 2.5);
        assert_eq!(probe["timings"]["wait"], 2.5, "send + wait + receive = time");
        assert_eq!(probe["request"]["method"], "PROPFIND");
        assert_eq!(probe["request"]["url"], format!("{LOOKUP}/remote.php/webdav/"));
        assert_eq!(probe["request"]["headers"][0], json!({"name": "Authorization", "value": "Basic [redacted]"}));
        assert_eq!(probe["response"]["status"], 301);
        assert_eq!(probe["response"]["statusText"], "Moved Permanently");
        assert_eq!(probe["response"]["redirectURL"], format!("{INSTANCE}/remote.php/webdav/"));
        let verify = &entries[2]["response"];
        assert_eq!(verify["content"], json!({"size": 512, "mimeType": "application/xml; charset=utf-8"}));
        assert_eq!(entries[3]["request"]["queryString"], json!([{"name": "format", "value": "json"}]));
        for entry in entries {
            for field in ["pageref", "startedDateTime", "time", "request", "response", "cache", "timings"] {
                assert!(!entry[field].is_null(), "entry.{field} is required: {entry}");
            }
            for field in
                ["method", "url", "httpVersion", "headers", "queryString", "cookies", "headersSize", "bodySize"]
            {
                assert!(!entry["request"][field].is_null(), "request.{field} is required: {entry}");
            }
            for field in [
                "status",
                "statusText",
                "httpVersion",
                "headers",
                "cookies",
                "content",
                "redirectURL",
                "headersSize",
                "bodySize",
            ] {
                assert!(!entry["response"][field].is_null(), "response.{field} is required: {entry}");
            }
        }
        let failed = to_har(&leaky(), &meta());
        let failed = &failed["log"]["entries"][1]["response"];
        assert_eq!((failed["status"].as_u64(), failed["_error"].is_string()), (Some(0), true), "{failed}");
    }

    #[test]
    fn mermaid_draws_seed_000_with_the_probe_in_parallel() {
        let mermaid = to_mermaid(&s0());
        let expected = "\
sequenceDiagram
    participant Client
    participant Lookup as Lookup server
    participant Instance
    Note over Client,Instance: round 1
    par
        Client->>Lookup: GET /status.php
        Lookup-->>Client: 200 OK (3 ms)
    and
        Client->>Lookup: PROPFIND /remote.php/webdav/
        Lookup-->>Client: 301 Moved Permanently → http://127.0.0.1:4002 (3 ms)
    end
    Note over Client,Instance: round 2
    Client->>Instance: PROPFIND /remote.php/webdav/
    Instance-->>Client: 207 Multi-Status (3 ms)
    Note over Client,Instance: round 3
    par
        Client->>Instance: GET /ocs/v2.php/cloud/capabilities?format=json
        Instance-->>Client: 200 OK (3 ms)
    and
        Client->>Instance: GET /ocs/v2.php/cloud/user?format=json
        Instance-->>Client: 200 OK (3 ms)
    and
        Client->>Instance: GET /remote.php/dav/avatars/test@instance2.com/128.png
        Instance-->>Client: 404 Not Found (3 ms)
    end
";
        assert_eq!(mermaid, expected, "lanes used, par per concurrent round, the redirect's target");
        let failed = to_mermaid(&leaky());
        assert!(failed.contains("    participant IdP\n"), "the IdP lane when used: {failed}");
        assert!(failed.contains("Lookup--xClient: refused at"), "a failure is a crossed answer: {failed}");
    }

    #[test]
    fn plantuml_matches_the_uis_export_with_par_groups() {
        let plantuml = to_plantuml(&s0());
        let expected = "\
@startuml
participant \"Client\" as Client
participant \"Lookup server\" as Lookup
participant \"Instance\" as Instance
== round 1 ==
par
  Client -> Lookup: GET /status.php
  Lookup --> Client: 200 OK (3 ms)
else
  Client -> Lookup: PROPFIND /remote.php/webdav/
  Lookup --> Client: 301 Moved Permanently → http://127.0.0.1:4002 (3 ms)
end
== round 2 ==
Client -> Instance: PROPFIND /remote.php/webdav/
Instance --> Client: 207 Multi-Status (3 ms)
== round 3 ==
par
  Client -> Instance: GET /ocs/v2.php/cloud/capabilities?format=json
  Instance --> Client: 200 OK (3 ms)
else
  Client -> Instance: GET /ocs/v2.php/cloud/user?format=json
  Instance --> Client: 200 OK (3 ms)
else
  Client -> Instance: GET /remote.php/dav/avatars/test@instance2.com/128.png
  Instance --> Client: 404 Not Found (3 ms)
end
@enduml
";
        assert_eq!(plantuml, expected, "the UI's lanes and aliases, rounds as dividers");
        assert!(to_plantuml(&leaky()).contains("Lookup -->x Client: refused at"), "a failure is a lost answer");
    }

    #[test]
    fn same_origin_redirects_show_the_path_and_text_is_escaped() {
        let mut hop = s0().remove(1);
        hop.response_headers = vec![("Location".into(), "/login;jsessionid=1#top".into())];
        assert_eq!(response_label(&hop), "301 Moved Permanently → /login;jsessionid=1#top (3 ms)");
        assert!(to_mermaid(&[hop]).contains("→ /login#59;jsessionid=1#35;top"), "; and # are entities in Mermaid");
    }

    #[test]
    fn format_from_extension_and_name() {
        assert_eq!(TraceFormat::for_path(Path::new("bug.har")), TraceFormat::Har);
        assert_eq!(TraceFormat::for_path(Path::new("bug.MMD")), TraceFormat::Mermaid);
        assert_eq!(TraceFormat::for_path(Path::new("bug.puml")), TraceFormat::PlantUml);
        assert_eq!(TraceFormat::for_path(Path::new("bug.txt")), TraceFormat::Har, "HAR unless the name says");
        assert_eq!("plantuml".parse::<TraceFormat>(), Ok(TraceFormat::PlantUml));
        assert!("svg".parse::<TraceFormat>().is_err());
    }

    #[test]
    fn redaction_keeps_everything_else_as_it_was() {
        assert_eq!(redact_url("https://h/a?format=json&x=%20y"), "https://h/a?format=json&x=%20y");
        assert_eq!(redact_url("https://h/cb?Code=1&%73tate=2"), "https://h/cb?Code=[redacted]&%73tate=[redacted]");
        assert_eq!(redact_text("token=abc"), "token=[redacted]");
        assert_eq!(redact_text("connection refused"), "connection refused");
    }
}
