//! What must hold at the end of a play: how it ended (status, error, instance, user, kind, display
//! name), how long it took (round trips, time), and what the trace shows — which origins got
//! requests, and that none carrying credentials reached the origins that must never see them
//! (docs/scenarios.md#expectations-on-the-trace).

use std::collections::BTreeMap;
use std::time::Duration;

use homeport_engine::{Account, ErrorReport, Exchange, Origin};

use crate::file::ExpectedStatus;
pub use crate::verdict::{Carried, Failure, SentRequest};

/// How one play ended.
#[derive(Clone, Debug)]
pub enum RunResult {
    Connected(Box<Account>),
    Failed(ErrorReport),
}

/// What must hold, with `${…}` resolved.
#[derive(Clone, Debug, Default)]
pub struct Expectations {
    pub status: ExpectedStatus,
    pub error_code: Option<String>,
    pub error_contains: Option<String>,
    pub instance: Option<String>,
    pub user_id: Option<String>,
    pub kind: Option<String>,
    pub display_name: Option<String>,
    pub max_round_trips: Option<u32>,
    pub max_duration: Option<Duration>,
    /// No request carrying credentials went to these origins.
    pub no_credentials_to: Vec<Origin>,
    /// Exactly this many requests went to each of these origins.
    pub requests_to: BTreeMap<Origin, u32>,
}

impl Expectations {
    /// Every unmet expectation (empty: passed). `trace` is every exchange of the play.
    pub fn check(&self, result: &RunResult, round_trips: u32, trace: &[Exchange], duration: Duration) -> Vec<Failure> {
        let mut failures = self.check_result(result);
        if let Some(max) = self.max_round_trips {
            if round_trips > max {
                failures.push(Failure::RoundTrips { max, took: round_trips });
            }
        }
        if let Some(max) = self.max_duration {
            if duration > max {
                failures.push(Failure::Duration { max_ms: millis(max), took_ms: millis(duration) });
            }
        }
        failures.extend(self.check_trace(trace));
        failures
    }

    fn check_result(&self, result: &RunResult) -> Vec<Failure> {
        let mut failures = Vec::new();
        let same_url = |a: &str, b: &str| a.trim_end_matches('/') == b.trim_end_matches('/');
        match (self.status, result) {
            (ExpectedStatus::Connected, RunResult::Failed(report)) => {
                failures.push(Failure::ExpectedToConnect { error: report.clone() });
            }
            (ExpectedStatus::Failed, RunResult::Connected(account)) => {
                failures.push(Failure::ExpectedToFail {
                    user_id: account.user_id.clone(),
                    instance_url: account.instance_url.to_string(),
                });
            }
            (ExpectedStatus::Failed, RunResult::Failed(report)) => {
                if let Some(code) = &self.error_code {
                    if report.code.as_str() != code {
                        failures.push(Failure::ErrorCode { expected: code.clone(), error: report.clone() });
                    }
                }
                if let Some(words) = &self.error_contains {
                    if !report.message.contains(words.as_str()) {
                        failures
                            .push(Failure::ErrorMessage { expected: words.clone(), message: report.message.clone() });
                    }
                }
            }
            (ExpectedStatus::Connected, RunResult::Connected(account)) => {
                if let Some(instance) = &self.instance {
                    if !same_url(account.instance_url.as_url().as_str(), instance) {
                        failures.push(Failure::Instance {
                            expected: instance.clone(),
                            reached: account.instance_url.to_string(),
                        });
                    }
                }
                if let Some(user) = &self.user_id {
                    if &account.user_id != user {
                        failures.push(Failure::User { expected: user.clone(), got: account.user_id.clone() });
                    }
                }
                if let Some(kind) = &self.kind {
                    let actual = serde_json::to_value(account.kind).ok();
                    let actual = actual.as_ref().and_then(|v| v.as_str()).unwrap_or_default();
                    if actual != kind {
                        failures.push(Failure::AccountKind { expected: kind.clone(), got: actual.to_owned() });
                    }
                }
                if let Some(name) = &self.display_name {
                    if &account.display_name != name {
                        failures
                            .push(Failure::DisplayName { expected: name.clone(), got: account.display_name.clone() });
                    }
                }
            }
        }
        failures
    }

