//! The one error of the lookup server's public API.

use std::net::SocketAddr;

/// Why the lookup server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// A listener could not be opened (address in use, not local, no permission).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The self-signed certificate or the TLS configuration could not be made.
    #[error("cannot set up TLS: {0}")]
    Tls(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The scenario asks for something the server cannot act out, or names an unknown fault.
    #[error("invalid scenario: {0}")]
    InvalidScenario(String),
    /// A demo file (`homeport mock --scenario FILE`) cannot be used: `file:line:column: message`.
    #[error("{0}")]
    DemoFile(String),
    /// The IdP's signing key could not be made.
    #[error("cannot set up the IdP's signing key: {0}")]
    Crypto(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// [`auto_login`](crate::auto_login) could not log in: the IdP refused (its message), the credentials were
    /// wrong, the IdP is not on loopback, or the page was not the login form.
    #[error("automatic login failed: {0}")]
    AutoLogin(String),
}
