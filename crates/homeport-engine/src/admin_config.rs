//! The administrators' configuration (docs/administrators.md): one system-wide TOML file that
//! presets, and optionally locks, what a person would otherwise choose — the server address, the
//! servers allowed at all, the OpenID Connect clients per issuer, the proxy, the demo, the
//! product's name and logo. Real clients have the same: ownCloud's `[Setup] ServerUrl` with
//! `AllowServerUrlChange=false` and its `[OpenIDConnect]` section, Nextcloud's
//! `overrideServerUrl` with a server list. A person's own settings (CLI flags, the desktop's
//! pages, proxy.json) never override a locked key; without a file nothing changes.
//!
//! Where it is read: `HOMEPORT_SYSTEM_CONFIG` when set (that file only; empty: none, so tests
//! never read /etc), else the first that exists of `/etc/homeport/config.toml` and
//! `homeport/config.toml` in each folder of `$XDG_CONFIG_DIRS` (default `/etc/xdg`). The first
//! found is the whole configuration: files are not merged, so what applies is in one place.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::address::{Address, Origin};
use crate::oidc_client::ClientProfile;
use crate::proxy::ProxySettings;
use crate::report::{ErrorCode, ErrorReport};

mod file;
#[cfg(test)]
mod tests;

/// The variable that names the file instead of the system's places (empty: no file at all).
pub const SYSTEM_CONFIG_VAR: &str = "HOMEPORT_SYSTEM_CONFIG";
/// The system-wide file, looked at before `$XDG_CONFIG_DIRS`.
pub const ETC_PATH: &str = "/etc/homeport/config.toml";
/// Under each folder of `$XDG_CONFIG_DIRS`.
pub const XDG_RELATIVE_PATH: &str = "homeport/config.toml";

/// Who decided, in the words every face shows beside a locked field.
pub const DECIDED_BY_SERVER: &str = "Your organisation set this server";
pub const DECIDED_BY_PROXY: &str = "Your organisation set this proxy";
pub const DECIDED_BY_CLIENT: &str = "Your organisation set the identity provider client";

/// The configuration as read (everything defaulted without a file).
#[derive(Clone, Debug, PartialEq)]
pub struct AdminConfig {
    /// The file it came from; None: there is none (nothing is preset or locked).
    pub source: Option<PathBuf>,
    pub server: ServerPolicy,
    pub proxy: ProxyPolicy,
    pub oidc: OidcPolicy,
    /// `demo = false`: the desktop offers no "Try the demo".
    pub demo: bool,
    /// Shown in the window title and on the first page instead of "Homeport".
    pub product_name: Option<String>,
    /// A PNG, JPEG or SVG file (at most [`MAX_LOGO_BYTES`]) shown on the first page.
    pub logo: Option<PathBuf>,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            source: None,
            server: ServerPolicy::default(),
            proxy: ProxyPolicy::default(),
            oidc: OidcPolicy::default(),
            demo: true,
            product_name: None,
            logo: None,
        }
    }
}

/// `[server]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServerPolicy {
    /// The address the wizard opens on (normalised as the address field does).
    pub address: Option<String>,
    /// No other server than `address`'s is accepted.
    pub lock: bool,
    /// Without `lock`: the only servers accepted (with `address`'s): origins
    /// (`https://cloud.example.com`) or `*.example.com` (any https host under it).
    pub allowed: Vec<AllowedServer>,
}

/// One entry of `server.allowed`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowedServer {
    Origin(Origin),
    /// `*.example.com`: https at any host under `example.com` (not `example.com` itself).
    Subdomains(String),
}

