//! axe-core (tests/peers/axe, pinned) inside the real window: every page a test takes a snapshot
//! of is audited, and a serious or critical violation fails the test (docs/testing.md). What axe
//! found at each page, of any impact, is kept beside the screenshots as `<name>.axe.json`.

use std::path::PathBuf;
use std::sync::OnceLock;

use serde::Deserialize;
use thirtyfour::prelude::*;

use crate::harness::TestResult;

/// One rule axe found broken, with the elements that break it.
#[derive(Debug, Deserialize, serde::Serialize)]
pub(crate) struct Violation {
    pub(crate) id: String,
    pub(crate) impact: Option<String>,
    pub(crate) help: String,
    pub(crate) nodes: Vec<String>,
}

fn axe_source() -> Result<&'static str, String> {
    static SOURCE: OnceLock<Result<String, String>> = OnceLock::new();
    let source = SOURCE.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/axe/node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "axe-core is not installed at {}: run npm ci --prefix tests/peers/axe (./dev.sh test does): {e}",
                path.display()
            )
        })
    });
    source.as_deref().map_err(Clone::clone)
}

/// Runs axe on the page as it is now; fails on a serious or critical violation. The audit leaves
/// keyboard focus where it was (the tests go on from the keyboard).
pub(crate) async fn audit(driver: &WebDriver, name: &str, report_folder: &std::path::Path) -> TestResult {
    let loaded = driver.execute("return typeof window.axe !== 'undefined';", Vec::new()).await?;
    if !loaded.json().as_bool().unwrap_or(false) {
        driver.execute(axe_source()?, Vec::new()).await?;
    }
    // WCAG 2.0–2.2 A and AA, axe's best practices, and its experimental rules (WCAG 2.5.3 "label in
    // name", `label-content-name-mismatch`, is one: speech control needs the visible words in the name).
    let script = "const done = arguments[arguments.length - 1];\n\
        const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa', 'best-practice', 'experimental'];\n\
        const focused = document.activeElement;\n\
        const restore = () => { if (focused && document.activeElement !== focused) focused.focus({ preventScroll: true }); };\n\
        axe.run(document, { resultTypes: ['violations'], runOnly: { type: 'tag', values: tags } })\n\
          .finally(restore)\n\
          .then((r) => done(JSON.stringify(r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,\n\
             nodes: v.nodes.map((n) => n.target.join(' ') + ' :: ' + (n.failureSummary || '').replace(/\\s+/g, ' ')) })))))\n\
          .catch((e) => done('axe failed: ' + e));";
    let answer = driver.execute_async(script, Vec::new()).await?;
    let text = answer.json().as_str().unwrap_or_default().to_owned();
    let violations: Vec<Violation> =
        serde_json::from_str(&text).map_err(|e| format!("{name}: axe answered {text:?}: {e}"))?;
    std::fs::write(report_folder.join(format!("{name}.axe.json")), serde_json::to_string_pretty(&violations)?)?;
    let grave: Vec<&Violation> =
        violations.iter().filter(|v| matches!(v.impact.as_deref(), Some("serious" | "critical"))).collect();
    if grave.is_empty() {
        return Ok(());
    }
    let listed: Vec<String> = grave
        .iter()
        .map(|v| {
            format!("  {} ({}): {}\n    {}", v.id, v.impact.as_deref().unwrap_or("?"), v.help, v.nodes.join("\n    "))
        })
        .collect();
    Err(format!("{name}: axe found {} serious or critical violation(s):\n{}", grave.len(), listed.join("\n")).into())
}
