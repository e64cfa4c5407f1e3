//! The decision loop, once for every shell: the wizard returns a [`Decision`], the shell's
//! [`Answerer`] answers it (the CLI from its flags, a QA scenario from its answers, the desktop
//! app from its pages), [`Wizard::answer`] checks the answer against the decision it answers,
//! and the wizard goes on — until the account is verified or an answer declines.

use std::future::Future;

use serde::Deserialize;

use crate::address::{Origin, ServerUrl};
use crate::certificate::parse_fingerprint;
use crate::error::ConnectError;
use crate::secret::{Credentials, Secret};
use crate::wizard::{Connected, Decision, Step, Wizard};

/// The answer to the pending [`Decision`].
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Answer {
    /// For [`Decision::NeedsCredentials`].
    Credentials { user: String, password: Secret },
    /// For [`Decision::ConfirmRedirect`]: the login may go to `origin`.
    ApproveRedirect { origin: Origin },
    /// For [`Decision::ConfirmPlainHttp`]: plain http to the origin of its `url`, no other.
    AllowPlainHttp,
    /// For [`Decision::OpenBrowser`]: the login page is open in a browser (the shell opened it,
    /// or a robot logs in there); the wizard waits for its answer.
    ContinueInBrowser,
    /// For [`Decision::ConfirmUser`]: go on as the user the provider logged in.
    ContinueAsLoggedInUser,
    /// Instead of the password form: log in in the browser (Matrix SSO), when the server offers
    /// it. The answer is [`Decision::OpenBrowser`]; a server without SSO asks for the password again.
    UseBrowserLogin,
    /// The instance picked from [`Decision::ChooseInstance`].
    ChooseInstance { instance: ServerUrl },
    /// Trust the certificate of [`Decision::TrustCertificate`] for this account: `sha256` must be
    /// the fingerprint that was shown (the wizard then starts over and connects with it).
    TrustCertificate { sha256: String },
    /// For [`Decision::ClientCertificate`]: present the client certificate in this PKCS#12 file
    /// (opened with `password`) to the server that asked; the wizard then starts over with it.
    /// A password that does not open the file is refused
    /// ([`crate::client_certificate::ClientCertificateError::WrongPassword`]).
    ClientCertificate { file: String, password: Secret },
    /// No: the wizard ends with the decision's refusal ([`Decision::declined`]).
    Decline,
}

impl Answer {
    pub fn credentials(credentials: Credentials) -> Self {
        Answer::Credentials { user: credentials.user, password: credentials.password }
    }
}

/// Answers the wizard's decisions for [`drive`].
pub trait Answerer {
    /// The answer to `decision`. [`Answer::Decline`] ends the run with the decision's refusal;
    /// an error ends it with that error.
    fn answer(&mut self, decision: &Decision) -> impl Future<Output = Result<Answer, ConnectError>> + Send;

    /// Runs the wizard's next step: [`Wizard::next`], unless the answerer has something to do
    /// beside the wait (a login robot in the browser the wizard waits for).
    fn step(&mut self, wizard: &mut Wizard) -> impl Future<Output = Result<Step, ConnectError>> + Send {
        wizard.next()
    }

    /// The wizard refused the answer (a certificate other than the one shown): by default the
    /// run ends with `error`; an answerer that can ask again (the desktop's page stays open)
    /// returns `Ok` and is asked the same decision again.
    fn refused(&mut self, error: ConnectError) -> Result<(), ConnectError> {
        Err(error)
    }
}

/// Drives `wizard` to the end: each decision goes to `answerer`, its answer is checked and
/// applied ([`Wizard::answer`]), and the wizard goes on. Declining ends the run with the
/// decision's refusal; an answer the wizard refuses goes back to [`Answerer::refused`].
pub async fn drive(wizard: &mut Wizard, answerer: &mut impl Answerer) -> Result<Box<Connected>, ConnectError> {
    loop {
        let decision = match answerer.step(wizard).await? {
            Step::Connected(connected) => return Ok(connected),
            Step::Decide(decision) => decision,
        };
        loop {
            let answer = answerer.answer(&decision).await?;
            let declined = matches!(answer, Answer::Decline);
            match wizard.answer(answer) {
                Ok(()) => break,
                Err(error) if !declined => answerer.refused(error)?,
                Err(refusal) => return Err(refusal),
            }
        }
    }
}

impl Wizard {
    /// Applies `answer` to the decision the last [`Wizard::next`] returned, checked against it:
    /// a certificate is trusted only if it is the one that was shown. [`Answer::Decline`] is the
    /// decision's refusal, as an error. Credentials are also taken after a refused password
    /// (the wizard asks for them again then).
    pub fn answer(&mut self, answer: Answer) -> Result<(), ConnectError> {
        match answer {
            Answer::Credentials { user, password } => self.set_credentials(Credentials { user, password }),
            Answer::ApproveRedirect { origin } => self.approve_origin(origin),
            Answer::AllowPlainHttp => {
                // The origin of the URL that was shown, and only that one.
                let shown = match self.pending() {
                    Some(Decision::ConfirmPlainHttp { url }) => url::Url::parse(url).ok(),
                    _ => None,
                };
                let Some(shown) = shown else { return Err(ConnectError::Finished) };
                self.allow_plain_http(Origin::of(&shown));
            }
            Answer::ContinueInBrowser | Answer::ContinueAsLoggedInUser => {}
            Answer::UseBrowserLogin => self.prefer_browser_login(),
            Answer::ChooseInstance { instance } => self.choose_instance(instance),
            Answer::TrustCertificate { sha256 } => {
                // Only the certificate the person was shown: an answer for another one is
                // refused, not pinned.
                let shown = match self.pending() {
                    Some(Decision::TrustCertificate { certificate, .. }) => Some(certificate.sha256.clone()),
                    _ => None,
                };
                let shown = shown.filter(|shown| {
                    parse_fingerprint(shown).is_some_and(|shown| parse_fingerprint(&sha256) == Some(shown))
                });
                let Some(shown) = shown else { return Err(ConnectError::CertificateNotShown) };
                // As shown (the engine's spelling), so the account stores one form of it.
                self.trust_certificate(&shown)?;
            }
            Answer::ClientCertificate { file, password } => {
                self.use_client_certificate(std::path::Path::new(&file), &password)?
            }
            Answer::Decline => {
                return Err(match self.pending() {
                    Some(decision) => decision.declined(),
                    None => ConnectError::Finished,
                })
            }
        }
        Ok(())
    }
}
