//! Use cases the shells share beyond one wizard run: each lives here once, and the CLI and the
//! desktop app only translate its result (words, exit codes, pages).

use crate::account::Account;
use crate::address::Origin;
use crate::error::ConnectError;
use crate::report::{ErrorCode, ErrorReport};
use crate::store::{AccountStore, StoreError};
use crate::wizard::{Decision, Step, Wizard, WizardOptions};

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
    let (reading, id) = (store.clone(), id.to_owned());
    let (stored, secret) = blocking(move || Ok((reading.get(&id)?, reading.secret(&id)?))).await?;
    let failed = |error| ReverifyError::Connect { account: Box::new(stored.clone()), error };
    let mut wizard = Wizard::for_account(&stored, secret, options.wizard).map_err(failed)?;
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
    blocking(move || writing.update(&previous_id, &saved, &secret)).await?;
    Ok(Reverified { account, previous: stored, round_trips: connected.round_trips })
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ReverifyError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| ReverifyError::Stopped(e.to_string()))?.map_err(Into::into)
}
