//! The connection wizard: one state machine, probe → authenticate → discover → verify, driven by
//! the CLI, the desktop app and QA scripts alike. It never prompts: when a person must decide it
//! returns a [`Decision`], the caller answers (credentials, approvals) and calls [`Wizard::next`]
//! again. Storing the result is the caller's last step ([`crate::store::AccountStore::save`]).

use std::collections::HashSet;

use serde::Serialize;

use crate::account::{now_unix, Account, AccountKind, AuthMethod, MatrixInfo};
use crate::address::{Address, Origin, ServerUrl};
use crate::error::{snippet, ConnectError};
use crate::http::{Followed, HttpClient, HttpConfig, HttpRequest, HttpResponse};
use crate::oidc::{InstanceLink, LoginRequest, LoopbackCallback};
use crate::owncloud::{self, AuthChallenge, Capabilities, OcsUser, ServerStatus};
use crate::redirect::{Hop, RedirectChain, RedirectPolicy, RedirectRefusal};
use crate::secret::{Credentials, Secret};
use crate::tenant::{self, TenantProfile};
use crate::trace::{Exchange, Observer, Participant, Trace, WizardEvent};
use crate::wizard_matrix::{self, LoginOutcome, MatrixPhase, MatrixStart};
use crate::wizard_oidc::{self, BrowserLogin, OidcPhase, Session, StoredLogin};

#[derive(Clone, Default)]
pub struct WizardOptions {
    pub http: HttpConfig,
    /// Told about every step and exchange as it happens (the GUI's live diagram, progress).
    pub observer: Option<Observer>,
    /// Multitenant applications whose hosts name a tenant (seed 003).
    pub tenant_profiles: Vec<TenantProfile>,
}

/// The secret a redirect would carry to its new origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Resent {
    /// The user name and password (Basic, or a Matrix password login's body).
    Password,
    /// A Matrix SSO login token.
    LoginToken,
}

/// A question for the person (or the script) driving the wizard.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// The server is plain http and not on this machine: passwords would travel readable.
    /// Answer with [`Wizard::allow_plain_http`].
    ConfirmPlainHttp { url: String },
    /// Answer with [`Wizard::set_credentials`].
    NeedsCredentials {
        server: String,
        realm: Option<String>,
        login_hint: Option<String>,
        product: String,
        /// The server also offers a login in the browser (Matrix SSO): answer with
        /// [`Wizard::prefer_browser_login`] instead of credentials.
        browser_login: bool,
    },
    /// The server sends the login elsewhere; credentials go along only if approved with
    /// [`Wizard::approve_origin`].
    ConfirmRedirect {
        from: Origin,
        to: Origin,
        location: String,
        status: u16,
        permanent: bool,
        /// What following the redirect sends to `to`.
        resends: Resent,
    },
    /// Log in in the system browser at `url`, then call [`Wizard::next`]: it waits for the
    /// browser's answer on a loopback port (RFC 8252).
    OpenBrowser { url: String, issuer: String },
    /// The server names several instances for the account: answer with
    /// [`Wizard::choose_instance`].
    ChooseInstance { instances: Vec<InstanceLink> },
    /// The server's certificate is not issued by an authority this computer trusts (self-signed,
    /// a private CA). Trusting it pins exactly this certificate for this account: answer with
    /// [`Wizard::trust_certificate`] and `certificate.sha256`.
    TrustCertificate { url: String, certificate: crate::certificate::CertificateInfo },
}

impl Decision {
    /// What declining this decision means, as an error.
    pub fn declined(&self) -> ConnectError {
        match self {
            Decision::ConfirmPlainHttp { url } => ConnectError::PlainHttpRefused { url: url.clone() },
            Decision::NeedsCredentials { server, .. } => ConnectError::CredentialsRequired { server: server.clone() },
            Decision::ConfirmRedirect { to, .. } => {
                ConnectError::RedirectRefused(RedirectRefusal::NotApproved { to: to.clone() })
            }
            Decision::OpenBrowser { .. } => {
                ConnectError::LoginRefused { reason: "the login in the browser was not started".into() }
            }
            Decision::ChooseInstance { instances } => ConnectError::InstanceNotChosen { offered: instances.len() },
            Decision::TrustCertificate { url, certificate } => {
                ConnectError::CertificateUntrusted { url: url.clone(), certificate: Box::new(certificate.clone()) }
            }
        }
    }
}

#[derive(Debug)]
pub enum Step {
    Decide(Decision),
    Connected(Box<Connected>),
}

/// A verified account, ready to be stored.
#[derive(Debug)]
pub struct Connected {
    pub account: Account,
    pub secret: Secret,
    /// status.php of the server that was asked first.
    pub server: ServerStatus,
    pub capabilities: Capabilities,
    /// PNG bytes, or None: show initials.
    pub avatar: Option<Vec<u8>>,
    pub redirects: Vec<Hop>,
    pub round_trips: u32,
    pub trace: Vec<Exchange>,
}

// One per wizard: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Phase {
    Probe,
    NeedCredentials {
        status: ServerStatus,
        realm: Option<String>,
    },
    AwaitApproval {
        status: ServerStatus,
        hop: Hop,
        request: HttpRequest,
        chain: RedirectChain,
    },
    Oidc(OidcPhase),
    /// A Matrix ID was typed: only Matrix discovery applies.
    MatrixDiscover,
    Matrix(MatrixPhase),
    Finished,
}

