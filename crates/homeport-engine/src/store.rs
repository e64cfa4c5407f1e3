//! The account store: accounts.json (non-secret, written atomically) plus one keyring entry per
//! account (service `homeport`). Never a file fallback for secrets.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::account::Account;
use crate::error::ErrorCode;
use crate::secret::Secret;

pub const KEYRING_SERVICE: &str = "homeport";
const ACCOUNTS_FILE: &str = "accounts.json";
const LOCK_FILE: &str = "accounts.lock";

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
}

impl StoreError {
    pub fn code(&self) -> ErrorCode {
        match self {
            StoreError::KeyringLocked { .. } | StoreError::KeyringUnavailable { .. } => ErrorCode::KeyringUnavailable,
            StoreError::NotFound { .. } => ErrorCode::NotFound,
            StoreError::SecretMissing { .. } | StoreError::KeyringRejected { .. } => ErrorCode::KeyringUnavailable,
            StoreError::NoConfigDir => ErrorCode::BadInput,
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
        }
    }
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

    pub fn list(&self) -> Result<Vec<Account>, StoreError> {
        Ok(self.read()?.accounts)
    }

    pub fn get(&self, id: &str) -> Result<Account, StoreError> {
        self.list()?.into_iter().find(|a| a.id == id).ok_or_else(|| StoreError::NotFound { id: id.to_owned() })
    }

    pub fn secret(&self, id: &str) -> Result<Secret, StoreError> {
        match keyring_entry(id)?.get_password() {
            Ok(secret) => Ok(Secret::new(secret)),
            Err(keyring::Error::NoEntry) => Err(StoreError::SecretMissing { id: id.to_owned() }),
            Err(e) => Err(keyring_error(e)),
        }
    }

    /// Stores (or replaces) an account. The secret goes to the keyring first; if the file cannot
    /// be written afterwards, the keyring entry is removed again: no half-stored account.
    pub fn save(&self, account: &Account, secret: &Secret) -> Result<(), StoreError> {
        let _lock = self.lock()?;
        let mut file = self.read()?;
        let entry = keyring_entry(&account.id)?;
        entry.set_password(secret.expose()).map_err(keyring_error)?;
        file.accounts.retain(|a| a.id != account.id);
        file.accounts.push(account.clone());
        if let Err(e) = self.write(&file) {
            let _ = entry.delete_credential();
            return Err(e);
        }
        Ok(())
    }

    /// Removes an account and its keyring entry.
    pub fn remove(&self, id: &str) -> Result<Account, StoreError> {
        let _lock = self.lock()?;
        let mut file = self.read()?;
        let index =
            file.accounts.iter().position(|a| a.id == id).ok_or_else(|| StoreError::NotFound { id: id.to_owned() })?;
        match keyring_entry(id)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => {}
            Err(e) => return Err(keyring_error(e)),
        }
        let account = file.accounts.remove(index);
        self.write(&file)?;
        Ok(account)
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

    /// Temp file in the same folder, fsync, rename, fsync the folder: a crash leaves the old or the
    /// new file, never a torn one.
    fn write(&self, file: &AccountsFile) -> Result<(), StoreError> {
        let path = self.accounts_path();
        let tmp = self.dir.join(format!(".{ACCOUNTS_FILE}.{}.tmp", std::process::id()));
        fn io<'p>(action: &'static str, path: &'p Path) -> impl FnOnce(std::io::Error) -> StoreError + 'p {
            move |source| StoreError::Io { action, path: path.to_owned(), source }
        }
        let json = serde_json::to_vec_pretty(&AccountsFile { version: 1, accounts: file.accounts.clone() })
            .map_err(|e| StoreError::Corrupt { path: path.clone(), reason: e.to_string() })?;
        let mut out = private_file(&tmp).map_err(io("create", &tmp))?;
        let written = out.write_all(&json).and_then(|()| out.write_all(b"\n")).and_then(|()| out.sync_all());
        if let Err(source) = written {
            let _ = fs::remove_file(&tmp);
            return Err(StoreError::Io { action: "write", path: tmp, source });
        }
        fs::rename(&tmp, &path).map_err(io("replace", &path))?;
        File::open(&self.dir).and_then(|d| d.sync_all()).map_err(io("sync", &self.dir))?;
        Ok(())
    }

    /// One writer at a time across processes (CLI and desktop app may run together).
    fn lock(&self) -> Result<File, StoreError> {
        fs::create_dir_all(&self.dir).map_err(|source| StoreError::Io {
            action: "create",
            path: self.dir.clone(),
            source,
        })?;
        let path = self.dir.join(LOCK_FILE);
        let file =
            private_file_keep(&path).map_err(|source| StoreError::Io { action: "open", path: path.clone(), source })?;
        file.lock().map_err(|source| StoreError::Io { action: "lock", path, source })?;
        Ok(file)
    }
}

fn open_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

fn private_file(path: &Path) -> std::io::Result<File> {
    open_options().create(true).truncate(true).open(path)
}

fn private_file_keep(path: &Path) -> std::io::Result<File> {
    open_options().create(true).truncate(false).open(path)
}

fn keyring_entry(id: &str) -> Result<keyring::Entry, StoreError> {
    keyring::Entry::new(KEYRING_SERVICE, id).map_err(keyring_error)
}

fn keyring_error(error: keyring::Error) -> StoreError {
    match error {
        keyring::Error::NoStorageAccess(e) => StoreError::KeyringLocked { reason: e.to_string() },
        keyring::Error::PlatformFailure(e) => StoreError::KeyringUnavailable { reason: e.to_string() },
        other => StoreError::KeyringRejected { reason: other.to_string() },
    }
}
