//! Matrix behind a login portal, MSC1730 (`docs/protocols/matrix-msc1730.md`): a login portal in front of two
//! homeservers, each on its own 127.0.0.1 port.
//!
//! The homeservers `hs1` and `hs2` (`http://hs1.localhost:<port>/`, server name `hs1.localhost:<port>`) each own
//! some of [`MATRIX_USERS`] and answer the client-server API a login needs: well-known, versions, login flows,
//! password and token login (with refresh tokens), refresh, whoami and profiles. Two portals stand in front of them
//! and pick the homeserver by user: the proxy portal (`proxy.localhost`) passes the login on and adds
//! `well_known` and MSC1730's `base_cs_url` to the answer; the redirect portal (`redirect.localhost`) answers the
//! login with a `307` to the homeserver. Both portals offer SSO: a login page that sends the browser back to the
//! client's loopback `redirectUrl` with a `loginToken`, which the owning homeserver accepts once (`m.login.token`).
//! The portals keep that per-token state (the MSC's footnote \[1\]) in [`Matrix`](state::Matrix), shared with the
//! homeservers.
//!
//! A third homeserver, `oauth` (`oauth.rs`, `docs/protocols/matrix-oauth.md`), offers only the spec's OAuth 2.0
//! API; its OAuth 2.0 server is the lookup IdP's Matrix zone (`crate::oidc::matrix_zone`).

mod api;
pub(crate) mod homeserver;
pub(crate) mod oauth;
#[cfg(test)]
mod oauth_refusal_tests;
#[cfg(test)]
mod oauth_tests;
pub(crate) mod portal;
mod sso;
pub(crate) mod state;
#[cfg(test)]
pub(crate) mod test_support;

/// The homeservers, by name; each is served at `<name>.localhost` on its own port.
pub(crate) const HOMESERVER_NAMES: [&str; 2] = ["hs1", "hs2"];
/// The host of the proxy-mode portal.
pub(crate) const PROXY_HOST: &str = "proxy.localhost";
/// The host of the redirect-mode (307) portal.
pub(crate) const REDIRECT_HOST: &str = "redirect.localhost";
/// Every host name the Matrix systems are served at (all resolve to 127.0.0.1, RFC 6761).
pub(crate) const MATRIX_HOSTS: [&str; 5] =
    ["hs1.localhost", "hs2.localhost", PROXY_HOST, REDIRECT_HOST, oauth::OAUTH_HOST];
/// The login endpoint, relative to a base URL.
pub(crate) const LOGIN_PATH: &str = "_matrix/client/v3/login";