impl AllowedServer {
    fn parse(text: &str) -> Result<AllowedServer, String> {
        if let Some(domain) = text.trim().strip_prefix("*.") {
            let url = url::Url::parse(&format!("https://{domain}/")).map_err(|e| format!("{text:?}: {e}"))?;
            let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| format!("{text:?}: no host"))?;
            return Ok(AllowedServer::Subdomains(host.to_owned()));
        }
        let address = Address::parse(text).map_err(|e| format!("{text:?} is not a server address: {e}"))?;
        let server = address.server().map_err(|e| format!("{text:?} is not a server address: {e}"))?;
        Ok(AllowedServer::Origin(server.origin()))
    }

    fn admits(&self, origin: &Origin) -> bool {
        match self {
            AllowedServer::Origin(own) => own == origin,
            AllowedServer::Subdomains(domain) => url::Url::parse(origin.as_str()).is_ok_and(|url| {
                url.scheme() == "https" && url.host_str().is_some_and(|host| host.ends_with(&format!(".{domain}")))
            }),
        }
    }

    /// As the file wrote it, for messages.
    pub fn display(&self) -> String {
        match self {
            AllowedServer::Origin(origin) => origin.as_str().to_owned(),
            AllowedServer::Subdomains(domain) => format!("*.{domain}"),
        }
    }
}

/// `[proxy]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProxyPolicy {
    pub preset: Option<ProxyPreset>,
    /// The person cannot choose another proxy (the desktop's page is read-only, `--proxy` refused).
    pub lock: bool,
}

/// `proxy.url`.
#[derive(Clone, Debug, PartialEq)]
pub enum ProxyPreset {
    /// `"system"`: the system's proxy settings (environment, GNOME's), as without a setting.
    System,
    /// A proxy URL (no credentials: the file is readable by everyone on the computer).
    Manual(ProxySettings),
}

/// `[oidc]`: clients per issuer, as [`ClientProfile`] (the type CLI flags and scenario keys fill).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OidcPolicy {
    /// Each names its `issuer`: a client (and its secret) goes to its own identity provider only.
    pub clients: Vec<ClientProfile>,
    /// The person's client settings (`--client-id`…, the desktop's advanced settings) are refused.
    pub lock: bool,
}

/// The largest logo read (the desktop sends it to the window as a data URL).
pub const MAX_LOGO_BYTES: u64 = 512 * 1024;

/// A broken file: named with its path, line and column, and the key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminConfigError {
    #[error("{}:{line}:{column}: {}{reason} (the administrators' configuration: docs/administrators.md)", path.display(), key.as_ref().map(|k| format!("{k}: ")).unwrap_or_default())]
    Invalid { path: PathBuf, line: usize, column: usize, key: Option<String>, reason: String },
    #[error("could not read the administrators' configuration {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

impl AdminConfigError {
    /// `bad_input` with `{file, line, column, key}` in `detail` (a script tells the admin where).
    pub fn report(&self) -> ErrorReport {
        let detail = match self {
            AdminConfigError::Invalid { path, line, column, key, .. } => serde_json::json!({
                "reason": "admin_config", "file": path, "line": line, "column": column, "key": key,
            }),
            AdminConfigError::Io { path, .. } => serde_json::json!({ "reason": "admin_config", "file": path }),
        };
        let reason = Some(crate::report::ErrorReason::AdminConfig);
        ErrorReport { detail, reason, ..ErrorReport::new(ErrorCode::BadInput, self.to_string()) }
    }
}

/// What the configuration refused the person: `policy_refused`, with the words saying who decided.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PolicyRefusal {
    pub message: String,
    /// The key that decided (`server.lock`, `server.allowed`, `proxy.lock`, `oidc.lock`).
    pub key: &'static str,
    pub file: Option<PathBuf>,
}

impl PolicyRefusal {
    pub fn report(&self) -> ErrorReport {
        let detail = serde_json::json!({ "reason": "admin_config", "key": self.key, "file": self.file });
        let reason = Some(crate::report::ErrorReason::AdminConfig);
        ErrorReport { detail, reason, ..ErrorReport::new(ErrorCode::PolicyRefused, self.message.clone()) }
    }
}

