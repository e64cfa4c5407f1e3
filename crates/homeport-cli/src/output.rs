//! How the CLI reports, rendered once in main.rs: a command ends with [`Done`] (its JSON object
//! for `--json`, else its text) or a [`Failure`] (`{"status":"failed","error":…}` for `--json`,
//! else a message and hint on stderr), and each error class has its exit code.

use std::fmt;
use std::io::Write as _;
use std::process::ExitCode;

use homeport_engine::{ConnectError, ErrorCode, ErrorReport, StoreError};
/// Exit code when a scenario's expectations were not met (docs/cli.md: exit codes): the
/// same for `homeport run` and the desktop app's `--exit-when-done`.
pub use homeport_scenario::EXIT_EXPECTATIONS_FAILED;

pub const EXIT_INTERNAL: u8 = 1;

/// `print!` for everything the CLI says on standard output. A reader that went away
/// (`homeport connect … | head -1`) ends Homeport at once and quietly, killed by SIGPIPE as every
/// Unix tool is (the shell's `$?` is 141): Rust ignores SIGPIPE, so a bare `println!` would panic
/// instead ("failed printing to stdout"). docs/cli.md#for-scripts---json-and-exit-codes.
macro_rules! say {
    ($($arg:tt)*) => { $crate::output::write_stdout(format_args!($($arg)*)) };
}
pub(crate) use say;

/// [`say!`]'s writer: the text, flushed (a question waits on the same line).
pub fn write_stdout(text: fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_fmt(text).and_then(|()| stdout.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => closed_stdout(),
        Err(e) => {
            eprintln!("error: could not write to standard output: {e}");
            std::process::exit(i32::from(EXIT_INTERNAL));
        }
    }
}

/// Ends the process as the default SIGPIPE action does; the exit status is the fallback.
fn closed_stdout() -> ! {
    let _ = signal_hook::low_level::emulate_default_handler(signal_hook::consts::SIGPIPE);
    std::process::exit(128 + signal_hook::consts::SIGPIPE)
}

/// Exit codes scripts can rely on (documented in docs/cli.md). 2 is also clap's usage
/// error.
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

/// What a command ended with, in both forms; main.rs prints the one asked for.
#[derive(Default)]
pub struct Done {
    /// One JSON document, printed on its own line with `--json`.
    json: Option<String>,
    /// Printed as it is without `--json` (each line ends with a newline).
    text: String,
}

impl Done {
    pub fn new(json: &impl serde::Serialize, text: String) -> Self {
        Done { json: Some(serde_json::to_string(json).unwrap_or_default()), text }
    }

    /// The command has printed all it had to say (`homeport mock`'s line).
    pub fn nothing() -> Self {
        Done::default()
    }

    pub fn print(&self, json: bool) {
        match (&self.json, json) {
            (Some(document), true) => say!("{document}\n"),
            (_, true) => {}
            (_, false) => say!("{}", self.text),
        }
    }
}

pub struct Failure {
    // Boxed: a `Result<_, Failure>` stays small (the report holds a JSON value).
    pub report: Box<ErrorReport>,
    /// What the person can do next, in words.
    pub hint: Option<String>,
    /// An exit code of its own (`homeport run`: expectations not met), else by the report's code.
    pub exit_code: Option<u8>,
    /// The command's results, printed before the failure (`homeport run`'s summary); with
    /// `--json` they are the whole output.
    pub results: Option<Box<Done>>,
}

impl Failure {
    pub fn new(error: &ConnectError) -> Self {
        Failure::report(error.report())
    }

    pub fn report(report: ErrorReport) -> Self {
        Failure { report: Box::new(report), hint: None, exit_code: None, results: None }
    }

    pub fn store(error: &StoreError) -> Self {
        Failure::report(error.report())
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Failure::report(ErrorReport::new(ErrorCode::BadInput, message))
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Failure::report(ErrorReport::new(ErrorCode::Internal, message))
    }

    /// Scenarios ran but some expectation failed: `results` are printed, then (without `--json`)
    /// the message; the exit code is [`EXIT_EXPECTATIONS_FAILED`].
    pub fn expectations(message: impl Into<String>, results: Done) -> Self {
        Failure {
            exit_code: Some(EXIT_EXPECTATIONS_FAILED),
            results: Some(Box::new(results)),
            hint: Some("each failed scenario's line above says which expectation was not met; --artifacts DIR keeps their traces".into()),
            ..Failure::internal(message)
        }
    }

    pub fn with_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    pub fn exit(self, json: bool) -> ExitCode {
        let code = self.exit_code.unwrap_or_else(|| exit_code(self.report.code));
        // Every failure says what to do next: the command's own words, else its code's.
        let hint = self.hint.clone().unwrap_or_else(|| crate::fallback_hint::for_report(&self.report));
        if let Some(results) = &self.results {
            results.print(json);
            if json {
                // The results are the one JSON object on stdout.
                return ExitCode::from(code);
            }
        }
        if json {
            let mut error = serde_json::to_value(&self.report).unwrap_or_default();
            if let Some(object) = error.as_object_mut() {
                object.insert("hint".into(), hint.into());
            }
            say!("{}\n", serde_json::json!({ "status": "failed", "error": error }));
        } else {
            eprintln!("error: {}", self.report.message);
            eprintln!("  hint: {hint}");
        }
        ExitCode::from(code)
    }
}