pub struct Wizard {
    entered: String,
    address: Address,
    server: ServerUrl,
    http: HttpClient,
    policy: RedirectPolicy,
    approved: HashSet<Origin>,
    credentials: Option<Credentials>,
    /// What the login form was asked with, so a wrong password can ask again.
    login_form: Option<(ServerStatus, Option<String>)>,
    /// The instance the person picked when WebFinger offered several.
    chosen_instance: Option<ServerUrl>,
    /// The tenant the host names, and its identity zone's issuer (seed 003).
    tenant: Option<(String, String)>,
    /// Log in in the browser (SSO) when the server offers both that and a password.
    prefer_browser: bool,
    /// The Matrix server whose password form was shown, so a wrong password can ask again.
    matrix_form: Option<MatrixStart>,
    /// Whether an untrusted certificate may become a decision that restarts the wizard: a new
    /// connection or an ownCloud re-verify may; a stored OIDC/Matrix login is resumed, not redone.
    restartable: bool,
    /// The stored account a re-verify checks ([`Wizard::for_account`]).
    reverify: Option<Box<Account>>,
    /// The decision the last [`Wizard::next`] returned, until it is answered: an answer is
    /// checked against it (a fingerprint other than the one shown is not trusted).
    pending: Option<Decision>,
    phase: Phase,
}

impl Wizard {
    pub fn new(input: &str, options: WizardOptions) -> Result<Self, ConnectError> {
        let address = Address::parse(input)?;
        let server = address.server()?;
        let trace = Trace::new(options.observer);
        let tenant = options
            .tenant_profiles
            .iter()
            .find_map(|profile| profile.tenant_of(&server).map(|tenant| (tenant.clone(), profile.issuer_for(&tenant))));
        let phase = match address {
            Address::Account { matrix: true, .. } => Phase::MatrixDiscover,
            _ => Phase::Probe,
        };
        Ok(Wizard {
            entered: input.trim().to_owned(),
            address,
            server,
            http: HttpClient::new(options.http, trace)?,
            policy: RedirectPolicy::default(),
            approved: HashSet::new(),
            credentials: None,
            login_form: None,
            chosen_instance: None,
            tenant,
            prefer_browser: false,
            matrix_form: None,
            restartable: true,
            reverify: None,
            pending: None,
            phase,
        })
    }

    /// A wizard that checks a stored account again: its saved credentials go to the server the
    /// person entered, and the instance it was stored with is already approved.
    ///
    /// An OpenID Connect account's secret is its refresh token: the wizard refreshes the login at
    /// the stored issuer and verifies at the stored instance; a refused refresh token is
    /// [`ConnectError::LoginExpired`] (log in again). The new refresh token (providers rotate
    /// them) is [`Connected::secret`]: store it.
    pub fn for_account(account: &Account, password: Secret, options: WizardOptions) -> Result<Self, ConnectError> {
        let mut options = options;
        // The certificates trusted for this account, and only those, are trusted again.
        options.http.pinned_certificates.extend(account.trusted_certificates.iter().cloned());
        let mut wizard = Wizard::new(&account.entered_address, options)?;
        // A resumed OIDC/Matrix login cannot restart from the probe; an ownCloud re-verify can.
        wizard.restartable =
            !matches!(account.auth_method, AuthMethod::Oidc | AuthMethod::MatrixPassword | AuthMethod::MatrixSso);
        if matches!(account.auth_method, AuthMethod::MatrixPassword | AuthMethod::MatrixSso) {
            let access_token = wizard_matrix::access_token_of(&password).ok_or_else(|| ConnectError::LoginExpired {
                reason: "the keyring holds no Matrix access token".into(),
            })?;
            wizard.phase = Phase::Matrix(MatrixPhase::Resume {
                account: Box::new(account.clone()),
                access_token,
                secret: password,
            });
            return Ok(wizard);
        }
        if let (AuthMethod::Oidc, Some(oidc)) = (account.auth_method, &account.oidc) {
            wizard.tenant = account.tenant.as_ref().map(|tenant| (tenant.tenant.clone(), oidc.issuer.clone()));
            let status = ServerStatus {
                installed: true,
                productname: account.product.clone(),
                versionstring: account.version.clone(),
                ..ServerStatus::default()
            };
            let claims = crate::oidc::IdClaims {
                iss: oidc.issuer.clone(),
                sub: account.user_id.clone(),
                name: Some(account.display_name.clone()),
                preferred_username: Some(account.login_name.clone()),
                email: None,
                nonce: None,
                zid: account.tenant.as_ref().map(|tenant| tenant.zone_id.clone()),
            };
            wizard.phase = Phase::Oidc(OidcPhase::Resume(Box::new(StoredLogin {
                status,
                issuer: oidc.issuer.clone(),
                client_id: oidc.client_id.clone(),
                refresh_token: password,
                claims,
                instance: account.instance_url.clone(),
            })));
            return Ok(wizard);
        }
        wizard.set_credentials(Credentials { user: account.login_name.clone(), password });
        wizard.approve_origin(Origin::of(account.instance_url.as_url()));
        wizard.reverify = Some(Box::new(account.clone()));
        if account.server_url.is_plain_http() && !account.server_url.is_loopback() {
            // The person allowed plain http when the account was added.
            wizard.allow_plain_http();
        }
        Ok(wizard)
    }

    pub fn server(&self) -> &ServerUrl {
        &self.server
    }

