//! The wizard's ownCloud path (docs/protocols/owncloud-redirect.md): status.php and a PROPFIND
//! in one round trip, Basic credentials, the central server's redirect to the instance through
//! the one redirect policy, and the instance's capabilities, user and avatar — sent beside the
//! PROPFIND at the instance the redirect leads to ([`InstanceRound`]): two round trips in all.

use super::decision::{confirm_redirect, Protocol, Resent};
use super::rounds::{avatar_request, InstanceAnswers, InstanceRound};
use super::{participant, unexpected, Connected, Decision, Phase, Probed, Step, Wizard};
use crate::account::{Account, AccountKind, AuthMethod};
use crate::address::{Origin, ServerUrl};
use crate::error::ConnectError;
use crate::http::{Followed, Hopped, HttpRequest, HttpResponse};
use crate::nextcloud;
use crate::owncloud::{self, AuthChallenge, Capabilities, OcsUser, ServerStatus};
use crate::redirect::{Hop, RedirectChain, RedirectRefusal};
use crate::secret::Credentials;
use crate::trace::{Participant, StepAbout, StepName};

/// The answers to the ownCloud probe's first round.
pub(super) struct OwncloudFirst {
    status: Result<Followed, ConnectError>,
    dav: Result<Hopped, ConnectError>,
}

/// Where the ownCloud path stands between two calls of `Wizard::next`.
// One per wizard: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
pub(super) enum OwncloudPhase {
    /// The login form is shown; waiting for credentials.
    NeedCredentials { status: ServerStatus, realm: Option<String> },
    /// The central server redirects the credentials to another origin: waiting for approval.
    AwaitApproval { status: ServerStatus, hop: Hop, request: HttpRequest, chain: RedirectChain },
}

impl Wizard {
    /// The ownCloud path's next step, from where it stands.
    pub(super) async fn advance_owncloud(&mut self, phase: OwncloudPhase) -> Result<Step, ConnectError> {
        match phase {
            OwncloudPhase::NeedCredentials { status, realm } => {
                let Some(credentials) = self.credentials.clone() else {
                    let decision = self.needs_credentials(&status, realm.clone());
                    self.phase = Phase::Owncloud(OwncloudPhase::NeedCredentials { status, realm });
                    return Ok(decision);
                };
                self.step(StepName::Authenticate, StepAbout::LoggingInAs { user: credentials.user.clone() });
                let request = self.dav_request(Some(credentials));
                let chain = RedirectChain::starting_at(&request.method, &request.url);
                let (followed, answers) = self.follow_dav(&status, request, chain).await?;
                self.after_dav(status, followed, answers).await
            }
            OwncloudPhase::AwaitApproval { status, hop, request, chain } => {
                if !self.approved.contains(&Origin::of(&hop.to)) {
                    let decision = confirm_redirect(&hop, Resent::Password, protocol_of(&status));
                    self.phase = Phase::Owncloud(OwncloudPhase::AwaitApproval { status, hop, request, chain });
                    return Ok(Step::Decide(decision));
                }
                self.step(StepName::Discover, StepAbout::FollowingRedirect { to: Origin::of(&hop.to).to_string() });
                let mut chain = chain;
                chain.push(hop);
                let (followed, answers) = self.follow_dav(&status, request, chain).await?;
                self.after_dav(status, followed, answers).await
            }
        }
    }

    /// What the probe says it is doing, when it comes first.
    pub(super) fn announce_owncloud(&self) {
        let server = self.server.to_string();
        let detail = match &self.credentials {
            Some(credentials) => StepAbout::CheckingAndLoggingIn { server, user: credentials.user.clone() },
            None => StepAbout::Checking { server },
        };
        self.step(StepName::Probe, detail);
    }

    /// The probe's first round: status.php and the first PROPFIND, concurrently, in `round`
    /// (beside the other probes' first requests, [`super::discovery`]).
    pub(super) async fn owncloud_first_round(&self, round: u32) -> OwncloudFirst {
        let status_url = self.server.join(owncloud::STATUS_PATH);
        let status_request = HttpRequest::new(reqwest::Method::GET, status_url, Participant::Lookup);
        let dav_request = self.dav_request(self.credentials.clone());
        let chain = RedirectChain::starting_at(&dav_request.method, &dav_request.url);
        let (status, dav) = futures_util::future::join(
            self.follow_in(status_request, round),
            self.http.send_hop(dav_request, &self.policy, &self.approved, chain, round),
        )
        .await;
        OwncloudFirst { status, dav }
    }

