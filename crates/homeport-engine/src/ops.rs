//! Use cases the shells share beyond one wizard run: each lives here once, and the CLI and the
//! desktop app only translate its result (words, exit codes, pages).

use crate::account::{Account, AuthMethod};
use crate::address::Origin;
use crate::client_certificate::ClientIdentity;
use crate::error::ConnectError;
use crate::report::{ErrorCode, ErrorReport};
use crate::secret::Secret;
use crate::store::{AccountStore, StoreError};
use crate::wizard::{end_session, Decision, MatrixTokens, Step, Wizard, WizardOptions};

/// How to re-verify: the wizard's options (proxy, observer, trust) and the origins the stored
/// login may now be sent to (`homeport accounts verify --approve-redirect`).
#[derive(Clone, Default)]
pub struct ReverifyOptions {
    pub wizard: WizardOptions,
    pub approve: Vec<Origin>,
}

/// A re-verified account, stored.
#[derive(Debug)]
pub struct Reverified {
    /// As stored now (its `created_at` kept). After an approved permanent redirect it has a new
    /// instance, and so a new id.
    pub account: Account,
    /// As it was stored before.
    pub previous: Account,
    pub round_trips: u32,
}

impl Reverified {
    /// A permanent redirect moved the account to another instance.
    pub fn moved(&self) -> bool {
        self.account.id != self.previous.id
    }
}

/// Why a re-verify did not end with the account verified (nothing was stored then).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReverifyError {
    /// Reading or storing the account (a locked keyring, an unknown id).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The check itself failed (a wrong password now, an expired login, an unreachable server).
    #[error("{error}")]
    Connect { account: Box<Account>, error: ConnectError },
    /// The server wants a new login in the browser: the stored one is no longer accepted. It is
    /// `auth_failed`, like a refused password: log in again.
    #[error("the login of {} has ended; log in again", .account.display_name)]
    LoginEnded { account: Box<Account> },
    /// The server asks something a re-verify does not answer by itself (a redirect to approve, a
    /// certificate to trust): `refusal` is that decision declined, with its code.
    #[error("{refusal}")]
    NeedsAttention { account: Box<Account>, decision: Box<Decision>, refusal: ConnectError },
    /// The blocking store work stopped (a panic).
    #[error("the account store stopped unexpectedly: {0}")]
    Stopped(String),
}

impl ReverifyError {
    /// The class the CLI's exit code and the desktop's "Log in again" both follow.
    pub fn code(&self) -> ErrorCode {
        match self {
            ReverifyError::Store(e) => e.code(),
            ReverifyError::Connect { error, .. } => error.code(),
            ReverifyError::LoginEnded { .. } => ErrorCode::AuthFailed,
            ReverifyError::NeedsAttention { refusal, .. } => refusal.code(),
            ReverifyError::Stopped(_) => ErrorCode::Internal,
        }
    }

    /// The stored account, once it was read.
    pub fn account(&self) -> Option<&Account> {
        match self {
            ReverifyError::Connect { account, .. }
            | ReverifyError::LoginEnded { account }
            | ReverifyError::NeedsAttention { account, .. } => Some(account),
            ReverifyError::Store(_) | ReverifyError::Stopped(_) => None,
        }
    }

    pub fn report(&self) -> ErrorReport {
        let (detail, reason) = match self {
            ReverifyError::Store(e) => (e.detail(), e.reason()),
            ReverifyError::Connect { error, .. } => (error.detail(), error.reason()),
            ReverifyError::LoginEnded { .. } | ReverifyError::Stopped(_) => (serde_json::Value::Null, None),
            ReverifyError::NeedsAttention { refusal, .. } => (refusal.detail(), refusal.reason()),
        };
        ErrorReport { code: self.code(), message: self.to_string(), detail, reason }
    }
}

/// Logs in again with the stored secret (a password, an OpenID Connect refresh token, Matrix
/// tokens) and checks the instance still knows the account; then stores what the check found,
/// with the secret the login ended with (identity providers rotate refresh tokens). A permanent
/// redirect, once approved, moves the account to its new instance (a new id, in place of the
/// old). The store's work (file and keyring) runs off the async workers.
pub async fn reverify(store: &AccountStore, id: &str, options: ReverifyOptions) -> Result<Reverified, ReverifyError> {
    reverify_as(store, id, options, None).await
}

/// [`reverify`] with a password the person typed instead of the stored secret: a password login
/// whose stored password no longer works, asked at a terminal (`homeport accounts verify`). When
/// the server takes it, it replaces the stored one.
pub async fn reverify_with_password(
    store: &AccountStore,
    id: &str,
    options: ReverifyOptions,
    password: Secret,
) -> Result<Reverified, ReverifyError> {
    reverify_as(store, id, options, Some(password)).await
}

