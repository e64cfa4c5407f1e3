//! Secret hygiene as a person meets it (issue 16): a password typed into the address is kept
//! nowhere — not in accounts.json, `accounts list --json`, the `--json` answer or the story.

use crate::{code, homeport, json, lookup, origin, walk};
use homeport_lookup::Scenario;

/// The old habit of `https://user:password@host/`: distinctive, so finding it anywhere is a leak.
const TYPED_PASSWORD: &str = "oldpassword";

#[tokio::test]
async fn a_password_typed_into_the_address_is_stored_shown_and_printed_nowhere() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let central = server.central_url();
    let host = format!("{}:{}", central.host_str().expect("host"), central.port().expect("port"));
    let typed = format!("http://alice:{TYPED_PASSWORD}@{host}/");
    let instance2 = origin(&server, "instance2");
    let args =
        ["connect", &typed, "--user", "test@instance2.com", "--password-stdin", "--approve-redirect", &instance2];

    let json_args: Vec<&str> = args.iter().copied().chain(["--json"]).collect();
    let answer = homeport(config.path(), &json_args, Some("secret")).await;
    assert_eq!(code(&answer), 0, "connect succeeds: {}", String::from_utf8_lossy(&answer.stderr));
    let result = json(&answer);
    let entered = result["account"]["entered_address"].as_str().expect("entered_address").to_owned();
    assert!(!entered.contains(TYPED_PASSWORD), "the --json answer's entered_address keeps the password: {entered}");
    assert_eq!(entered, format!("http://alice@{host}/"), "the rest of what was typed stays");
    for (what, bytes) in [("--json's stdout", &answer.stdout), ("--json's stderr", &answer.stderr)] {
        assert!(!String::from_utf8_lossy(bytes).contains(TYPED_PASSWORD), "{what} holds the typed password");
    }

    let story = homeport(config.path(), &args, Some("secret")).await;
    assert_eq!(code(&story), 0, "connect again succeeds: {}", String::from_utf8_lossy(&story.stderr));
    let printed = format!("{}{}", String::from_utf8_lossy(&story.stdout), String::from_utf8_lossy(&story.stderr));
    assert!(!printed.contains(TYPED_PASSWORD), "the story holds the typed password: {printed}");

    let list = homeport(config.path(), &["accounts", "list", "--json"], None).await;
    let listed = String::from_utf8_lossy(&list.stdout);
    assert_eq!(code(&list), 0, "{listed}");
    assert!(listed.contains("entered_address"), "the list shows what was entered: {listed}");
    assert!(!listed.contains(TYPED_PASSWORD), "accounts list --json holds the typed password: {listed}");
    let id = json(&list)[0]["id"].as_str().expect("id").to_owned();
    let show = homeport(config.path(), &["accounts", "show", &id], None).await;
    assert!(!String::from_utf8_lossy(&show.stdout).contains(TYPED_PASSWORD), "accounts show holds it");
    for file in walk(config.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&file).expect("read")).into_owned();
        assert!(!text.contains(TYPED_PASSWORD), "{} holds the typed password", file.display());
    }
    let _ = homeport(config.path(), &["accounts", "remove", &id], None).await;
    server.shutdown().await;
}
