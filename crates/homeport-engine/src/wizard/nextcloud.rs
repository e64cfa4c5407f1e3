//! The wizard's Nextcloud path (docs/protocols/nextcloud-login-flow.md). Without credentials:
//! Login Flow v2 — start the flow, the person logs in in the browser, poll for the grant
//! `{server, loginName, appPassword}`, and verify at `server` (in Global Scale a node, not the
//! server typed; a new origin is approved as every redirect's is). With a password given up
//! front: the ownCloud path's PROPFIND finds the node, where the password buys an app password.
//! Either way the account logs in with the app password only, and the keyring keeps that.

use std::time::{Duration, Instant};

use super::decision::{Protocol, Resent};
use super::rounds::InstanceRound;
use super::{Decision, Phase, Step, Wizard};
use crate::address::{same_site, Origin, ServerUrl};
use crate::error::ConnectError;
use crate::http::{Auth, Followed, HttpRequest};
use crate::nextcloud::{self, Grant, LoginFlow, Polled};
use crate::owncloud::{self, ServerStatus};
use crate::redirect::{RedirectChain, RedirectRefusal};
use crate::secret::Credentials;
use crate::trace::{Participant, StepAbout, StepName};

/// How Login Flow v2 is polled: [`nextcloud::POLL_INTERVAL`] within [`nextcloud::FLOW_LIFETIME`];
/// tests shorten both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginFlowTiming {
    pub interval: Duration,
    pub lifetime: Duration,
}

impl Default for LoginFlowTiming {
    fn default() -> Self {
        LoginFlowTiming { interval: nextcloud::POLL_INTERVAL, lifetime: nextcloud::FLOW_LIFETIME }
    }
}

/// "Check now" for a Login Flow v2 that is waiting (the desktop's button, as Nextcloud's desktop
/// client has "poll now"): the next poll goes out at once instead of after the interval. Clones
/// share one trigger; give one to [`super::WizardOptions::login_flow_check`] and keep one.
#[derive(Clone, Debug, Default)]
pub struct CheckNow(std::sync::Arc<tokio::sync::Notify>);

impl CheckNow {
    pub fn new() -> Self {
        CheckNow::default()
    }

    /// Polls at once (or at the start of the next wait, if none is waiting now).
    pub fn check_now(&self) {
        self.0.notify_one();
    }
}

/// A progress line every this many polls (the first wait is announced at once).
const PROGRESS_EVERY: u32 = 10;

/// Where the Nextcloud path stands between two calls of `Wizard::next`.
pub(super) enum NextcloudPhase {
    /// The login page is open in the browser: poll until access is granted.
    Poll { status: ServerStatus, flow: LoginFlow, started: Instant },
    /// The grant names a node on an origin not approved yet: waiting for approval to send the
    /// app password there.
    AwaitNode { status: ServerStatus, grant: Grant },
    /// A stored account: verify at its node with the stored app password.
    Reverify { status: ServerStatus, instance: ServerUrl },
}

impl Wizard {
    pub(super) async fn advance_nextcloud(&mut self, phase: NextcloudPhase) -> Result<Step, ConnectError> {
        match phase {
            NextcloudPhase::Poll { status, flow, started } => {
                let grant = self.poll(&flow, started).await?;
                self.at_node(status, grant).await
            }
            NextcloudPhase::AwaitNode { status, grant } => self.at_node(status, grant).await,
            NextcloudPhase::Reverify { status, instance } => {
                self.verify_node(
                    status,
                    instance.clone(),
                    RedirectChain::starting_at(&owncloud::propfind(), instance.as_url()),
                )
                .await
            }
        }
    }

