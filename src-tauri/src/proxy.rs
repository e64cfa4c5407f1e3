//! The person's manual proxy: its URL and user name in `proxy.json` beside accounts.json
//! (written atomically), its password in the keyring (service `homeport`, entry `proxy`), never
//! in the file. Every wizard of the window gets it as `HttpConfig::proxy`; without one, the
//! environment's proxies apply (the engine's default).

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use homeport_engine::store::KEYRING_SERVICE;
use homeport_engine::{AccountStore, ConnectError, ErrorCode, ErrorReport, ProxySettings, Secret, StoreError};
use serde::{Deserialize, Serialize};
use specta::Type;

use crate::ipc::error;

/// The settings file, beside accounts.json.
pub const PROXY_FILE: &str = "proxy.json";
/// The keyring entry of the proxy's password (account entries are named `acct-<hex>`: no clash).
pub const KEYRING_ENTRY: &str = "proxy";

/// The saved proxy, as the UI shows it (never the password itself).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Type)]
pub struct ProxySetting {
    /// `http://host:port`, `https://…`, `socks5://…` or `socks5h://…`; None: the system's
    /// (environment's) proxy settings.
    pub url: Option<String>,
    pub user: Option<String>,
    /// Whether the keyring holds a password for it; None when the keyring could not be asked.
    pub has_password: Option<bool>,
}

/// What the UI asks to save. `password`: None keeps the stored one (the field was left empty),
/// `""` removes it, anything else replaces it.
#[derive(Clone, Deserialize, Type)]
pub struct ProxyChange {
    pub url: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
}

impl std::fmt::Debug for ProxyChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyChange")
            .field("url", &self.url)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| Secret::new("")))
            .finish()
    }
}

#[derive(Default, Serialize, Deserialize)]
struct ProxyFile {
    version: u32,
    url: Option<String>,
    user: Option<String>,
}

fn config_dir() -> Result<PathBuf, StoreError> {
    Ok(AccountStore::open_default()?.dir().to_owned())
}

fn read_file(dir: &Path) -> Result<ProxyFile, StoreError> {
    let path = dir.join(PROXY_FILE);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt { path, reason: e.to_string() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ProxyFile::default()),
        Err(source) => Err(StoreError::Io { action: "read", path, source }),
    }
}

/// Temp file in the same folder, fsync, rename, fsync the folder: the old or the new file, never
/// a torn one.
fn write_file(dir: &Path, file: &ProxyFile) -> Result<(), StoreError> {
    fs::create_dir_all(dir).map_err(|source| StoreError::Io { action: "create", path: dir.to_owned(), source })?;
    let path = dir.join(PROXY_FILE);
    // Unique per write: two saves of this process may overlap.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{PROXY_FILE}.{}.{n}.tmp", std::process::id()));
    let mut json = serde_json::to_vec_pretty(file)
        .map_err(|e| StoreError::Corrupt { path: path.clone(), reason: e.to_string() })?;
    json.push(b'\n');
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out =
        options.open(&tmp).map_err(|source| StoreError::Io { action: "create", path: tmp.clone(), source })?;
    if let Err(source) = out.write_all(&json).and_then(|()| out.sync_all()) {
        let _ = fs::remove_file(&tmp);
        return Err(StoreError::Io { action: "write", path: tmp, source });
    }
    fs::rename(&tmp, &path).map_err(|source| StoreError::Io { action: "replace", path, source })?;
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|source| StoreError::Io {
        action: "sync",
        path: dir.to_owned(),
        source,
    })
}

fn remove_file(dir: &Path) -> Result<(), StoreError> {
    let path = dir.join(PROXY_FILE);
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(StoreError::Io { action: "remove", path, source }),
    }
}

fn is_locked(error: &(dyn std::error::Error + Send + Sync)) -> bool {
    let text = format!("{error} {error:?}");
    text.contains("IsLocked") || text.contains("locked collection") || text.contains("is locked")
}

