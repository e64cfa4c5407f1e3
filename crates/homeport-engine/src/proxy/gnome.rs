//! GNOME's proxy settings (`org.gnome.system.proxy`, what Settings → Network → Proxy writes),
//! read with `gsettings` as any GNOME program's proxy resolver (glib-networking) reads them:
//! mode `none` (direct), `manual` (an HTTP proxy for http, an HTTPS one for https, SOCKS for
//! the rest, `ignore-hosts` going direct) or `auto` (a PAC file at `autoconfig-url`: Homeport
//! does not run PAC JavaScript, says so, and connects directly). docs/desktop.md#proxy.

use std::process::Command;

/// How long [`GnomeProxy::read_cached`] keeps what it read.
pub const CACHE_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// The schema the settings live in (Debian: `gsettings-desktop-schemas`).
pub const SCHEMA: &str = "org.gnome.system.proxy";

/// What GNOME's settings say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GnomeProxy {
    pub mode: GnomeMode,
    /// `host:port` per protocol, when set (a host with port 0 is not a proxy).
    pub http: Option<(String, u16)>,
    pub https: Option<(String, u16)>,
    pub socks: Option<(String, u16)>,
    /// Hosts, `*.domains` and networks that never go through the proxy.
    pub ignore_hosts: Vec<String>,
    /// `use-same-proxy`: the HTTP proxy for https too when no HTTPS proxy is set.
    pub use_same_proxy: bool,
    /// The PAC file's URL (mode `auto`).
    pub autoconfig_url: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GnomeMode {
    #[default]
    None,
    Manual,
    Auto,
}

impl GnomeProxy {
    /// The settings, from `gsettings list-recursively` run with `envs` added (tests give a
    /// private backend); None when gsettings or the schema is missing (not a GNOME system).
    pub fn read_with(envs: &[(&str, &str)]) -> Option<GnomeProxy> {
        let output =
            Command::new("gsettings").args(["list-recursively", SCHEMA]).envs(envs.iter().copied()).output().ok()?;
        if !output.status.success() {
            return None;
        }
        Some(GnomeProxy::parse(&String::from_utf8_lossy(&output.stdout)))
    }

    /// The settings of this session.
    pub fn read() -> Option<GnomeProxy> {
        GnomeProxy::read_with(&[])
    }

    /// [`GnomeProxy::read`], at most once per [`CACHE_FOR`]: every wizard sets up an HTTP client,
    /// and a load test runs thousands of wizards a second — one `gsettings` per client would cost
    /// more than the flow. A change in GNOME's settings applies within that time.
    pub fn read_cached() -> Option<GnomeProxy> {
        static CACHE: std::sync::Mutex<Option<(std::time::Instant, Option<GnomeProxy>)>> = std::sync::Mutex::new(None);
        let mut cache = CACHE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*cache {
            Some((read_at, settings)) if read_at.elapsed() < CACHE_FOR => settings.clone(),
            _ => {
                let settings = GnomeProxy::read();
                *cache = Some((std::time::Instant::now(), settings.clone()));
                settings
            }
        }
    }

    /// Reads `gsettings list-recursively`'s lines (`schema key value`, values in GVariant text).
    pub fn parse(listing: &str) -> GnomeProxy {
        let mut proxy = GnomeProxy::default();
        let (mut hosts, mut ports) = (std::collections::HashMap::new(), std::collections::HashMap::new());
        for line in listing.lines() {
            let mut parts = line.splitn(3, ' ');
            let (Some(schema), Some(key), Some(value)) = (parts.next(), parts.next(), parts.next()) else { continue };
            let Some(section) = schema.strip_prefix(SCHEMA) else { continue };
            let section = section.trim_start_matches('.');
            match (section, key) {
                ("", "mode") => {
                    proxy.mode = match string(value).as_str() {
                        "manual" => GnomeMode::Manual,
                        "auto" => GnomeMode::Auto,
                        _ => GnomeMode::None,
                    }
                }
                ("", "autoconfig-url") => proxy.autoconfig_url = string(value),
                ("", "ignore-hosts") => proxy.ignore_hosts = strings(value),
                ("", "use-same-proxy") => proxy.use_same_proxy = value.trim() == "true",
                (protocol, "host") => {
                    hosts.insert(protocol.to_owned(), string(value));
                }
                (protocol, "port") => {
                    ports.insert(protocol.to_owned(), value.trim().trim_start_matches("uint32 ").parse().unwrap_or(0));
                }
                _ => {}
            }
        }
        let endpoint = |protocol: &str| {
            let host = hosts.get(protocol).filter(|h| !h.trim().is_empty())?;
            let port = *ports.get(protocol).filter(|p| **p > 0)?;
            Some((host.trim().to_owned(), port))
        };
        proxy.http = endpoint("http");
        proxy.https = endpoint("https");
        proxy.socks = endpoint("socks");
        proxy
    }

    /// The proxies these settings mean, as (scheme the proxy serves, proxy URL); empty: direct.
    pub fn proxy_urls(&self) -> Vec<(Scheme, String)> {
        if self.mode != GnomeMode::Manual {
            return Vec::new();
        }
        let url = |(host, port): &(String, u16), scheme: &str| {
            // An IPv6 address is written bare in GNOME's settings.
            let host = if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.clone() };
            format!("{scheme}://{host}:{port}")
        };
        let mut urls = Vec::new();
        if let Some(http) = &self.http {
            urls.push((Scheme::Http, url(http, "http")));
        }
        match (&self.https, &self.http) {
            (Some(https), _) => urls.push((Scheme::Https, url(https, "http"))),
            (None, Some(http)) if self.use_same_proxy => urls.push((Scheme::Https, url(http, "http"))),
            _ => {}
        }
        if let Some(socks) = &self.socks {
            // As glib-networking: SOCKS for what has no proxy of its own; names resolved by the proxy.
            urls.push((Scheme::All, url(socks, "socks5h")));
        }
        urls
    }

    /// `ignore-hosts` as a `NO_PROXY` list (`*.example.com` → `.example.com`).
    pub fn no_proxy(&self) -> String {
        let hosts = self.ignore_hosts.iter().map(|h| h.trim().strip_prefix('*').unwrap_or(h.trim()).to_owned());
        hosts.filter(|h| !h.is_empty()).collect::<Vec<_>>().join(",")
    }

    /// In words, for the proxy page and messages.
    pub fn describe(&self) -> String {
        super::SystemProxy::of_gnome(self).words()
    }
}

/// Which requests a proxy is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
    All,
}

/// A GVariant string (`'text'`, escapes undone).
fn string(value: &str) -> String {
    let value = value.trim();
    let inner = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')).unwrap_or(value);
    inner.replace("\\'", "'").replace("\\\\", "\\")
}

/// A GVariant string array (`['a', 'b']`, `@as []`).
fn strings(value: &str) -> Vec<String> {
    let value = value.trim().trim_start_matches("@as").trim();
    let Some(inner) = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) else { return Vec::new() };
    inner.split(',').map(string).filter(|s| !s.is_empty()).collect()
}

#[cfg(test)]
mod tests;
