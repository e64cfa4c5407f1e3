//! Discovery as data: what a typed address may lead to, in the order Homeport asks, and why
//! (as matrix-rust-sdk's homeserver configuration does). The wizard walks the plan until one
//! probe recognises the server; the person never has to say which kind of server it is.

use super::{Decision, Step, Wizard};
use crate::address::Address;
use crate::error::ConnectError;

/// One way of recognising the server behind an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Probe {
    /// ownCloud's `status.php` ‖ a PROPFIND, one round trip: ownCloud, oCIS, tenants by host
    /// (docs/protocols/owncloud-redirect.md, oidc-ocis.md, tenant-by-host.md).
    Owncloud,
    /// Matrix's `.well-known/matrix/client`, then `/versions` ‖ the login flows
    /// (docs/protocols/matrix-msc1730.md).
    Matrix,
}

/// The probes for `address`, first to last.
pub(super) fn plan(address: &Address) -> &'static [Probe] {
    match address {
        // Why only Matrix: a Matrix ID (`@user:server`) names a Matrix account.
        Address::Account { matrix: true, .. } => &[Probe::Matrix],
        // Why this order: a URL or `user@domain` is most often an ownCloud-family server, and its
        // probe also carries credentials known up front; a server without ownCloud's status.php
        // may be a Matrix server (a portal's URL, `alice@portal`).
        _ => &[Probe::Owncloud, Probe::Matrix],
    }
}

/// What one probe found.
pub(super) enum Probed {
    /// The server is of this kind: the path's first step (or its error) is the wizard's.
    Recognised(Result<Step, ConnectError>),
    /// Not this kind of server: why, in case no later probe recognises it either.
    NotThisKind(ConnectError),
}

impl Wizard {
    /// Walks the plan. When no probe recognises the server, the first probe's reason is the
    /// error (for a URL: "not an ownCloud server", the likelier mistake).
    pub(super) async fn discover(&mut self) -> Result<Step, ConnectError> {
        // Why first: every probe sends requests (some with credentials) to the typed server.
        if !self.policy.permits_scheme(self.server.as_url()) {
            self.phase = super::Phase::Discover;
            return Ok(Step::Decide(Decision::ConfirmPlainHttp { url: self.server.to_string() }));
        }
        let mut first_reason = None;
        for (index, probe) in plan(&self.address).iter().enumerate() {
            // Only the first probe announces itself: the later ones continue the same check.
            let announce = index == 0;
            let probed = match probe {
                Probe::Owncloud => self.probe_owncloud(announce).await,
                Probe::Matrix => self.probe_matrix(announce).await,
            };
            match probed {
                Probed::Recognised(result) => return result,
                Probed::NotThisKind(reason) => {
                    first_reason.get_or_insert(reason);
                }
            }
        }
        Err(first_reason.unwrap_or(ConnectError::Finished))
    }
}