/// The keyring's failures as the account store names them (the same messages and codes).
fn keyring_error(error: keyring::Error) -> StoreError {
    match error {
        keyring::Error::NoStorageAccess(e) => StoreError::KeyringLocked { reason: e.to_string() },
        keyring::Error::PlatformFailure(e) if is_locked(&*e) => StoreError::KeyringLocked { reason: e.to_string() },
        keyring::Error::PlatformFailure(e) => StoreError::KeyringUnavailable { reason: e.to_string() },
        other => StoreError::KeyringRejected { reason: other.to_string() },
    }
}

fn keyring_entry() -> Result<keyring::Entry, StoreError> {
    keyring::Entry::new(KEYRING_SERVICE, KEYRING_ENTRY).map_err(keyring_error)
}

fn stored_password() -> Result<Option<Secret>, StoreError> {
    match keyring_entry()?.get_password() {
        Ok(password) => Ok(Some(Secret::new(password))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(keyring_error(e)),
    }
}

fn set_password(password: &str) -> Result<(), StoreError> {
    keyring_entry()?.set_password(password).map_err(keyring_error)
}

fn delete_password() -> Result<(), StoreError> {
    match keyring_entry()?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(keyring_error(e)),
    }
}

/// Best effort: a proxy without a user needs no keyring, so its absence does not stop the save.
fn forget_password() {
    if let Err(e) = delete_password() {
        eprintln!("homeport-desktop: the proxy password stays in the keyring for now: {e}");
    }
}

fn store_report(e: StoreError) -> ErrorReport {
    ConnectError::from(e).report()
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

/// The saved setting for the UI. Blocking (file and D-Bus).
pub fn get() -> Result<ProxySetting, ErrorReport> {
    let file = read_file(&config_dir().map_err(store_report)?).map_err(store_report)?;
    let has_password = match (&file.url, &file.user) {
        (Some(_), Some(_)) => stored_password().ok().map(|p| p.is_some()),
        _ => Some(false),
    };
    Ok(ProxySetting { url: file.url, user: file.user, has_password })
}

/// Checks and saves `change`: the password to the keyring first, then the file. Blocking.
pub fn set(change: ProxyChange) -> Result<ProxySetting, ErrorReport> {
    let dir = config_dir().map_err(store_report)?;
    let Some(url) = non_empty(change.url) else {
        // "None": back to the system's settings, with or without a keyring; the password goes
        // with the URL where the keyring can be reached (an entry left behind is never read
        // without a user in the file, and the next password replaces it).
        remove_file(&dir).map_err(store_report)?;
        forget_password();
        return Ok(ProxySetting { url: None, user: None, has_password: Some(false) });
    };
    let user = non_empty(change.user);
    // Checked before anything changes (a password without a user is refused there too).
    let new_password = change.password.as_deref().filter(|p| !p.is_empty()).map(Secret::new);
    let parsed = ProxySettings::parse(&url, user.clone(), new_password.clone())
        .map_err(|message| error(ErrorCode::BadInput, message))?;
    let url = parsed.display();
    match (&user, change.password.as_deref()) {
        (None, _) => forget_password(),
        (Some(_), Some("")) => delete_password().map_err(store_report)?,
        (Some(_), Some(password)) => set_password(password).map_err(store_report)?,
        (Some(_), None) => {}
    }
    write_file(&dir, &ProxyFile { version: 1, url: Some(url.clone()), user: user.clone() }).map_err(store_report)?;
    let has_password = match &user {
        Some(_) => stored_password().ok().map(|p| p.is_some()),
        None => Some(false),
    };
    Ok(ProxySetting { url: Some(url), user, has_password })
}

/// The proxy for a wizard: None without a saved one (the environment's then). A saved user's
/// password comes from the keyring; a locked or missing keyring is named as such. Blocking.
pub fn load() -> Result<Option<ProxySettings>, ErrorReport> {
    let file = read_file(&config_dir().map_err(store_report)?).map_err(store_report)?;
    let Some(url) = file.url else { return Ok(None) };
    let password = match &file.user {
        Some(_) => stored_password().map_err(store_report)?,
        None => None,
    };
    ProxySettings::parse(&url, file.user, password).map(Some).map_err(|message| {
        error(ErrorCode::BadInput, format!("the saved proxy cannot be used: {message}; change it under \"Proxy…\""))
    })
}