    pub fn trace(&self) -> &Trace {
        self.http.trace()
    }

    /// The login name the address already implies (`https://alice@host`, `alice@host`).
    pub fn login_hint(&self) -> Option<String> {
        match &self.address {
            Address::Server { login_hint, .. } => login_hint.clone(),
            Address::Account { .. } => Some(self.entered.clone()),
        }
    }

    /// Credentials known before the first step are sent with the first PROPFIND (saving a round
    /// trip, as `curl -u` does); the server URL was already checked against the plain-http rule.
    pub fn set_credentials(&mut self, credentials: Credentials) {
        self.credentials = Some(credentials);
    }

    /// Credentials may be sent to `origin` when a redirect leads there.
    pub fn approve_origin(&mut self, origin: Origin) {
        self.approved.insert(origin);
    }

    /// Answers [`Decision::ChooseInstance`].
    pub fn choose_instance(&mut self, instance: ServerUrl) {
        self.chosen_instance = Some(instance);
    }

    /// Answers [`Decision::TrustCertificate`]: this exact certificate (its SHA-256) is trusted for
    /// this connection and stored with the account; the wizard then starts over with it.
    pub fn trust_certificate(&mut self, sha256: &str) -> Result<(), ConnectError> {
        let Some(pin) = crate::certificate::normalize_fingerprint(sha256) else {
            return Err(ConnectError::Tls {
                url: self.server.to_string(),
                reason: format!("{sha256:?} is not a SHA-256 fingerprint"),
            });
        };
        self.http = self.http.with_pins(&[pin])?;
        Ok(())
    }

    /// When a server offers both a password and a login in the browser (Matrix SSO), use the
    /// browser.
    pub fn prefer_browser_login(&mut self) {
        self.prefer_browser = true;
    }

    /// Plain http to a non-loopback host is accepted for this connection.
    pub fn allow_plain_http(&mut self) {
        self.policy.allow_plain_http = true;
    }

    /// Runs until the account is verified or a person must decide.
    /// A wrong password typed into the login form is not the end: the wizard asks for
    /// credentials again (approved redirects stay approved). Any other error finishes it.
    pub async fn next(&mut self) -> Result<Step, ConnectError> {
        let result = self.next_step().await;
        self.pending = match &result {
            Ok(Step::Decide(decision)) => Some(decision.clone()),
            _ => None,
        };
        result
    }

    /// The decision waiting for an answer, if the last [`Wizard::next`] returned one.
    pub fn pending(&self) -> Option<&Decision> {
        self.pending.as_ref()
    }

    async fn next_step(&mut self) -> Result<Step, ConnectError> {
        let result = match self.advance().await {
            // Why restart: the untrusted server may be met anywhere (central, instance, IdP); once
            // trusted, the run starts over with the approvals and answers it already has.
            Err(ConnectError::CertificateUntrusted { url, certificate }) if self.restartable => {
                self.phase = match self.address {
                    Address::Account { matrix: true, .. } => Phase::MatrixDiscover,
                    _ => Phase::Probe,
                };
                return Ok(Step::Decide(Decision::TrustCertificate { url, certificate: *certificate }));
            }
            other => other,
        };
        if let Err(error) = &result {
            self.phase = match (error, self.login_form.clone()) {
                (ConnectError::AuthFailed { .. }, _) if self.matrix_form.is_some() && self.credentials.is_some() => {
                    self.credentials = None;
                    match self.matrix_form.clone() {
                        Some(start) => Phase::Matrix(MatrixPhase::NeedCredentials(start)),
                        None => Phase::Finished,
                    }
                }
                (ConnectError::AuthFailed { .. }, Some((status, realm))) => {
                    self.credentials = None;
                    Phase::NeedCredentials { status, realm }
                }
                _ => Phase::Finished,
            };
        }
        result
    }

