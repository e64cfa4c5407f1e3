//! JUnit XML, the report format CI systems read: one `<testsuite>` for the run, one `<testcase>`
//! per scenario play, a `<failure>` with every unmet expectation; when the check before the run
//! found bad files, an `<error>` case per bad file and the good ones `<skipped>` (nothing played).

use homeport_engine::trace::round_trips_words;
use std::fmt::Write as _;

use crate::check::BadFile;
use crate::file::Scenario;
use crate::runner::{Outcome, RunResult};

/// The whole report for `outcomes`, named `suite`.
pub fn report(suite: &str, outcomes: &[Outcome]) -> String {
    report_all(suite, outcomes, &[], &[])
}

/// The report of a run the check stopped: each of `bad` an `<error>` naming every problem, each of
/// `not_run` (the good files) `<skipped>`.
pub fn report_not_run(suite: &str, bad: &[BadFile], not_run: &[Scenario]) -> String {
    report_all(suite, &[], bad, not_run)
}

fn report_all(suite: &str, outcomes: &[Outcome], bad: &[BadFile], not_run: &[Scenario]) -> String {
    let failures = outcomes.iter().filter(|outcome| !outcome.passed).count();
    let (errors, skipped) = (bad.len(), not_run.len());
    let tests = outcomes.len() + errors + skipped;
    let seconds: f64 = outcomes.iter().map(|outcome| outcome.duration.as_secs_f64()).sum();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{seconds:.3}\">"
    );
    let _ = writeln!(
        xml,
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{seconds:.3}\">",
        escape(suite),
    );
    for file in bad {
        let name = file.name.clone().unwrap_or_else(|| file.path.display().to_string());
        let problems: Vec<String> = file.problems.iter().map(ToString::to_string).collect();
        let _ = writeln!(
            xml,
            "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" time=\"0.000\">\n      <error message=\"{}\" type=\"invalid scenario\">{}</error>\n    </testcase>",
            escape(suite),
            escape(&name),
            escape(&file.path.display().to_string()),
            escape(&problems.join("; ")),
            escape(&problems.join("\n")),
        );
    }
    for scenario in not_run {
        let _ = writeln!(
            xml,
            "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" time=\"0.000\">\n      <skipped message=\"not played: other scenario files have problems\"/>\n    </testcase>",
            escape(suite),
            escape(&scenario.name),
            escape(&scenario.path.display().to_string()),
        );
    }
    for outcome in outcomes {
        let _ = write!(
            xml,
            "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" time=\"{:.3}\"",
            escape(suite),
            escape(&outcome.name),
            escape(&outcome.path.display().to_string()),
            outcome.duration.as_secs_f64()
        );
        let ended = match &outcome.result {
            RunResult::Connected(account) => format!("connected as {} at {}", account.user_id, account.instance_url),
            RunResult::Failed(report) => format!("failed with {}: {}", report.code.as_str(), report.message),
        };
        if outcome.passed {
            let _ = writeln!(xml, ">\n      <system-out>{}</system-out>\n    </testcase>", escape(&ended));
        } else {
            let message = outcome.failures.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
            let _ = writeln!(
                xml,
                ">\n      <failure message=\"{}\" type=\"expectation\">{}\n{}</failure>\n    </testcase>",
                escape(&message),
                escape(&format!("{message}\n{ended}")),
                round_trips_words(outcome.round_trips)
            );
        }
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 has no place for other control characters.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use homeport_engine::{ErrorCode, ErrorReport};

    use super::*;

    fn outcome(name: &str, passed: bool) -> Outcome {
        Outcome {
            name: name.into(),
            path: PathBuf::from("scenarios/x.toml"),
            passed,
            failures: match passed {
                true => vec![],
                false => vec![crate::Failure::User { expected: "<tls>".into(), got: "b".into() }],
            },
            result: RunResult::Failed(ErrorReport::new(ErrorCode::Tls, "a \"bad\" certificate & more")),
            round_trips: 2,
            started: std::time::SystemTime::now(),
            duration: Duration::from_millis(1500),
            trace: Vec::new(),
        }
    }

    #[test]
    fn counts_failures_and_escapes_everything() {
        let xml = report("homeport", &[outcome("ok <one>", true), outcome("broken", false)]);
        assert!(xml.contains("<testsuite name=\"homeport\" tests=\"2\" failures=\"1\""), "{xml}");
        assert!(xml.contains("name=\"ok &lt;one&gt;\""), "names escaped: {xml}");
        assert!(xml.contains("<failure message=\"expected user &lt;tls&gt;, got b\""), "{xml}");
        assert!(xml.contains("a &quot;bad&quot; certificate &amp; more"), "messages escaped: {xml}");
        assert!(xml.contains("time=\"1.500\""), "seconds: {xml}");
        assert_eq!(xml.matches("<testcase ").count(), 2);
        assert!(xml.contains("errors=\"0\" skipped=\"0\""), "a run that played: {xml}");
    }

    #[test]
    fn bad_files_are_errors_and_the_good_ones_skipped() {
        let bad = BadFile {
            path: PathBuf::from("qa/h10.toml"),
            name: None,
            problems: vec![
                crate::ScenarioError::Invalid {
                    path: PathBuf::from("qa/h10.toml"),
                    line: 4,
                    column: 1,
                    message: "connect.user and a password go together".into(),
                },
                crate::ScenarioError::Invalid {
                    path: PathBuf::from("qa/h10.toml"),
                    line: 7,
                    column: 12,
                    message: "the lookup server provides no ${x}".into(),
                },
            ],
        };
        let good =
            Scenario::parse(std::path::Path::new("qa/h01.toml"), "name = \"h01 <one>\"\n[connect]\naddress = \"x\"\n")
                .expect("a scenario");
        let xml = report_not_run("homeport", &[bad], &[good]);
        assert!(
            xml.contains("<testsuite name=\"homeport\" tests=\"2\" failures=\"0\" errors=\"1\" skipped=\"1\""),
            "{xml}"
        );
        assert!(
            xml.contains("name=\"qa/h10.toml\" file=\"qa/h10.toml\""),
            "a file without a name is named by its path: {xml}"
        );
        assert!(
            xml.contains("<error message=\"qa/h10.toml:4:1: connect.user and a password go together; qa/h10.toml:7:12: the lookup server provides no ${x}\" type=\"invalid scenario\">"),
            "every problem with its line and column: {xml}"
        );
        assert!(
            xml.contains("name=\"h01 &lt;one&gt;\"") && xml.contains("<skipped message="),
            "the good file is skipped: {xml}"
        );
    }
}