async fn reverify_as(
    store: &AccountStore,
    id: &str,
    options: ReverifyOptions,
    typed: Option<Secret>,
) -> Result<Reverified, ReverifyError> {
    let (reading, id) = (store.clone(), id.to_owned());
    let (stored, secret) = blocking(move || {
        let stored = reading.get(&id)?;
        // A typed password stands in for the stored secret (which may be missing, too).
        let secret = match typed {
            Some(password) => password,
            None => reading.secret(&id)?,
        };
        Ok((stored, secret))
    })
    .await?;
    let failed = |error| ReverifyError::Connect { account: Box::new(stored.clone()), error };
    let mut wizard_options = options.wizard;
    // The certificate is read again from its file, with the password from the keyring: the
    // file may have been replaced by a renewed one (its new subject and fingerprint are stored).
    let certificate_password = match &stored.client_certificate {
        None => None,
        Some(certificate) => {
            let (reading, id) = (store.clone(), stored.id.clone());
            let password = blocking(move || reading.client_certificate_password(&id)).await?;
            let identity = ClientIdentity::load(std::path::Path::new(&certificate.file), &password)
                .map_err(|error| failed(error.into()))?;
            wizard_options.http.client_identity = Some(identity);
            Some(password)
        }
    };
    let mut wizard = Wizard::for_account(&stored, secret, wizard_options).map_err(failed)?;
    for origin in options.approve {
        wizard.approve_origin(origin);
    }
    let connected = match wizard.next().await.map_err(failed)? {
        Step::Connected(connected) => connected,
        Step::Decide(Decision::OpenBrowser { .. }) => {
            return Err(ReverifyError::LoginEnded { account: Box::new(stored) })
        }
        Step::Decide(decision) => {
            let refusal = decision.declined();
            return Err(ReverifyError::NeedsAttention {
                account: Box::new(stored),
                decision: Box::new(decision),
                refusal,
            });
        }
    };
    let mut account = connected.account;
    account.created_at = stored.created_at;
    let (writing, saved, secret, previous_id) = (store.clone(), account.clone(), connected.secret, stored.id.clone());
    // A permanent redirect may have moved the account to another instance (a new id).
    blocking(move || writing.update_with_certificate(&previous_id, &saved, &secret, certificate_password.as_ref()))
        .await?;
    Ok(Reverified { account, previous: stored, round_trips: connected.round_trips })
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ReverifyError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| ReverifyError::Stopped(e.to_string()))?.map_err(Into::into)
}

/// What a removed account's credential became at its server.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Revocation {
    /// The server ended it: it works nowhere any more.
    Deleted { server: String, what: Revoked },
    /// The server did not end it (unreachable, refused): it still works there until someone ends
    /// it in the server's own settings (the account was removed here all the same).
    Failed { server: String, what: Revoked, reason: String },
}

/// Which credential a removal ends at the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Revoked {
    /// A Nextcloud app password (`DELETE ocs/v2.php/core/apppassword`).
    AppPassword,
    /// A Matrix password or SSO login's device (`POST /_matrix/client/v3/logout`).
    MatrixDevice,
    /// A Matrix OAuth 2.0 login's tokens, and with them its device (RFC 7009 revocation).
    OauthTokens,
    /// An OpenID Connect login's refresh token (or, without one, its access token), at the
    /// identity provider's revocation endpoint (RFC 7009); `server` is the issuer.
    OidcTokens,
}

/// A removed account.
#[derive(Debug)]
pub struct Removed {
    pub account: Account,
    /// For an account with a credential of its own at the server (a Nextcloud app password, a
    /// Matrix login, an OpenID Connect login's tokens): whether the server ended it.
    pub revocation: Option<Revocation>,
}

