//! A play's verdict and each unmet expectation as data: the desktop's autopilot words them in the
//! window's language from its catalogue (docs/translating.md); `Display` is the English that
//! `homeport run` prints and its `--json` and JUnit reports carry (docs/scenarios.md).

use std::fmt;

use homeport_engine::trace::round_trips_words;
use homeport_engine::ErrorReport;
use serde::Serialize;

/// How a play ended, as its verdict names it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Ended {
    Connected {
        user_id: String,
        instance_url: String,
    },
    /// The engine's report: the UI words it by its code and reason, as it does an error.
    Failed {
        error: ErrorReport,
    },
}

impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ended::Connected { user_id, instance_url } => write!(f, "connected as {user_id} at {instance_url}"),
            Ended::Failed { error } => write!(f, "failed: {} ({})", error.message, error.code.as_str()),
        }
    }
}

/// One play judged: `✓ name — connected as … at …; N round trips, M ms`, or `✗ …` followed by each
/// unmet expectation on its own indented line.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Verdict {
    /// The scenario's name.
    pub name: String,
    /// Every expectation was met (`failures` is empty).
    pub passed: bool,
    pub ended: Ended,
    pub round_trips: u32,
    pub duration_ms: u64,
    pub failures: Vec<Failure>,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.failures.is_empty() { "✓" } else { "✗" };
        let took = round_trips_words(self.round_trips);
        write!(f, "{mark} {} — {}; {took}, {} ms", self.name, self.ended, self.duration_ms)?;
        for failure in &self.failures {
            write!(f, "\n    {failure}")?;
        }
        Ok(())
    }
}

/// An unmet expectation, one kind per key of a scenario's `[expect]` (docs/scenarios.md), with
/// what was expected and what happened.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Failure {
    /// `status = "connected"`, and the connection failed.
    ExpectedToConnect { error: ErrorReport },
    /// `status = "failed"`, and it connected.
    ExpectedToFail { user_id: String, instance_url: String },
    /// `error_code`: it failed with another code.
    ErrorCode { expected: String, error: ErrorReport },
    /// `error_contains`: the engine's (English) message does not say `expected`.
    ErrorMessage { expected: String, message: String },
    /// `instance`: the account lives elsewhere.
    Instance { expected: String, reached: String },
    /// `user_id`.
    User { expected: String, got: String },
    /// `kind`: another kind of account (`owncloud`, `matrix`, …).
    AccountKind { expected: String, got: String },
    /// `display_name`, compared exactly.
    DisplayName { expected: String, got: String },
    /// `max_round_trips`.
    RoundTrips { max: u32, took: u32 },
    /// `max_duration_ms`.
    Duration { max_ms: u64, took_ms: u64 },
    /// `no_credentials_to`: request `seq` carried credentials to `origin`.
    Credentials { origin: String, seq: u32, method: String, url: String, carried: Carried },
    /// `requests_to`: another number of requests went to `origin` (`sent` lists them).
    RequestCount { origin: String, expected: u32, sent: Vec<SentRequest> },
}

/// What credentials a request carried.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Carried {
    /// An `Authorization` header; `scheme` is its first word (`Basic`, `Bearer`), if any.
    Authorization {
        scheme: Option<String>,
    },
    Cookie,
    /// A token or code in the URL (redacted in the trace).
    SecretInUrl,
    /// A password or token in the body, by the engine's own mark on the request.
    SecretInBody,
}

/// A request, as a failure lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SentRequest {
    pub method: String,
    pub url: String,
}

impl fmt::Display for Carried {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Carried::Authorization { scheme: Some(scheme) } => write!(f, "{scheme} credentials (Authorization)"),
            Carried::Authorization { scheme: None } => f.write_str("credentials (Authorization)"),
            Carried::Cookie => f.write_str("a cookie"),
            Carried::SecretInUrl => f.write_str("a secret in the URL"),
            Carried::SecretInBody => f.write_str("a password or token in the body"),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::ExpectedToConnect { error } => {
                write!(f, "expected to connect, failed with {}: {}", error.code.as_str(), error.message)
            }
            Failure::ExpectedToFail { user_id, instance_url } => {
                write!(f, "expected to fail, connected as {user_id} at {instance_url}")
            }
            Failure::ErrorCode { expected, error } => {
                write!(f, "expected error {expected}, got {}: {}", error.code.as_str(), error.message)
            }
            Failure::ErrorMessage { expected, message } => {
                write!(f, "expected the message to say {expected:?}, it says {message:?}")
            }
            Failure::Instance { expected, reached } => write!(f, "expected instance {expected}, reached {reached}"),
            Failure::User { expected, got } => write!(f, "expected user {expected}, got {got}"),
            // The kind as JSON, quoted, as it reads in the file.
            Failure::AccountKind { expected, got } => {
                write!(f, "expected kind {expected}, got {}", serde_json::Value::String(got.clone()))
            }
            Failure::DisplayName { expected, got } => write!(f, "expected display name {expected:?}, got {got:?}"),
            Failure::RoundTrips { max, took } => {
                write!(f, "took {}, at most {max} expected", round_trips_words(*took))
            }
            Failure::Duration { max_ms, took_ms } => write!(f, "took {took_ms} ms, at most {max_ms} ms expected"),
            Failure::Credentials { origin, seq, method, url, carried } => {
                write!(f, "expected no credentials to {origin}, request #{seq} {method} {url} carried {carried}")
            }
            Failure::RequestCount { origin, expected, sent } => {
                let requests = if *expected == 1 { "request" } else { "requests" };
                write!(f, "expected {expected} {requests} to {origin}, {} went there", sent.len())?;
                for (i, request) in sent.iter().enumerate() {
                    let before = if i == 0 { ": " } else { ", " };
                    write!(f, "{before}{} {}", request.method, request.url)?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_credentials_read_as_english() {
        let request = |url: &str| SentRequest { method: "GET".into(), url: url.into() };
        let count = |expected, sent| Failure::RequestCount { origin: "http://127.0.0.1:9".into(), expected, sent };
        assert_eq!(count(1, vec![]).to_string(), "expected 1 request to http://127.0.0.1:9, 0 went there");
        assert_eq!(
            count(2, vec![request("http://127.0.0.1:9/a")]).to_string(),
            "expected 2 requests to http://127.0.0.1:9, 1 went there: GET http://127.0.0.1:9/a"
        );
        assert_eq!(Carried::Authorization { scheme: None }.to_string(), "credentials (Authorization)");
        assert_eq!(
            Carried::Authorization { scheme: Some("Bearer".into()) }.to_string(),
            "Bearer credentials (Authorization)"
        );
    }
}
