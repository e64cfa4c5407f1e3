//! The account store: accounts.json (non-secret, written atomically) plus one keyring entry per
//! account (service `homeport`). Never a file fallback for secrets.
//!
//! The file and the keyring cannot change together, so every write is journalled: under the
//! lock, `accounts.pending` names the ids whose keyring entries are about to change, then the
//! keyring and the file change, then the journal goes. A writer killed half-way leaves the
//! journal; the next store operation (under the same lock, so never beside a live writer) removes
//! the keyring entries of journalled ids that accounts.json does not hold. So accounts.json is
//! always the old or the new file, every account in it has its secret, and no secret outlives a
//! crash without an account.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::account::Account;
use crate::report::{ErrorCode, ErrorReason, ErrorReport};
use crate::secret::Secret;

pub const KEYRING_SERVICE: &str = "homeport";
const ACCOUNTS_FILE: &str = "accounts.json";
const LOCK_FILE: &str = "accounts.lock";
const JOURNAL_FILE: &str = "accounts.pending";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("the system keyring is locked ({reason}); unlock it — log in to your desktop session, or open \"Passwords and Keys\" and unlock the Login keyring — then try again")]
    KeyringLocked { reason: String },
    #[error("no system keyring is available ({reason}); Homeport keeps passwords only in the keyring: start a Secret Service such as gnome-keyring (or KeePassXC with Secret Service integration) in your session and try again")]
    KeyringUnavailable { reason: String },
    #[error("the keyring refused the secret: {reason}")]
    KeyringRejected { reason: String },
    #[error("the keyring holds no secret for account {id}; connect the account again")]
    SecretMissing { id: String },
    #[error("there is no account {id:?}; `homeport accounts list` shows the ids")]
    NotFound { id: String },
    #[error("could not {action} {path}: {source}")]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },
    #[error("{path} is damaged ({reason}); it was left untouched — move it away to start afresh")]
    Corrupt { path: PathBuf, reason: String },
    #[error("no configuration folder: set HOMEPORT_CONFIG_DIR, XDG_CONFIG_HOME or HOME")]
    NoConfigDir,
    /// Another account is stored under the id (another login or instance): it is never replaced
    /// silently. Ids are 128-bit hashes of kind, instance and login, so this means a damaged or
    /// edited accounts.json; the person removes the stored one first.
    #[error("account {id} is stored for {stored_login} at {stored_instance}, not for {login} at {instance}; it was left as it was — remove it first (`homeport accounts remove {id}`) to store the new one")]
    IdTaken { id: String, stored_login: String, stored_instance: String, login: String, instance: String },
}

impl StoreError {
    pub fn code(&self) -> ErrorCode {
        match self {
            StoreError::KeyringLocked { .. } | StoreError::KeyringUnavailable { .. } => ErrorCode::KeyringUnavailable,
            StoreError::NotFound { .. } => ErrorCode::NotFound,
            StoreError::SecretMissing { .. } | StoreError::KeyringRejected { .. } => ErrorCode::KeyringUnavailable,
            StoreError::NoConfigDir => ErrorCode::BadInput,
            StoreError::IdTaken { .. } => ErrorCode::PolicyRefused,
            StoreError::Io { .. } | StoreError::Corrupt { .. } => ErrorCode::Internal,
        }
    }

    pub fn detail(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            StoreError::KeyringLocked { .. } => json!({ "keyring": "locked" }),
            StoreError::KeyringUnavailable { .. } => json!({ "keyring": "unavailable" }),
            StoreError::NotFound { id } | StoreError::SecretMissing { id } => json!({ "id": id }),
            StoreError::Io { path, .. } | StoreError::Corrupt { path, .. } => json!({ "path": path }),
            StoreError::KeyringRejected { .. } | StoreError::NoConfigDir => serde_json::Value::Null,
            StoreError::IdTaken { id, stored_login, stored_instance, .. } => {
                json!({ "id": id, "reason": "id_taken", "stored": { "login_name": stored_login, "instance_url": stored_instance } })
            }
        }
    }

    /// A locked keyring can be unlocked; the UI says how.
    pub fn reason(&self) -> Option<ErrorReason> {
        matches!(self, StoreError::KeyringLocked { .. }).then_some(ErrorReason::KeyringLocked)
    }

    pub fn report(&self) -> ErrorReport {
        ErrorReport { code: self.code(), message: self.to_string(), detail: self.detail(), reason: self.reason() }
    }
}

