//! The store's secret hygiene (issue 16): temp files nobody can plant, a private folder, account
//! ids of 128 bits, and no account silently replaced by another that happens to share its id.
//! Against the real Secret Service, as `store.rs`.

use std::os::unix::fs::PermissionsExt as _;

use homeport_engine::{Account, AccountStore, SaveOutcome, Secret, StoreError};

/// An account as accounts.json holds it, for `instance` and `login`, under `id`.
fn account(id: &str, instance: &str, login: &str) -> Account {
    serde_json::from_value(serde_json::json!({
        "id": id, "kind": "owncloud", "entered_address": instance,
        "server_url": instance, "instance_url": instance,
        "login_name": login, "user_id": login, "display_name": login, "auth_method": "basic",
        "created_at": 1, "verified_at": 1
    }))
    .expect("an account")
}

fn save(store: &AccountStore, account: &Account, secret: &str) -> Result<SaveOutcome, StoreError> {
    store.save(account, &Secret::new(secret))
}

#[test]
fn the_store_creates_its_folder_private() {
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = dir.path().join("config").join("homeport");
    let store = AccountStore::at(&folder);
    let first = account("acct-hygiene-folder", "http://127.0.0.1:9/", "alice");
    save(&store, &first, "pw-folder").expect("saving needs a working Secret Service: run the README test command");
    let mode = std::fs::metadata(&folder).expect("the folder exists").permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "the config folder is created 0700, got {mode:o}");
    store.remove(&first.id).expect("remove");
}

#[test]
fn the_store_follows_no_symlink_planted_at_a_temp_name() {
    // Another user of this computer plants symlinks at the temp names a writer used to use.
    let planted = tempfile::tempdir().expect("temp dir");
    let victim = planted.path().join("victim");
    std::fs::write(&victim, "not Homeport's file\n").expect("write the victim");
    for name in [".accounts.json.tmp", ".accounts.pending.tmp"] {
        std::os::unix::fs::symlink(&victim, planted.path().join(name)).expect("plant a symlink");
    }
    let store = AccountStore::at(planted.path());
    let second = account("acct-hygiene-symlink", "http://127.0.0.1:9/", "bob");
    let saved = save(&store, &second, "pw-symlink");
    assert_eq!(
        std::fs::read_to_string(&victim).expect("the victim is readable"),
        "not Homeport's file\n",
        "a planted symlink was followed and its target overwritten"
    );
    saved.expect("the save works beside the planted names");
    let accounts = planted.path().join("accounts.json");
    let kind = std::fs::symlink_metadata(&accounts).expect("accounts.json exists").file_type();
    assert!(kind.is_file() && !kind.is_symlink(), "accounts.json is a file of its own, not the planted link");
    assert_eq!(store.list().expect("list"), vec![second.clone()], "the account is stored");
    store.remove(&second.id).expect("remove");
}
