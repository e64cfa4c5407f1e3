//! A connected account: everything Homeport remembers about it except its secret.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::address::ServerUrl;
use crate::certificate::{authority, normalize_fingerprint, CertificatePin};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "kebab-case")]
pub enum AccountKind {
    Owncloud,
    /// Nextcloud (status.php's `productname`), logged in with an app password.
    Nextcloud,
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
    /// Matrix's OAuth 2.0 API (docs/protocols/matrix-oauth.md): a public client registered at the
    /// homeserver's authorization server; the keyring keeps the access and refresh token.
    #[serde(rename = "matrix_oauth")]
    MatrixOAuth,
    /// A Nextcloud app password (Login Flow v2, or a password converted): the keyring keeps it,
    /// never the account password.
    AppPassword,
}

/// Stored in accounts.json; the secret lives in the keyring under the account's id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Account {
    pub id: String,
    pub kind: AccountKind,
    /// What the person typed, without a password typed into it ([`crate::address::Address::entered`]);
    /// one stored before that rule is cleaned when read.
    #[serde(deserialize_with = "entered_without_password")]
    #[cfg_attr(feature = "specta", specta(type = String))]
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
    /// Certificates the person trusted, each at one `host:port`. Written before pins were tied to
    /// servers, an entry is a bare fingerprint: it reads as a pin with no authority, which
    /// [`Account::certificate_pins`] ties to this account's own servers.
    #[serde(default, deserialize_with = "pins_or_fingerprints")]
    // What the UI receives is always the typed pin (the bare form only comes from old files).
    #[cfg_attr(feature = "specta", specta(type = Vec<CertificatePin>))]
    pub trusted_certificates: Vec<CertificatePin>,
    /// The client certificate (mutual TLS) the account presents, and where; its password is in
    /// the keyring, beside the account's secret (docs/security.md#client-certificates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<crate::client_certificate::ClientCertificateRef>,
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
    /// How an OAuth 2.0 login refreshes and is revoked (none for password and SSO logins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<MatrixOAuthInfo>,
    /// The server's page for the person's account and devices (`account_management_uri`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_management_uri: Option<String>,
}

/// The authorization server a Matrix OAuth 2.0 login was made at, and Homeport's client there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MatrixOAuthInfo {
    pub issuer: String,
    pub client_id: String,
}

/// The identity provider an OpenID Connect account logged in with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OidcInfo {
    /// The issuer, exactly as discovered (its discovery document must still name it).
    pub issuer: String,
    /// The client id Homeport used (docs/protocols/oidc-ocis.md#the-client).
    pub client_id: String,
    /// How that client authenticates at the token endpoint (its secret, if any, is in the keyring).
    #[serde(default)]
    pub token_auth: crate::token_auth::TokenAuth,
    /// The provider gave no refresh token: the login ends then (Unix seconds), and the person
    /// logs in again. None: the login refreshes itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_expires_at: Option<u64>,
}

impl OidcInfo {
    /// For a login without a refresh token: when it ends, in words ("you will need to log in
    /// again in 5 minutes"); None for a login that refreshes itself.
    pub fn login_end_words(&self, now: u64) -> Option<String> {
        let end = self.login_expires_at?;
        if end <= now {
            return Some("ended: the identity provider gave no refresh token; log in again".into());
        }
        let minutes = (end - now).div_ceil(60);
        let unit = if minutes == 1 { "minute" } else { "minutes" };
        Some(format!(
            "the identity provider gave no refresh token: you will need to log in again in {minutes} {unit} (at {})",
            format_unix(end)
        ))
    }
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

/// An accounts.json entry of `trusted_certificates`: a pin, or (older files) a bare fingerprint.
fn pins_or_fingerprints<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<CertificatePin>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Pin(CertificatePin),
        Fingerprint(String),
    }
    let stored: Vec<Stored> = Vec::deserialize(deserializer)?;
    Ok(stored
        .into_iter()
        .map(|entry| match entry {
            Stored::Pin(pin) => pin,
            Stored::Fingerprint(sha256) => {
                let sha256 = normalize_fingerprint(&sha256).unwrap_or(sha256);
                CertificatePin { authority: String::new(), sha256 }
            }
        })
        .collect())
}