/// What [`AccountStore::save`] did: the desktop app and the CLI say "already connected" for
/// [`SaveOutcome::Replaced`] (same login at the same instance: the same account id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum SaveOutcome {
    /// A new account.
    Added,
    /// The account was already stored: its details and secret were replaced (it keeps its place
    /// in the list and its `created_at`).
    Replaced,
}

/// The ids whose keyring entries a writer is changing (see the module comment).
#[derive(Default, Serialize, Deserialize)]
struct Journal {
    ids: Vec<String>,
}

#[derive(Default, Serialize, Deserialize)]
struct AccountsFile {
    version: u32,
    accounts: Vec<Account>,
}

/// Accounts on disk and in the keyring.
#[derive(Clone, Debug)]
pub struct AccountStore {
    dir: PathBuf,
}

impl AccountStore {
    /// `$HOMEPORT_CONFIG_DIR`, else `$XDG_CONFIG_HOME/homeport`, else `$HOME/.config/homeport`.
    pub fn open_default() -> Result<Self, StoreError> {
        let env = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let dir = env("HOMEPORT_CONFIG_DIR")
            .or_else(|| env("XDG_CONFIG_HOME").map(|d| d.join("homeport")))
            .or_else(|| env("HOME").map(|d| d.join(".config").join("homeport")))
            .ok_or(StoreError::NoConfigDir)?;
        Ok(AccountStore { dir })
    }

