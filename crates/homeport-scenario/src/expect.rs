//! What must hold at the end of a play: how it ended (status, error, instance, user, kind), how
//! long it took (round trips, time).

use std::time::Duration;

use homeport_engine::{Account, ErrorReport};

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
    pub max_round_trips: Option<u32>,
    pub max_duration: Option<Duration>,
}

impl Expectations {
    /// Every unmet expectation, in words (empty: passed).
    pub fn check(&self, result: &RunResult, round_trips: u32, duration: Duration) -> Vec<String> {
        let mut failures = self.check_result(result);
        if let Some(max) = self.max_round_trips {
            if round_trips > max {
                failures.push(format!("took {round_trips} round trips, at most {max} expected"));
            }
        }
        if let Some(max) = self.max_duration {
            if duration > max {
                failures.push(format!("took {} ms, at most {} ms expected", duration.as_millis(), max.as_millis()));
            }
        }
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
            }
        }
        failures
    }
}