/// Removes an account: its own credential at the server (a Nextcloud app password, a Matrix
/// device or OAuth 2.0 tokens, an OpenID Connect refresh token at its provider's revocation
/// endpoint) is ended there first, as Nextcloud's own clients and Element do,
/// then the account and its keyring entry go here — also when the server could not end it (the
/// result says so). `http` carries the proxy; the account's trusted certificates are added to it.
pub async fn remove(store: &AccountStore, id: &str, http: crate::http::HttpConfig) -> Result<Removed, StoreError> {
    let (reading, owned) = (store.clone(), id.to_owned());
    let (account, secret) = tokio::task::spawn_blocking(move || {
        let account = reading.get(&owned)?;
        let secret = reading.secret(&owned);
        Ok::<_, StoreError>((account, secret))
    })
    .await
    .map_err(|e| stopped(store, e))??;
    let what = match account.auth_method {
        AuthMethod::AppPassword => Some(Revoked::AppPassword),
        AuthMethod::MatrixPassword | AuthMethod::MatrixSso => Some(Revoked::MatrixDevice),
        AuthMethod::MatrixOAuth => Some(Revoked::OauthTokens),
        AuthMethod::Oidc => Some(Revoked::OidcTokens),
        AuthMethod::Basic => None,
    };
    let mut http = http;
    if let (None, Some(certificate)) = (&http.client_identity, &account.client_certificate) {
        // Best effort: without its certificate the server refuses, and the revocation says so.
        let (reading, owned) = (store.clone(), id.to_owned());
        let password = tokio::task::spawn_blocking(move || reading.client_certificate_password(&owned)).await;
        if let Ok(Ok(password)) = password {
            http.client_identity = ClientIdentity::load(std::path::Path::new(&certificate.file), &password)
                .ok()
                .map(|identity| with_servers(identity, &account));
        }
    }
    let revocation = match (what, secret) {
        (None, _) => None,
        (Some(what), Ok(secret)) => Some(revoke(&account, what, secret, http).await),
        (Some(what), Err(error)) => Some(Revocation::Failed {
            server: revoked_at(&account, what),
            what,
            reason: format!("the credential could not be read from the keyring: {error}"),
        }),
    };
    let (writing, owned) = (store.clone(), id.to_owned());
    let account =
        tokio::task::spawn_blocking(move || writing.remove(&owned)).await.map_err(|e| stopped(store, e))??;
    Ok(Removed { account, revocation })
}

/// Ends the credential at its server; no redirect is followed (it goes to the server it was made
/// at, and nowhere else).
async fn revoke(
    account: &Account,
    what: Revoked,
    secret: crate::secret::Secret,
    mut http: crate::http::HttpConfig,
) -> Revocation {
    let server = revoked_at(account, what);
    http.pinned_certificates.extend(account.certificate_pins());
    let client = match crate::http::HttpClient::new(http, crate::trace::Trace::new(None)) {
        Ok(client) => client,
        Err(error) => return Revocation::Failed { server, what, reason: error.to_string() },
    };
    let ended = match what {
        Revoked::AppPassword => delete_app_password(&client, account, secret).await,
        Revoked::MatrixDevice | Revoked::OauthTokens => match MatrixTokens::from_secret(&secret) {
            Some(tokens) => end_session(&client, account, &tokens).await,
            None => Err("the keyring holds no Matrix tokens for it".into()),
        },
        Revoked::OidcTokens => crate::wizard::revoke_oidc_login(&client, account, &secret).await,
    };
    match ended {
        Ok(()) => Revocation::Deleted { server, what },
        Err(reason) => Revocation::Failed { server, what, reason },
    }
}

/// Where the credential is ended: the identity provider (its issuer) for an OpenID Connect login,
/// the account's server for the others.
fn revoked_at(account: &Account, what: Revoked) -> String {
    match (what, &account.oidc) {
        (Revoked::OidcTokens, Some(oidc)) => oidc.issuer.clone(),
        _ => account.instance_url.to_string(),
    }
}

/// `DELETE <node>/ocs/v2.php/core/apppassword` with the app password itself.
async fn delete_app_password(
    client: &crate::http::HttpClient,
    account: &Account,
    secret: crate::secret::Secret,
) -> Result<(), String> {
    let credentials = crate::secret::Credentials { user: account.login_name.clone(), password: secret };
    let request = crate::owncloud::ocs_request(
        reqwest::Method::DELETE,
        account.instance_url.join(crate::nextcloud::APP_PASSWORD_PATH),
        crate::trace::Participant::Instance,
        crate::http::Auth::Basic(credentials),
    );
    match client.send(&request, 1).await {
        Ok(response) if response.status == 200 => Ok(()),
        Ok(response) => Err(format!("the server answered HTTP {} instead of 200", response.status)),
        Err(error) => Err(error.to_string()),
    }
}

/// `identity` for the account's servers (as [`Wizard::for_account`] does for a re-verify).
fn with_servers(mut identity: ClientIdentity, account: &Account) -> ClientIdentity {
    let stored = account.client_certificate.iter().flat_map(|certificate| certificate.servers.iter().cloned());
    let own = [&account.server_url, &account.instance_url]
        .into_iter()
        .filter_map(|url| crate::certificate::authority(url.as_url()));
    for server in stored.chain(own) {
        identity.add_server(&server);
    }
    identity
}

/// The blocking store work stopped (a panic): an I/O error of the store's folder.
fn stopped(store: &AccountStore, error: tokio::task::JoinError) -> StoreError {
    StoreError::Io {
        action: "finish the work in",
        path: store.dir().to_path_buf(),
        source: std::io::Error::other(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The desktop runs these as Tauri commands, whose futures must be `Send`.
    #[test]
    fn the_use_cases_futures_are_send() {
        fn send<T: Send>(_: &T) {}
        let store = AccountStore::at("/nonexistent/homeport");
        send(&remove(&store, "acct-x", crate::http::HttpConfig::default()));
        send(&reverify(&store, "acct-x", ReverifyOptions::default()));
    }
}