    async fn advance(&mut self) -> Result<Step, ConnectError> {
        match std::mem::replace(&mut self.phase, Phase::Finished) {
            Phase::Probe => self.probe().await,
            Phase::NeedCredentials { status, realm } => {
                let Some(credentials) = self.credentials.clone() else {
                    let decision = self.needs_credentials(&status, realm.clone());
                    self.phase = Phase::NeedCredentials { status, realm };
                    return Ok(decision);
                };
                self.step("authenticate", format!("logging in as {}", credentials.user));
                let request = self.dav_request(Some(credentials));
                let chain = RedirectChain::starting_at(&request.method, &request.url);
                let round = self.trace().next_round();
                let followed = self.http.send_following(request, &self.policy, &self.approved, chain, round).await?;
                self.after_dav(status, followed).await
            }
            Phase::AwaitApproval { status, hop, request, mut chain } => {
                if !self.approved.contains(&Origin::of(&hop.to)) {
                    let decision = confirm_redirect(&hop, Resent::Password);
                    self.phase = Phase::AwaitApproval { status, hop, request, chain };
                    return Ok(Step::Decide(decision));
                }
                self.step("discover", format!("following the redirect to {}", Origin::of(&hop.to)));
                chain.push(hop);
                let round = self.trace().next_round();
                let followed = self.http.send_following(request, &self.policy, &self.approved, chain, round).await?;
                self.after_dav(status, followed).await
            }
            Phase::Oidc(OidcPhase::Browser(login)) => {
                self.step("authenticate", "waiting for the login in your browser".into());
                let status = login.status.clone();
                let session = wizard_oidc::finish_login(&self.http, *login).await.map_err(|error| {
                    match (error, &self.tenant) {
                        // The zone refuses to log anyone in for a tenant that is not subscribed (seed 003).
                        (ConnectError::BrowserLoginFailed { error, description }, Some((tenant, _)))
                            if error == "unauthorized_client" || error == "access_denied" =>
                        {
                            ConnectError::TenantRefused {
                                tenant: tenant.clone(),
                                reason: if description.is_empty() { error } else { description },
                            }
                        }
                        (error, _) => error,
                    }
                })?;
                if self.tenant.is_some() {
                    // The approuter serves every tenant itself: no instance to discover.
                    let server = self.server.clone();
                    return self.verify_bearer(status, session, server, false).await;
                }
                self.step("discover", format!("asking {} where the account lives", self.server));
                let instances = wizard_oidc::find_instances(&self.http, &self.server, &session).await?;
                self.after_instances(status, Box::new(session), instances).await
            }
            Phase::Oidc(OidcPhase::ChooseInstance { status, session, instances }) => {
                self.after_instances(status, session, instances).await
            }
            Phase::Oidc(OidcPhase::Resume(stored)) => {
                let StoredLogin { status, issuer, client_id, refresh_token, claims, instance } = *stored;
                self.step("authenticate", format!("refreshing the login at {issuer}"));
                let session = wizard_oidc::resume(&self.http, &issuer, &client_id, refresh_token, claims).await?;
                self.verify_bearer(status, session, instance, true).await
            }
            Phase::MatrixDiscover => {
                self.step("probe", format!("looking up the Matrix server {}", self.server));
                match wizard_matrix::discover(&self.http, &self.server, self.policy.allow_plain_http).await? {
                    Some(start) => self.matrix_login(start).await,
                    None => Err(ConnectError::InvalidResponse {
                        url: self.server.to_string(),
                        what: "Matrix server",
                        reason: "it answers neither the Matrix well-known document nor /_matrix/client/versions".into(),
                    }),
                }
            }
            Phase::Matrix(MatrixPhase::NeedCredentials(start)) => self.matrix_login(start).await,
            Phase::Matrix(MatrixPhase::AwaitApproval { start, hop, request, mut chain, sso }) => {
                if !self.approved.contains(&Origin::of(&hop.to)) {
                    let decision = confirm_redirect(&hop, matrix_resent(sso));
                    self.phase = Phase::Matrix(MatrixPhase::AwaitApproval { start, hop, request, chain, sso });
                    return Ok(Step::Decide(decision));
                }
                self.step("discover", format!("following the portal to {}", Origin::of(&hop.to)));
                chain.push(hop);
                let round = self.trace().next_round();
                let followed = self.http.send_following(request, &self.policy, &self.approved, chain, round).await?;
                let user = self.credentials.as_ref().map(|c| matrix_user(&c.user)).unwrap_or_default();
                match self.matrix_followed(start, followed, sso, &user).await? {
                    MatrixNext::Step(step) => Ok(step),
                    MatrixNext::RateLimited { retry_after_ms } => Err(ConnectError::RateLimited {
                        server: Origin::of(self.server.as_url()).to_string(),
                        retry_after_ms,
                    }),
                }
            }
            Phase::Matrix(MatrixPhase::Browser { start, callback }) => {
                self.step("authenticate", "waiting for the login in your browser".into());
                let target = callback.receive(wizard_oidc::BROWSER_LOGIN_TIMEOUT).await?;
                let token = crate::matrix::login_token_from_callback(&target)?;
                let request = wizard_matrix::login_request(&start, crate::matrix::token_login_body(token.expose()));
                self.matrix_send(start, request, true, String::new()).await
            }
            Phase::Matrix(MatrixPhase::Resume { account, access_token, secret }) => {
                let base = account.instance_url.clone();
                self.step("verify", format!("checking the login at {base}"));
                let (user_id, _) = wizard_matrix::whoami(&self.http, &base, &access_token).await?;
                if user_id != account.user_id {
                    return Err(ConnectError::LoginExpired {
                        reason: format!("{base} says the stored token belongs to {user_id}"),
                    });
                }
                let mut account = *account;
                account.verified_at = now_unix();
                let status = ServerStatus {
                    installed: true,
                    productname: account.product.clone(),
                    versionstring: account.version.clone(),
                    ..ServerStatus::default()
                };
                Ok(self.connected(account, secret, status, Vec::new()))
            }
            Phase::Finished => Err(ConnectError::Finished),
        }
    }

    /// A Matrix server was found: log in with the password, in the browser (SSO), or ask.
    async fn matrix_login(&mut self, start: MatrixStart) -> Result<Step, ConnectError> {
        if start.flows.password {
            self.matrix_form = Some(start.clone());
        }
        let use_browser = start.flows.sso && (self.prefer_browser || !start.flows.password);
        if let (Some(credentials), true, false) = (self.credentials.clone(), start.flows.password, use_browser) {
            let user = matrix_user(&credentials.user);
            self.step("authenticate", format!("logging in at {} as {user}", start.base));
            let body = crate::matrix::password_login_body(&user, credentials.password.expose());
            let request = wizard_matrix::login_request(&start, body);
            return self.matrix_send(start, request, false, user).await;
        }
        if use_browser {
            let callback = LoopbackCallback::bind().await?;
            let url = crate::matrix::sso_redirect_url(&start.base, callback.redirect_uri());
            let decision = Decision::OpenBrowser { url: url.to_string(), issuer: start.base.to_string() };
            self.phase = Phase::Matrix(MatrixPhase::Browser { start, callback });
            return Ok(Step::Decide(decision));
        }
        if start.flows.password {
            let decision = Decision::NeedsCredentials {
                server: start.base.to_string(),
                realm: None,
                login_hint: self.login_hint().map(|hint| matrix_user(&hint)),
                product: format!("Matrix (client-server API {})", start.version),
                browser_login: start.flows.sso,
            };
            self.phase = Phase::Matrix(MatrixPhase::NeedCredentials(start));
            return Ok(Step::Decide(decision));
        }
        Err(ConnectError::UnsupportedAuth {
            server: start.base.to_string(),
            challenge: "the server offers neither a password nor a browser login".into(),
        })
    }