    /// What the first round's answers mean: a server without ownCloud's status.php is not of
    /// this kind.
    pub(super) async fn probe_owncloud(&mut self, first: OwncloudFirst) -> Probed {
        let OwncloudFirst { status, dav } = first;
        let status = match status {
            Ok(Followed::Done { response, .. }) => match parse_status(&response) {
                Ok(status) => status,
                Err(not_owncloud) => return Probed::NotThisKind(not_owncloud),
            },
            // Without credentials nothing needs approval; kept total for safety.
            Ok(Followed::NeedsApproval { hop, .. }) => {
                return Probed::Recognised(Err(ConnectError::RedirectRefused(RedirectRefusal::NotApproved {
                    to: Origin::of(&hop.to),
                })))
            }
            Err(error) => return Probed::Recognised(Err(error)),
        };
        if let Some(reason) = status.not_ready() {
            return Probed::Recognised(Err(ConnectError::ServerNotReady { server: self.server.to_string(), reason }));
        }
        // The redirect is followed now that status.php says what the server is (the instance
        // round is planned for ownCloud, not for a Nextcloud that converts the password first).
        let dav = match dav {
            Ok(Hopped::Answered(followed)) => Ok((followed, None)),
            Ok(Hopped::Redirected { request, chain }) => self.follow_dav(&status, request, chain).await,
            Err(error) => Err(error),
        };
        Probed::Recognised(match dav {
            Ok((dav, answers)) => self.after_dav(status, dav, answers).await,
            Err(error) => Err(error),
        })
    }

    /// Sends a PROPFIND through the one redirect policy, each hop in a round of its own. Where a
    /// redirect led (to the same origin, or one the person approved for the credentials) the
    /// instance round goes beside it: the PROPFIND answering 207 there is the common case, and
    /// the credentials may go to that origin already. Any other answer drops those answers.
    async fn follow_dav(
        &self,
        status: &ServerStatus,
        mut request: HttpRequest,
        mut chain: RedirectChain,
    ) -> Result<(Followed, Option<InstanceAnswers>), ConnectError> {
        loop {
            let round = self.trace().next_round();
            let planned = self.instance_round_at(status, &request, &chain);
            let hop = self.http.send_hop(request, &self.policy, &self.approved, chain, round);
            let (hopped, answers) = match &planned {
                Some(planned) => {
                    let (hopped, answers) = futures_util::future::join(hop, planned.send(&self.http, round)).await;
                    (hopped, Some(answers))
                }
                None => (hop.await, None),
            };
            match hopped? {
                Hopped::Answered(followed) => return Ok((followed, answers)),
                Hopped::Redirected { request: next, chain: longer } => (request, chain) = (next, longer),
            }
        }
    }

    /// The instance round to send beside `request`, a PROPFIND a redirect retargeted: for an
    /// ownCloud server (a Nextcloud converts the password to an app password first), with the
    /// credentials, at the installation its WebDAV URL names.
    fn instance_round_at(
        &self,
        status: &ServerStatus,
        request: &HttpRequest,
        chain: &RedirectChain,
    ) -> Option<InstanceRound> {
        if chain.hops.is_empty() || nextcloud::is_nextcloud(status) || self.app_password {
            return None;
        }
        let credentials = self.credentials.as_ref().filter(|_| request.auth.is_some())?;
        let instance = owncloud::base_of_dav_url(&request.url)?;
        let to = if instance == self.server { Participant::Lookup } else { Participant::Instance };
        Some(InstanceRound::plan(instance, to, credentials))
    }

