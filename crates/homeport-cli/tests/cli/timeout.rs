//! `--timeout SECS` bounds each exchange of `connect` and `accounts verify` (docs/cli.md), as a
//! scenario file's `timeout_secs`: against the lookup server's `slow-body` fault, a status.php
//! that trickles one byte every 200 ms (about 35 s, past the default bound of 30 s).

use homeport_lookup::{Fault, Scenario};

use crate::{code, homeport, json, lookup, origin};

fn assert_timed_out_after_one_second(what: &str, output: &std::process::Output) {
    let failure = json(output);
    let error = &failure["error"];
    assert_eq!((code(output), error["code"].as_str()), (3, Some("unreachable")), "{what}: {failure}");
    assert_eq!(error["detail"]["timeout_seconds"], 1, "{what}: the bound given, not the default 30: {failure}");
    let hint = error["hint"].as_str().unwrap_or_default();
    assert!(hint.contains("--timeout SECS"), "{what}: the hint names the flag: {hint}");
}

#[tokio::test]
async fn connect_gives_up_at_its_timeout_on_a_trickling_server() {
    let stalling = lookup(Scenario { fault: Some(Fault::SlowBody), ..Scenario::default() }).await;
    let config = tempfile::tempdir().expect("temp");
    let args = ["connect", stalling.central_url().as_str(), "--timeout", "1", "--json"];
    let output = homeport(config.path(), &args, None).await;
    assert_timed_out_after_one_second("connect", &output);
    let message = json(&output)["error"]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("within 1 seconds"), "the message names the bound: {message}");

    for bad in ["0", "-1", "soon"] {
        let output = homeport(config.path(), &["connect", "example.com", "--timeout", bad], None).await;
        assert_eq!(code(&output), 2, "--timeout {bad} is a usage error: {}", String::from_utf8_lossy(&output.stderr));
    }
    stalling.shutdown().await;
}

#[tokio::test]
async fn accounts_verify_gives_up_at_its_timeout_when_the_server_now_stalls() {
    // A temporary redirect: re-verify asks the server typed again, as connect did.
    let server = lookup(Scenario { redirect_status: 302, ..Scenario::default() }).await;
    let config = tempfile::tempdir().expect("temp");
    let central = server.central_url().to_string();
    let instance1 = origin(&server, "instance1");
    let args = ["connect", &central, "-u", "test@instance1.com", "--password-stdin", "--approve-redirect", &instance1];
    let connected = homeport(config.path(), &[&args[..], &["--json"]].concat(), Some("secret")).await;
    assert_eq!(code(&connected), 0, "{}", String::from_utf8_lossy(&connected.stdout));
    let id = json(&connected)["account"]["id"].as_str().expect("id").to_owned();

    // The same account's server now trickles (another lookup server at its address).
    let stalling = lookup(Scenario { fault: Some(Fault::SlowBody), ..Scenario::default() }).await;
    let accounts = config.path().join("accounts.json");
    let stored = std::fs::read_to_string(&accounts).expect("accounts.json");
    let central_origin = central.trim_end_matches('/');
    assert!(stored.contains(central_origin), "the account names its server: {stored}");
    let moved = stored.replace(central_origin, stalling.central_url().as_str().trim_end_matches('/'));
    std::fs::write(&accounts, moved).expect("rewrite accounts.json");

    let output = homeport(config.path(), &["accounts", "verify", &id, "--timeout", "1", "--json"], None).await;
    assert_timed_out_after_one_second("accounts verify", &output);
    server.shutdown().await;
    stalling.shutdown().await;
}
