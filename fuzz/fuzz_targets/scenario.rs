//! A scenario file, loaded from its text (`homeport_scenario::Scenario::parse`), and the
//! `${…}` expansion of its values (`homeport_scenario::file::expand`). Promise: no panic; an
//! error names a line and column inside the text; text without `${` expands to itself.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use homeport_scenario::{file, Scenario, ScenarioError};
use libfuzzer_sys::fuzz_target;

/// What `homeport mock` describes (the shape the runner expands from).
fn description() -> &'static serde_json::Value {
    static DESCRIPTION: OnceLock<serde_json::Value> = OnceLock::new();
    DESCRIPTION.get_or_init(|| {
        serde_json::json!({
            "central": "http://127.0.0.1:4000/",
            "instances": { "instance2": "http://127.0.0.1:4002/" },
            "matrix": "http://localhost:4100/",
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Scenario::parse(Path::new("fuzz.toml"), text) {
        Ok(scenario) => assert_eq!(scenario.path, Path::new("fuzz.toml")),
        Err(ScenarioError::Invalid { line, column, .. }) => {
            let lines = text.split('\n').count();
            assert!(line >= 1 && line <= lines, "line {line} of a text of {lines} lines");
            assert!(column >= 1, "column {column}");
        }
        Err(_) => {}
    }
    match file::expand(text, description()) {
        Ok(expanded) if !text.contains("${") => assert_eq!(expanded, text, "nothing to expand, yet it changed"),
        _ => {}
    }
});
