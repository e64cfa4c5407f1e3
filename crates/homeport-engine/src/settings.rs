//! The person's settings, beside accounts.json: today the manual proxy of the desktop app. Its URL
//! and user name are in `proxy.json` (written atomically, as accounts.json is), its password in
//! the keyring (service `homeport`, entry `proxy`), never in the file. Without a saved proxy the
//! environment's proxies apply (the engine's default).

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::proxy::ProxySettings;
use crate::report::{ErrorCode, ErrorReport};
use crate::secret::Secret;
use crate::store::{self, AccountStore, StoreError};

/// The settings file, beside accounts.json.
pub const PROXY_FILE: &str = "proxy.json";
/// The keyring entry of the proxy's password (account entries are named `acct-<hex>`: no clash).
pub const PROXY_KEYRING_ENTRY: &str = "proxy";

/// The saved proxy, as a settings page shows it (never the password itself).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ProxySetting {
    /// `http://host:port`, `https://…`, `socks5://…` or `socks5h://…`; None: the system's
    /// (environment's) proxy settings.
    pub url: Option<String>,
    pub user: Option<String>,
    /// Whether the keyring holds a password for it; None when the keyring could not be asked.
    pub has_password: Option<bool>,
}

/// A change to save. `password`: None keeps the stored one (the field was left empty), `""`
/// removes it, anything else replaces it.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ProxyChange {
    pub url: Option<String>,
    pub user: Option<String>,
    pub password: Option<Secret>,
}

/// Why a proxy setting could not be saved or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// The proxy URL or its user and password do not go together (the words of
    /// [`ProxySettings::parse`]).
    #[error("{0}")]
    InvalidProxy(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SettingsError {
    /// `bad_input` for an unusable proxy, else the store's (keyring, file) code and words.
    pub fn report(&self) -> ErrorReport {
        match self {
            SettingsError::InvalidProxy(message) => ErrorReport::new(ErrorCode::BadInput, message.clone()),
            // As `ConnectError::Store` reports it (transparent).
            SettingsError::Store(e) => e.report(),
        }
    }
}

/// What [`Settings::set_proxy`] saved.
#[derive(Debug)]
pub struct ProxySaved {
    pub setting: ProxySetting,
    /// A proxy without a user needs no keyring: its old password is removed where the keyring
    /// can be reached, and this says why it could not be (nothing else failed).
    pub password_left: Option<StoreError>,
}

#[derive(Default, Serialize, Deserialize)]
struct ProxyFile {
    version: u32,
    url: Option<String>,
    user: Option<String>,
}

/// The settings files beside accounts.json, and their secrets in the keyring. Blocking (file
/// and D-Bus): shells call it off their async runtime.
#[derive(Clone, Debug)]
pub struct Settings {
    dir: PathBuf,
}

impl Settings {
    /// The folder of [`AccountStore::open_default`].
    pub fn open_default() -> Result<Self, StoreError> {
        Ok(Settings::at(AccountStore::open_default()?.dir()))
    }

    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Settings { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The clients identity providers registered for Homeport, for a wizard's
    /// [`crate::oidc_client::ClientSettings::memory`].
    pub fn registered_clients(&self) -> std::sync::Arc<dyn crate::oidc_client::ClientMemory> {
        std::sync::Arc::new(crate::registered_clients::RegisteredClients::at(&self.dir))
    }

    /// The saved proxy, for a settings page.
    pub fn proxy(&self) -> Result<ProxySetting, StoreError> {
        let file = self.read()?;
        let has_password = match (&file.url, &file.user) {
            (Some(_), Some(_)) => proxy_password().ok().map(|p| p.is_some()),
            _ => Some(false),
        };
        Ok(ProxySetting { url: file.url, user: file.user, has_password })
    }

    /// Checks and saves `change`: the password to the keyring first, then the file. No URL: back
    /// to the system's settings.
    pub fn set_proxy(&self, change: ProxyChange) -> Result<ProxySaved, SettingsError> {
        let Some(url) = non_empty(change.url) else {
            // "None": back to the system's settings, with or without a keyring; the password goes
            // with the URL where the keyring can be reached (an entry left behind is never read
            // without a user in the file, and the next password replaces it).
            self.remove()?;
            let setting = ProxySetting { url: None, user: None, has_password: Some(false) };
            return Ok(ProxySaved { setting, password_left: forget_password() });
        };
        let user = non_empty(change.user);
        // Checked before anything changes (a password without a user is refused there too).
        let new_password = change.password.clone().filter(|p| !p.is_empty());
        let parsed = ProxySettings::parse(&url, user.clone(), new_password).map_err(SettingsError::InvalidProxy)?;
        let url = parsed.display();
        let mut password_left = None;
        match (&user, change.password.as_ref().map(Secret::expose)) {
            (None, _) => password_left = forget_password(),
            (Some(_), Some("")) => store::delete_secret(PROXY_KEYRING_ENTRY)?,
            (Some(_), Some(password)) => {
                store::keyring_entry(PROXY_KEYRING_ENTRY)?.set_password(password).map_err(store::keyring_error)?
            }
            (Some(_), None) => {}
        }
        self.write(&ProxyFile { version: 1, url: Some(url.clone()), user: user.clone() })?;
        let has_password = match &user {
            Some(_) => proxy_password().ok().map(|p| p.is_some()),
            None => Some(false),
        };
        Ok(ProxySaved { setting: ProxySetting { url: Some(url), user, has_password }, password_left })
    }

    /// The proxy for a wizard's [`crate::HttpConfig::proxy`]: None without a saved one (the
    /// environment's then). A saved user's password comes from the keyring; a locked or missing
    /// keyring is named as such.
    pub fn proxy_settings(&self) -> Result<Option<ProxySettings>, SettingsError> {
        let file = self.read()?;
        let Some(url) = file.url else { return Ok(None) };
        let password = match &file.user {
            Some(_) => proxy_password()?,
            None => None,
        };
        ProxySettings::parse(&url, file.user, password).map(Some).map_err(SettingsError::InvalidProxy)
    }

    /// The proxy's password in the keyring, if it holds one.
    pub fn proxy_password(&self) -> Result<Option<Secret>, StoreError> {
        proxy_password()
    }

    fn path(&self) -> PathBuf {
        self.dir.join(PROXY_FILE)
    }

    fn read(&self) -> Result<ProxyFile, StoreError> {
        let path = self.path();
        match fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt { path, reason: e.to_string() })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ProxyFile::default()),
            Err(source) => Err(StoreError::Io { action: "read", path, source }),
        }
    }

    fn write(&self, file: &ProxyFile) -> Result<(), StoreError> {
        let dir = &self.dir;
        store::create_private_dir(dir)?;
        // replace_atomically's temp name is unique per write: two saves may overlap.
        let mut json = serde_json::to_vec_pretty(file)
            .map_err(|e| StoreError::Corrupt { path: self.path(), reason: e.to_string() })?;
        json.push(b'\n');
        store::replace_atomically(dir, PROXY_FILE, &json)
    }

    fn remove(&self) -> Result<(), StoreError> {
        let path = self.path();
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StoreError::Io { action: "remove", path, source }),
        }
    }
}

fn proxy_password() -> Result<Option<Secret>, StoreError> {
    match store::keyring_entry(PROXY_KEYRING_ENTRY)?.get_password() {
        Ok(password) => Ok(Some(Secret::new(password))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(store::keyring_error(e)),
    }
}

/// Best effort: a proxy without a user needs no keyring, so its absence does not stop the save.
fn forget_password() -> Option<StoreError> {
    store::delete_secret(PROXY_KEYRING_ENTRY).err()
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}
