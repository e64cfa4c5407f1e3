//! The account store against the REAL Secret Service: these tests need the session bus and an
//! unlocked gnome-keyring that the README test command starts (dbus-run-session).

use homeport_engine::{Account, AccountStore, ErrorCode, Secret, StoreError};
use homeport_lookup::Scenario;

use crate::{connect, lookup, PASSWORD};

async fn connected_account(user: &str, instance: &str) -> (Account, Secret) {
    let server = lookup(Scenario::default()).await;
    let connected = connect(&server, user, PASSWORD, &[instance]).await.expect("the seed user connects");
    (connected.account, connected.secret)
}

#[tokio::test]
async fn store_read_back_and_remove_against_the_secret_service() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = AccountStore::at(dir.path());
    let (account, secret) = connected_account("test@instance2.com", "instance2").await;

    let saved = {
        let (store, account, secret) = (store.clone(), account.clone(), secret.clone());
        tokio::task::spawn_blocking(move || store.save(&account, &secret)).await.expect("join")
    };
    saved.expect("saving needs a working Secret Service: run the README test command");
    assert_eq!(store.list().expect("list"), vec![account.clone()], "one account, as saved");
    assert_eq!(store.get(&account.id).expect("get"), account);
    assert_eq!(store.secret(&account.id).expect("secret from the keyring").expose(), PASSWORD, "the keyring holds it");

    // Saving the same account again replaces it rather than duplicating it.
    store.save(&account, &secret).expect("save again");
    assert_eq!(store.list().expect("list").len(), 1, "same id, one entry");

    let removed = store.remove(&account.id).expect("remove");
    assert_eq!(removed.id, account.id);
    assert!(store.list().expect("list").is_empty(), "gone from accounts.json");
    assert!(
        matches!(store.secret(&account.id), Err(StoreError::SecretMissing { .. })),
        "the keyring entry is removed too"
    );
    let missing = store.remove(&account.id).expect_err("removing twice");
    assert_eq!(missing.code(), ErrorCode::NotFound, "a clear not-found: {missing}");
}

#[tokio::test]
async fn no_password_lands_in_any_file_and_the_file_is_private() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = AccountStore::at(dir.path().join("homeport"));
    let (account, secret) = connected_account("test@instance1.com", "instance1").await;
    store.save(&account, &secret).expect("save");

    let mut files = 0;
    for entry in std::fs::read_dir(store.dir()).expect("config dir") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("readable");
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(PASSWORD), "{} holds the password", path.display());
        files += 1;
    }
    assert!(files >= 1, "accounts.json was written");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(store.accounts_path()).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "accounts.json is readable by its owner only");
    }
    store.remove(&account.id).expect("clean up the keyring entry");
}

#[tokio::test]
async fn a_damaged_accounts_file_is_reported_and_left_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = AccountStore::at(dir.path());
    std::fs::write(store.accounts_path(), b"{ not json").expect("write");
    let (account, secret) = connected_account("test@instance3.com", "instance3").await;
    let error = store.save(&account, &secret).expect_err("refuses to overwrite a damaged file");
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");
    assert_eq!(std::fs::read(store.accounts_path()).expect("read"), b"{ not json", "the file is untouched");
    assert!(matches!(store.secret(&account.id), Err(StoreError::SecretMissing { .. })), "no orphan keyring entry");
}