    /// The trace's expectations: each request that carried credentials to a forbidden origin is
    /// named (method, URL, what it carried), and each origin whose count differs.
    pub fn check_trace(&self, trace: &[Exchange]) -> Vec<Failure> {
        let mut failures = Vec::new();
        let origin_of = |exchange: &Exchange| url::Url::parse(&exchange.url).ok().map(|url| Origin::of(&url));
        for forbidden in &self.no_credentials_to {
            for exchange in trace.iter().filter(|exchange| origin_of(exchange).as_ref() == Some(forbidden)) {
                if let Some(carried) = credentials_of(exchange) {
                    failures.push(Failure::Credentials {
                        origin: forbidden.to_string(),
                        seq: exchange.seq,
                        method: exchange.method.clone(),
                        url: exchange.url.clone(),
                        carried,
                    });
                }
            }
        }
        for (origin, expected) in &self.requests_to {
            let sent: Vec<SentRequest> = trace
                .iter()
                .filter(|exchange| origin_of(exchange).as_ref() == Some(origin))
                .map(|e| SentRequest { method: e.method.clone(), url: e.url.clone() })
                .collect();
            if sent.len() != *expected as usize {
                failures.push(Failure::RequestCount { origin: origin.to_string(), expected: *expected, sent });
            }
        }
        failures
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// What credentials `exchange` carried, if any: the engine's own mark (an `Authorization` header,
/// a password or token in the body, an app password), a cookie, a token in the URL.
fn credentials_of(exchange: &Exchange) -> Option<Carried> {
    let header = |name: &str| exchange.request_headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name));
    if let Some((_, value)) = header("authorization") {
        return Some(Carried::Authorization { scheme: value.split_whitespace().next().map(str::to_owned) });
    }
    if header("cookie").is_some() {
        return Some(Carried::Cookie);
    }
    if exchange.url.contains(homeport_engine::redact::REDACTED) {
        return Some(Carried::SecretInUrl);
    }
    if exchange.credentials {
        return Some(Carried::SecretInBody);
    }
    None
}

#[cfg(test)]
mod tests {
    use homeport_engine::Participant;

    use super::*;

    fn exchange(seq: u32, method: &str, url: &str, headers: &[(&str, &str)], credentials: bool) -> Exchange {
        Exchange {
            seq,
            round: seq,
            from: Participant::Client,
            to: Participant::Instance,
            method: method.into(),
            url: url.into(),
            status: Some(200),
            error: None,
            error_kind: None,
            started_ms: 0.0,
            duration_ms: 1.0,
            request_headers: headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            response_headers: Vec::new(),
            credentials,
        }
    }

    fn origin(text: &str) -> Origin {
        Origin::parse(text).expect("an origin")
    }

