//! `homeport connect`'s answers to the wizard's decisions: from the flags, or (at a terminal) the
//! person's; a decision nobody answered is declined with the flag that would have answered it.

use homeport_engine::oidc::InstanceLink;
use homeport_engine::{Answer, Answerer, ConnectError, Credentials, Decision, Origin, ServerUrl, Step, Wizard};

use super::ask;
use super::hints::{answer_hint, offered_instances};
use super::ConnectArgs;
use crate::client_cert;
use crate::output::{say, Failure};

/// The flags' answers to the decisions left after the up-front ones; a decision no flag answers
/// is declined, with the flag that would have answered it as the hint.
pub(super) struct FlagAnswerer<'a> {
    pub(super) args: &'a ConnectArgs,
    pub(super) json: bool,
    pub(super) auto_login: bool,
    /// With auto-login the credentials are for the IdP's form; they go to the server only if it asks.
    pub(super) held: Option<Credentials>,
    pub(super) instance_offered: bool,
    /// The login page the lookup server's login robot logs in at during the next step, and as whom.
    pub(super) robot: Option<(String, Credentials)>,
    /// The run ends with this instead of the decision's refusal (a flag is missing or refused).
    pub(super) failure: Option<Failure>,
    /// What to do about the declined decision, in words.
    pub(super) hint: Option<String>,
    /// A person is at the terminal and no flag says a script runs: decisions no flag answered
    /// are asked (docs/cli.md#at-a-terminal-homeport-asks).
    pub(super) interactive: bool,
    /// The login name known before any question (`--user`, or the address's).
    pub(super) user: Option<String>,
    /// Passwords asked so far (at most [`ask::PASSWORD_TRIES`]).
    pub(super) passwords_asked: u32,
}

impl FlagAnswerer<'_> {
    /// `--approve-issuer` names the provider's origin.
    fn issuer_approved(&self, issuer: &str) -> bool {
        let Ok(issuer) = url::Url::parse(issuer) else { return false };
        let wanted = Origin::of(&issuer);
        self.args.oidc.approve_issuer.iter().any(|origin| Origin::parse(origin).is_ok_and(|origin| origin == wanted))
    }
}

impl Answerer for FlagAnswerer<'_> {
    async fn answer(&mut self, decision: &Decision) -> Result<Answer, ConnectError> {
        let json = self.json;
        if self.interactive && !ask::flag_given(decision, self.args) {
            let tries_left =
                !matches!(decision, Decision::NeedsCredentials { .. }) || self.passwords_asked < ask::PASSWORD_TRIES;
            if matches!(decision, Decision::NeedsCredentials { .. }) {
                self.passwords_asked += 1;
            }
            if tries_left {
                if let Some(answer) = ask::ask(decision, self.user.as_deref(), self.args.browser, json).await {
                    return Ok(answer);
                }
            }
            self.hint = Some(answer_hint(decision, self.args));
            return Ok(Answer::Decline);
        }
        Ok(match decision {
            Decision::NeedsCredentials { .. } if self.held.is_some() => match self.held.take() {
                Some(credentials) => Answer::credentials(credentials),
                None => Answer::Decline,
            },
            Decision::OpenBrowser { issuer, issuer_elsewhere: true, .. } if !self.issuer_approved(issuer) => {
                self.hint = Some(answer_hint(decision, self.args));
                Answer::Decline
            }
            Decision::ConfirmUser { logged_in, .. }
                if self.args.oidc.continue_as.as_deref().is_some_and(|user| user.eq_ignore_ascii_case(logged_in)) =>
            {
                Answer::ContinueAsLoggedInUser
            }
            Decision::OpenBrowser { url, issuer, .. } if self.auto_login => {
                match auto_login_credentials(issuer, self.held.as_ref()) {
                    Ok(credentials) => {
                        if !json {
                            say!("  logging in at {issuer} as {} (auto-login) …\n", credentials.user);
                        }
                        self.robot = Some((url.clone(), credentials.clone()));
                        Answer::ContinueInBrowser
                    }
                    Err(failure) => {
                        self.failure = Some(failure);
                        Answer::Decline
                    }
                }
            }
            Decision::OpenBrowser { url, .. } if self.args.browser.is_some() => {
                ask::open_login_page(self.args.browser, url, json);
                Answer::ContinueInBrowser
            }
            Decision::ChooseInstance { instances } if self.args.instance.is_some() && !self.instance_offered => {
                self.instance_offered = true;
                match InstanceLink::named(instances, self.args.instance.as_deref().unwrap_or_default()) {
                    Some(found) => Answer::ChooseInstance { instance: found.url.clone() },
                    None => {
                        self.hint = Some(format!("--instance must be one of: {}", offered_instances(decision)));
                        Answer::Decline
                    }
                }
            }
            // --trust-cert answers for every server presenting that certificate on the way; each
            // is pinned at its own host:port (docs/cli.md).
            Decision::TrustCertificate { certificate, .. }
                if trusted_by_flag(&self.args.trust_cert, &certificate.sha256) =>
            {
                Answer::TrustCertificate { sha256: certificate.sha256.clone() }
            }
            // --client-cert answers for every server of the account that asks (docs/cli.md).
            Decision::ClientCertificate { .. } if self.args.client_cert.is_some() => {
                match client_cert::answer(self.args.client_cert.as_deref()) {
                    Ok(answer) => answer,
                    Err(failure) => {
                        self.failure = Some(failure);
                        Answer::Decline
                    }
                }
            }
            decision => {
                self.hint = Some(answer_hint(decision, self.args));
                Answer::Decline
            }
        })
    }

    async fn step(&mut self, wizard: &mut Wizard) -> Result<Step, ConnectError> {
        match self.robot.take() {
            Some((url, credentials)) => {
                homeport_scenario::next_with_browser_robot(wizard, &url, &credentials.user, &credentials.password).await
            }
            None => wizard.next().await,
        }
    }
}

/// Whether one of the `--trust-cert` fingerprints is `shown` (any way of writing it).
fn trusted_by_flag(flags: &[String], shown: &str) -> bool {
    let shown = homeport_engine::certificate::parse_fingerprint(shown);
    shown.is_some() && flags.iter().any(|flag| homeport_engine::certificate::parse_fingerprint(flag) == shown)
}

/// `--browser auto-login` needs the credentials, and logs in only at an identity provider on this
/// machine (the lookup server): it is a QA tool, not a way to send passwords to real sites.
fn auto_login_credentials<'c>(issuer: &str, credentials: Option<&'c Credentials>) -> Result<&'c Credentials, Failure> {
    let Some(credentials) = credentials else {
        return Err(Failure::bad_input("--browser auto-login needs --user NAME --password-stdin"));
    };
    let loopback =
        url::Url::parse(issuer).ok().and_then(|url| ServerUrl::from_url(url).ok()).is_some_and(|s| s.is_loopback());
    if !loopback {
        return Err(Failure::bad_input(
            format!("--browser auto-login only logs in at an identity provider on this machine (the lookup server), not at {issuer}: use --browser system or print"),
        ));
    }
    Ok(credentials)
}