    /// Sends a login; a rate limit is waited out once, visibly, then the login is sent again.
    async fn matrix_send(
        &mut self,
        start: MatrixStart,
        request: HttpRequest,
        sso: bool,
        user: String,
    ) -> Result<Step, ConnectError> {
        let mut retried = false;
        loop {
            let chain = RedirectChain::starting_at(&request.method, &request.url);
            let round = self.trace().next_round();
            let followed =
                self.http.send_following(request.clone(), &self.policy, &self.approved, chain, round).await?;
            match self.matrix_followed(start.clone(), followed, sso, &user).await? {
                MatrixNext::Step(step) => return Ok(step),
                MatrixNext::RateLimited { retry_after_ms } if !retried => {
                    self.step(
                        "authenticate",
                        format!(
                            "{} asks to wait {retry_after_ms} ms before logging in: waiting, then trying once more",
                            start.base
                        ),
                    );
                    tokio::time::sleep(std::time::Duration::from_millis(retry_after_ms)).await;
                    retried = true;
                }
                MatrixNext::RateLimited { retry_after_ms } => {
                    return Err(ConnectError::RateLimited { server: start.base.to_string(), retry_after_ms })
                }
            }
        }
    }

    /// The answer to a login, after the redirect policy: approval needed, logged in (verify at
    /// the homeserver the answer names), or a rate limit.
    async fn matrix_followed(
        &mut self,
        start: MatrixStart,
        followed: Followed,
        sso: bool,
        user: &str,
    ) -> Result<MatrixNext, ConnectError> {
        let (response, chain) = match followed {
            Followed::NeedsApproval { hop, request, chain } => {
                let decision = confirm_redirect(&hop, matrix_resent(sso));
                self.phase = Phase::Matrix(MatrixPhase::AwaitApproval { start, hop, request, chain, sso });
                return Ok(MatrixNext::Step(Step::Decide(decision)));
            }
            Followed::Done { response, chain } => (response, chain),
        };
        let answer = match wizard_matrix::login_outcome(&response, user, participant(&chain))? {
            LoginOutcome::LoggedIn(answer) => answer,
            LoginOutcome::RateLimited { retry_after_ms } => return Ok(MatrixNext::RateLimited { retry_after_ms }),
        };
        let answered_by = wizard_matrix::base_of_login_url(&response).unwrap_or_else(|| start.base.clone());
        let base = match answer.base.clone() {
            Some(named) if Origin::of(named.as_url()) != Origin::of(answered_by.as_url()) => {
                if named.is_plain_http() && !named.is_loopback() && !self.policy.allow_plain_http {
                    return Err(ConnectError::PlainHttpRefused { url: named.to_string() });
                }
                self.step("discover", format!("the portal sends Homeport to {named} from now on"));
                wizard_matrix::check_homeserver(&self.http, &named).await?;
                named
            }
            Some(named) => named,
            None => answered_by,
        };
        self.step("verify", format!("verifying the account at {base}"));
        let access = Secret::new(answer.access_token.clone());
        let ((user_id, device_id), name) =
            wizard_matrix::whoami_and_name(&self.http, &base, &access, &answer.user_id).await?;
        if user_id != answer.user_id {
            return Err(ConnectError::InvalidResponse {
                url: base.join(crate::matrix::WHOAMI_PATH).to_string(),
                what: "Matrix whoami answer",
                reason: format!("the token belongs to {user_id}, but the login was for {}", answer.user_id),
            });
        }
        let now = now_unix();
        let localpart = crate::matrix::localpart(&user_id).to_owned();
        let account = Account {
            id: Account::id_for(AccountKind::Matrix, &base, &user_id),
            kind: AccountKind::Matrix,
            entered_address: self.entered.clone(),
            server_url: start.base.clone(),
            instance_url: base,
            redirect_permanent: false,
            login_name: localpart.clone(),
            user_id,
            display_name: name.unwrap_or(localpart),
            auth_method: if sso { AuthMethod::MatrixSso } else { AuthMethod::MatrixPassword },
            product: "Matrix".into(),
            version: start.version.clone(),
            trusted_certificates: self.http.config().pinned_certificates.clone(),
            created_at: now,
            verified_at: now,
            tenant: None,
            oidc: None,
            matrix: Some(MatrixInfo { device_id: device_id.unwrap_or(answer.device_id.clone()) }),
        };
        let status = ServerStatus {
            installed: true,
            productname: "Matrix".into(),
            versionstring: start.version.clone(),
            ..ServerStatus::default()
        };
        Ok(MatrixNext::Step(self.connected(account, wizard_matrix::tokens_secret(&answer), status, chain.hops)))
    }