impl Account {
    /// The pins to connect with again. A pin stored without an authority (a bare fingerprint
    /// from before pins were tied to servers) is tied to the servers this account talks to: the
    /// server entered, its instance, and its identity provider — where it was trusted, so it
    /// keeps working there, and nowhere else.
    pub fn certificate_pins(&self) -> Vec<CertificatePin> {
        let mut servers: Vec<String> = [Some(self.server_url.as_url()), Some(self.instance_url.as_url())]
            .into_iter()
            .flatten()
            .filter_map(authority)
            .collect();
        if let Some(issuer) = self.oidc.as_ref().and_then(|oidc| url::Url::parse(&oidc.issuer).ok()) {
            servers.extend(authority(&issuer));
        }
        let mut pins = Vec::new();
        for pin in &self.trusted_certificates {
            let tied: Vec<CertificatePin> = match pin.authority.is_empty() {
                false => vec![pin.clone()],
                true => servers
                    .iter()
                    .map(|authority| CertificatePin { authority: authority.clone(), sha256: pin.sha256.clone() })
                    .collect(),
            };
            for pin in tied {
                if !pins.contains(&pin) {
                    pins.push(pin);
                }
            }
        }
        pins
    }

    /// A stable id: the same login at the same instance is the same account. 128 bits of a
    /// SHA-256 (`acct-` and 32 hex digits), so two accounts never share one by chance; ids of the
    /// older 40-bit form (`acct-` and 10) still load, and a save moves such an account to its
    /// new id ([`crate::store::AccountStore::save`]).
    pub fn id_for(kind: AccountKind, instance: &ServerUrl, login_name: &str) -> String {
        let mut hash = Sha256::new();
        hash.update(format!("{kind:?}\n{instance}\n{login_name}"));
        let digest = hash.finalize();
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        format!("acct-{hex}")
    }

    /// The same account as `other`: the same kind at the same instance, for the same login (an
    /// ownCloud login name, or a Matrix user id — what its id was made from).
    pub fn same_login(&self, other: &Account) -> bool {
        self.kind == other.kind
            && self.instance_url == other.instance_url
            && (self.login_name == other.login_name || self.user_id == other.user_id)
    }
}

fn entered_without_password<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    String::deserialize(deserializer).map(|entered| crate::address::Address::entered(&entered))
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
        assert!(a.starts_with("acct-") && a.len() == 5 + 32, "128 bits, in hex: {a}");
    }

    #[test]
    fn fingerprints_stored_before_pins_had_servers_are_tied_to_the_accounts_servers() {
        let sha256 = "AB:".repeat(31) + "AB";
        let stored = serde_json::json!({
            "id": "acct-1", "kind": "ocis", "entered_address": "https://cloud.example.com",
            "server_url": "https://cloud.example.com/", "instance_url": "https://files.example.com:8443/",
            "login_name": "alice", "user_id": "alice", "display_name": "Alice", "auth_method": "oidc",
            "trusted_certificates": [sha256.to_lowercase().replace(':', ""),
                {"authority": "other.example:9443", "sha256": sha256}],
            "created_at": 0, "verified_at": 0,
            "oidc": {"issuer": "https://idp.example.com:4443", "client_id": "c"}
        });
        let account: Account = serde_json::from_value(stored).expect("an old accounts.json entry still loads");
        assert_eq!(account.trusted_certificates[0].sha256, sha256, "read in the stored form, nothing lost");
        let authorities: Vec<String> = account.certificate_pins().into_iter().map(|pin| pin.authority).collect();
        assert_eq!(
            authorities,
            ["cloud.example.com:443", "files.example.com:8443", "idp.example.com:4443", "other.example:9443"],
            "the bare fingerprint at the account's own servers; a typed pin where it was trusted"
        );
        let written = serde_json::to_value(&account).expect("serializes");
        assert_eq!(
            written["trusted_certificates"][1],
            serde_json::json!({"authority": "other.example:9443", "sha256": sha256})
        );
    }

    #[test]
    fn a_password_stored_in_an_old_entered_address_is_dropped_when_read() {
        let stored = serde_json::json!({
            "id": "acct-0123456789", "kind": "owncloud",
            "entered_address": "https://alice:oldpassword@cloud.example.com/",
            "server_url": "https://cloud.example.com/", "instance_url": "https://cloud.example.com/",
            "login_name": "alice", "user_id": "alice", "display_name": "Alice", "auth_method": "basic",
            "created_at": 0, "verified_at": 0
        });
        let account: Account = serde_json::from_value(stored).expect("an old accounts.json entry still loads");
        assert_eq!(account.entered_address, "https://alice@cloud.example.com/", "read without the password");
        assert_eq!(account.id, "acct-0123456789", "an old short id is kept as it was");
    }

    #[test]
    fn timestamps_format_as_utc_dates() {
        assert_eq!(format_unix(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_unix(1_795_381_200), "2026-11-22 21:00 UTC");
        assert_eq!(format_unix(951_782_400), "2000-02-29 00:00 UTC", "leap day");
    }
}
