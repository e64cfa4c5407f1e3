//! Homeport's engine: everything between "a person typed an address" and "a verified account is
//! stored", with no GUI, no server framework and no prompts. Where a person must decide, the
//! [`wizard::Wizard`] returns a [`wizard::Decision`]; the CLI, the desktop app and QA scripts answer.

pub mod account;
pub mod address;
pub mod admin_config;
pub mod certificate;
pub mod client_certificate;
pub mod drive;
pub mod error;
pub mod http;
pub mod loopback;
pub mod matrix;
pub mod matrix_oauth;
pub mod nextcloud;
pub mod oidc;
pub mod oidc_client;
pub mod ops;
pub mod owncloud;
pub mod proxy;
pub mod redact;
pub mod redirect;
pub mod registered_clients;
pub mod report;
pub mod secret;
pub mod settings;
pub mod store;
pub mod tenant;
pub mod token_auth;
pub mod trace;
pub mod trace_export;
pub mod wizard;

/// Entry points for the fuzz targets (`fuzz/`, docs/fuzzing.md) into parsers that are not public
/// API: the token endpoint's answer as the wizard reads it.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::wizard::oidc_tokens::{expires_at, read_token_answer, StoredTokens, TokenAnswer};
}

pub use account::{Account, AccountKind, AuthMethod};
pub use address::{Address, AddressError, Origin, ServerUrl};
pub use drive::{drive, Answer, Answerer};
pub use error::{ConnectError, NotReady};
pub use http::{Auth, HttpConfig};
pub use loopback::{RedirectHost, RedirectPort, RedirectSpec};
pub use proxy::ProxySettings;
pub use report::{ErrorCode, ErrorReason, ErrorReport};
pub use secret::{Credentials, Secret};
pub use settings::{ProxyChange, ProxySetting, Settings, SettingsError};
pub use store::{AccountStore, SaveOutcome, StoreError};
pub use trace::{Exchange, Observer, Participant, StepAbout, StepName, Trace, TransportErrorKind, WizardEvent};
pub use wizard::{Connected, Decision, Resent, Step, Wizard, WizardOptions};
