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

/// A folder of ten files, `h01.toml` … `h10.toml`: nine of the library's ownCloud and fault files,
/// and `h10.toml` as given.
fn ten_files(h10: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp");
    let library = library();
    let nine = [
        "s0-instance2",
        "s0-redirect-307",
        "s0-path-instances",
        "s0-wrong-password",
        "s0-unapproved-redirect",
        "fault-maintenance",
        "fault-needs-db-upgrade",
        "fault-not-installed",
        "fault-server-error",
    ];
    for (index, file) in nine.iter().enumerate() {
        std::fs::copy(library.join(format!("{file}.toml")), dir.path().join(format!("h{:02}.toml", index + 1)))
            .expect("copy a library file");
    }
    std::fs::write(dir.path().join("h10.toml"), h10).expect("write h10");
    dir
}

#[tokio::test]
async fn one_bad_file_at_the_end_stops_the_run_before_anything_plays() {
    let dir = ten_files(
        "name = \"h10\"\n[connect]\naddress = \"${central}\"\nuser = \"test@instance2.com\"\n[expect]\nstatus = \"failed\"\n",
    );
    let junit = dir.path().join("junit.xml");
    let args = ["run", dir.path().to_str().expect("utf-8"), "--junit", junit.to_str().expect("utf-8")];
    let output = homeport(dir.path(), &args, None).await;
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(code(&output), 2, "a bad file is bad input: {stderr}");
    assert!(stdout.trim().is_empty(), "nothing played, no line printed: {stdout}");
    let h10 = dir.path().join("h10.toml");
    assert!(
        stderr.contains(&format!("{}:4:1: connect.user and a password go together", h10.display())),
        "the bad file with line and column: {stderr}"
    );
    assert!(stderr.contains("1 of 10 scenario files have problems"), "a summary: {stderr}");
    let report = std::fs::read_to_string(&junit).expect("the JUnit report is written even though nothing played");
    assert!(report.contains("tests=\"10\" failures=\"0\" errors=\"1\" skipped=\"9\""), "counts: {report}");
    assert!(
        report.contains("<testcase classname=\"homeport\" name=\"h10\"")
            && report.contains("h10.toml:4:1: connect.user and a password go together"),
        "the bad file is an <error> case: {report}"
    );
    assert_eq!(report.matches("<skipped ").count(), 9, "the nine good files did not play: {report}");
}

#[tokio::test]
async fn two_bad_files_are_both_named_and_json_lists_every_problem() {
    let dir = ten_files(
        "name = \"h10\"\n[connect]\naddress = \"${central}\"\nuser = \"test@instance2.com\"\npassword = \"secret\"\napprove_redirect = [\"${origin:instances.instance9}\"]\n",
    );
    let h05 = dir.path().join("h05.toml");
    let typo = std::fs::read_to_string(&h05).expect("h05").replace("[expect]", "[expect]\nstatuss = \"failed\"");
    std::fs::write(&h05, typo).expect("write h05");
    let output = homeport(dir.path(), &["run", dir.path().to_str().expect("utf-8")], None).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(code(&output), 2, "{stderr}");
    let h10 = dir.path().join("h10.toml");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines[0].starts_with(&format!("{}:", h05.display())) && lines[0].contains("statuss"),
        "h05 first: {stderr}"
    );
    assert_eq!(
        lines[1],
        format!("{}:6:22: the lookup server provides no ${{instances.instance9}}", h10.display()),
        "then h10, at the placeholder: {stderr}"
    );
    assert!(stderr.contains("2 of 10 scenario files have problems"), "{stderr}");

    let output = homeport(dir.path(), &["run", dir.path().to_str().expect("utf-8"), "--json"], None).await;
    assert_eq!(code(&output), 2);
    let report = json(&output);
    assert_eq!(report["error"]["code"], "bad_input", "{report}");
    let problems = report["error"]["detail"]["problems"].as_array().cloned().unwrap_or_default();
    assert_eq!(problems.len(), 2, "one problem each: {report}");
    assert_eq!((problems[1]["line"].as_u64(), problems[1]["column"].as_u64()), (Some(6), Some(22)), "{report}");
    assert_eq!(problems[1]["file"], h10.display().to_string(), "{report}");
}
