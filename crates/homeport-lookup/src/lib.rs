//! Homeport's embedded lookup server: a faithful mock of the systems Homeport connects to, for the demo mode, the
//! CLI's `homeport mock` and the engine's tests.
//!
//! It acts out an ownCloud multi-tenant setup (`docs/protocols/owncloud-redirect.md`): a central server that knows only
//! `status.php` and `remote.php/webdav` and redirects each user to their instance by the domain of the user name, and
//! three ownCloud 10 instances on their own ports (or under `<central>/instanceN/`). A [`Scenario`] picks the redirect
//! status, latency, layout, TLS and one [`Fault`].
//!
//! It also acts out oCIS with OpenID Connect and tenants by host (`docs/protocols/oidc-ocis.md`,
//! `docs/protocols/tenant-by-host.md`), each server on its own 127.0.0.1 port: an OpenID Provider (discovery,
//! JWKS, registration, an HTML login form, code + PKCE, refresh with rotation, userinfo, revocation; ES256 JWTs),
//! an oCIS-like server with WebFinger and two instances that accept only the IdP's bearer tokens, and an
//! approuter that serves tenants by host (`<tenant>.approuter.localhost`, [`TENANT_HOST_PATTERN`]) with one
//! identity zone per tenant on the IdP port (`<tenant>.auth.localhost`). [`auto_login`] submits the login form
//! like a person would, for tests and QA.
//!
//! And it acts out Matrix behind a login portal (MSC1730, `docs/protocols/matrix-msc1730.md`), again each server on its
//! own 127.0.0.1 port: two Matrix homeservers (`hs1.localhost`, `hs2.localhost`) and a login portal in front of them in
//! both of the MSC's modes, proxy (`proxy.localhost`: the answer names the homeserver in `well_known` and
//! `base_cs_url`) and redirect (`redirect.localhost`: a `307` to the homeserver), each with SSO through a login page
//! [`auto_login`] can fill; and a homeserver that offers only the spec's OAuth 2.0 API (`oauth.localhost`,
//! `docs/protocols/matrix-oauth.md`), logging in at the IdP's Matrix zone (`matrix.auth.localhost`), as
//! matrix-authentication-service does.
//!
//! And it acts out Nextcloud Global Scale (`docs/protocols/nextcloud-login-flow.md`), each server on its own 127.0.0.1
//! port: a Global Site Selector with Login Flow v2 (a login page with a real password check, a grant page) that
//! creates the app password at the node holding the account and names that node, and two nodes that accept only
//! app passwords. [`auto_login_nextcloud`] logs in and grants like a person would.
//!
//! The browser robot (`robot.rs`: [`auto_login`], [`browser_login`], [`while_browser_logs_in`]) is the one the
//! tests, `homeport run` and the desktop's autopilot share; `testing` (cargo feature `testing`) holds the helpers
//! of the other crates' tests.
//!
//! ```no_run
//! # async fn demo() -> Result<(), homeport_lookup::LookupError> {
//! let server = homeport_lookup::LookupServer::start(
//!     "127.0.0.1:0".parse().expect("a socket address"),
//!     homeport_lookup::Scenario::default(),
//! )
//! .await?;
//! println!("{}", server.description());
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod dav;
mod demo_file;
mod description;
mod error;
mod host;
mod log;
mod matrix;
mod nextcloud;
mod ocis;
mod oidc;
mod owncloud;
mod people;
mod robot;
mod scenario;
mod serve;
mod server;
mod tenant;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod tls;
mod wire_faults;

pub use crate::demo_file::{line_and_column, Demo};
pub use crate::description::Description;
pub use crate::error::LookupError;
pub use crate::log::{ConnectionsUsed, RecordedRequest};
pub use crate::oidc::{
    BUILT_IN_CLIENT_ID, OWNCLOUD_DESKTOP_CLIENT_ID, OWNCLOUD_DESKTOP_CLIENT_SECRET, PUBLIC_CLIENT_ID,
};
pub use crate::people::{DemoPerson, MatrixPerson, NextcloudPerson, OidcPerson, People, BUILT_IN, DEMO_PASSWORD};
pub use crate::robot::{
    auto_login, auto_login_nextcloud, auto_login_nextcloud_trusting, auto_login_trusting, browser_login,
    complete_browser_login, while_browser_logs_in, BrowserLogin, Raced,
};
pub use crate::scenario::{Fault, IdpSetup, PublicClient, Scenario, DEFAULT_TOKEN_LIFETIME};
pub use crate::server::LookupServer;
pub use crate::tenant::TENANT_HOST_PATTERN;
