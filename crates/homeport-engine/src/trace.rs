//! The record of every HTTP exchange, for the sequence diagram (GUI), `--json` and `--trace`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::redact;

mod about;
mod transport;
pub use about::StepAbout;
pub use transport::TransportErrorKind;

/// Who answered an exchange. The client is always the other side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum Participant {
    Client,
    /// The server the person typed (the central / lookup server).
    Lookup,
    /// The instance that really holds the account.
    Instance,
    /// The OpenID provider (identity provider) that logs the person in.
    Idp,
}

/// One request and its answer (or failure), with secrets already redacted: the trace redacts
/// every exchange when it records it. `Deserialize`: the desktop's webview can hand its copy back
/// to be rendered by [`crate::trace_export`] (which redacts again: the copy is not trusted).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Exchange {
    /// Order in which the exchange completed, from 1 (`started_ms` gives the order sent).
    pub seq: u32,
    /// Sequential round this request belongs to: requests sent concurrently share a round.
    pub round: u32,
    pub from: Participant,
    pub to: Participant,
    pub method: String,
    pub url: String,
    pub status: Option<u16>,
    /// Why no status: connection refused, timeout, TLS failure, body too large… in the engine's
    /// words, with the raw OS or TLS text.
    pub error: Option<String>,
    /// The same failure as data, for the desktop's languages; absent when `error` is (an exchange
    /// recorded before it existed reads back without it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<TransportErrorKind>,
    /// Milliseconds since the wizard started, when the request was sent.
    pub started_ms: f64,
    pub duration_ms: f64,
    pub request_headers: Vec<(String, String)>,
    pub response_headers: Vec<(String, String)>,
    /// The request carried credentials (an `Authorization`, a password or token in its body, an
    /// app password), by the engine's own mark on it ([`crate::http::HttpRequest::carries_credentials`]):
    /// what the redacted headers cannot show, for scenario files' `no_credentials_to`.
    #[serde(default)]
    pub credentials: bool,
}

/// What an observer (the GUI's live diagram, a progress line) is told while the wizard runs.
/// `Deserialize`: the desktop's webview hands the events it drew back for "Copy as text"
/// ([`crate::trace_export::to_plantuml_events`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WizardEvent {
    /// A step started.
    Step {
        step: StepName,
        /// [`StepAbout::text`]: the English words (the CLI, the exports).
        detail: String,
        /// The same detail as data, for the desktop's languages.
        about: StepAbout,
    },
    Exchange(Exchange),
}

/// The wizard's steps, as the progress line and the sequence diagram name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum StepName {
    /// Finding out what the typed server is.
    Probe,
    /// Logging in: a password, the browser, a refresh.
    Authenticate,
    /// Finding the instance or homeserver that holds the account.
    Discover,
    /// Checking the account where it lives.
    Verify,
}

impl StepName {
    /// The step as a person reads it: the title of its note in the PlantUML export (the UI's
    /// `stepTitle` in `ui/src/lib/diagram.ts` shows the same words in the live diagram).
    pub fn title(self) -> &'static str {
        match self {
            StepName::Probe => "Checking the server",
            StepName::Authenticate => "Logging in",
            StepName::Discover => "Finding the account's server",
            StepName::Verify => "Verifying the account",
        }
    }
}

pub type Observer = Arc<dyn Fn(&WizardEvent) + Send + Sync>;

/// Shared, append-only trace. Clones share the same record.
#[derive(Clone)]
pub struct Trace {
    inner: Arc<Mutex<Vec<Exchange>>>,
    rounds: Arc<AtomicU32>,
    started: Instant,
    observer: Option<Observer>,
}

impl Default for Trace {
    fn default() -> Self {
        Trace::new(None)
    }
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trace").field("exchanges", &self.exchanges().len()).finish()
    }
}

