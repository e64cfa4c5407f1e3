//! `homeport run`: the repository's scenario library passes with a JUnit report; a failing
//! expectation leaves its trace and exits 12; a bad file names file, line and key.

use std::path::PathBuf;

use crate::{code, homeport, json};

/// The scenario library CI runs (tests/scenarios at the repository root).
fn library() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenarios")
}

#[tokio::test]
async fn the_scenario_library_passes_and_reports_junit() {
    let config = tempfile::tempdir().expect("temp");
    let junit = config.path().join("junit.xml");
    let library = library();
    let count = std::fs::read_dir(&library).expect("tests/scenarios").count();
    assert!(count >= 30, "a library covering every seed system and fault: {count} files");
    let args = ["run", library.to_str().expect("utf-8"), "--junit", junit.to_str().expect("utf-8")];
    let output = homeport(config.path(), &args, None).await;
    let lines = String::from_utf8_lossy(&output.stdout);
    assert_eq!(code(&output), 0, "every scenario passes: {lines}{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(lines.lines().filter(|line| line.starts_with("✓ ")).count(), count, "one line per scenario: {lines}");
    assert!(lines.contains(&format!("{count} scenarios: {count} passed, 0 failed")), "a summary: {lines}");
    let report = std::fs::read_to_string(&junit).expect("the JUnit report is written");
    assert!(report.contains(&format!("tests=\"{count}\" failures=\"0\"")), "JUnit counts: {report}");
    assert_eq!(report.matches("<testcase ").count(), count, "one testcase per scenario");
}

#[tokio::test]
async fn a_failed_expectation_exits_12_and_leaves_its_trace() {
    let dir = tempfile::tempdir().expect("temp");
    let scenario = dir.path().join("wrong-instance.toml");
    std::fs::write(
        &scenario,
        r#"name = "expects the wrong instance"
[connect]
address = "${central}"
user = "test@instance2.com"
password = "secret"
approve_redirect = ["${origin:instances.instance2}"]
[expect]
instance = "${instances.instance3}"
"#,
    )
    .expect("write");
    let artifacts = dir.path().join("artifacts");
    let junit = dir.path().join("junit.xml");
    let args = [
        "run",
        scenario.to_str().expect("utf-8"),
        "--artifacts",
        artifacts.to_str().expect("utf-8"),
        "--junit",
        junit.to_str().expect("utf-8"),
        "--json",
    ];
    let output = homeport(dir.path(), &args, None).await;
    assert_eq!(code(&output), 12, "expectations failed: {}", String::from_utf8_lossy(&output.stdout));
    let report = json(&output);
    assert_eq!(report["status"], "failed", "--json is one object: {report}");
    let failures = report["scenarios"][0]["failures"].to_string();
    assert!(failures.contains("expected instance"), "says which expectation: {failures}");
    let har: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(artifacts.join("wrong-instance.har")).expect("a HAR artefact"))
            .expect("HAR is JSON");
    assert!(har["log"]["entries"].as_array().is_some_and(|e| !e.is_empty()), "the exchanges: {har}");
    let mermaid = std::fs::read_to_string(artifacts.join("wrong-instance.mmd")).expect("a Mermaid artefact");
    assert!(mermaid.starts_with("sequenceDiagram"), "{mermaid}");
    for file in [artifacts.join("wrong-instance.har"), artifacts.join("wrong-instance.mmd")] {
        let text = std::fs::read_to_string(&file).expect("read");
        assert!(!text.contains("dGVzdEBpbnN0YW5jZTIuY29tOnNlY3JldA"), "no Basic credentials in {}", file.display());
    }
    let xml = std::fs::read_to_string(&junit).expect("junit");
    assert!(xml.contains("failures=\"1\"") && xml.contains("<failure message=\"expected instance"), "{xml}");
}

#[tokio::test]
async fn bad_files_name_file_line_and_key_and_repeat_counts_plays() {
    let dir = tempfile::tempdir().expect("temp");
    let typo = dir.path().join("typo.toml");
    std::fs::write(&typo, "name = \"x\"\n[connect]\naddress = \"${central}\"\nuser_name = \"a\"\n").expect("write");
    let output = homeport(dir.path(), &["run", typo.to_str().expect("utf-8")], None).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(code(&output), 2, "bad input: {stderr}");
    assert!(stderr.contains("typo.toml:4:") && stderr.contains("user_name"), "file, line and key: {stderr}");

    let library = library().join("s0-instance2.toml");
    let args = ["run", library.to_str().expect("utf-8"), "--repeat", "20", "--concurrency", "4", "--json"];
    let output = homeport(dir.path(), &args, None).await;
    let report = json(&output);
    assert_eq!(code(&output), 0, "{report}");
    assert_eq!(
        (report["scenarios"][0]["plays"].as_u64(), report["scenarios"][0]["failed_plays"].as_u64()),
        (Some(20), Some(0))
    );
    assert!(report["scenarios"][0]["flows_per_second"].as_f64().is_some_and(|rate| rate > 0.0), "a rate: {report}");
}