impl AdminConfig {
    /// The system's configuration (see the module's words for where); none: the defaults.
    pub fn load() -> Result<AdminConfig, AdminConfigError> {
        match std::env::var_os(SYSTEM_CONFIG_VAR) {
            Some(path) if path.is_empty() => Ok(AdminConfig::default()),
            Some(path) => AdminConfig::load_first(&[PathBuf::from(path)]),
            None => AdminConfig::load_first(&system_paths()),
        }
    }

    /// The first of `paths` that exists; none: the defaults.
    pub fn load_first(paths: &[PathBuf]) -> Result<AdminConfig, AdminConfigError> {
        for path in paths {
            match fs::read_to_string(path) {
                Ok(text) => return AdminConfig::parse(&text, path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(AdminConfigError::Io { path: path.clone(), source }),
            }
        }
        Ok(AdminConfig::default())
    }

    /// Reads `text` (from `path`, which errors name and relative logo paths start from).
    pub fn parse(text: &str, path: &Path) -> Result<AdminConfig, AdminConfigError> {
        file::parse(text, path)
    }

    /// Whether the person may connect to `entered` (what they typed, or an account's stored
    /// address): the server it names first must be the locked one, or an allowed one.
    pub fn check_address(&self, entered: &str) -> Result<(), PolicyRefusal> {
        let server = &self.server;
        if !server.lock && server.allowed.is_empty() {
            return Ok(());
        }
        // An unparsable address is the wizard's to name; the policy has nothing to add.
        let Some(origin) = Address::parse(entered).and_then(|a| a.server()).ok().map(|s| s.origin()) else {
            return Ok(());
        };
        let preset = server.address.as_deref().and_then(|a| Address::parse(a).and_then(|a| a.server()).ok());
        if preset.as_ref().is_some_and(|preset| preset.origin() == origin) {
            return Ok(());
        }
        if server.lock {
            let preset = preset.map(|p| p.as_url().to_string()).unwrap_or_default();
            return Err(self.refusal(
                format!("{DECIDED_BY_SERVER} ({preset}); {} cannot be used here", origin.as_str()),
                "server.lock",
            ));
        }
        if server.allowed.iter().any(|allowed| allowed.admits(&origin)) {
            return Ok(());
        }
        let mut list: Vec<String> = server.address.iter().cloned().collect();
        list.extend(server.allowed.iter().map(AllowedServer::display));
        Err(self.refusal(
            format!(
                "Your organisation allows only these servers: {}; {} is not one of them",
                list.join(", "),
                origin.as_str()
            ),
            "server.allowed",
        ))
    }

    /// The client profiles for a wizard: the person's (flags, the desktop's advanced settings)
    /// first, then the file's by issuer. With `oidc.lock` a person's profile is refused.
    pub fn client_profiles(&self, person: Option<ClientProfile>) -> Result<Vec<ClientProfile>, PolicyRefusal> {
        if self.oidc.lock && person.is_some() {
            return Err(self.refusal(
                format!("{DECIDED_BY_CLIENT}: its client id, secret, scopes, prompt and redirect port cannot be changed here"),
                "oidc.lock",
            ));
        }
        Ok(person.into_iter().chain(self.oidc.clients.iter().cloned()).collect())
    }

    /// The proxy for a wizard: `person`'s own choice (None: they made none), unless the file
    /// locks it. `explicit`: the person asked for it now (a CLI flag) rather than a saved
    /// setting — refused when locked, where a saved setting is just not used.
    pub fn proxy(&self, person: Option<ProxySettings>, explicit: bool) -> Result<Option<ProxySettings>, PolicyRefusal> {
        let preset = || match &self.proxy.preset {
            Some(ProxyPreset::Manual(proxy)) => Some(proxy.clone()),
            Some(ProxyPreset::System) | None => None,
        };
        match person {
            Some(_) if self.proxy.lock && explicit => Err(self.refusal(
                format!("{DECIDED_BY_PROXY} ({}); it cannot be changed here", self.proxy_words()),
                "proxy.lock",
            )),
            Some(_) if self.proxy.lock => Ok(preset()),
            Some(own) => Ok(Some(own)),
            None => Ok(preset()),
        }
    }

    /// Whether the person may change the proxy setting (the desktop's page): not when locked.
    pub fn check_proxy_change(&self) -> Result<(), PolicyRefusal> {
        match self.proxy.lock {
            true => Err(self.refusal(
                format!("{DECIDED_BY_PROXY} ({}); it cannot be changed here", self.proxy_words()),
                "proxy.lock",
            )),
            false => Ok(()),
        }
    }

    /// The preset proxy in words: its URL, or "the system's proxy settings".
    pub fn proxy_words(&self) -> String {
        match &self.proxy.preset {
            Some(ProxyPreset::Manual(proxy)) => proxy.display(),
            Some(ProxyPreset::System) | None => "the system's proxy settings".to_owned(),
        }
    }

    fn refusal(&self, message: String, key: &'static str) -> PolicyRefusal {
        let message = match &self.source {
            Some(path) => format!("{message} (set in {})", path.display()),
            None => message,
        };
        PolicyRefusal { message, key, file: self.source.clone() }
    }

    /// What a face shows: the preset and locked keys, in words (no secrets).
    pub fn view(&self) -> AdminView {
        AdminView {
            source: self.source.as_ref().map(|p| p.display().to_string()),
            product_name: self.product_name.clone(),
            address: self.server.address.clone(),
            address_locked: self.server.lock,
            allowed: self.server.allowed.iter().map(AllowedServer::display).collect(),
            demo: self.demo,
            proxy: self.proxy.preset.as_ref().map(|_| self.proxy_words()),
            proxy_url: match &self.proxy.preset {
                Some(ProxyPreset::Manual(proxy)) => Some(proxy.display()),
                Some(ProxyPreset::System) | None => None,
            },
            proxy_locked: self.proxy.lock,
            client_locked: self.oidc.lock,
            decided_by_server: DECIDED_BY_SERVER.to_owned(),
            decided_by_proxy: DECIDED_BY_PROXY.to_owned(),
            decided_by_client: DECIDED_BY_CLIENT.to_owned(),
        }
    }
}

/// The configuration as the desktop's pages show it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AdminView {
    /// The file, for "set in …"; None: no administrators' configuration.
    pub source: Option<String>,
    pub product_name: Option<String>,
    /// The address the first page opens on.
    pub address: Option<String>,
    /// The address field is read-only.
    pub address_locked: bool,
    /// The only servers accepted (beside `address`), as written.
    pub allowed: Vec<String>,
    /// "Try the demo" is offered.
    pub demo: bool,
    /// The preset proxy in words (a URL, or the system's settings).
    pub proxy: Option<String>,
    /// The preset proxy's URL; None with `proxy` set: the system's proxy settings (the desktop
    /// words that in its language).
    pub proxy_url: Option<String>,
    pub proxy_locked: bool,
    /// The advanced identity provider client settings are not offered.
    pub client_locked: bool,
    pub decided_by_server: String,
    pub decided_by_proxy: String,
    pub decided_by_client: String,
}

/// `/etc/homeport/config.toml`, then `homeport/config.toml` in each of `$XDG_CONFIG_DIRS`.
pub fn system_paths() -> Vec<PathBuf> {
    let dirs = std::env::var("XDG_CONFIG_DIRS").ok().filter(|d| !d.trim().is_empty());
    let dirs = dirs.unwrap_or_else(|| "/etc/xdg".to_owned());
    std::iter::once(PathBuf::from(ETC_PATH))
        .chain(dirs.split(':').filter(|d| Path::new(d).is_absolute()).map(|d| Path::new(d).join(XDG_RELATIVE_PATH)))
        .collect()
}