    pub fn at(dir: impl Into<PathBuf>) -> Self {
        AccountStore { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn accounts_path(&self) -> PathBuf {
        self.dir.join(ACCOUNTS_FILE)
    }

    /// The stored accounts. Finishes an interrupted write first if one left its journal (best
    /// effort: listing works without a keyring).
    pub fn list(&self) -> Result<Vec<Account>, StoreError> {
        if self.journal_path().exists() {
            if let Ok(_lock) = self.lock() {
                let _ = self.recover();
            }
        }
        Ok(self.read()?.accounts)
    }

    pub fn get(&self, id: &str) -> Result<Account, StoreError> {
        self.find(id)?.ok_or_else(|| StoreError::NotFound { id: id.to_owned() })
    }

    /// The account with this id, if stored: lets a shell say "already connected" before saving.
    pub fn find(&self, id: &str) -> Result<Option<Account>, StoreError> {
        Ok(self.list()?.into_iter().find(|a| a.id == id))
    }

    /// The password of the account's client certificate (its own keyring entry).
    pub fn client_certificate_password(&self, id: &str) -> Result<Secret, StoreError> {
        match keyring_entry(&client_certificate_entry(id))?.get_password() {
            Ok(secret) => Ok(Secret::new(secret)),
            Err(keyring::Error::NoEntry) => Err(StoreError::SecretMissing { id: id.to_owned() }),
            Err(e) => Err(keyring_error(e)),
        }
    }

    pub fn secret(&self, id: &str) -> Result<Secret, StoreError> {
        match keyring_entry(id)?.get_password() {
            Ok(secret) => Ok(Secret::new(secret)),
            Err(keyring::Error::NoEntry) => Err(StoreError::SecretMissing { id: id.to_owned() }),
            Err(e) => Err(keyring_error(e)),
        }
    }

    /// Stores an account, or replaces the one with the same id (the same login at the same
    /// instance): [`SaveOutcome`] says which. The same login at the same instance stored under
    /// an older, shorter id is replaced too, and takes the new id. Another login or instance under
    /// the same id is [`StoreError::IdTaken`], never replaced. Crash-safe: see the module comment.
    pub fn save(&self, account: &Account, secret: &Secret) -> Result<SaveOutcome, StoreError> {
        self.update(&account.id, account, secret)
    }

    /// [`AccountStore::save`], with the password of the account's client certificate, kept in a
    /// keyring entry of its own (`<id>-client-certificate`). Without one, a password already
    /// stored for it stays.
    pub fn save_with_certificate(
        &self,
        account: &Account,
        secret: &Secret,
        certificate_password: Option<&Secret>,
    ) -> Result<SaveOutcome, StoreError> {
        self.update_with_certificate(&account.id, account, secret, certificate_password)
    }

    /// Stores a re-verified account in place of `previous_id`. The id changes when the server
    /// moved the account permanently to another instance (ids follow the instance); the old
    /// keyring entry is removed then. With the same id this is [`AccountStore::save`].
    pub fn update(&self, previous_id: &str, account: &Account, secret: &Secret) -> Result<SaveOutcome, StoreError> {
        self.update_with_certificate(previous_id, account, secret, None)
    }

    /// [`AccountStore::update`] with the client certificate's password
    /// ([`AccountStore::save_with_certificate`]). An account without a client certificate loses
    /// a password stored for one; one whose id changed takes it along.
    pub fn update_with_certificate(
        &self,
        previous_id: &str,
        account: &Account,
        secret: &Secret,
        certificate_password: Option<&Secret>,
    ) -> Result<SaveOutcome, StoreError> {
        let _lock = self.lock()?;
        self.recover()?;
        let mut file = self.read()?;
        if let Some(stored) = file.accounts.iter().find(|a| a.id == account.id && !a.same_login(account)) {
            return Err(StoreError::IdTaken {
                id: account.id.clone(),
                stored_login: stored.login_name.clone(),
                stored_instance: stored.instance_url.to_string(),
                login: account.login_name.clone(),
                instance: account.instance_url.to_string(),
            });
        }
        // The same login stored under an id of the older, shorter form: this save moves it.
        let legacy = (previous_id == account.id && !file.accounts.iter().any(|a| a.id == account.id))
            .then(|| file.accounts.iter().find(|a| a.same_login(account)).map(|a| a.id.clone()))
            .flatten();
        let previous_id = legacy.as_deref().unwrap_or(previous_id);
        let mut ids = vec![account.id.clone()];
        if previous_id != account.id {
            ids.push(previous_id.to_owned());
        }
        let entry = keyring_entry(&account.id)?;
        self.write_journal(&Journal { ids })?;
        if let Err(e) = entry.set_password(secret.expose()) {
            // The keyring refused the first write, so nothing of this save reached it: the journal
            // goes even when the keyring cannot be asked to clean up (it is missing or locked), so
            // a failed save leaves nothing behind (docs/cli.md).
            if self.recover().is_err() {
                let _ = self.remove_journal();
            }
            return Err(keyring_error(e));
        }
        let kept = match (certificate_password, &account.client_certificate) {
            (_, None) => None,
            (Some(password), Some(_)) => Some(password.clone()),
            (None, Some(_)) => self.client_certificate_password(previous_id).ok(),
        };
        let entry = keyring_entry(&client_certificate_entry(&account.id))?;
        let written = match &kept {
            Some(password) => entry.set_password(password.expose()),
            None => match entry.delete_credential() {
                Err(keyring::Error::NoEntry) => Ok(()),
                other => other,
            },
        };
        if let Err(e) = written {
            let _ = self.recover();
            return Err(keyring_error(e));
        }
        let existing =
            [previous_id, &account.id].into_iter().find_map(|id| file.accounts.iter().position(|a| a.id == id));
        let outcome = match existing {
            Some(index) => {
                let mut replacement = account.clone();
                replacement.created_at = file.accounts[index].created_at;
                file.accounts[index] = replacement;
                // A moved account may land on an id that was stored too: keep one entry.
                let mut at = 0;
                file.accounts.retain(|a| {
                    at += 1;
                    at - 1 == index || a.id != account.id
                });
                SaveOutcome::Replaced
            }
            None => {
                file.accounts.push(account.clone());
                SaveOutcome::Added
            }
        };
        if let Err(e) = self.write(&file) {
            // The journal is still there: recovery drops the secret of an account that did not
            // make it into the file (and only that one).
            let _ = self.recover();
            return Err(e);
        }
        if previous_id != account.id {
            delete_account_secrets(previous_id)?;
        }
        self.remove_journal()?;
        Ok(outcome)
    }

    /// Removes an account and its keyring entry: the file first, then the secret (a crash in
    /// between leaves the journal, and recovery removes the secret).
    pub fn remove(&self, id: &str) -> Result<Account, StoreError> {
        let _lock = self.lock()?;
        self.recover()?;
        let mut file = self.read()?;
        let index =
            file.accounts.iter().position(|a| a.id == id).ok_or_else(|| StoreError::NotFound { id: id.to_owned() })?;
        // A keyring that is missing or locked could not delete the secret after the file changed:
        // the account would be gone from the list with its secret left and the journal waiting.
        // Asked first, it stops the remove before anything changes.
        match keyring_entry(id)?.get_password() {
            Ok(_) | Err(keyring::Error::NoEntry) => {}
            Err(e) => return Err(keyring_error(e)),
        }
        self.write_journal(&Journal { ids: vec![id.to_owned()] })?;
        let account = file.accounts.remove(index);
        if let Err(e) = self.write(&file) {
            let _ = self.recover();
            return Err(e);
        }
        delete_account_secrets(id)?;
        self.remove_journal()?;
        Ok(account)
    }

    /// Finishes a write that a killed process left (call with the lock held): keyring entries of
    /// journalled ids without an account go, temp files go, then the journal.
    fn recover(&self) -> Result<(), StoreError> {
        let path = self.journal_path();
        let journal: Journal = match fs::read(&path) {
            // Written atomically before any keyring change: a journal that does not parse
            // cannot exist, and is dropped if it does.
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(StoreError::Io { action: "read", path, source }),
        };
        let file = self.read()?;
        for id in journal.ids.iter().filter(|id| !file.accounts.iter().any(|a| &a.id == *id)) {
            delete_account_secrets(id)?;
        }
        for name in [ACCOUNTS_FILE, JOURNAL_FILE] {
            remove_temp_files(&self.dir, name);
        }
        self.remove_journal()
    }

    fn journal_path(&self) -> PathBuf {
        self.dir.join(JOURNAL_FILE)
    }

    fn write_journal(&self, journal: &Journal) -> Result<(), StoreError> {
        let json = serde_json::to_vec(journal)
            .map_err(|e| StoreError::Corrupt { path: self.journal_path(), reason: e.to_string() })?;
        self.replace_atomically(JOURNAL_FILE, &json)
    }

    fn remove_journal(&self) -> Result<(), StoreError> {
        let path = self.journal_path();
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(StoreError::Io { action: "remove", path, source }),
        }
        sync_dir(&self.dir)
    }

    fn read(&self) -> Result<AccountsFile, StoreError> {
        let path = self.accounts_path();
        match fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt { path, reason: e.to_string() })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AccountsFile { version: 1, accounts: Vec::new() }),
            Err(source) => Err(StoreError::Io { action: "read", path, source }),
        }
    }

    fn write(&self, file: &AccountsFile) -> Result<(), StoreError> {
        let mut json = serde_json::to_vec_pretty(&AccountsFile { version: 1, accounts: file.accounts.clone() })
            .map_err(|e| StoreError::Corrupt { path: self.accounts_path(), reason: e.to_string() })?;
        json.push(b'\n');
        self.replace_atomically(ACCOUNTS_FILE, &json)
    }

    /// Temp file in the same folder, fsync, rename, fsync the folder: a crash leaves the old or the
    /// new file, never a torn one.
    fn replace_atomically(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        replace_atomically(&self.dir, name, bytes)
    }

    /// One writer at a time across processes (CLI and desktop app may run together).
    fn lock(&self) -> Result<File, StoreError> {
        create_private_dir(&self.dir)?;
        let path = self.dir.join(LOCK_FILE);
        let file =
            private_file_keep(&path).map_err(|source| StoreError::Io { action: "open", path: path.clone(), source })?;
        file.lock().map_err(|source| StoreError::Io { action: "lock", path, source })?;
        Ok(file)
    }
}