    /// `POST <server>/index.php/login/v2`, then the person opens `login` in the browser.
    pub(super) async fn start_login_flow(&mut self, status: ServerStatus) -> Result<Step, ConnectError> {
        self.step(StepName::Authenticate, StepAbout::LoginFlowStarting { server: self.server.to_string() });
        // Content-Length 0, as the desktop client sends (nextcloud/desktop#1473); the client's
        // User-Agent names Homeport, and the grant page shows it.
        let request =
            HttpRequest::new(reqwest::Method::POST, self.server.join(nextcloud::LOGIN_FLOW_PATH), Participant::Lookup)
                .body(Vec::new());
        let response = match self.follow(request).await? {
            Followed::Done { response, .. } => response,
            // Nothing secret is sent; kept total for safety.
            Followed::NeedsApproval { hop, .. } => {
                return Err(ConnectError::RedirectRefused(RedirectRefusal::NotApproved { to: Origin::of(&hop.to) }))
            }
        };
        if response.status != 200 {
            return Err(super::unexpected(&response, response.status, "200 OK starting Login Flow v2"));
        }
        let flow = LoginFlow::parse(&response.url, &response.body)?;
        let decision = Decision::OpenBrowser {
            url: flow.login.to_string(),
            issuer: Origin::of(&flow.login).to_string(),
            server: self.server.to_string(),
            // The login page on another site: the person's password goes there.
            issuer_elsewhere: !same_site(self.server.as_url(), &flow.login),
            protocol: Protocol::Nextcloud,
        };
        self.phase = Phase::Nextcloud(NextcloudPhase::Poll { status, flow, started: Instant::now() });
        Ok(Step::Decide(decision))
    }

