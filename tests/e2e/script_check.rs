//! `--script FILE` is checked before the window shows its first page, as `homeport run` checks
//! before playing: a bad file (here a `${…}` the scenario's lookup server does not have, found only
//! by filling it in) is named with file, line and column on standard error, exit 2, and no window
//! opens — the app ends on its own, without a display to draw on.

use std::process::Stdio;
use std::time::Duration;

/// Generous: the check starts and stops one lookup server; a hang fails the test.
const BOUND: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_bad_script_is_named_with_file_line_and_column_before_any_window() {
    let dir = tempfile::tempdir().expect("temp");
    let file = dir.path().join("typo.toml");
    let text =
        "name = \"typo\"\n[connect]\naddress = \"${centrall}\"\nuser = \"test@instance1.com\"\npassword = \"secret\"\n";
    std::fs::write(&file, text).expect("write");
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_homeport-desktop"))
        .arg("--script")
        .arg(&file)
        // No display: were a window to open, the app would fail for want of one, not for the file.
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("HOMEPORT_CONFIG_DIR", dir.path())
        .env("HOMEPORT_SYSTEM_CONFIG", "")
        .stdin(Stdio::null())
        .output();
    let output = tokio::time::timeout(BOUND, run).await.expect("ends on its own").expect("homeport-desktop runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "bad input, before any window: {stderr}");
    let placed = format!("homeport-desktop: {}:3:", file.display());
    assert!(stderr.contains(&placed) && stderr.contains("centrall"), "file:line:column and the placeholder: {stderr}");
}