/// Writes `dir/name` through a temp file of its own in `dir`: fsync, rename, fsync the folder, so
/// a crash leaves the old or the new file, never a torn one. Also the settings' and the
/// registered clients' writer.
///
/// The temp file's name is new each time (`.<name>.<128 random bits>.tmp`) and it is created with
/// `O_CREAT | O_EXCL | O_NOFOLLOW`: nothing another user planted in the folder (a symlink at a
/// name a writer once used) is opened, followed or renamed over the file (docs/security.md).
pub(crate) fn replace_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
    let path = dir.join(name);
    let (tmp, mut out) = new_temp_file(dir, name)?;
    if let Err(source) = out.write_all(bytes).and_then(|()| out.sync_all()) {
        let _ = fs::remove_file(&tmp);
        return Err(StoreError::Io { action: "write", path: tmp, source });
    }
    if let Err(source) = fs::rename(&tmp, &path) {
        let _ = fs::remove_file(&tmp);
        return Err(StoreError::Io { action: "replace", path, source });
    }
    sync_dir(dir)
}

/// A temp file for `name` that did not exist before (see [`replace_atomically`]).
fn new_temp_file(dir: &Path, name: &str) -> Result<(PathBuf, File), StoreError> {
    let mut last = None;
    for _ in 0..8 {
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(|e| StoreError::Io {
            action: "choose a temp name in",
            path: dir.to_owned(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let tmp = dir.join(format!(".{name}.{hex}.tmp"));
        match open_options().create_new(true).open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            // Taken (by chance, or by someone who guessed): another name.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some((tmp, e)),
            Err(source) => return Err(StoreError::Io { action: "create", path: tmp, source }),
        }
    }
    let (path, source) = last.unwrap_or_else(|| (dir.to_owned(), std::io::Error::other("no temp name was free")));
    Err(StoreError::Io { action: "create", path, source })
}

/// Removes the temp files of `name` a killed writer left (call with the lock held). A planted
/// symlink among them is removed, never followed.
fn remove_temp_files(dir: &Path, name: &str) {
    let prefix = format!(".{name}.");
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        if file_name.starts_with(&prefix) && file_name.ends_with(".tmp") {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// The configuration folder, created `0700` (and its missing parents): accounts.json, the
/// journal and the lock are nobody else's business (docs/security.md). An existing folder is
/// left as it is.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| StoreError::Io { action: "create", path: dir.to_owned(), source })
}

/// Write-only, `0600`, and never through a symlink (`O_NOFOLLOW`).
fn open_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    options
}

fn private_file_keep(path: &Path) -> std::io::Result<File> {
    open_options().create(true).truncate(false).open(path)
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|source| StoreError::Io {
        action: "sync",
        path: dir.to_owned(),
        source,
    })
}

/// Removes a keyring entry; one that is already gone is fine.
pub(crate) fn delete_secret(id: &str) -> Result<(), StoreError> {
    match keyring_entry(id)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(keyring_error(e)),
    }
}

