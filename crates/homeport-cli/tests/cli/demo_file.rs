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

fn examples(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples").join(name).to_string_lossy().into_owned()
}

/// `homeport mock --scenario` with the oCIS example: one of its made-up people connects at the
/// file's own instance, under its product name, and at the file's own tenant; its unsubscribed
/// tenant is refused by name.
#[tokio::test]
async fn the_ocis_example_serves_its_instances_people_and_tenants() {
    let (mut mock, description) = start_mock(&["mock", "--scenario", &examples("demo-ocis.toml")]).await;
    let ocis = description["ocis"].as_str().expect("the oCIS server").to_owned();
    let south = description["ocis_instances"]["south"].as_str().expect("the file's instance south").to_owned();
    assert_eq!(description["oidc_users"], serde_json::json!(["greta", "otto", "paul"]), "{description}");
    let config = tempfile::tempdir().expect("temp");
    let browser = ["--password-stdin", "--browser", "auto-login", "--json", "--no-store"];
    let otto =
        homeport(config.path(), &[&["connect", &ocis, "--user", "otto"][..], &browser].concat(), Some("acme-drive"))
            .await;
    assert_eq!(code(&otto), 0, "otto connects: {}", String::from_utf8_lossy(&otto.stdout));
    let result = json(&otto);
    assert_eq!(result["account"]["instance_url"], south, "on his instance of the file: {result}");
    assert_eq!(result["account"]["display_name"], "Otto Sued", "{result}");
    let product = result["server"]["product"].as_str().unwrap_or_default();
    assert!(product.starts_with("ACME Drive"), "the file's product name: {product}");

    let template = description["tenant_issuer_template"].as_str().expect("template").to_owned();
    let pattern = description["tenant_pattern"].as_str().expect("pattern").to_owned();
    let tenant = |name: &str| description["tenants"][name].as_str().map(str::to_owned);
    let berlin = tenant("acme-berlin").expect("the file's tenant");
    let tenant_flags = ["--tenant-pattern", &pattern, "--tenant-issuer", &template];
    let args = [&["connect", &berlin, "--user", "greta"][..], &tenant_flags, &browser].concat();
    let greta = homeport(config.path(), &args, Some("acme-drive")).await;
    assert_eq!(code(&greta), 0, "greta at the tenant: {}", String::from_utf8_lossy(&greta.stdout));
    assert_eq!(json(&greta)["account"]["tenant"]["tenant"], "acme-berlin", "the file's tenant");
    let trial = tenant("acme-trial").expect("the unsubscribed tenant");
    let args = [&["connect", &trial, "--user", "greta"][..], &tenant_flags, &browser].concat();
    let refused = homeport(config.path(), &args, Some("acme-drive")).await;
    let message = json(&refused)["error"]["message"].as_str().unwrap_or_default().to_owned();
    assert_eq!(code(&refused), 5, "refused: {message}");
    assert!(message.contains("acme-trial") && message.contains("not subscribed"), "named: {message}");
    mock.kill().await.expect("stopped");
}

/// The Nextcloud example: a made-up person logs in with his password at the Global Site
/// Selector of a Nextcloud branded "ACME Files", and his node (the file's) gives an app password.
#[tokio::test]
async fn the_nextcloud_example_connects_its_people_at_their_node() {
    let (mut mock, description) = start_mock(&["mock", "--scenario", &examples("demo-nextcloud.toml")]).await;
    let gss = description["nextcloud_gss"].as_str().expect("the Global Site Selector").to_owned();
    let node2 = description["nextcloud_nodes"]["node2"].as_str().expect("node2").to_owned();
    let config = tempfile::tempdir().expect("temp");
    let node2_origin = node2.trim_end_matches('/');
    let args = [
        "connect",
        &gss,
        "--user",
        "max",
        "--password-stdin",
        "--approve-redirect",
        node2_origin,
        "--json",
        "--no-store",
    ];
    let max = homeport(config.path(), &args, Some("acme-files")).await;
    assert_eq!(code(&max), 0, "max connects: {}", String::from_utf8_lossy(&max.stdout));
    let result = json(&max);
    assert_eq!(result["account"]["display_name"], "Max Mittel", "{result}");
    assert_eq!(result["account"]["instance_url"], node2, "at his node: {result}");
    let product = result["server"]["product"].as_str().unwrap_or_default();
    assert!(product.starts_with("ACME Files"), "the file's product name: {product}");
    assert_eq!(result["account"]["kind"], "nextcloud", "a branded Nextcloud is Nextcloud: {result}");
    assert_eq!(result["account"]["auth_method"], "app_password", "her node gave an app password: {result}");
    mock.kill().await.expect("stopped");
}