    /// A Bearer challenge: find the provider, register, and ask to open the browser.
    async fn start_browser_login(&mut self, status: ServerStatus) -> Result<Step, ConnectError> {
        self.step(
            "authenticate",
            format!("{} logs in with OpenID Connect: finding its identity provider", self.server),
        );
        let metadata = match &self.tenant {
            // The host named the tenant: its identity zone is the issuer (seed 003), no WebFinger.
            Some((_, zone)) => wizard_oidc::provider_at(&self.http, zone).await?,
            None => wizard_oidc::discover_provider(&self.http, &self.server).await?,
        };
        let callback = LoopbackCallback::bind().await?;
        let client_id = wizard_oidc::client_id(&self.http, &metadata, callback.redirect_uri()).await?;
        let login = LoginRequest::new(&metadata, &client_id, callback.redirect_uri(), &wizard_oidc::SCOPES);
        let decision = Decision::OpenBrowser { url: login.url.to_string(), issuer: metadata.issuer.clone() };
        self.phase =
            Phase::Oidc(OidcPhase::Browser(Box::new(BrowserLogin { status, metadata, client_id, login, callback })));
        Ok(Step::Decide(decision))
    }

    /// One instance: verify there. Several: the person chooses (once chosen, verify).
    async fn after_instances(
        &mut self,
        status: ServerStatus,
        session: Box<Session>,
        instances: Vec<InstanceLink>,
    ) -> Result<Step, ConnectError> {
        let chosen = match instances.as_slice() {
            [only] => Some(only.url.clone()),
            _ => self.chosen_instance.clone().filter(|chosen| instances.iter().any(|i| &i.url == chosen)),
        };
        let Some(instance) = chosen else {
            let decision = Decision::ChooseInstance { instances: instances.clone() };
            self.phase = Phase::Oidc(OidcPhase::ChooseInstance { status, session, instances });
            return Ok(Step::Decide(decision));
        };
        self.verify_bearer(status, *session, instance, false).await
    }

    /// At the oCIS instance: a bearer PROPFIND (refreshing the token once if it expired), then
    /// the user's name from OCS.
    async fn verify_bearer(
        &mut self,
        status: ServerStatus,
        mut session: Session,
        instance: ServerUrl,
        mut refreshed: bool,
    ) -> Result<Step, ConnectError> {
        // A WebFinger answer may not send the bearer token over plain http to another host.
        if instance.is_plain_http() && !instance.is_loopback() && !self.policy.allow_plain_http {
            return Err(ConnectError::PlainHttpRefused { url: instance.to_string() });
        }
        self.step("verify", format!("verifying the account at {instance}"));
        loop {
            let request = HttpRequest::new(owncloud::propfind(), owncloud::dav_url(&instance), Participant::Instance)
                .header("Depth", "0")
                .header("Content-Type", "application/xml; charset=utf-8")
                .header("Authorization", format!("Bearer {}", session.tokens.access.expose()))
                .body(owncloud::PROPFIND_BODY);
            let response = self.http.send(&request, self.trace().next_round()).await?;
            match response.status {
                207 => {
                    owncloud::check_multistatus(&response.url, &response.body)?;
                    break;
                }
                401 => {
                    let challenge = response.header_values("www-authenticate").join(", ");
                    if challenge.to_ascii_lowercase().contains("disabled") {
                        return Err(ConnectError::AccountDisabled { server: Origin::of(&response.url).to_string() });
                    }
                    if refreshed || !challenge.contains("invalid_token") {
                        return Err(ConnectError::LoginExpired { reason: format!("{instance} refused the token") });
                    }
                    self.step("authenticate", "the access token expired: refreshing it".into());
                    wizard_oidc::refresh(&self.http, &mut session).await?;
                    refreshed = true;
                }
                other => return Err(unexpected(&response, other, "207 Multi-Status")),
            }
        }
        let claims = &session.tokens.claims;
        let login_name = claims.preferred_username.clone().unwrap_or_else(|| claims.sub.clone());
        let user_request =
            HttpRequest::new(reqwest::Method::GET, instance.join(owncloud::USER_PATH), Participant::Instance)
                .header("OCS-APIRequest", "true")
                .header("Accept", "application/json")
                .header("Authorization", format!("Bearer {}", session.tokens.access.expose()));
        let user = self.http.send(&user_request, self.trace().next_round()).await?;
        // Why optional: the PROPFIND already proved the account; OCS only adds the name.
        let ocs_user = if user.status == 200 { OcsUser::parse(&user.url, &user.body).ok() } else { None };
        let display_name = ocs_user
            .as_ref()
            .map(|u| u.display_name.clone())
            .filter(|name| !name.is_empty())
            .or_else(|| claims.name.clone())
            .unwrap_or_else(|| login_name.clone());
        let user_id = ocs_user.map(|u| u.id).unwrap_or_else(|| login_name.clone());
        let now = now_unix();
        let tenant = self.tenant.as_ref().map(|(tenant, _)| crate::account::TenantInfo {
            tenant: tenant.clone(),
            zone_id: claims.zid.clone().unwrap_or_default(),
            scopes: tenant::application_scopes(&session.tokens.scopes),
        });
        let kind = if tenant.is_some() { AccountKind::TenantOidc } else { AccountKind::Ocis };
        let account = Account {
            id: Account::id_for(kind, &instance, &login_name),
            kind,
            entered_address: self.entered.clone(),
            server_url: self.server.clone(),
            instance_url: instance,
            redirect_permanent: false,
            login_name,
            user_id,
            display_name,
            auth_method: AuthMethod::Oidc,
            product: if status.productname.is_empty() {
                "ownCloud Infinite Scale".into()
            } else {
                status.productname.clone()
            },
            version: status.versionstring.clone(),
            trusted_certificates: self.http.config().pinned_certificates.clone(),
            created_at: now,
            verified_at: now,
            tenant,
            oidc: Some(crate::account::OidcInfo {
                issuer: session.metadata.issuer.clone(),
                client_id: session.client_id.clone(),
            }),
            matrix: None,
        };
        let secret = session.tokens.refresh.clone().unwrap_or_else(|| session.tokens.access.clone());
        Ok(self.connected(account, secret, status, Vec::new()))
    }

