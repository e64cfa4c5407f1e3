//! `homeport mock --scenario FILE`: a customer's own demo from a file (docs/examples/demo-acme.toml),
//! and `homeport connect` connecting one of its people.

use std::path::PathBuf;

use tokio::process::Command;

use crate::{code, homeport, json, start_mock, HOMEPORT};

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples/demo-acme.toml")
}

#[tokio::test]
async fn the_worked_example_serves_its_people_and_connect_reaches_their_instance() {
    let example = example();
    let (mut mock, description) = start_mock(&["mock", "--scenario", example.to_str().expect("utf-8")]).await;
    assert_eq!(
        description["instances"].as_object().map(|i| i.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["berlin".to_owned(), "hamburg".to_owned()]),
        "the file's instances: {description}"
    );
    assert_eq!(description["users"][0], "anna@berlin.acme.test", "the file's people: {description}");
    assert_eq!(description["password"], "acme-demo", "the file's password");
    assert_eq!(description["matrix_users"][0], "jonas", "its Matrix people");
    assert_eq!(description["nextcloud_users"][0], "alice", "a section left out keeps the built-in people");
    let central = description["central"].as_str().expect("central").to_owned();
    let berlin = description["instances"]["berlin"].as_str().expect("berlin").to_owned();
    let berlin_origin = berlin.trim_end_matches('/').to_owned();

    let config = tempfile::tempdir().expect("temp");
    let args = [
        "connect",
        &central,
        "--user",
        "anna@berlin.acme.test",
        "--password-stdin",
        "--approve-redirect",
        &berlin_origin,
        "--json",
        "--no-store",
    ];
    let output = homeport(config.path(), &args, Some("acme-demo")).await;
    assert_eq!(code(&output), 0, "anna connects: {}", String::from_utf8_lossy(&output.stderr));
    let result = json(&output);
    assert_eq!(result["account"]["instance_url"], berlin, "routed to her site by her login's domain: {result}");
    assert_eq!(result["account"]["display_name"], "Anna Berg", "{result}");
    assert_eq!(
        result["server"]["product"], "ACME Cloud 10.13.4 (Community)",
        "the customer's product name, as status.php's productname: {}",
        result["server"]
    );

    let wrong = homeport(config.path(), &args, Some("secret")).await;
    assert_eq!(code(&wrong), 5, "the built-in password is not hers: {}", String::from_utf8_lossy(&wrong.stderr));
    mock.kill().await.expect("stopped");
}

#[tokio::test]
async fn a_mistake_in_a_demo_file_names_its_line_and_column() {
    let dir = tempfile::tempdir().expect("temp");
    let file = dir.path().join("demo.toml");
    std::fs::write(
        &file,
        "[[matrix.people]]\nlocalpart = \"a\"\npassword = \"p\"\ndisplay_name = \"A\"\nhomeserver = \"hs9\"\n",
    )
    .expect("write");
    let output = Command::new(HOMEPORT).args(["mock", "--scenario"]).arg(&file).output().await.expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "bad input: {stderr}");
    assert!(stderr.contains(&format!("{}:5:14: no homeserver \"hs9\" (hs1, hs2)", file.display())), "{stderr}");
}
