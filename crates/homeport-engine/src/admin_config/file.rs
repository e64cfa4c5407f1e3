//! The file's TOML, checked: unknown keys and wrong types are errors (a misspelt `lock` must
//! not silently unlock), and every value's meaning is checked with its line.

use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::{
    AdminConfig, AdminConfigError, AllowedServer, OidcPolicy, ProxyPolicy, ProxyPreset, ServerPolicy, MAX_LOGO_BYTES,
};
use crate::address::Address;
use crate::oidc_client::ClientProfile;
use crate::proxy::ProxySettings;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    server: Option<RawServer>,
    #[serde(default)]
    proxy: Option<RawProxy>,
    #[serde(default)]
    oidc: Option<RawOidc>,
    demo: Option<bool>,
    product_name: Option<Spanned<String>>,
    logo: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    address: Option<Spanned<String>>,
    lock: Option<Spanned<bool>>,
    #[serde(default)]
    allowed: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProxy {
    url: Option<Spanned<String>>,
    lock: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOidc {
    #[serde(default)]
    lock: bool,
    #[serde(default)]
    client: Vec<Spanned<ClientProfile>>,
}

struct Checker<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Checker<'_> {
    fn error(&self, span: Option<Range<usize>>, key: Option<String>, reason: impl Into<String>) -> AdminConfigError {
        let (line, column) = span.map(|s| line_and_column(self.text, s.start)).unwrap_or((1, 1));
        AdminConfigError::Invalid { path: self.path.to_owned(), line, column, key, reason: reason.into() }
    }

    fn at<T>(&self, value: &Spanned<T>, key: &str, reason: impl Into<String>) -> AdminConfigError {
        self.error(Some(value.span()), Some(key.to_owned()), reason)
    }
}

pub(super) fn parse(text: &str, path: &Path) -> Result<AdminConfig, AdminConfigError> {
    let check = Checker { text, path };
    let raw: Raw = toml::from_str(text).map_err(|e| {
        // toml names the field in its message ("unknown field `lok`, expected …"); the key with
        // its table comes from the line the error points at.
        let key = e.span().and_then(|span| key_at(text, span.start));
        check.error(e.span(), key, e.message().trim().to_owned())
    })?;
    let mut config = AdminConfig { source: Some(path.to_owned()), ..AdminConfig::default() };
    if let Some(server) = raw.server {
        config.server = server_policy(&check, server)?;
    }
    if let Some(proxy) = raw.proxy {
        config.proxy = proxy_policy(&check, proxy)?;
    }
    if let Some(oidc) = raw.oidc {
        config.oidc = oidc_policy(&check, oidc)?;
    }
    config.demo = raw.demo.unwrap_or(true);
    if let Some(name) = raw.product_name {
        let trimmed = name.get_ref().trim();
        if trimmed.is_empty() || trimmed.chars().count() > 60 || trimmed.chars().any(char::is_control) {
            return Err(check.at(&name, "product_name", "a name of 1 to 60 characters, on one line"));
        }
        config.product_name = Some(trimmed.to_owned());
    }
    if let Some(logo) = raw.logo {
        let file = path.parent().unwrap_or(Path::new("/")).join(logo.get_ref());
        let lower = file.to_string_lossy().to_ascii_lowercase();
        if ![".png", ".svg", ".jpg", ".jpeg"].iter().any(|ext| lower.ends_with(ext)) {
            return Err(check.at(&logo, "logo", "a .png, .svg or .jpg file"));
        }
        match std::fs::metadata(&file) {
            Ok(meta) if meta.is_file() && meta.len() <= MAX_LOGO_BYTES => config.logo = Some(file),
            Ok(meta) if meta.is_file() => {
                return Err(check.at(
                    &logo,
                    "logo",
                    format!("{} is larger than {MAX_LOGO_BYTES} bytes", file.display()),
                ))
            }
            Ok(_) => return Err(check.at(&logo, "logo", format!("{} is not a file", file.display()))),
            Err(e) => return Err(check.at(&logo, "logo", format!("{}: {e}", file.display()))),
        }
    }
    Ok(config)
}

