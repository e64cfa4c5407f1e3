//! A reader that went away (`homeport … | head -1`) ends Homeport quietly, killed by SIGPIPE as
//! every Unix tool is (docs/cli.md): no panic, no "failed printing to stdout", nothing on stderr.
//! The pipe's reading end is closed before Homeport starts, so the first write meets it closed.

use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use homeport_lookup::Scenario;
use tokio::io::AsyncWriteExt as _;
use tokio::process::Command;

use crate::{lookup, origin, HOMEPORT};

const SIGPIPE: i32 = 13;

/// Runs `homeport ARGS` with its standard output a pipe nobody reads any more.
async fn into_closed_pipe(config: &Path, args: &[&str], password: Option<&str>) -> Output {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let mut child = Command::new(HOMEPORT)
        .args(args)
        .env("HOMEPORT_CONFIG_DIR", config)
        .env("HOMEPORT_SYSTEM_CONFIG", "")
        .stdin(Stdio::piped())
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("homeport runs");
    let mut stdin = child.stdin.take().expect("stdin");
    if let Some(password) = password {
        let _ = stdin.write_all(format!("{password}\n").as_bytes()).await;
    }
    drop(stdin);
    tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("homeport finishes")
        .expect("output")
}

fn assert_quiet_sigpipe(what: &str, output: &Output) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.signal(),
        Some(SIGPIPE),
        "{what}: killed by SIGPIPE ({:?}); stderr: {stderr}",
        output.status
    );
    assert!(stderr.is_empty(), "{what}: nothing on stderr (no panic, no 'failed printing'): {stderr}");
}

#[tokio::test]
async fn connect_with_its_story_or_json_ends_quietly_on_a_closed_pipe() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let central = server.central_url().to_string();
    let instance2 = origin(&server, "instance2");
    let mut args = vec!["connect", &central, "-u", "test@instance2.com", "--password-stdin", "--approve-redirect"];
    args.push(&instance2);
    let story = into_closed_pipe(config.path(), &args, Some("secret")).await;
    assert_quiet_sigpipe("connect", &story);
    args.push("--json");
    let json = into_closed_pipe(config.path(), &args, Some("secret")).await;
    assert_quiet_sigpipe("connect --json", &json);
    // A failure's JSON object is written to stdout too.
    let refused = into_closed_pipe(config.path(), &["connect", "ftp://example.com", "--json"], None).await;
    assert_quiet_sigpipe("a failure with --json", &refused);
    server.shutdown().await;
}

#[tokio::test]
async fn accounts_list_ends_quietly_on_a_closed_pipe() {
    let config = tempfile::tempdir().expect("temp");
    for args in [&["accounts", "list"][..], &["accounts", "list", "--json"]] {
        let output = into_closed_pipe(config.path(), args, None).await;
        assert_quiet_sigpipe(&args.join(" "), &output);
    }
}

#[tokio::test]
async fn run_ends_quietly_on_a_closed_pipe() {
    let config = tempfile::tempdir().expect("temp");
    let scenario = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenarios/s0-instance2.toml");
    let output = into_closed_pipe(config.path(), &["run", scenario.to_str().expect("utf-8")], None).await;
    assert_quiet_sigpipe("run", &output);
}
