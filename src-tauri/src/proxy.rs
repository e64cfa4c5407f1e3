//! The person's manual proxy ("Proxy…" on the address page), stored by the engine's
//! [`Settings`]: URL and user in proxy.json beside accounts.json, the password in the keyring.
//! Every wizard of the window gets it as `HttpConfig::proxy`; without one, the environment's
//! proxies apply (the engine's default: environment, else GNOME's settings). The organisation's
//! configuration may preset or lock it (docs/administrators.md). Blocking (file and D-Bus): called
//! off the runtime.

use homeport_engine::admin_config::AdminConfig;
use homeport_engine::proxy::SystemProxy;
pub use homeport_engine::settings::{ProxyChange, ProxySetting};
use homeport_engine::settings::{Settings, SettingsError};
use homeport_engine::{ConnectError, ErrorReport, ProxySettings};

fn settings() -> Result<Settings, ErrorReport> {
    Settings::open_default().map_err(|e| ConnectError::from(e).report())
}

/// The saved setting for the UI.
pub fn get() -> Result<ProxySetting, ErrorReport> {
    settings()?.proxy().map_err(|e| ConnectError::from(e).report())
}

/// Checks and saves `change` (the password to the keyring first, then the file).
pub fn set(change: ProxyChange) -> Result<ProxySetting, ErrorReport> {
    let saved = settings()?.set_proxy(change).map_err(|e| e.report())?;
    if let Some(e) = saved.password_left {
        eprintln!("homeport-desktop: the proxy password stays in the keyring for now: {e}");
    }
    Ok(saved.setting)
}

/// Saves `change` unless the organisation locked the proxy (docs/administrators.md).
pub fn set_unless_locked(admin: &AdminConfig, change: ProxyChange) -> Result<ProxySetting, ErrorReport> {
    admin.check_proxy_change().map_err(|refusal| refusal.report())?;
    set(change)
}

/// "The system's proxy settings" on this computer, as data the page words in its language: the
/// environment's variables, or GNOME's settings (a PAC file named as not evaluated), or none.
pub fn system() -> SystemProxy {
    SystemProxy::now()
}

/// The proxy for a wizard: the organisation's when it locks one (the saved setting is not even
/// read then), else the saved one, else the organisation's preset; None: the system's settings.
/// A locked or missing keyring is named as such.
pub fn load(admin: &AdminConfig) -> Result<Option<ProxySettings>, ErrorReport> {
    if admin.proxy.lock {
        return admin.proxy(None, false).map_err(|refusal| refusal.report());
    }
    let saved = load_saved()?;
    admin.proxy(saved, false).map_err(|refusal| refusal.report())
}

fn load_saved() -> Result<Option<ProxySettings>, ErrorReport> {
    settings()?.proxy_settings().map_err(|e| {
        let mut report = e.report();
        if let SettingsError::InvalidProxy(message) = &e {
            report.message = format!("the saved proxy cannot be used: {message}; change it under \"Proxy…\"");
        }
        report
    })
}
