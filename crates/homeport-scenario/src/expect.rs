//! What must hold at the end of a play: how it ended (status, error, instance, user, kind, display
//! name), how long it took (round trips, time), and what the trace shows — which origins got
//! requests, and that none carrying credentials reached the origins that must never see them
//! (docs/scenarios.md#expectations-on-the-trace).

use std::collections::BTreeMap;
use std::time::Duration;

use homeport_engine::trace::round_trips_words;
use homeport_engine::{Account, ErrorReport, Exchange, Origin};

use crate::file::ExpectedStatus;

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
    /// Every unmet expectation, in words (empty: passed). `trace` is every exchange of the play.
    pub fn check(&self, result: &RunResult, round_trips: u32, trace: &[Exchange], duration: Duration) -> Vec<String> {
        let mut failures = self.check_result(result);
        if let Some(max) = self.max_round_trips {
            if round_trips > max {
                failures.push(format!("took {}, at most {max} expected", round_trips_words(round_trips)));
            }
        }
        if let Some(max) = self.max_duration {
            if duration > max {
                failures.push(format!("took {} ms, at most {} ms expected", duration.as_millis(), max.as_millis()));
            }
        }
        failures.extend(self.check_trace(trace));
        failures
    }

    fn check_result(&self, result: &RunResult) -> Vec<String> {
        let mut failures = Vec::new();
        let same_url = |a: &str, b: &str| a.trim_end_matches('/') == b.trim_end_matches('/');
        match (self.status, result) {
            (ExpectedStatus::Connected, RunResult::Failed(report)) => {
                failures.push(format!("expected to connect, failed with {}: {}", report.code.as_str(), report.message));
            }
            (ExpectedStatus::Failed, RunResult::Connected(account)) => {
                failures
                    .push(format!("expected to fail, connected as {} at {}", account.user_id, account.instance_url));
            }
            (ExpectedStatus::Failed, RunResult::Failed(report)) => {
                if let Some(code) = &self.error_code {
                    if report.code.as_str() != code {
                        failures.push(format!(
                            "expected error {code}, got {}: {}",
                            report.code.as_str(),
                            report.message
                        ));
                    }
                }
                if let Some(words) = &self.error_contains {
                    if !report.message.contains(words.as_str()) {
                        failures.push(format!("expected the message to say {words:?}, it says {:?}", report.message));
                    }
                }
            }
            (ExpectedStatus::Connected, RunResult::Connected(account)) => {
                if let Some(instance) = &self.instance {
                    if !same_url(account.instance_url.as_url().as_str(), instance) {
                        failures.push(format!("expected instance {instance}, reached {}", account.instance_url));
                    }
                }
                if let Some(user) = &self.user_id {
                    if &account.user_id != user {
                        failures.push(format!("expected user {user}, got {}", account.user_id));
                    }
                }
                if let Some(kind) = &self.kind {
                    let actual = serde_json::to_value(account.kind).ok();
                    if actual.as_ref().and_then(|v| v.as_str()) != Some(kind.as_str()) {
                        failures.push(format!("expected kind {kind}, got {}", actual.unwrap_or_default()));
                    }
                }
                if let Some(name) = &self.display_name {
                    if &account.display_name != name {
                        failures.push(format!("expected display name {name:?}, got {:?}", account.display_name));
                    }
                }
            }
        }
        failures
    }

    /// The trace's expectations: each request that carried credentials to a forbidden origin is
    /// named (method, URL, what it carried), and each origin whose count differs.
    pub fn check_trace(&self, trace: &[Exchange]) -> Vec<String> {
        let mut failures = Vec::new();
        let origin_of = |exchange: &Exchange| url::Url::parse(&exchange.url).ok().map(|url| Origin::of(&url));
        for forbidden in &self.no_credentials_to {
            for exchange in trace.iter().filter(|exchange| origin_of(exchange).as_ref() == Some(forbidden)) {
                if let Some(carried) = credentials_of(exchange) {
                    failures.push(format!(
                        "expected no credentials to {forbidden}, request #{} {} {} carried {carried}",
                        exchange.seq, exchange.method, exchange.url
                    ));
                }
            }
        }
        for (origin, expected) in &self.requests_to {
            let sent: Vec<&Exchange> =
                trace.iter().filter(|exchange| origin_of(exchange).as_ref() == Some(origin)).collect();
            if sent.len() != *expected as usize {
                let listed: Vec<String> = sent.iter().map(|e| format!("{} {}", e.method, e.url)).collect();
                failures.push(format!(
                    "expected {expected} requests to {origin}, {} went there{}",
                    sent.len(),
                    match listed.is_empty() {
                        true => String::new(),
                        false => format!(": {}", listed.join(", ")),
                    }
                ));
            }
        }
        failures
    }
}

/// What credentials `exchange` carried, in words, if any: the engine's own mark (an `Authorization`
/// header, a password or token in the body, an app password), a cookie, a token in the URL.
fn credentials_of(exchange: &Exchange) -> Option<String> {
    let header = |name: &str| exchange.request_headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name));
    if let Some((_, value)) = header("authorization") {
        let scheme = value.split_whitespace().next().unwrap_or("an");
        return Some(format!("{scheme} credentials (Authorization)"));
    }
    if header("cookie").is_some() {
        return Some("a cookie".into());
    }
    if exchange.url.contains(homeport_engine::redact::REDACTED) {
        return Some("a secret in the URL".into());
    }
    if exchange.credentials {
        return Some("a password or token in the body".into());
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
        assert_eq!(expect.check_trace(&trace), Vec::<String>::new(), "the status probe carries nothing");
        let expect = Expectations { no_credentials_to: vec![origin("http://127.0.0.1:2/")], ..Expectations::default() };
        let failures = expect.check_trace(&trace);
        assert_eq!(failures.len(), 4, "each request is named: {failures:?}");
        assert!(
            failures[0].contains("#2 PROPFIND http://127.0.0.1:2/remote.php/webdav/") && failures[0].contains("Basic")
        );
        assert!(failures[1].contains("#3 POST") && failures[1].contains("in the body"), "{failures:?}");
        assert!(failures[2].contains("in the URL") && failures[3].contains("cookie"), "{failures:?}");
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
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(
            failures[0]
                .contains("expected 1 requests to http://127.0.0.1:1, 2 went there: GET http://127.0.0.1:1/status.php"),
            "{failures:?}"
        );
    }
}
