//! `homeport connect`, `accounts verify` and `accounts remove` against a real Matrix homeserver
//! (Synapse, started by the tests: docs/testing.md): by Matrix ID alone (its `.well-known` names
//! the homeserver), a wrong password and a deactivated user named as such, re-verify renewing an
//! expired access token with the refresh token Synapse issued, and remove logging the device
//! out (Synapse's own device list proves it). The lookup server's homeservers are Homeport's own
//! mock; this is the real implementation.

use std::process::Output;
use std::time::Duration;

use homeport_lookup::testing::{RealSynapse, SynapseOptions};
use serde_json::Value;

use crate::{code, homeport, json};

/// Synapse's refreshable access tokens live this long in the refresh test: past it, whoami
/// answers 401 `M_UNKNOWN_TOKEN` (`soft_logout`), and only `POST /refresh` helps.
const SHORT_LIFETIME: Duration = Duration::from_secs(3);

/// Starts a Synapse (blocking, off the async workers) with `users` registered: (name, password, admin).
async fn synapse_with(options: SynapseOptions, users: &'static [(&'static str, &'static str, bool)]) -> RealSynapse {
    tokio::task::spawn_blocking(move || {
        let synapse = RealSynapse::start_with(options);
        for (user, password, admin) in users {
            synapse.register(user, password, *admin);
        }
        synapse
    })
    .await
    .expect("Synapse starts")
}

