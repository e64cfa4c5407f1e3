//! JUnit XML, the report format CI systems read: one `<testsuite>` for the run, one `<testcase>`
//! per scenario play, a `<failure>` with every unmet expectation.

use std::fmt::Write as _;

use crate::runner::{Outcome, RunResult};

/// The whole report for `outcomes`, named `suite`.
pub fn report(suite: &str, outcomes: &[Outcome]) -> String {
    let failures = outcomes.iter().filter(|outcome| !outcome.passed).count();
    let seconds: f64 = outcomes.iter().map(|outcome| outcome.duration.as_secs_f64()).sum();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(xml, "<testsuites tests=\"{}\" failures=\"{failures}\" time=\"{seconds:.3}\">", outcomes.len());
    let _ = writeln!(
        xml,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{seconds:.3}\">",
        escape(suite),
        outcomes.len()
    );
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
            let message = outcome.failures.join("; ");
            let _ = writeln!(
                xml,
                ">\n      <failure message=\"{}\" type=\"expectation\">{}\n{} round trips</failure>\n    </testcase>",
                escape(&message),
                escape(&format!("{message}\n{ended}")),
                outcome.round_trips
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
            failures: if passed { vec![] } else { vec!["expected error auth_failed, got <tls>".into()] },
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
        assert!(xml.contains("<failure message=\"expected error auth_failed, got &lt;tls&gt;\""), "{xml}");
        assert!(xml.contains("a &quot;bad&quot; certificate &amp; more"), "messages escaped: {xml}");
        assert!(xml.contains("time=\"1.500\""), "seconds: {xml}");
        assert_eq!(xml.matches("<testcase ").count(), 2);
    }
}