    /// Decides what the answer to a PROPFIND means: needs credentials, failed, redirected
    /// elsewhere (ask), or reached the instance (verify). Nextcloud without credentials logs in
    /// in the browser (Login Flow v2); with a password, the instance it reached converts it to an
    /// app password (wizard/nextcloud.rs).
    pub(super) async fn after_dav(
        &mut self,
        status: ServerStatus,
        followed: Followed,
        answers: Option<InstanceAnswers>,
    ) -> Result<Step, ConnectError> {
        let (response, chain) = match followed {
            Followed::NeedsApproval { hop, request, chain } => {
                let decision = confirm_redirect(&hop, Resent::Password, protocol_of(&status));
                self.phase = Phase::Owncloud(OwncloudPhase::AwaitApproval { status, hop, request, chain });
                return Ok(Step::Decide(decision));
            }
            Followed::Done { response, chain } => (response, chain),
        };
        let nextcloud = nextcloud::is_nextcloud(&status);
        if nextcloud && self.credentials.is_some() && !self.app_password && matches!(response.status, 207 | 401) {
            // Global Scale's node refuses the account password for WebDAV (401), as a server
            // with two-factor authentication does; getapppassword still takes it.
            let node = self.instance_of(&response.url, &chain)?;
            return self.convert_password(status, node, chain).await;
        }
        match response.status {
            207 => {
                owncloud::check_multistatus(&response.url, &response.body)?;
                let instance = self.instance_of(&response.url, &chain)?;
                self.verify(status, instance, chain, answers).await
            }
            401 => {
                let challenge = AuthChallenge::parse(&response.header_values("www-authenticate"));
                let server = Origin::of(&response.url).to_string();
                match (challenge, &self.credentials) {
                    (Some(AuthChallenge::Bearer), _) => self.start_browser_login(status).await,
                    (Some(AuthChallenge::Other { challenge }), _) if !nextcloud => {
                        Err(ConnectError::UnsupportedAuth { server, challenge })
                    }
                    (_, None) if nextcloud => self.start_login_flow(status).await,
                    (challenge, None) => {
                        let realm = match challenge {
                            Some(AuthChallenge::Basic { realm }) => realm,
                            _ => None,
                        };
                        let decision = self.needs_credentials(&status, realm.clone());
                        self.login_form = Some((status.clone(), realm.clone()));
                        self.phase = Phase::Owncloud(OwncloudPhase::NeedCredentials { status, realm });
                        Ok(decision)
                    }
                    (_, Some(credentials)) => Err(ConnectError::AuthFailed {
                        origin: Origin::of(&response.url),
                        user: credentials.user.clone(),
                        at: participant(&chain),
                    }),
                }
            }
            other => Err(unexpected(&response, other, "207 Multi-Status (or 401 asking for a login)")),
        }
    }

    /// At the instance: capabilities, user and avatar concurrently (the PROPFIND already
    /// answered 207), or their answers from the round beside that PROPFIND. The avatar is asked
    /// for under the login name; only if the instance reports another id is it asked for again.
    pub(super) async fn verify(
        &mut self,
        status: ServerStatus,
        instance: ServerUrl,
        chain: RedirectChain,
        answers: Option<InstanceAnswers>,
    ) -> Result<Step, ConnectError> {
        let credentials = self.held_credentials()?;
        self.step(StepName::Verify, StepAbout::VerifyingAt { server: instance.to_string() });
        let to = if instance == self.server { Participant::Lookup } else { Participant::Instance };
        let answers = match answers.filter(|answers| answers.instance == instance) {
            Some(answers) => answers,
            None => {
                let round = self.trace().next_round();
                InstanceRound::plan(instance.clone(), to, &credentials).send(&self.http, round).await
            }
        };
        let capabilities = self.expect_ok(answers.capabilities?, &credentials, &chain)?;
        let capabilities = Capabilities::parse(&capabilities.url, &capabilities.body)?;
        let user = self.expect_ok(answers.user?, &credentials, &chain)?;
        let user = OcsUser::parse(&user.url, &user.body)?;
        let avatar = if user.id == credentials.user {
            avatar_image(answers.avatar?)
        } else {
            let round = self.trace().next_round();
            let request = avatar_request(&instance, to, &credentials, &user.id);
            avatar_image(self.http.send(&request, round).await?)
        };
        let product = [&capabilities.product, &status.productname]
            .into_iter()
            .find(|p| !p.is_empty())
            .cloned()
            .unwrap_or_default();
        let version = [&capabilities.version, &status.versionstring]
            .into_iter()
            .find(|v| !v.is_empty())
            .cloned()
            .unwrap_or_default();
        let display_name = if user.display_name.is_empty() { user.id.clone() } else { user.display_name };
        let kind = match nextcloud::is_nextcloud(&status) || capabilities.product.eq_ignore_ascii_case("nextcloud") {
            true => AccountKind::Nextcloud,
            false => AccountKind::Owncloud,
        };
        // The keyring keeps what the instance accepted: an app password is never the password.
        let auth_method = if self.app_password { AuthMethod::AppPassword } else { AuthMethod::Basic };
        let account = Account {
            redirect_permanent: chain.is_permanent(),
            display_name,
            product,
            version,
            ..self.new_account(kind, auth_method, instance, credentials.user.clone(), user.id)
        };
        let account = match &self.reverify {
            Some(stored) => reverified(stored, account),
            None => account,
        };
        let trace = self.trace();
        Ok(Step::Connected(Box::new(Connected {
            account,
            secret: credentials.password,
            server: status,
            capabilities,
            client_certificate_password: self.client_certificate_password(),
            avatar,
            redirects: chain.hops,
            round_trips: trace.round_trips(),
            trace: trace.exchanges(),
        })))
    }