impl Trace {
    pub fn new(observer: Option<Observer>) -> Self {
        Trace { inner: Arc::default(), rounds: Arc::default(), started: Instant::now(), observer }
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    /// A new sequential round: requests sent concurrently share one.
    pub fn next_round(&self) -> u32 {
        self.rounds.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Redacts `exchange` and keeps it; the observer gets the redacted exchange too, so the live
    /// diagram shows what `--json` and the trace files show.
    pub(crate) fn record(&self, mut exchange: Exchange) {
        redact(&mut exchange);
        {
            let mut exchanges = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            exchange.seq = u32::try_from(exchanges.len() + 1).unwrap_or(u32::MAX);
            exchanges.push(exchange.clone());
        }
        self.notify(&WizardEvent::Exchange(exchange));
    }

    pub(crate) fn notify(&self, event: &WizardEvent) {
        if let Some(observer) = &self.observer {
            observer(event);
        }
    }

    /// Everything recorded so far, in the order requests were sent.
    pub fn exchanges(&self) -> Vec<Exchange> {
        let mut exchanges = self.inner.lock().unwrap_or_else(PoisonError::into_inner).clone();
        exchanges.sort_by(|a, b| a.started_ms.total_cmp(&b.started_ms));
        exchanges
    }

    /// Sequential round trips on the critical path: concurrent requests count once.
    pub fn round_trips(&self) -> u32 {
        let exchanges = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let mut rounds: Vec<u32> = exchanges.iter().map(|e| e.round).collect();
        rounds.sort_unstable();
        rounds.dedup();
        u32::try_from(rounds.len()).unwrap_or(u32::MAX)
    }
}

/// "1 round trip", "3 round trips": the one way the CLI and scenario reports say a count.
pub fn round_trips_words(count: u32) -> String {
    match count {
        1 => "1 round trip".to_owned(),
        n => format!("{n} round trips"),
    }
}

/// The one place a recorded exchange is redacted: the URL (tokens and codes in the query or the
/// fragment, a password in the userinfo), the headers, and the error (which may quote a URL).
fn redact(exchange: &mut Exchange) {
    exchange.url = redact::redact_url(&exchange.url);
    if let Some(error) = &mut exchange.error {
        *error = redact::redact_text(error);
    }
    for (name, value) in exchange.request_headers.iter_mut().chain(exchange.response_headers.iter_mut()) {
        *value = redact::redact_any_header(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(round: u32, started_ms: f64) -> Exchange {
        Exchange {
            seq: 0,
            round,
            from: Participant::Client,
            to: Participant::Lookup,
            method: "GET".into(),
            url: "http://127.0.0.1/".into(),
            status: Some(200),
            error: None,
            error_kind: None,
            started_ms,
            duration_ms: 1.0,
            request_headers: vec![],
            response_headers: vec![],
            credentials: false,
        }
    }

    #[test]
    fn concurrent_requests_count_as_one_round_trip() {
        let trace = Trace::default();
        for (round, at) in [(1, 0.0), (1, 0.1), (2, 5.0), (3, 9.0), (3, 9.1), (3, 9.2)] {
            trace.record(exchange(round, at));
        }
        assert_eq!(trace.round_trips(), 3, "three distinct rounds");
        let seqs: Vec<u32> = trace.exchanges().iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3, 4, 5, 6], "sequence numbers follow sending order");
    }

    #[test]
    fn an_exchange_reads_back_from_its_json() {
        let sent = exchange(2, 1.5);
        let json = serde_json::to_string(&sent).expect("an exchange serializes");
        let back: Exchange = serde_json::from_str(&json).expect("and reads back");
        assert_eq!(back, sent, "what the webview holds is the exchange that was recorded");
    }

    #[test]
    fn events_read_back_from_the_json_the_webview_holds() {
        let step = r#"{"event":"step","step":"authenticate","detail":"logging in as alice","about":{"kind":"logging_in_as","user":"alice"}}"#;
        let step: WizardEvent = serde_json::from_str(step).expect("a step reads back");
        let about = StepAbout::LoggingInAs { user: "alice".into() };
        assert_eq!(
            step,
            WizardEvent::Step { step: StepName::Authenticate, detail: "logging in as alice".into(), about }
        );
        let sent = WizardEvent::Exchange(exchange(2, 1.5));
        let json = serde_json::to_string(&sent).expect("an event serializes");
        assert!(json.starts_with(r#"{"event":"exchange","seq":"#), "the exchange's fields beside the tag: {json}");
        let back: WizardEvent = serde_json::from_str(&json).expect("and reads back");
        assert_eq!(back, sent);
    }

    #[test]
    fn an_exchange_is_redacted_when_it_is_recorded_for_every_reader() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let observer: Observer = {
            let seen = seen.clone();
            Arc::new(move |event: &WizardEvent| {
                if let WizardEvent::Exchange(exchange) = event {
                    seen.lock().expect("not poisoned").push(exchange.clone());
                }
            })
        };
        let trace = Trace::new(Some(observer));
        let mut leaky = exchange(1, 0.0);
        leaky.url = "http://alice:hunter2@127.0.0.1/_matrix/client/v3/login?loginToken=LOGIN-1&x=1".into();
        leaky.status = None;
        leaky.error = Some("refused at http://127.0.0.1:5000/cb?code=CODE-1&state=STATE-1".into());
        leaky.request_headers = vec![
            ("authorization".into(), "Bearer ACCESS-1".into()),
            ("x-auth-token".into(), "TOKEN-1".into()),
            ("cookie".into(), "s=COOKIE-1".into()),
        ];
        leaky.response_headers = vec![("location".into(), "http://127.0.0.1:5000/cb?code=CODE-2".into())];
        trace.record(leaky);
        let recorded = trace.exchanges();
        let observed = seen.lock().expect("not poisoned").clone();
        assert_eq!(recorded, observed, "the observer and the record hold the same redacted exchange");
        let shown = format!("{recorded:?}");
        for secret in ["hunter2", "LOGIN-1", "CODE-1", "STATE-1", "ACCESS-1", "TOKEN-1", "COOKIE-1", "CODE-2"] {
            assert!(!shown.contains(secret), "{secret} was recorded: {shown}");
        }
        let exchange = &recorded[0];
        assert_eq!(exchange.url, "http://alice@127.0.0.1/_matrix/client/v3/login?loginToken=[redacted]&x=1");
        assert_eq!(exchange.request_headers[0].1, "Bearer [redacted]", "the scheme stays readable");
        assert_eq!(exchange.response_headers[0].1, "http://127.0.0.1:5000/cb?code=[redacted]");
    }
}
