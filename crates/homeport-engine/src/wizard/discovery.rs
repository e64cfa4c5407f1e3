//! Discovery as data: what a typed address may lead to, in the order Homeport asks, and why
//! (as matrix-rust-sdk's homeserver configuration does). The wizard walks the plan until one
//! probe recognises the server; the person never has to say which kind of server it is.

use super::matrix::well_known_request;
use super::oidc::issuer_request;
use super::owncloud::OwncloudFirst;
use super::{Decision, Probed, Step, Wizard};
use crate::address::Address;
use crate::error::ConnectError;
use crate::http::{HttpRequest, HttpResponse};

/// How long a request sent ahead in the first round may hold it: a server answers a 404 in far
/// less; one that takes longer is asked again, with the full timeout, when its answer is needed.
const AHEAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// One way of recognising the server behind an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Probe {
    /// ownCloud's `status.php` ‖ a PROPFIND: ownCloud, oCIS, tenants by host
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

/// The answers to the plan's first round: each probe's first requests, all to the typed server,
/// sent together (docs/benchmarks.md#round-trips). Why together: none needs another's answer,
/// none carries credentials but the PROPFIND the credentials were given for, and a later probe
/// then starts without a round of its own.
struct FirstRound {
    owncloud: Option<OwncloudFirst>,
    /// WebFinger's issuer, for a Bearer challenge to the ownCloud probe (oCIS); none for a
    /// tenant, whose host names its issuer.
    issuer: Option<Result<HttpResponse, ConnectError>>,
    well_known: Option<Result<HttpResponse, ConnectError>>,
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
        let plan = plan(&self.address);
        // Only the first probe announces itself: the later ones continue the same check.
        match plan.first() {
            Some(Probe::Owncloud) => self.announce_owncloud(),
            Some(Probe::Matrix) => self.announce_matrix(),
            None => {}
        }
        let mut first = self.first_round(plan).await;
        self.issuer_ahead = first.issuer.take();
        let mut first_reason = None;
        for probe in plan {
            let probed = match probe {
                Probe::Owncloud => match first.owncloud.take() {
                    Some(answers) => self.probe_owncloud(answers).await,
                    None => continue,
                },
                Probe::Matrix => match first.well_known.take() {
                    Some(Err(ConnectError::Timeout { .. })) => {
                        let round = self.trace().next_round();
                        let well_known = self.http.send(&well_known_request(&self.server), round).await;
                        self.probe_matrix(well_known).await
                    }
                    Some(well_known) => self.probe_matrix(well_known).await,
                    None => continue,
                },
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

    /// Sends the first requests of every probe in `plan` in one round.
    async fn first_round(&self, plan: &[Probe]) -> FirstRound {
        let round = self.trace().next_round();
        let owncloud = async {
            match plan.contains(&Probe::Owncloud) {
                true => Some(self.owncloud_first_round(round).await),
                false => None,
            }
        };
        // Sent ahead beside the ownCloud probe, whose answer may make them moot: bounded, so a
        // server that never answers them does not hold the round; asked again if then needed.
        let ahead = plan.first() == Some(&Probe::Owncloud);
        let bounded = |request: HttpRequest| if ahead { request.timeout(AHEAD_TIMEOUT) } else { request };
        let issuer = async {
            match plan.contains(&Probe::Owncloud) && self.tenant.is_none() {
                true => Some(self.http.send(&bounded(issuer_request(&self.server)), round).await),
                false => None,
            }
        };
        let well_known = async {
            match plan.contains(&Probe::Matrix) {
                true => Some(self.http.send(&bounded(well_known_request(&self.server)), round).await),
                false => None,
            }
        };
        let (owncloud, issuer, well_known) = futures_util::future::join3(owncloud, issuer, well_known).await;
        FirstRound { owncloud, issuer, well_known }
    }
}