    fn words(failures: &[Failure]) -> Vec<String> {
        failures.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn credentials_to_a_forbidden_origin_are_named_by_request() {
        let trace = [
            exchange(1, "GET", "http://127.0.0.1:1/status.php", &[], false),
            exchange(
                2,
                "PROPFIND",
                "http://127.0.0.1:2/remote.php/webdav/",
                &[("authorization", "Basic [redacted]")],
                false,
            ),
            exchange(3, "POST", "http://127.0.0.1:2/_matrix/client/v3/login", &[], true),
            exchange(4, "GET", "http://127.0.0.1:2/x?access_token=[redacted]", &[], false),
            exchange(5, "GET", "http://127.0.0.1:2/y", &[("Cookie", "[redacted]")], false),
        ];
        let expect = Expectations { no_credentials_to: vec![origin("http://127.0.0.1:1")], ..Expectations::default() };
        assert!(expect.check_trace(&trace).is_empty(), "the status probe carries nothing");
        let expect = Expectations { no_credentials_to: vec![origin("http://127.0.0.1:2/")], ..Expectations::default() };
        let failures = expect.check_trace(&trace);
        let carried: Vec<(u32, Carried)> = failures
            .iter()
            .filter_map(|failure| match failure {
                Failure::Credentials { origin, seq, carried, .. } if origin == "http://127.0.0.1:2" => {
                    Some((*seq, carried.clone()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            carried,
            [
                (2, Carried::Authorization { scheme: Some("Basic".into()) }),
                (3, Carried::SecretInBody),
                (4, Carried::SecretInUrl),
                (5, Carried::Cookie)
            ],
            "each request is named by its number, with what it carried, typed: {failures:?}"
        );
        assert_eq!(
            words(&failures),
            [
                "expected no credentials to http://127.0.0.1:2, request #2 PROPFIND http://127.0.0.1:2/remote.php/webdav/ carried Basic credentials (Authorization)",
                "expected no credentials to http://127.0.0.1:2, request #3 POST http://127.0.0.1:2/_matrix/client/v3/login carried a password or token in the body",
                "expected no credentials to http://127.0.0.1:2, request #4 GET http://127.0.0.1:2/x?access_token=[redacted] carried a secret in the URL",
                "expected no credentials to http://127.0.0.1:2, request #5 GET http://127.0.0.1:2/y carried a cookie",
            ],
            "homeport run's English words, unchanged"
        );
    }

    #[test]
    fn request_counts_are_exact_and_list_what_went() {
        let trace = [
            exchange(1, "GET", "http://127.0.0.1:1/status.php", &[], false),
            exchange(2, "GET", "http://127.0.0.1:1/other", &[], false),
        ];
        let counts = |n: u32| Expectations {
            requests_to: [(origin("http://127.0.0.1:1"), n), (origin("http://127.0.0.1:9"), 0)].into(),
            ..Expectations::default()
        };
        assert!(counts(2).check_trace(&trace).is_empty(), "two went, none to :9");
        let failures = counts(1).check_trace(&trace);
        let [Failure::RequestCount { origin, expected: 1, sent }] = failures.as_slice() else {
            panic!("one count differs: {failures:?}");
        };
        assert_eq!(origin, "http://127.0.0.1:1");
        assert_eq!(sent.len(), 2, "both requests are listed: {sent:?}");
        assert_eq!(
            words(&failures),
            ["expected 1 request to http://127.0.0.1:1, 2 went there: GET http://127.0.0.1:1/status.php, GET http://127.0.0.1:1/other"]
        );
        let none = Failure::RequestCount { origin: "http://127.0.0.1:9".into(), expected: 1, sent: Vec::new() };
        assert_eq!(none.to_string(), "expected 1 request to http://127.0.0.1:9, 0 went there", "nothing to list");
    }

    #[test]
    fn every_failure_is_typed_on_the_wire_and_reads_as_before_in_english() {
        use homeport_engine::ErrorCode;
        let report = || ErrorReport::new(ErrorCode::Unreachable, "could not reach http://127.0.0.1:9/: refused");
        let rows = [
            (
                Failure::ExpectedToConnect { error: report() },
                "expected_to_connect",
                "expected to connect, failed with unreachable: could not reach http://127.0.0.1:9/: refused",
            ),
            (
                Failure::ExpectedToFail { user_id: "alice".into(), instance_url: "http://127.0.0.1:2/".into() },
                "expected_to_fail",
                "expected to fail, connected as alice at http://127.0.0.1:2/",
            ),
            (
                Failure::ErrorCode { expected: "auth_failed".into(), error: report() },
                "error_code",
                "expected error auth_failed, got unreachable: could not reach http://127.0.0.1:9/: refused",
            ),
            (
                Failure::ErrorMessage { expected: "password".into(), message: "no".into() },
                "error_message",
                "expected the message to say \"password\", it says \"no\"",
            ),
            (
                Failure::Instance { expected: "http://a/".into(), reached: "http://b/".into() },
                "instance",
                "expected instance http://a/, reached http://b/",
            ),
            (Failure::User { expected: "a".into(), got: "b".into() }, "user", "expected user a, got b"),
            (
                Failure::AccountKind { expected: "matrix".into(), got: "owncloud".into() },
                "account_kind",
                "expected kind matrix, got \"owncloud\"",
            ),
            (
                Failure::DisplayName { expected: "Robert".into(), got: "Bob".into() },
                "display_name",
                "expected display name \"Robert\", got \"Bob\"",
            ),
            (Failure::RoundTrips { max: 2, took: 3 }, "round_trips", "took 3 round trips, at most 2 expected"),
            (Failure::Duration { max_ms: 10, took_ms: 12 }, "duration", "took 12 ms, at most 10 ms expected"),
        ];
        for (failure, kind, english) in rows {
            let json = serde_json::to_value(&failure).expect("a failure serializes");
            assert_eq!(json["kind"], kind, "the UI switches on the kind: {json}");
            assert_eq!(failure.to_string(), english, "{kind}: homeport run's words, unchanged");
        }
        let json = serde_json::to_value(Failure::ExpectedToConnect { error: report() }).expect("serializes");
        assert_eq!(json["error"]["code"], "unreachable", "the engine's report, for the UI's error words: {json}");
        let rounds = serde_json::to_value(Failure::RoundTrips { max: 2, took: 3 }).expect("serializes");
        assert_eq!(rounds, serde_json::json!({"kind": "round_trips", "max": 2, "took": 3}), "counts as numbers");
        let one = Failure::RoundTrips { max: 0, took: 1 };
        assert_eq!(one.to_string(), "took 1 round trip, at most 0 expected", "one round trip");
    }
}
