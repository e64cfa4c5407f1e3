//! The person's manual proxy ("Proxy…" on the address page), stored by the engine's
//! [`Settings`]: URL and user in proxy.json beside accounts.json, the password in the keyring.
//! Every wizard of the window gets it as `HttpConfig::proxy`; without one, the environment's
//! proxies apply (the engine's default). Blocking (file and D-Bus): called off the runtime.

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

/// The proxy for a wizard: None without a saved one; a locked or missing keyring is named as such.
pub fn load() -> Result<Option<ProxySettings>, ErrorReport> {
    settings()?.proxy_settings().map_err(|e| {
        let mut report = e.report();
        if let SettingsError::InvalidProxy(message) = &e {
            report.message = format!("the saved proxy cannot be used: {message}; change it under \"Proxy…\"");
        }
        report
    })
}
