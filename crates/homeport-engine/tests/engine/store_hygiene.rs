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

#[test]
fn another_login_or_instance_under_a_stored_id_is_refused_not_silently_replaced() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = AccountStore::at(dir.path());
    // An id as Homeport stored them before ids had 128 bits: it still loads and is still the same account.
    let stored = account("acct-0123456789", "http://127.0.0.1:9/", "alice");
    assert_eq!(save(&store, &stored, "pw-alice").expect("save"), SaveOutcome::Added);
    assert_eq!(store.get("acct-0123456789").expect("an old short id loads"), stored);

    for (case, intruder) in [
        ("another login", account("acct-0123456789", "http://127.0.0.1:9/", "mallory")),
        ("another instance", account("acct-0123456789", "http://127.0.0.1:10/", "alice")),
    ] {
        let refused = save(&store, &intruder, "pw-intruder");
        match refused {
            Err(StoreError::IdTaken { ref id, .. }) if id == "acct-0123456789" => {}
            other => panic!("{case}: saving under a stored id must be a typed refusal, got {other:?}"),
        }
        let message = refused.expect_err("refused").to_string();
        assert!(
            message.contains("alice") && message.contains("127.0.0.1:9"),
            "{case}: it names the stored account: {message}"
        );
        assert_eq!(store.list().expect("list"), vec![stored.clone()], "{case}: the stored account is untouched");
        assert_eq!(store.secret(&stored.id).expect("secret").expose(), "pw-alice", "{case}: and so is its secret");
    }
    let again = save(&store, &stored, "pw-alice-2").expect("the same account again");
    assert_eq!(again, SaveOutcome::Replaced, "the same login at the same instance is replaced, as before");

    // The same login connected again now gets a 128-bit id: it takes the old entry's place.
    let base =
        homeport_engine::ServerUrl::from_url(url::Url::parse("http://127.0.0.1:9/").expect("url")).expect("base");
    let new_id = Account::id_for(homeport_engine::AccountKind::Owncloud, &base, "alice");
    assert!(new_id.len() >= "acct-".len() + 32, "an id carries at least 128 bits (32 hex digits): {new_id}");
    let reconnected = Account { id: new_id.clone(), ..stored.clone() };
    assert_eq!(save(&store, &reconnected, "pw-alice-3").expect("save"), SaveOutcome::Replaced, "not a second account");
    let ids: Vec<String> = store.list().expect("list").into_iter().map(|a| a.id).collect();
    assert_eq!(ids, vec![new_id.clone()], "one account, under its new id");
    assert!(
        matches!(store.secret("acct-0123456789"), Err(StoreError::SecretMissing { .. })),
        "the old entry's secret went"
    );
    store.remove(&new_id).expect("remove");
}
