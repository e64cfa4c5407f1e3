//! How the CLI reports failures: a message (and hint) for people, `{"status":"failed","error":…}`
//! for `--json`, and one exit code per error class.

use std::process::ExitCode;

use homeport_engine::{ConnectError, ErrorCode, ErrorReport, StoreError};

pub const EXIT_INTERNAL: u8 = 1;

/// Exit codes scripts can rely on (documented in README.md). 2 is also clap's usage error.
pub fn exit_code(code: ErrorCode) -> u8 {
    match code {
        ErrorCode::BadInput => 2,
        ErrorCode::Unreachable => 3,
        ErrorCode::Tls => 4,
        ErrorCode::AuthFailed => 5,
        ErrorCode::ServerNotReady => 6,
        ErrorCode::PolicyRefused => 7,
        ErrorCode::KeyringUnavailable => 8,
        ErrorCode::Protocol => 9,
        ErrorCode::NotFound => 10,
        ErrorCode::Cancelled => 11,
        _ => EXIT_INTERNAL,
    }
}

pub struct Failure {
    // Boxed: a `Result<_, Failure>` stays small (the report holds a JSON value).
    pub report: Box<ErrorReport>,
    /// What the person can do next, in words.
    pub hint: Option<String>,
    pub json: bool,
}

impl Failure {
    pub fn new(error: &ConnectError, json: bool) -> Self {
        Failure { report: Box::new(error.report()), hint: None, json }
    }

    pub fn store(error: &StoreError, json: bool) -> Self {
        let report = ErrorReport { code: error.code(), message: error.to_string(), detail: error.detail() };
        Failure { report: Box::new(report), hint: None, json }
    }

    pub fn bad_input(message: impl Into<String>, json: bool) -> Self {
        let report =
            ErrorReport { code: ErrorCode::BadInput, message: message.into(), detail: serde_json::Value::Null };
        Failure { report: Box::new(report), hint: None, json }
    }

    pub fn internal(message: impl Into<String>, json: bool) -> Self {
        let report =
            ErrorReport { code: ErrorCode::Internal, message: message.into(), detail: serde_json::Value::Null };
        Failure { report: Box::new(report), hint: None, json }
    }

    pub fn with_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    pub fn exit(self) -> ExitCode {
        if self.json {
            let mut error = serde_json::to_value(&self.report).unwrap_or_default();
            if let (Some(hint), Some(object)) = (&self.hint, error.as_object_mut()) {
                object.insert("hint".into(), hint.clone().into());
            }
            println!("{}", serde_json::json!({ "status": "failed", "error": error }));
        } else {
            eprintln!("error: {}", self.report.message);
            if let Some(hint) = &self.hint {
                eprintln!("  hint: {hint}");
            }
        }
        ExitCode::from(exit_code(self.report.code))
    }
}
