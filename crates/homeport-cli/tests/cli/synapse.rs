//! `homeport connect` against a real Matrix homeserver (Synapse, started by the tests:
//! docs/testing.md): by Matrix ID alone (its `.well-known` names the homeserver), and a wrong
//! password named as such. The lookup server's homeservers are Homeport's own mock; this is the
//! real implementation.

use homeport_lookup::testing::RealSynapse;

use crate::{code, homeport, json};

#[tokio::test]
async fn a_matrix_id_connects_to_a_real_synapse_and_a_wrong_password_is_named() {
    let synapse = tokio::task::spawn_blocking(|| {
        let synapse = RealSynapse::start();
        synapse.register("alice", "wonderland-real", false);
        synapse
    })
    .await
    .expect("Synapse starts");
    let config = tempfile::tempdir().expect("temp");
    let matrix_id = format!("@alice:{}", synapse.server_name());
    let args = ["connect", &matrix_id, "--user", "alice", "--password-stdin", "--json"];
    let output = homeport(config.path(), &args, Some("wonderland-real")).await;
    assert_eq!(
        code(&output),
        0,
        "connected: {}{}\nSynapse: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        synapse.log()
    );
    let connected = json(&output);
    let account = &connected["account"];
    assert_eq!(account["kind"], "matrix", "{connected}");
    assert_eq!(account["user_id"], matrix_id, "whoami confirmed the user");
    assert_eq!(account["instance_url"], synapse.base_url(), "the homeserver its .well-known names");
    assert!(account["matrix"]["device_id"].as_str().is_some_and(|d| !d.is_empty()), "a device: {connected}");

    let wrong = homeport(config.path(), &args, Some("not-her-password")).await;
    let failure = json(&wrong);
    assert_eq!(failure["error"]["code"], "auth_failed", "a wrong password is named: {failure}");
    assert_eq!(code(&wrong), 5, "the auth_failed exit code");
    drop(synapse);
}