    /// The verified account of a path without ownCloud's capabilities and avatar.
    fn connected(&self, account: Account, secret: Secret, server: ServerStatus, redirects: Vec<Hop>) -> Step {
        let trace = self.trace();
        Step::Connected(Box::new(Connected {
            account,
            secret,
            server,
            capabilities: Capabilities::default(),
            avatar: None,
            redirects,
            round_trips: trace.round_trips(),
            trace: trace.exchanges(),
        }))
    }

    /// status.php and the first PROPFIND, concurrently: one round trip.
    async fn probe(&mut self) -> Result<Step, ConnectError> {
        if self.server.is_plain_http() && !self.server.is_loopback() && !self.policy.allow_plain_http {
            self.phase = Phase::Probe;
            return Ok(Step::Decide(Decision::ConfirmPlainHttp { url: self.server.to_string() }));
        }
        let detail = match &self.credentials {
            Some(credentials) => format!("checking {} and logging in as {}", self.server, credentials.user),
            None => format!("checking {}", self.server),
        };
        self.step("probe", detail);
        let status_url = self.server.join(owncloud::STATUS_PATH);
        let status_request = HttpRequest::new(reqwest::Method::GET, status_url.clone(), Participant::Lookup);
        let dav_request = self.dav_request(self.credentials.clone());
        let round = self.trace().next_round();
        let status_chain = RedirectChain::starting_at(&status_request.method, &status_url);
        let dav_chain = RedirectChain::starting_at(&dav_request.method, &dav_request.url);
        let (status, dav) = futures_util::future::join(
            self.http.send_following(status_request, &self.policy, &self.approved, status_chain, round),
            self.http.send_following(dav_request, &self.policy, &self.approved, dav_chain, round),
        )
        .await;
        let status = match status? {
            Followed::Done { response, .. } => match parse_status(&response) {
                Ok(status) => status,
                Err(not_owncloud) => {
                    // Why: a server without ownCloud's status.php may be a Matrix server; the
                    // flavour is read from the answers, the person need not say which.
                    return match wizard_matrix::discover(&self.http, &self.server, self.policy.allow_plain_http).await {
                        Ok(Some(start)) => self.matrix_login(start).await,
                        _ => Err(not_owncloud),
                    };
                }
            },
            // Without credentials nothing needs approval; kept total for safety.
            Followed::NeedsApproval { hop, .. } => {
                return Err(ConnectError::RedirectRefused(RedirectRefusal::NotApproved { to: Origin::of(&hop.to) }))
            }
        };
        if let Some(reason) = status.not_ready() {
            return Err(ConnectError::ServerNotReady { server: self.server.to_string(), reason });
        }
        self.after_dav(status, dav?).await
    }