    /// Polls until the person granted access, within the flow's lifetime (then
    /// [`ConnectError::BrowserLoginTimedOut`]). 404 is "not yet"; any other answer but 200 ends it.
    async fn poll(&mut self, flow: &LoginFlow, started: Instant) -> Result<Grant, ConnectError> {
        let timing = self.login_flow;
        let mut polls = 0u32;
        loop {
            if polls.is_multiple_of(PROGRESS_EVERY) {
                let left = timing.lifetime.saturating_sub(started.elapsed()).as_secs().div_ceil(60);
                self.step(StepName::Authenticate, StepAbout::LoginFlowWaiting { minutes_left: left });
            }
            let wait = timing.interval.min(timing.lifetime.saturating_sub(started.elapsed()));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.login_flow_check.0.notified() => {}
            }
            if started.elapsed() >= timing.lifetime {
                return Err(ConnectError::BrowserLoginTimedOut { seconds: timing.lifetime.as_secs() });
            }
            polls += 1;
            let request = HttpRequest::new(reqwest::Method::POST, flow.endpoint.clone(), Participant::Lookup)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .secret_body(flow.poll_body());
            let round = self.trace().next_round();
            let response = self.http.send(&request, round).await?;
            match nextcloud::parse_poll(&response.url, response.status, &response.body)? {
                Polled::Waiting => continue,
                Polled::Granted(grant) => return Ok(grant),
            }
        }
    }

    /// The grant's node: the app password goes there only by the redirect policy's rules (no
    /// https → http, plain http only to loopback or where allowed, a new origin approved).
    async fn at_node(&mut self, status: ServerStatus, grant: Grant) -> Result<Step, ConnectError> {
        let (from, to) = (Origin::of(self.server.as_url()), Origin::of(grant.server.as_url()));
        if self.server.as_url().scheme() == "https" && grant.server.as_url().scheme() != "https" {
            return Err(ConnectError::RedirectRefused(RedirectRefusal::Downgrade {
                from: from.to_string(),
                to: grant.server.to_string(),
            }));
        }
        super::refuse_plain_http(&self.policy, &grant.server)?;
        if from != to && !self.approved.contains(&to) {
            let decision = Decision::ConfirmRedirect {
                from,
                to,
                location: grant.server.to_string(),
                // The poll's answer names the node; it is no HTTP redirect, and not permanent.
                status: 200,
                permanent: false,
                resends: Resent::AppPassword,
                protocol: Protocol::Nextcloud,
            };
            self.phase = Phase::Nextcloud(NextcloudPhase::AwaitNode { status, grant });
            return Ok(Step::Decide(decision));
        }
        self.step(StepName::Discover, StepAbout::AccountLivesOn { server: grant.server.to_string() });
        self.credentials = Some(grant.credentials);
        self.app_password = true;
        let chain = RedirectChain::starting_at(&reqwest::Method::POST, self.server.as_url());
        self.verify_node(status, grant.server, chain).await
    }

    /// With a password given up front, at the node the PROPFIND reached: the password buys an
    /// app password there (`GET ocs/v2.php/core/getapppassword`, sent to that origin only, no
    /// redirect followed), and the account is verified with it. The password is forgotten.
    pub(super) async fn convert_password(
        &mut self,
        status: ServerStatus,
        node: ServerUrl,
        chain: RedirectChain,
    ) -> Result<Step, ConnectError> {
        let credentials = self.held_credentials()?;
        self.step(StepName::Authenticate, StepAbout::ExchangingForAppPassword { server: node.to_string() });
        let to = if node == self.server { Participant::Lookup } else { Participant::Instance };
        let url = node.join(nextcloud::GET_APP_PASSWORD_PATH);
        let request = crate::owncloud::ocs_request(reqwest::Method::GET, url, to, Auth::Basic(credentials.clone()));
        let round = self.trace().next_round();
        let response = self.http.send(&request, round).await?;
        let app_password = match response.status {
            200 => nextcloud::parse_app_password(&response.url, &response.body)?,
            401 | 403 => {
                return Err(ConnectError::AuthFailed {
                    origin: Origin::of(&response.url),
                    user: credentials.user,
                    at: super::participant(&chain),
                })
            }
            other => return Err(super::unexpected(&response, other, "200 OK with an app password")),
        };
        self.credentials = Some(Credentials { user: credentials.user, password: app_password });
        self.app_password = true;
        self.verify_node(status, node, chain).await
    }

    /// A PROPFIND of the user's files at the node with the app password, then the ownCloud
    /// path's verification there (capabilities, user, avatar).
    async fn verify_node(
        &mut self,
        status: ServerStatus,
        node: ServerUrl,
        chain: RedirectChain,
    ) -> Result<Step, ConnectError> {
        let credentials = self.credentials.clone();
        let user = credentials.as_ref().map(|c| c.user.clone()).unwrap_or_default();
        let request = HttpRequest::new(owncloud::propfind(), nextcloud::files_url(&node, &user), Participant::Instance)
            .header("Depth", "0")
            .header("Content-Type", "application/xml; charset=utf-8")
            .body(owncloud::PROPFIND_BODY)
            .auth(credentials.into());
        // The instance round beside the PROPFIND: the same node, the same app password
        // (docs/benchmarks.md#round-trips); any answer but its 207 drops it.
        let to = if node == self.server { Participant::Lookup } else { Participant::Instance };
        let planned = self.credentials.as_ref().map(|credentials| InstanceRound::plan(node.clone(), to, credentials));
        let round = self.trace().next_round();
        let beside = async {
            match &planned {
                Some(planned) => Some(planned.send(&self.http, round).await),
                None => None,
            }
        };
        let (followed, answers) = futures_util::future::join(self.follow_in(request, round), beside).await;
        match followed? {
            Followed::Done { response, chain: at_node } if response.status == 207 && at_node.hops.is_empty() => {
                owncloud::check_multistatus(&response.url, &response.body)?;
                self.verify(status, node, chain, answers).await
            }
            // A redirect or a refusal at the node: the ownCloud path's answers (boxed: that path
            // may come back here).
            other => Box::pin(self.after_dav(status, other, None)).await,
        }
    }
}

/// The status a stored Nextcloud account is re-verified with (status.php is not asked again).
pub(super) fn stored_status(product: &str, version: &str) -> ServerStatus {
    ServerStatus {
        installed: true,
        productname: if product.is_empty() { "Nextcloud".into() } else { product.to_owned() },
        versionstring: version.to_owned(),
        // A stored Nextcloud account is Nextcloud under any product name.
        extended_support: Some(serde_json::Value::Bool(false)),
        ..ServerStatus::default()
    }
}
