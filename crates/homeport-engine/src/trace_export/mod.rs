//! Traces as files (`homeport connect --trace`): HAR 1.2 for browsers' devtools, and Mermaid and
//! PlantUML sequence diagrams that draw the picture of docs/protocols/owncloud-redirect.md and
//! oidc-ocis.md — the same lanes and labels as the UI's live diagram (`ui/src/lib/diagram.ts`); the
//! desktop's "Copy as text" is [`to_plantuml_events`] (the shell's `trace_plantuml` command).
//!
//! Pure functions over [`Exchange`]s: no I/O. The trace redacted them when it recorded them
//! ([`crate::redact`]: credentials, cookies, the values of query parameters that carry secrets such
//! as an OAuth `code` or a Matrix `loginToken`); every output redacts again all the same, because
//! these files are made to be attached to bug reports and an exchange may come from elsewhere
//! (the desktop app's webview hands its copy back for "Copy as text"). For a recorded trace the
//! second pass changes nothing.

use std::fmt::Write as _;
use std::path::Path;
use std::str::FromStr;
use std::time::SystemTime;

use url::Url;

use crate::redact::redact_text;
pub use crate::redact::{redact_url, REDACTED};
use crate::trace::{Exchange, Participant};

mod har;
mod mermaid;
mod plantuml;
#[cfg(test)]
mod tests;

pub use har::to_har;
pub use mermaid::to_mermaid;
pub use plantuml::{to_plantuml, to_plantuml_events};

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

/// A `Location` may be relative: it counts from the request's URL.
pub(super) fn resolve(base: &str, location: &str) -> String {
    Url::parse(base).and_then(|base| base.join(location)).map(String::from).unwrap_or_else(|_| location.to_owned())
}

pub(super) fn lane(participant: Participant) -> (Participant, &'static str, &'static str) {
    LANES.into_iter().find(|(p, _, _)| *p == participant).unwrap_or(LANES[0])
}

/// The lanes the exchanges touch, in the UI's order; the client always.
pub(super) fn lanes_used(exchanges: &[Exchange]) -> Vec<(Participant, &'static str, &'static str)> {
    LANES
        .into_iter()
        .filter(|(p, _, _)| *p == Participant::Client || exchanges.iter().any(|e| e.from == *p || e.to == *p))
        .collect()
}

/// `Client,Instance`: from the first to the last lane in use, for a note across the diagram.
pub(super) fn span(exchanges: &[Exchange]) -> String {
    let used = lanes_used(exchanges);
    match (used.first(), used.last()) {
        (Some(first), Some(last)) if first.1 != last.1 => format!("{},{}", first.1, last.1),
        _ => "Client".to_owned(),
    }
}

/// Consecutive exchanges (in the order sent) of one round: sent together.
pub(super) fn rounds(exchanges: &[Exchange]) -> Vec<Vec<&Exchange>> {
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
pub(super) fn request_label(exchange: &Exchange) -> String {
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
pub(super) fn response_label(exchange: &Exchange) -> String {
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

pub(super) fn reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("")
}
