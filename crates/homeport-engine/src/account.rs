//! A connected account: everything Homeport remembers about it except its secret.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::address::ServerUrl;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "kebab-case")]
pub enum AccountKind {
    Owncloud,
    Ocis,
    Matrix,
    TenantOidc,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    Basic,
    Oidc,
    MatrixPassword,
    MatrixSso,
}

/// Stored in accounts.json; the secret lives in the keyring under the account's id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Account {
    pub id: String,
    pub kind: AccountKind,
    /// What the person typed.
    pub entered_address: String,
    /// The server that was asked first (the central / lookup server).
    pub server_url: ServerUrl,
    /// The server that holds the account.
    pub instance_url: ServerUrl,
    /// The central server redirected permanently (301/308): connect to the instance directly.
    #[serde(default)]
    pub redirect_permanent: bool,
    /// The name used to log in.
    pub login_name: String,
    /// The id the instance reports.
    pub user_id: String,
    pub display_name: String,
    pub auth_method: AuthMethod,
    #[serde(default)]
    pub product: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub trusted_certificates: Vec<String>,
    /// Seconds since the Unix epoch.
    // Unix seconds fit a JavaScript number exactly.
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub created_at: u64,
    // Unix seconds fit a JavaScript number exactly.
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub verified_at: u64,
    /// For tenant-by-host accounts (docs/protocols/tenant-by-host.md): the tenant, its identity zone
    /// and granted scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantInfo>,
    /// For OpenID Connect accounts: where to refresh the login (the refresh token is in the keyring).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<OidcInfo>,
    /// For Matrix accounts: the device this login created (the tokens are in the keyring).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix: Option<MatrixInfo>,
}

/// What a Matrix login created besides its tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MatrixInfo {
    pub device_id: String,
}

/// The identity provider an OpenID Connect account logged in with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OidcInfo {
    /// The issuer, exactly as discovered (its discovery document must still name it).
    pub issuer: String,
    /// The client id Homeport used (registered dynamically, or the built-in one).
    pub client_id: String,
}

/// What a tenant identity zone said about the login.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TenantInfo {
    /// The tenant subdomain taken from the host (TENANT_HOST_PATTERN).
    pub tenant: String,
    /// The identity zone id (`zid` in the token).
    pub zone_id: String,
    /// Application scopes, `<xsappname>!t<index>.<scope>`.
    pub scopes: Vec<String>,
}

impl Account {
    /// A stable id: the same login at the same instance is the same account.
    pub fn id_for(kind: AccountKind, instance: &ServerUrl, login_name: &str) -> String {
        let mut hash = Sha256::new();
        hash.update(format!("{kind:?}\n{instance}\n{login_name}"));
        let digest = hash.finalize();
        let hex: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
        format!("acct-{hex}")
    }
}

pub fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// `2026-11-22 21:05 UTC`, without a calendar crate.
pub fn format_unix(seconds: u64) -> String {
    let (year, month, day) = civil_date(seconds);
    let rem = seconds % 86_400;
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", rem / 3600, rem % 3600 / 60)
}

/// The UTC calendar date of `seconds` since the Unix epoch (Howard Hinnant's civil-from-days).
pub(crate) fn civil_date(seconds: u64) -> (i64, i64, i64) {
    let days = i64::try_from(seconds / 86_400).unwrap_or_default();
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let base = |s: &str| ServerUrl::from_url(url::Url::parse(s).expect("url")).expect("base");
        let a = Account::id_for(AccountKind::Owncloud, &base("https://i2.example/"), "test@instance2.com");
        let b = Account::id_for(AccountKind::Owncloud, &base("https://i2.example/"), "test@instance2.com");
        let c = Account::id_for(AccountKind::Owncloud, &base("https://i3.example/"), "test@instance2.com");
        assert_eq!(a, b, "same login at the same instance");
        assert_ne!(a, c, "another instance is another account");
        assert!(a.starts_with("acct-") && a.len() == 15, "short and typeable: {a}");
    }

    #[test]
    fn timestamps_format_as_utc_dates() {
        assert_eq!(format_unix(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_unix(1_795_381_200), "2026-11-22 21:00 UTC");
        assert_eq!(format_unix(951_782_400), "2000-02-29 00:00 UTC", "leap day");
    }
}
