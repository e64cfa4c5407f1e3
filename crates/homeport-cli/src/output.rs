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
    /// An exit code of its own (`homeport run`: expectations not met), else by the report's code.
    pub exit_code: Option<u8>,
    /// The outcome is already on stdout (`run --json`): print nothing more.
    pub already_reported: bool,
}

impl Failure {
    pub fn new(error: &ConnectError, json: bool) -> Self {
        Failure { report: Box::new(error.report()), hint: None, json, exit_code: None, already_reported: false }
    }

    pub fn report(report: ErrorReport, json: bool) -> Self {
        Failure { report: Box::new(report), hint: None, json, exit_code: None, already_reported: false }
    }

    pub fn store(error: &StoreError, json: bool) -> Self {
        let report = ErrorReport { code: error.code(), message: error.to_string(), detail: error.detail() };
        Failure { report: Box::new(report), hint: None, json, exit_code: None, already_reported: false }
    }

    pub fn bad_input(message: impl Into<String>, json: bool) -> Self {
        let report =
            ErrorReport { code: ErrorCode::BadInput, message: message.into(), detail: serde_json::Value::Null };
        Failure { report: Box::new(report), hint: None, json, exit_code: None, already_reported: false }
    }

    pub fn internal(message: impl Into<String>, json: bool) -> Self {
        let report =
            ErrorReport { code: ErrorCode::Internal, message: message.into(), detail: serde_json::Value::Null };
        Failure { report: Box::new(report), hint: None, json, exit_code: None, already_reported: false }
    }

    /// Scenarios ran but some expectation failed; with `--json` the results are already printed.
    pub fn expectations(message: impl Into<String>, json: bool) -> Self {
        let report =
            ErrorReport { code: ErrorCode::Internal, message: message.into(), detail: serde_json::Value::Null };
        Failure {
            report: Box::new(report),
            hint: None,
            json,
            exit_code: Some(crate::run::EXIT_EXPECTATIONS_FAILED),
            already_reported: json,
        }
    }

    pub fn with_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    pub fn exit(self) -> ExitCode {
        let code = self.exit_code.unwrap_or_else(|| exit_code(self.report.code));
        if self.already_reported {
            return ExitCode::from(code);
        }
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
        ExitCode::from(code)
    }
}