fn both(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// `homeport connect <matrix id> --user <user> --password-stdin --json`.
async fn connect(config: &std::path::Path, matrix_id: &str, user: &str, password: &str) -> Output {
    let args = ["connect", matrix_id, "--user", user, "--password-stdin", "--json"];
    homeport(config, &args, Some(password)).await
}

/// Connects `user` and returns the stored account's JSON.
async fn connected(synapse: &RealSynapse, config: &std::path::Path, user: &str, password: &str) -> Value {
    let matrix_id = format!("@{user}:{}", synapse.server_name());
    let output = connect(config, &matrix_id, user, password).await;
    assert_eq!(code(&output), 0, "{user} connects: {}\nSynapse: {}", both(&output), synapse.log());
    json(&output)["account"].clone()
}

fn id_of(account: &Value) -> String {
    account["id"].as_str().unwrap_or_else(|| panic!("an account id: {account}")).to_owned()
}

/// The `error` of a failed `--json` run, after checking its exit code.
fn failure(output: &Output, exit: i32, what: &str) -> Value {
    assert_eq!(code(output), exit, "{what}: {}", both(output));
    let failed = json(output);
    assert_eq!(failed["status"], "failed", "{what}: {failed}");
    failed["error"].clone()
}

#[tokio::test]
async fn a_matrix_id_connects_to_a_real_synapse_and_a_wrong_password_is_named() {
    let synapse = synapse_with(SynapseOptions::default(), &[("alice", "wonderland-real", false)]).await;
    let config = tempfile::tempdir().expect("temp");
    let matrix_id = format!("@alice:{}", synapse.server_name());
    let output = connect(config.path(), &matrix_id, "alice", "wonderland-real").await;
    assert_eq!(code(&output), 0, "connected: {}\nSynapse: {}", both(&output), synapse.log());
    let connected = json(&output);
    let account = &connected["account"];
    assert_eq!(account["kind"], "matrix", "{connected}");
    assert_eq!(account["user_id"], matrix_id, "whoami confirmed the user");
    assert_eq!(account["instance_url"], synapse.base_url(), "the homeserver its .well-known names");
    assert!(account["matrix"]["device_id"].as_str().is_some_and(|d| !d.is_empty()), "a device: {connected}");

    let wrong = connect(config.path(), &matrix_id, "alice", "not-her-password").await;
    let error = failure(&wrong, 5, "a wrong password is auth_failed (exit 5)");
    assert_eq!(error["code"], "auth_failed", "{error}");
    assert_eq!(error["reason"], "wrong_password", "named as a wrong password: {error}");
}

/// Deactivated after connecting, the stored account no longer verifies (Synapse deleted its
/// device and tokens: "log in again"); connecting again, Synapse's answer depends on the
/// password: deactivation erases it (a wrong password, `M_FORBIDDEN`), and where the password
/// still checks out (reset by the admin here, as an LDAP or SSO provider would accept it) Synapse
/// answers `M_USER_DEACTIVATED`: the account is disabled.
#[tokio::test]
async fn a_deactivated_user_no_longer_verifies_and_cannot_connect() {
    let users = &[("bob", "builder-real", false), ("root", "root-real", true)];
    let synapse = synapse_with(SynapseOptions::default(), users).await;
    let config = tempfile::tempdir().expect("temp");
    let account = connected(&synapse, config.path(), "bob", "builder-real").await;
    let (id, user_id) = (id_of(&account), format!("@bob:{}", synapse.server_name()));
    let admin = synapse.admin("root", "root-real").await;
    admin.deactivate(&user_id).await;
    assert!(admin.device_ids(&user_id).await.is_empty(), "Synapse deleted bob's devices on deactivation");

    let verify = homeport(config.path(), &["accounts", "verify", &id, "--json"], None).await;
    let error = failure(&verify, 5, "a deactivated account no longer verifies (auth_failed)");
    assert_eq!(error["code"], "auth_failed", "{error}");
    assert_eq!(error["reason"], "login_expired", "its login is gone: {error}");
    let hint = error["hint"].as_str().unwrap_or_default();
    assert!(hint.contains("log in again"), "the hint says what to do: {error}");
    assert!(
        hint.contains(&format!("homeport connect {user_id} --password-stdin")),
        "the command that does it, the Matrix ID naming the user: {hint}"
    );
    assert!(!hint.contains("--user") && !hint.contains("twice"), "no flag it needs not, no duplicate: {hint}");
    assert_eq!(
        synapse.requests_to("POST", "/_matrix/client/v3/refresh"),
        vec![401],
        "the refresh token was tried, and refused: deactivation deleted it with the device"
    );
    let list = json(&homeport(config.path(), &["accounts", "list", "--json"], None).await);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "a failed verify keeps the account: {list}");

    let erased = connect(config.path(), &user_id, "bob", "builder-real").await;
    let error = failure(&erased, 5, "deactivation erased the password");
    assert_eq!(error["reason"], "wrong_password", "Synapse answers M_FORBIDDEN, as for a wrong password: {error}");

    admin.set_password(&user_id, "builder-again").await;
    let disabled = connect(config.path(), &user_id, "bob", "builder-again").await;
    let error = failure(&disabled, 5, "a deactivated account is auth_failed (exit 5)");
    assert_eq!(error["code"], "auth_failed", "{error}");
    assert_eq!(error["reason"], "account_deactivated", "named as deactivated, not as a wrong password: {error}");
    assert_eq!(error["detail"]["reason"], "account_deactivated", "not as oCIS's disabled account: {error}");
    assert_eq!(error["detail"]["errcode"], "M_USER_DEACTIVATED", "{error}");
    assert!(
        error["message"].as_str().is_some_and(|message| message.contains("deactivated")),
        "the message says so: {error}"
    );
    assert_eq!(
        synapse.requests_to("POST", "/_matrix/client/v3/login").last(),
        Some(&403),
        "Synapse refused the login (403 M_USER_DEACTIVATED)"
    );
}

