//! The account store against the REAL Secret Service: these tests need the session bus and an
//! unlocked gnome-keyring that the README test command starts (dbus-run-session).

use homeport_engine::{Account, AccountStore, Decision, ErrorCode, SaveOutcome, Secret, Step, StoreError, Wizard};
use homeport_lookup::Scenario;

use crate::{connect, instance_origin, lookup, options, PASSWORD};

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

#[tokio::test]
async fn saving_the_same_account_again_says_replaced_and_keeps_its_place_and_creation_time() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = AccountStore::at(dir.path());
    let (first, first_secret) = connected_account("test@instance1.com", "instance1").await;
    let (second, second_secret) = connected_account("test@instance2.com", "instance2").await;
    let blocking = |store: AccountStore, account: Account, secret: Secret| async move {
        tokio::task::spawn_blocking(move || store.save(&account, &secret)).await.expect("join").expect("save")
    };
    assert_eq!(blocking(store.clone(), first.clone(), first_secret.clone()).await, SaveOutcome::Added);
    assert_eq!(blocking(store.clone(), second.clone(), second_secret).await, SaveOutcome::Added);
    assert_eq!(store.find(&first.id).expect("find"), Some(first.clone()), "find names a stored account");
    assert_eq!(store.find("acct-0000000000").expect("find"), None, "and nothing for an unknown id");

    let mut again = first.clone();
    again.created_at += 1000;
    again.verified_at += 1000;
    again.display_name = "Renamed".into();
    assert_eq!(
        blocking(store.clone(), again.clone(), first_secret).await,
        SaveOutcome::Replaced,
        "same user at the same instance: the same account, replaced (the shells say so)"
    );
    let accounts = store.list().expect("list");
    assert_eq!(accounts.len(), 2, "no duplicate: {accounts:?}");
    assert_eq!(accounts[0].id, first.id, "the replaced account keeps its place");
    assert_eq!(accounts[0].display_name, "Renamed", "with the new details");
    assert_eq!(accounts[0].verified_at, again.verified_at);
    assert_eq!(accounts[0].created_at, first.created_at, "and its creation time");
    for account in accounts {
        store.remove(&account.id).expect("clean up");
    }
}

/// A writer killed between the keyring and accounts.json leaves its journal and a secret without
/// an account; the next store operation removes that secret (the CLI test kills real processes).
#[tokio::test]
async fn an_interrupted_save_leaves_no_orphaned_secret_after_the_next_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = AccountStore::at(dir.path());
    let (kept, kept_secret) = connected_account("test@instance3.com", "instance3").await;
    store.save(&kept, &kept_secret).expect("save");
    let (orphan, _) = connected_account("test@instance1.com", "instance1").await;
    // What the killed writer did: journal, then keyring; it died before accounts.json.
    std::fs::write(dir.path().join("accounts.pending"), format!(r#"{{"ids":["{}","{}"]}}"#, orphan.id, kept.id))
        .expect("journal");
    keyring::Entry::new("homeport", &orphan.id).expect("entry").set_password("secret").expect("keyring write");
    assert!(store.secret(&orphan.id).is_ok(), "the orphan is there before recovery");

    let listed = tokio::task::spawn_blocking({
        let store = store.clone();
        move || store.list()
    })
    .await
    .expect("join")
    .expect("list");
    assert_eq!(listed, vec![kept.clone()], "accounts.json is the old state");
    assert!(
        matches!(store.secret(&orphan.id), Err(StoreError::SecretMissing { .. })),
        "the secret without an account is removed"
    );
    assert_eq!(store.secret(&kept.id).expect("kept").expose(), PASSWORD, "a journalled id with an account keeps it");
    assert!(!dir.path().join("accounts.pending").exists(), "the journal is finished");
    store.remove(&kept.id).expect("clean up");
}

/// Re-verify of a stored S0 account whose central server now redirects it to another instance:
/// the wizard asks (the new instance is not approved); after approval a permanent redirect
/// (301/308) moves the stored account there, a temporary one (302/307) leaves it where it was.
#[tokio::test]
async fn reverify_after_a_permanent_redirect_moves_the_account_a_temporary_one_does_not() {
    let old = lookup(Scenario::default()).await;
    let (stored, secret) = {
        let connected = connect(&old, "test@instance2.com", PASSWORD, &["instance2"]).await.expect("connects");
        (connected.account, connected.secret)
    };
    for (status, permanent) in [(301, true), (308, true), (302, false), (307, false)] {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = AccountStore::at(dir.path());
        // The central server is now another one whose redirect leads to another instance.
        let server = lookup(Scenario { redirect_status: status, ..Scenario::default() }).await;
        let mut account = stored.clone();
        account.entered_address = server.central_url().to_string();
        account.server_url = homeport_engine::ServerUrl::from_url(server.central_url().clone()).expect("url");
        store.save(&account, &secret).expect("save the stored account");

        let mut wizard = Wizard::for_account(&account, secret.clone(), options(&server)).expect("wizard");
        let new_instance = instance_origin(&server, "instance2");
        match wizard.next().await.expect("re-verify runs") {
            Step::Decide(Decision::ConfirmRedirect { to, permanent: said, status: got, .. }) => {
                assert_eq!(to, new_instance, "{status}: asks about the new instance");
                assert_eq!((got, said), (status, permanent), "{status}: says what kind of redirect it is");
            }
            other => panic!("{status}: a redirect to an unapproved instance must be asked about: {other:?}"),
        }
        wizard.approve_origin(new_instance);
        let Step::Connected(connected) = wizard.next().await.expect("verified after approval") else {
            panic!("{status}: connected after approval")
        };
        let saved = {
            let (store, previous, account, secret) =
                (store.clone(), account.id.clone(), connected.account.clone(), connected.secret.clone());
            tokio::task::spawn_blocking(move || store.update(&previous, &account, &secret)).await.expect("join")
        };
        assert_eq!(saved.expect("update"), SaveOutcome::Replaced, "{status}: the stored account is replaced");
        let accounts = store.list().expect("list");
        assert_eq!(accounts.len(), 1, "{status}: still one account: {accounts:?}");
        let now = &accounts[0];
        assert_eq!(now.created_at, account.created_at, "{status}: keeps its creation time");
        if permanent {
            assert_eq!(now.instance_url.as_url(), &server.instance_urls()["instance2"], "{status}: moved");
            assert!(now.redirect_permanent, "{status}: connects there directly from now on");
            assert_ne!(now.id, account.id, "{status}: ids follow the instance");
            assert!(
                matches!(store.secret(&account.id), Err(StoreError::SecretMissing { .. })),
                "{status}: the old id's secret is gone with it"
            );
        } else {
            assert_eq!(now.instance_url, account.instance_url, "{status}: a temporary redirect changes nothing");
            assert_eq!(now.id, account.id, "{status}: same id");
        }
        assert_eq!(store.secret(&now.id).expect("secret").expose(), PASSWORD, "{status}: the secret is stored");
        store.remove(&now.id).expect("clean up");
    }
}
