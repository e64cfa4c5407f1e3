//! QA scenarios: a human-writable TOML file ([`file::Scenario`]) names the target (the embedded
//! lookup server with its faults, or a real URL), the answers to every decision and what must
//! hold at the end. [`runner::Prepared`] plays it headless (`homeport run`) or hands its answers
//! to the desktop app's autopilot; [`junit`] reports for CI.

pub mod check;
pub mod expect;
pub mod file;
pub mod junit;
mod locate;
mod resolve;
pub mod runner;
pub mod verdict;

pub use check::{check_all, BadFile, Checked};
pub use file::{Problems, Scenario, ScenarioError};
pub use runner::{
    drive, next_with_browser_robot, open_system_browser, verdict, Answers, Outcome, Prepared, RunResult,
    EXIT_EXPECTATIONS_FAILED,
};
pub use verdict::{Carried, Ended, Failure, SentRequest, Verdict};