fn server_policy(check: &Checker, raw: RawServer) -> Result<ServerPolicy, AdminConfigError> {
    let mut policy = ServerPolicy::default();
    if let Some(address) = &raw.address {
        Address::parse(address.get_ref()).and_then(|a| a.server()).map_err(|e| {
            check.at(address, "server.address", format!("{:?} is not an address: {e}", address.get_ref()))
        })?;
        policy.address = Some(address.get_ref().trim().to_owned());
    }
    if let Some(lock) = &raw.lock {
        policy.lock = *lock.get_ref();
        if policy.lock && policy.address.is_none() {
            return Err(check.at(lock, "server.lock", "lock = true needs the address it locks (server.address)"));
        }
        if policy.lock && !raw.allowed.is_empty() {
            return Err(check.at(
                lock,
                "server.lock",
                "lock = true accepts server.address only: leave server.allowed out, or lock = false",
            ));
        }
    }
    for (i, entry) in raw.allowed.iter().enumerate() {
        let allowed =
            AllowedServer::parse(entry.get_ref()).map_err(|e| check.at(entry, &format!("server.allowed[{i}]"), e))?;
        policy.allowed.push(allowed);
    }
    Ok(policy)
}

fn proxy_policy(check: &Checker, raw: RawProxy) -> Result<ProxyPolicy, AdminConfigError> {
    let mut policy = ProxyPolicy::default();
    if let Some(url) = &raw.url {
        policy.preset = Some(if url.get_ref().trim() == "system" {
            ProxyPreset::System
        } else {
            ProxyPreset::Manual(
                ProxySettings::parse(url.get_ref(), None, None).map_err(|e| check.at(url, "proxy.url", e))?,
            )
        });
    }
    if let Some(lock) = &raw.lock {
        policy.lock = *lock.get_ref();
        if policy.lock && policy.preset.is_none() {
            return Err(check.at(
                lock,
                "proxy.lock",
                "lock = true needs the proxy it locks (proxy.url, or \"system\")",
            ));
        }
    }
    Ok(policy)
}

fn oidc_policy(check: &Checker, raw: RawOidc) -> Result<OidcPolicy, AdminConfigError> {
    let mut clients: Vec<ClientProfile> = Vec::new();
    for (i, spanned) in raw.client.iter().enumerate() {
        let key = |field: &str| format!("oidc.client[{i}].{field}");
        let profile = spanned.get_ref();
        let Some(issuer) = profile.issuer.as_deref() else {
            return Err(check.at(
                spanned,
                &key("issuer"),
                "each client names its issuer: its id and secret go to that identity provider only",
            ));
        };
        if url::Url::parse(issuer).map(|u| u.scheme() != "https" && !crate::address::is_loopback(&u)).unwrap_or(true) {
            return Err(check.at(spanned, &key("issuer"), format!("{issuer:?} is not an https URL")));
        }
        if clients.iter().any(|other| other.is_for(issuer)) {
            return Err(check.at(spanned, &key("issuer"), format!("{issuer:?} has a client already")));
        }
        if profile.client_secret.is_some() && profile.client_id.is_none() {
            return Err(check.at(
                spanned,
                &key("client_secret"),
                "a secret goes only with the client_id it belongs to",
            ));
        }
        if profile.scopes.as_ref().is_some_and(|scopes| !scopes.iter().any(|s| s == "openid")) {
            return Err(check.at(spanned, &key("scopes"), "the scopes must include openid"));
        }
        clients.push(profile.clone());
    }
    Ok(OidcPolicy { clients, lock: raw.lock })
}

/// The dotted key of the `key = value` line at `offset` (`server.lok`), its table from the last
/// `[table]` or `[[table]]` header above it; None when the line holds no key.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next().unwrap_or_default().trim();
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    if key.is_empty() || line.starts_with('[') || line.starts_with('#') {
        return None;
    }
    let table = text[..start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|header| header.trim_start_matches('[').split(']').next().unwrap_or_default().trim().to_owned());
    Some(match table {
        Some(table) if !table.is_empty() => format!("{table}.{key}"),
        _ => key.to_owned(),
    })
}

fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, column)
}