/// Removes an account's keyring entries: its secret and its client certificate's password.
fn delete_account_secrets(id: &str) -> Result<(), StoreError> {
    delete_secret(id)?;
    delete_secret(&client_certificate_entry(id))
}

/// The keyring entry of an account's client certificate password (registered clients' are
/// `oidc-client-<hex>`: no clash).
fn client_certificate_entry(id: &str) -> String {
    format!("{id}-client-certificate")
}

pub(crate) fn keyring_entry(id: &str) -> Result<keyring::Entry, StoreError> {
    keyring::Entry::new(KEYRING_SERVICE, id).map_err(keyring_error)
}

fn is_locked(error: &(dyn std::error::Error + Send + Sync)) -> bool {
    let text = format!("{error} {error:?}");
    text.contains("IsLocked") || text.contains("locked collection") || text.contains("is locked")
}

pub(crate) fn keyring_error(error: keyring::Error) -> StoreError {
    match error {
        keyring::Error::NoStorageAccess(e) => StoreError::KeyringLocked { reason: e.to_string() },
        // Why text: gnome-keyring refuses to create an item in a locked collection with the D-Bus
        // error org.freedesktop.Secret.Error.IsLocked, which keyring 3 passes on only as a
        // platform failure; it is a locked keyring, not a missing one (its advice differs).
        keyring::Error::PlatformFailure(e) if is_locked(&*e) => StoreError::KeyringLocked { reason: e.to_string() },
        keyring::Error::PlatformFailure(e) => StoreError::KeyringUnavailable { reason: e.to_string() },
        other => StoreError::KeyringRejected { reason: other.to_string() },
    }
}
