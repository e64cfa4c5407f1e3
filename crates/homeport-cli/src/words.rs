//! The words a person reads for an account (docs/cli.md): product names, not type names
//! ("ownCloud Infinite Scale", "browser login (OpenID Connect)"), the secret the keyring keeps,
//! "1 round trip", and the command that connects an account again — one place for `connect`,
//! `accounts show/list/remove/verify` and their hints.

use homeport_engine::{Account, AccountKind, Address, AuthMethod};

/// The server product the account is at.
pub fn product(kind: AccountKind) -> &'static str {
    match kind {
        AccountKind::Owncloud => "ownCloud Server",
        AccountKind::Nextcloud => "Nextcloud",
        AccountKind::Ocis => "ownCloud Infinite Scale",
        AccountKind::Matrix => "Matrix",
        AccountKind::TenantOidc => "multitenant application (OpenID Connect)",
    }
}

/// How the account logs in.
pub fn login(method: AuthMethod) -> &'static str {
    match method {
        AuthMethod::Basic | AuthMethod::MatrixPassword => "password login",
        AuthMethod::Oidc => "browser login (OpenID Connect)",
        AuthMethod::MatrixSso => "browser login (Matrix SSO)",
        AuthMethod::MatrixOAuth => "browser login (Matrix OAuth 2.0)",
        AuthMethod::AppPassword => "app password (Login Flow v2)",
    }
}

/// What the keyring keeps for the account: only a password login keeps the password.
pub fn secret(account: &Account) -> &'static str {
    match (&account.oidc, &account.matrix) {
        // Nextcloud: the app password the server made for Homeport, never the account password.
        _ if account.auth_method == AuthMethod::AppPassword => "app password",
        (Some(oidc), _) if oidc.login_expires_at.is_some() => "access token",
        (Some(_), _) => "refresh token",
        (_, Some(_)) => "access and refresh tokens",
        _ => "password",
    }
}

pub use homeport_engine::trace::round_trips_words as round_trips;

/// The `homeport connect` that logs the account in again, with the flags its login needs. The
/// same login at the same instance is the same account, so it replaces the stored one (never a
/// second one).
pub fn reconnect_command(account: &Account) -> String {
    let mut command = format!("homeport connect {}", shell_word(&account.entered_address));
    let address_names_user = Address::parse(&account.entered_address).ok().and_then(|a| a.user()).is_some();
    match account.auth_method {
        AuthMethod::Basic | AuthMethod::MatrixPassword => {
            if !address_names_user {
                command.push_str(&format!(" --user {}", shell_word(&account.login_name)));
            }
            command.push_str(" --password-stdin");
        }
        AuthMethod::Oidc | AuthMethod::MatrixSso | AuthMethod::MatrixOAuth | AuthMethod::AppPassword => {
            command.push_str(" --browser system");
        }
    }
    if account.tenant.is_some() {
        command.push_str(" --tenant-pattern REGEX --tenant-issuer URL");
    }
    let mut pinned: Vec<&str> = account.trusted_certificates.iter().map(|pin| pin.sha256.as_str()).collect();
    pinned.dedup();
    for sha256 in pinned {
        command.push_str(&format!(" --trust-cert {sha256}"));
    }
    if let Some(certificate) = &account.client_certificate {
        command.push_str(&format!(" --client-cert {}", shell_word(&certificate.file)));
    }
    command
}

/// `word` as one shell word: as it is when it needs no quoting, else in single quotes.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_are_counted_in_words() {
        assert_eq!(round_trips(1), "1 round trip");
        assert_eq!(round_trips(2), "2 round trips");
        assert_eq!(round_trips(0), "0 round trips");
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("http://127.0.0.1:8080/"), "http://127.0.0.1:8080/");
        assert_eq!(shell_word("@bob:hs.example.org"), "@bob:hs.example.org");
        assert_eq!(shell_word("Ann Smith"), "'Ann Smith'");
        assert_eq!(shell_word("o'neil"), r"'o'\''neil'");
        assert_eq!(shell_word(""), "''");
    }
}