    fn expect_ok(
        &self,
        response: HttpResponse,
        credentials: &Credentials,
        chain: &RedirectChain,
    ) -> Result<HttpResponse, ConnectError> {
        match response.status {
            200 => Ok(response),
            401 => Err(ConnectError::AuthFailed {
                origin: Origin::of(&response.url),
                user: credentials.user.clone(),
                at: participant(chain),
            }),
            other => Err(unexpected(&response, other, "200 OK")),
        }
    }

    /// The installation a PROPFIND reached: the typed server when it answered there, else the
    /// DAV URL the redirects led to, minus its WebDAV path.
    fn instance_of(&self, url: &url::Url, chain: &RedirectChain) -> Result<ServerUrl, ConnectError> {
        if chain.hops.is_empty() && *url == owncloud::dav_url(&self.server) {
            return Ok(self.server.clone());
        }
        owncloud::base_of_dav_url(url).ok_or_else(|| ConnectError::InvalidResponse {
            url: url.to_string(),
            what: "redirect target",
            reason: "the redirect did not lead to a WebDAV URL (…/remote.php/webdav/)".into(),
        })
    }

    fn dav_request(&self, credentials: Option<Credentials>) -> HttpRequest {
        HttpRequest::new(owncloud::propfind(), owncloud::dav_url(&self.server), Participant::Lookup)
            .header("Depth", "0")
            .header("Content-Type", "application/xml; charset=utf-8")
            .body(owncloud::PROPFIND_BODY)
            .auth(credentials.into())
    }

    fn needs_credentials(&self, status: &ServerStatus, realm: Option<String>) -> Step {
        Step::Decide(Decision::NeedsCredentials {
            server: self.server.to_string(),
            realm,
            login_hint: self.login_hint(),
            product: status.describe(),
            browser_login: false,
            protocol: protocol_of(status),
        })
    }
}

/// Nextcloud's decisions say so; every other server of this family is ownCloud's.
fn protocol_of(status: &ServerStatus) -> Protocol {
    if nextcloud::is_nextcloud(status) {
        Protocol::Nextcloud
    } else {
        Protocol::Owncloud
    }
}

/// A re-verified ownCloud account: only a permanent redirect (301/308) moves it to another
/// instance (a new id, as ids follow the instance: store it with [`crate::AccountStore::update`]);
/// after a temporary one (302/307) it keeps its stored instance and id.
fn reverified(stored: &Account, mut account: Account) -> Account {
    account.created_at = stored.created_at;
    account.entered_address.clone_from(&stored.entered_address);
    if account.instance_url != stored.instance_url && !account.redirect_permanent {
        account.instance_url = stored.instance_url.clone();
        account.id.clone_from(&stored.id);
        account.redirect_permanent = stored.redirect_permanent;
    }
    account
}

fn parse_status(response: &HttpResponse) -> Result<ServerStatus, ConnectError> {
    match response.status {
        200 => ServerStatus::parse(&response.url, &response.body),
        other => Err(unexpected(response, other, "200 OK with ownCloud's status.php")),
    }
}

/// A 200 with an image is an avatar; 404 (none set) or anything else means initials.
fn avatar_image(response: HttpResponse) -> Option<Vec<u8>> {
    let is_image = response.header("content-type").is_some_and(|t| t.starts_with("image/"));
    (response.status == 200 && is_image && !response.body.is_empty()).then_some(response.body)
}