    /// Decides what the answer to a PROPFIND means: needs credentials, failed, redirected
    /// elsewhere (ask), or reached the instance (verify).
    async fn after_dav(&mut self, status: ServerStatus, followed: Followed) -> Result<Step, ConnectError> {
        let (response, chain) = match followed {
            Followed::NeedsApproval { hop, request, chain } => {
                let decision = confirm_redirect(&hop, Resent::Password);
                self.phase = Phase::AwaitApproval { status, hop, request, chain };
                return Ok(Step::Decide(decision));
            }
            Followed::Done { response, chain } => (response, chain),
        };
        match response.status {
            207 => {
                owncloud::check_multistatus(&response.url, &response.body)?;
                let instance = if chain.hops.is_empty() {
                    self.server.clone()
                } else {
                    owncloud::base_of_dav_url(&response.url).ok_or_else(|| ConnectError::InvalidResponse {
                        url: response.url.to_string(),
                        what: "redirect target",
                        reason: "the redirect did not lead to a WebDAV URL (…/remote.php/webdav/)".into(),
                    })?
                };
                self.verify(status, instance, chain).await
            }
            401 => {
                let challenge = AuthChallenge::parse(&response.header_values("www-authenticate"));
                let server = Origin::of(&response.url).to_string();
                match (challenge, &self.credentials) {
                    (Some(AuthChallenge::Bearer), _) => self.start_browser_login(status).await,
                    (Some(AuthChallenge::Other { challenge }), _) => {
                        Err(ConnectError::UnsupportedAuth { server, challenge })
                    }
                    (challenge, None) => {
                        let realm = match challenge {
                            Some(AuthChallenge::Basic { realm }) => realm,
                            _ => None,
                        };
                        let decision = self.needs_credentials(&status, realm.clone());
                        self.login_form = Some((status.clone(), realm.clone()));
                        self.phase = Phase::NeedCredentials { status, realm };
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
    /// answered 207). The avatar is asked for under the login name, which ownCloud uses as the
    /// user id; only if the instance reports another id is it asked for again.
    async fn verify(
        &mut self,
        status: ServerStatus,
        instance: ServerUrl,
        chain: RedirectChain,
    ) -> Result<Step, ConnectError> {
        let credentials = self
            .credentials
            .clone()
            .ok_or_else(|| ConnectError::CredentialsRequired { server: self.server.to_string() })?;
        self.step("verify", format!("verifying the account at {instance}"));
        let to = if instance == self.server { Participant::Lookup } else { Participant::Instance };
        let ocs = |path: &str| {
            HttpRequest::new(reqwest::Method::GET, instance.join(path), to)
                .header("OCS-APIRequest", "true")
                .header("Accept", "application/json")
                .credentials(Some(credentials.clone()))
        };
        let avatar = |id: &str| {
            HttpRequest::new(reqwest::Method::GET, owncloud::avatar_url(&instance, id), to)
                .credentials(Some(credentials.clone()))
        };
        let round = self.trace().next_round();
        let (capabilities, user, guessed_avatar) = futures_util::future::join3(
            self.http.send(&ocs(owncloud::CAPABILITIES_PATH), round),
            self.http.send(&ocs(owncloud::USER_PATH), round),
            self.http.send(&avatar(&credentials.user), round),
        )
        .await;
        let capabilities = self.expect_ok(capabilities?, &credentials, &chain)?;
        let capabilities = Capabilities::parse(&capabilities.url, &capabilities.body)?;
        let user = self.expect_ok(user?, &credentials, &chain)?;
        let user = OcsUser::parse(&user.url, &user.body)?;
        let avatar = if user.id == credentials.user {
            avatar_image(guessed_avatar?)
        } else {
            let round = self.trace().next_round();
            avatar_image(self.http.send(&avatar(&user.id), round).await?)
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
        let now = now_unix();
        let account = Account {
            id: Account::id_for(AccountKind::Owncloud, &instance, &credentials.user),
            kind: AccountKind::Owncloud,
            entered_address: self.entered.clone(),
            server_url: self.server.clone(),
            instance_url: instance,
            redirect_permanent: chain.is_permanent(),
            login_name: credentials.user.clone(),
            display_name: if user.display_name.is_empty() { user.id.clone() } else { user.display_name },
            user_id: user.id,
            auth_method: AuthMethod::Basic,
            product,
            version,
            trusted_certificates: self.http.config().pinned_certificates.clone(),
            created_at: now,
            verified_at: now,
            tenant: None,
            oidc: None,
            matrix: None,
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

    fn dav_request(&self, credentials: Option<Credentials>) -> HttpRequest {
        HttpRequest::new(owncloud::propfind(), owncloud::dav_url(&self.server), Participant::Lookup)
            .header("Depth", "0")
            .header("Content-Type", "application/xml; charset=utf-8")
            .body(owncloud::PROPFIND_BODY)
            .credentials(credentials)
    }

    fn needs_credentials(&self, status: &ServerStatus, realm: Option<String>) -> Step {
        Step::Decide(Decision::NeedsCredentials {
            server: self.server.to_string(),
            realm,
            login_hint: self.login_hint(),
            product: status.describe(),
            browser_login: false,
        })
    }

    fn step(&self, step: &'static str, detail: String) {
        self.trace().notify(&WizardEvent::Step { step, detail });
    }
}

/// What a Matrix login answer leads to.
enum MatrixNext {
    Step(Step),
    RateLimited { retry_after_ms: u64 },
}

/// The user name a Matrix password login sends (`m.id.user`): the localpart, which the server
/// completes with its own name — a full `@user:server` would name the portal's server, which the
/// homeserver that owns the account may not be.
fn matrix_user(typed: &str) -> String {
    if typed.starts_with('@') {
        return crate::matrix::localpart(typed).to_owned();
    }
    typed.split('@').next().unwrap_or(typed).to_owned()
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

fn confirm_redirect(hop: &Hop, resends: Resent) -> Decision {
    Decision::ConfirmRedirect {
        from: Origin::of(&hop.from),
        to: Origin::of(&hop.to),
        location: hop.to.to_string(),
        status: hop.status,
        permanent: hop.permanent,
        resends,
    }
}

fn matrix_resent(sso: bool) -> Resent {
    if sso {
        Resent::LoginToken
    } else {
        Resent::Password
    }
}

fn participant(chain: &RedirectChain) -> Participant {
    if chain.hops.is_empty() {
        Participant::Lookup
    } else {
        Participant::Instance
    }
}

fn parse_status(response: &HttpResponse) -> Result<ServerStatus, ConnectError> {
    match response.status {
        200 => ServerStatus::parse(&response.url, &response.body),
        other => Err(unexpected(response, other, "200 OK with ownCloud's status.php")),
    }
}

fn unexpected(response: &HttpResponse, status: u16, expected: &'static str) -> ConnectError {
    ConnectError::UnexpectedStatus { url: response.url.to_string(), status, expected, snippet: snippet(&response.body) }
}

/// A 200 with an image is an avatar; 404 (none set) or anything else means initials.
fn avatar_image(response: HttpResponse) -> Option<Vec<u8>> {
    let is_image = response.header("content-type").is_some_and(|t| t.starts_with("image/"));
    (response.status == 200 && is_image && !response.body.is_empty()).then_some(response.body)
}