/// An access token past Synapse's `refreshable_access_token_lifetime` is renewed with the
/// refresh token the login got (`POST /_matrix/client/v3/refresh`), and the rotated refresh
/// token is stored: Synapse refuses the first one once the second's access token was used, so a
/// second re-verify after another expiry works only with the stored rotation.
#[tokio::test]
async fn reverify_renews_an_expired_access_token_with_synapses_refresh_token() {
    let options = SynapseOptions { refreshable_access_token_lifetime: Some(SHORT_LIFETIME) };
    let synapse = synapse_with(options, &[("carol", "carol-real", false), ("root", "root-real", true)]).await;
    let config = tempfile::tempdir().expect("temp");
    let account = connected(&synapse, config.path(), "carol", "carol-real").await;
    let id = id_of(&account);
    assert_eq!(
        synapse.requests_to("POST", "/_matrix/client/v3/refresh"),
        Vec::<u16>::new(),
        "no refresh while connecting"
    );
    for round in 1..=2 {
        // Past the lifetime (a bound on the wait, not a timed assertion).
        tokio::time::sleep(SHORT_LIFETIME + Duration::from_secs(1)).await;
        let verify = homeport(config.path(), &["accounts", "verify", &id, "--json"], None).await;
        assert_eq!(
            code(&verify),
            0,
            "re-verify {round} renews the expired access token: {}\nSynapse: {}",
            both(&verify),
            synapse.log()
        );
        let verified = json(&verify);
        assert_eq!(verified["status"], "verified", "{verified}");
        assert_eq!(verified["account"]["id"], id.as_str(), "the same account: {verified}");
        assert_eq!(
            verified["account"]["matrix"]["device_id"], account["matrix"]["device_id"],
            "the same device: a refresh, not a new login"
        );
        assert_eq!(
            synapse.requests_to("POST", "/_matrix/client/v3/refresh"),
            vec![200; round],
            "Synapse renewed the token {round} time(s) (its access log)"
        );
    }
    assert_eq!(synapse.requests_to("POST", "/_matrix/client/v3/login"), vec![200], "one login only: the connect");

    // Past the lifetime once more, remove still logs the device out: Synapse's logout takes an
    // expired access token (`allow_expired`), as the lookup server's homeservers do.
    tokio::time::sleep(SHORT_LIFETIME + Duration::from_secs(1)).await;
    let (user_id, device) = (format!("@carol:{}", synapse.server_name()), account["matrix"]["device_id"].clone());
    let remove = homeport(config.path(), &["accounts", "remove", &id], None).await;
    let words = both(&remove);
    assert_eq!(code(&remove), 0, "removed: {words}");
    let logged_out = format!("The device was logged out at {}", synapse.base_url());
    assert!(words.contains(&logged_out), "the CLI says {logged_out:?}: {words}");
    let devices = synapse.admin("root", "root-real").await.device_ids(&user_id).await;
    assert!(!devices.iter().any(|d| device == d.as_str()), "{device} is gone from Synapse's devices: {devices:?}");
}

/// `accounts remove` logs the device out (`POST /_matrix/client/v3/logout`): it is gone from
/// Synapse's device list (and with it the access and refresh tokens), and the CLI says so.
#[tokio::test]
async fn remove_logs_the_device_out_of_synapse() {
    let users = &[("dave", "dave-real", false), ("root", "root-real", true)];
    let synapse = synapse_with(SynapseOptions::default(), users).await;
    let config = tempfile::tempdir().expect("temp");
    let account = connected(&synapse, config.path(), "dave", "dave-real").await;
    let (id, user_id) = (id_of(&account), format!("@dave:{}", synapse.server_name()));
    let device = account["matrix"]["device_id"].as_str().expect("a device id").to_owned();
    let admin = synapse.admin("root", "root-real").await;
    assert!(admin.device_ids(&user_id).await.contains(&device), "Synapse lists the new device {device}");

    let remove = homeport(config.path(), &["accounts", "remove", &id, "--json"], None).await;
    assert_eq!(code(&remove), 0, "removed: {}\nSynapse: {}", both(&remove), synapse.log());
    let removed = json(&remove);
    assert_eq!(removed["removed"]["id"], id.as_str(), "{removed}");
    let revocation = &removed["revocation"];
    assert_eq!(revocation["what"], "matrix_device", "a device logout: {removed}");
    assert_eq!(revocation["outcome"], "deleted", "the CLI says the device was logged out: {removed}");
    assert_eq!(revocation["server"], synapse.base_url(), "at the homeserver: {removed}");
    assert_eq!(removed["app_password"], Value::Null, "no app password: {removed}");
    let devices = admin.device_ids(&user_id).await;
    assert!(
        !devices.contains(&device),
        "the device {device} is logged out at Synapse (its devices: {devices:?}); the CLI said: {removed}\nSynapse: {}",
        synapse.log()
    );
    assert_eq!(synapse.requests_to("POST", "/_matrix/client/v3/logout"), vec![200], "one logout, answered 200");
    let list = json(&homeport(config.path(), &["accounts", "list", "--json"], None).await);
    assert_eq!(list, serde_json::json!([]), "and removed here");
}
