//! The connection wizard: one state machine, probe → authenticate → discover → verify, driven by
//! the CLI, the desktop app and QA scripts alike. It never prompts: when a person must decide it
//! returns a [`Decision`], the caller answers (credentials, approvals) and calls [`Wizard::next`]
//! again. Storing the result is the caller's last step ([`crate::store::AccountStore::save`]).

mod decision;
mod discovery;
mod matrix;
mod matrix_oauth;
mod matrix_tokens;
mod nextcloud;
mod oidc;
mod oidc_revoke;
mod oidc_session;
pub(crate) mod oidc_tokens;
mod owncloud;
mod rounds;

pub use self::decision::{Connected, Decision, Protocol, Resent, Step};
pub(crate) use self::matrix_tokens::end_session;
pub use self::nextcloud::{CheckNow, LoginFlowTiming};
pub(crate) use self::oidc_revoke::revoke_oidc_login;

use std::collections::HashSet;

use self::matrix::{MatrixPhase, MatrixStart};
use self::matrix_oauth::MatrixOAuthPhase;
pub(crate) use self::matrix_tokens::MatrixTokens;
use self::nextcloud::NextcloudPhase;
use self::oidc::{OidcPhase, StoredLogin};
use self::owncloud::OwncloudPhase;
use crate::account::{now_unix, Account, AccountKind, AuthMethod};
use crate::address::{Address, Origin, ServerUrl};
use crate::error::{snippet, ConnectError};
use crate::http::{Followed, HttpClient, HttpConfig, HttpRequest, HttpResponse};
use crate::oidc_client::{ClientSettings, OidcClient};
use crate::owncloud::{Capabilities, ServerStatus};
use crate::redirect::{Hop, RedirectChain, RedirectPolicy};
use crate::secret::{Credentials, Secret};
use crate::tenant::TenantProfile;
use crate::trace::{Observer, Participant, StepAbout, StepName, Trace, WizardEvent};

#[derive(Clone, Default)]
pub struct WizardOptions {
    pub http: HttpConfig,
    /// Told about every step and exchange as it happens (the GUI's live diagram, progress).
    pub observer: Option<Observer>,
    /// Multitenant applications whose hosts name a tenant (docs/protocols/tenant-by-host.md).
    pub tenant_profiles: Vec<TenantProfile>,
    /// OpenID Connect clients: the person's settings by issuer, and the memory of registered ones
    /// (docs/protocols/oidc-ocis.md#the-client).
    pub oidc_clients: ClientSettings,
    /// How often, and how long, Nextcloud's Login Flow v2 is polled (tests shorten it).
    pub login_flow: LoginFlowTiming,
    /// "Check now" while Login Flow v2 waits (the desktop keeps a clone for its button).
    pub login_flow_check: CheckNow,
}

// One per wizard: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Phase {
    /// Finding out what the typed server is ([`discovery::plan`]).
    Discover,
    Owncloud(OwncloudPhase),
    Oidc(OidcPhase),
    Matrix(MatrixPhase),
    MatrixOAuth(MatrixOAuthPhase),
    Nextcloud(NextcloudPhase),
    Finished,
}

/// What one probe of the discovery's plan found ([`discovery`]); here, as both the plan and each
/// protocol's probe use it.
enum Probed {
    /// The server is of this kind: the path's first step (or its error) is the wizard's.
    Recognised(Result<Step, ConnectError>),
    /// Not this kind of server: why, in case no later probe recognises it either.
    NotThisKind(ConnectError),
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
    /// The user the person means, given without a password (a browser login's `login_hint`).
    login_user: Option<String>,
    /// The instance the person picked when WebFinger offered several.
    chosen_instance: Option<ServerUrl>,
    /// The tenant the host names, and its identity zone's issuer
    /// (docs/protocols/tenant-by-host.md).
    tenant: Option<(String, String)>,
    /// Log in in the browser (SSO) when the server offers both that and a password.
    prefer_browser: bool,
    /// The first round's answer to WebFinger's question for the issuer, kept for a Bearer
    /// challenge ([`discovery`]).
    issuer_ahead: Option<Result<HttpResponse, ConnectError>>,
    /// The Matrix server whose password form was shown, so a wrong password can ask again.
    matrix_form: Option<MatrixStart>,
    /// Whether an untrusted certificate may become a decision that restarts the wizard: a new
    /// connection or an ownCloud re-verify may; a stored OIDC/Matrix login is resumed, not redone.
    restartable: bool,
    /// Which OpenID Connect client to be at which provider.
    clients: ClientSettings,
    /// The stored account a re-verify checks ([`Wizard::for_account`]).
    reverify: Option<Box<Account>>,
    /// The decision the last [`Wizard::next`] returned, until it is answered: an answer is
    /// checked against it (a fingerprint other than the one shown is not trusted).
    pending: Option<Decision>,
    /// The credentials hold a Nextcloud app password (the flow's, or a password converted):
    /// it is verified and stored as such, never converted again.
    app_password: bool,
    login_flow: LoginFlowTiming,
    login_flow_check: CheckNow,
    phase: Phase,
}

impl Wizard {
    pub fn new(input: &str, options: WizardOptions) -> Result<Self, ConnectError> {
        let address = Address::parse(input)?;
        let server = address.server()?;
        let mut options = options;
        if let Some(identity) = options.http.client_identity.as_mut().filter(|identity| identity.servers.is_empty()) {
            // A certificate given up front (`--client-cert`) is for the server typed; another
            // server that asks on the way is a decision of its own.
            identity.add_server(&crate::certificate::authority(server.as_url()).unwrap_or_default());
        }
        let trace = Trace::new(options.observer);
        let tenant = options
            .tenant_profiles
            .iter()
            .find_map(|profile| profile.tenant_of(&server).map(|tenant| (tenant.clone(), profile.issuer_for(&tenant))));
        Ok(Wizard {
            // Kept in the account, shown and sent to the UI: never a password typed into it.
            entered: Address::entered(input),
            address,
            server,
            http: HttpClient::new(options.http, trace)?,
            clients: options.oidc_clients,
            policy: RedirectPolicy::default(),
            approved: HashSet::new(),
            credentials: None,
            login_form: None,
            login_user: None,
            chosen_instance: None,
            tenant,
            prefer_browser: false,
            issuer_ahead: None,
            matrix_form: None,
            restartable: true,
            reverify: None,
            pending: None,
            app_password: false,
            login_flow: options.login_flow,
            login_flow_check: options.login_flow_check,
            phase: Phase::Discover,
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
        // Each at the host:port it was trusted at (docs/security.md).
        options.http.pinned_certificates.extend(account.certificate_pins());
        // The client certificate (loaded by the caller, ops::reverify) goes to the servers it was
        // presented to, and the account's own servers.
        if let (Some(identity), Some(stored)) = (options.http.client_identity.as_mut(), &account.client_certificate) {
            for server in stored.servers.iter().cloned().chain(
                [&account.server_url, &account.instance_url]
                    .into_iter()
                    .filter_map(|url| crate::certificate::authority(url.as_url())),
            ) {
                identity.add_server(&server);
            }
        }
        let mut wizard = Wizard::new(&account.entered_address, options)?;
        // Plain http to these was allowed when the account was added (each origin asked for).
        for stored in [&account.server_url, &account.instance_url] {
            if !RedirectPolicy::default().permits_scheme(stored.as_url()) {
                wizard.allow_plain_http(Origin::of(stored.as_url()));
            }
        }
        // A resumed OIDC/Matrix login cannot restart from the probe; an ownCloud re-verify can.
        let matrix =
            matches!(account.auth_method, AuthMethod::MatrixPassword | AuthMethod::MatrixSso | AuthMethod::MatrixOAuth);
        wizard.restartable = !matrix && account.auth_method != AuthMethod::Oidc;
        if matrix {
            let tokens = MatrixTokens::from_secret(&password).ok_or_else(|| ConnectError::LoginExpired {
                reason: "the keyring holds no Matrix access token".into(),
            })?;
            wizard.phase = Phase::Matrix(MatrixPhase::Resume { account: Box::new(account.clone()), tokens });
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
            let tokens = oidc_tokens::StoredTokens::from_secret(&password);
            // The same client as at the login: its id and method from accounts.json, its secret
            // from the keyring (or, for accounts stored before secrets were kept, the product's).
            let client_secret = tokens.client_secret.clone().or_else(|| {
                crate::oidc_client::for_product(&account.product)
                    .filter(|known| known.client_id.as_deref() == Some(oidc.client_id.as_str()))
                    .and_then(|known| known.client_secret)
            });
            let token_auth = match (&client_secret, oidc.token_auth) {
                (Some(_), crate::oidc_client::TokenAuth::Public) => crate::oidc_client::TokenAuth::ClientSecretBasic,
                (_, auth) => auth,
            };
            let client = OidcClient {
                client_id: oidc.client_id.clone(),
                secret: client_secret,
                token_auth,
                scopes: Vec::new(),
                prompt: None,
                source: crate::oidc_client::ClientSource::Remembered,
            };
            wizard.phase = Phase::Oidc(OidcPhase::Resume(Box::new(StoredLogin {
                status,
                issuer: oidc.issuer.clone(),
                client,
                tokens,
                login_expires_at: oidc.login_expires_at,
                claims,
                instance: account.instance_url.clone(),
            })));
            return Ok(wizard);
        }
        wizard.set_credentials(Credentials { user: account.login_name.clone(), password });
        wizard.approve_origin(Origin::of(account.instance_url.as_url()));
        wizard.reverify = Some(Box::new(account.clone()));
        if account.auth_method == AuthMethod::AppPassword {
            // A Nextcloud app password is checked at the node that made it, not through the
            // server typed (which would take it for a password to convert).
            wizard.app_password = true;
            wizard.restartable = false;
            let status = nextcloud::stored_status(&account.product, &account.version);
            wizard.phase =
                Phase::Nextcloud(NextcloudPhase::Reverify { status, instance: account.instance_url.clone() });
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
        self.address.user()
    }

    /// Credentials known before the first step are sent with the first PROPFIND (saving a round
    /// trip, as `curl -u` does); the server URL was already checked against the plain-http rule.
    pub fn set_credentials(&mut self, credentials: Credentials) {
        self.credentials = Some(credentials);
    }

    /// The user the person means when they log in in the browser (sent as `login_hint`, and the
    /// provider's user is checked against it); credentials imply it.
    pub fn set_login_hint(&mut self, user: impl Into<String>) {
        self.login_user = Some(user.into());
    }

    /// The credentials the person gave, for a step that needs them.
    fn held_credentials(&self) -> Result<Credentials, ConnectError> {
        self.credentials.clone().ok_or_else(|| ConnectError::CredentialsRequired { server: self.server.to_string() })
    }

    /// Credentials may be sent to `origin` when a redirect leads there.
    pub fn approve_origin(&mut self, origin: Origin) {
        self.approved.insert(origin);
    }

    /// Answers [`Decision::ChooseInstance`].
    pub fn choose_instance(&mut self, instance: ServerUrl) {
        self.chosen_instance = Some(instance);
    }

    /// Answers [`Decision::TrustCertificate`]: this exact certificate (its SHA-256) is trusted at
    /// the `host:port` of the decision's `url` (the typed server's, if no such decision is
    /// pending) — there only — for this connection, and stored with the account; the wizard then
    /// starts over with it. The same certificate at another host or port is asked about again.
    pub fn trust_certificate(&mut self, sha256: &str) -> Result<(), ConnectError> {
        let at = match &self.pending {
            Some(Decision::TrustCertificate { url, .. }) => url::Url::parse(url).ok(),
            _ => None,
        };
        let at = at.unwrap_or_else(|| self.server.as_url().clone());
        let Some(pin) = crate::certificate::CertificatePin::at(&at, sha256) else {
            return Err(ConnectError::Tls {
                url: at.to_string(),
                reason: format!("{sha256:?} is not a SHA-256 fingerprint"),
            });
        };
        self.http = self.http.with_pins(&[pin])?;
        Ok(())
    }

    /// Answers [`Decision::ClientCertificate`]: the identity in `file` (PKCS#12, opened with
    /// `password`) is presented to the server that asked (the typed server's, if no such decision
    /// is pending) and to the servers an earlier certificate was for; the wizard starts over with
    /// it. One certificate per account: a new file replaces the one given before.
    pub fn use_client_certificate(&mut self, file: &std::path::Path, password: &Secret) -> Result<(), ConnectError> {
        let server = match &self.pending {
            Some(Decision::ClientCertificate { server, .. }) => server.clone(),
            _ => crate::certificate::authority(self.server.as_url()).unwrap_or_default(),
        };
        let mut identity = crate::client_certificate::ClientIdentity::load(file, password)?;
        for earlier in self.http.config().client_identity.iter().flat_map(|identity| identity.servers.iter()) {
            identity.add_server(earlier);
        }
        identity.add_server(&server);
        self.http = self.http.with_client_identity(identity)?;
        Ok(())
    }

    /// The password of the client certificate presented, for the keyring.
    fn client_certificate_password(&self) -> Option<Secret> {
        self.http.config().client_identity.as_ref().map(|identity| identity.password.clone())
    }

    /// When a server offers both a password and a login in the browser (Matrix SSO), use the
    /// browser.
    pub fn prefer_browser_login(&mut self) {
        self.prefer_browser = true;
    }

    /// Answers [`Decision::ConfirmPlainHttp`]: plain http to `origin` (and to no other
    /// non-loopback origin) is accepted for this connection. Another plain-http origin met later
    /// (a redirect's target, a discovered instance or homeserver, an identity provider) is asked
    /// about again.
    pub fn allow_plain_http(&mut self, origin: Origin) {
        self.policy.plain_http_origins.insert(origin);
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
                self.phase = Phase::Discover;
                return Ok(Step::Decide(Decision::TrustCertificate { url, certificate: *certificate }));
            }
            // Why restart: as for a certificate to trust, the server that asks may be met
            // anywhere; with the certificate given, the run starts over and presents it there.
            Err(ConnectError::ClientCertificateRequired { url, server, issuers }) if self.restartable => {
                self.phase = Phase::Discover;
                return Ok(Step::Decide(Decision::ClientCertificate { url, server, issuers }));
            }
            // Why restart here too: a plain-http origin may be met anywhere; once allowed, the
            // run starts over and goes there. An origin already allowed is not asked again.
            Err(error) if self.restartable => match plain_http_refused(&error) {
                Some(url) if !self.policy.plain_http_origins.contains(&Origin::of(&url)) => {
                    self.phase = Phase::Discover;
                    return Ok(Step::Decide(Decision::ConfirmPlainHttp { url: url.to_string() }));
                }
                _ => Err(error),
            },
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
                    Phase::Owncloud(OwncloudPhase::NeedCredentials { status, realm })
                }
                _ => Phase::Finished,
            };
        }
        result
    }

    async fn advance(&mut self) -> Result<Step, ConnectError> {
        match std::mem::replace(&mut self.phase, Phase::Finished) {
            Phase::Discover => self.discover().await,
            Phase::Owncloud(phase) => self.advance_owncloud(phase).await,
            Phase::Oidc(phase) => self.advance_oidc(phase).await,
            Phase::Matrix(phase) => self.advance_matrix(phase).await,
            Phase::MatrixOAuth(phase) => self.advance_matrix_oauth(phase).await,
            Phase::Nextcloud(phase) => self.advance_nextcloud(phase).await,
            Phase::Finished => Err(ConnectError::Finished),
        }
    }

    /// An account as every protocol's path starts it: its id (from kind, instance and login name),
    /// the address typed, the server asked first, the certificates trusted on the way, the time.
    /// Each path then sets what it learnt (display name, product, its protocol's own fields).
    fn new_account(
        &self,
        kind: AccountKind,
        auth_method: AuthMethod,
        instance: ServerUrl,
        login_name: String,
        user_id: String,
    ) -> Account {
        let now = now_unix();
        Account {
            id: Account::id_for(kind, &instance, &login_name),
            kind,
            entered_address: self.entered.clone(),
            server_url: self.server.clone(),
            instance_url: instance,
            redirect_permanent: false,
            login_name,
            display_name: user_id.clone(),
            user_id,
            auth_method,
            product: String::new(),
            version: String::new(),
            trusted_certificates: self.http.config().pinned_certificates.clone(),
            client_certificate: self.http.config().client_identity.as_ref().map(|identity| identity.stored()),
            created_at: now,
            verified_at: now,
            tenant: None,
            oidc: None,
            matrix: None,
        }
    }

    /// Sends `request` through the one redirect policy, in a round trip of its own.
    async fn follow(&self, request: HttpRequest) -> Result<Followed, ConnectError> {
        let round = self.trace().next_round();
        self.follow_in(request, round).await
    }

    /// Sends `request` through the one redirect policy in `round`, beside that round's other
    /// requests.
    async fn follow_in(&self, request: HttpRequest, round: u32) -> Result<Followed, ConnectError> {
        let chain = RedirectChain::starting_at(&request.method, &request.url);
        self.http.send_following(request, &self.policy, &self.approved, chain, round).await
    }

    /// Goes on where an approved redirect leads: `hop` joins `chain`, the request goes there.
    async fn follow_approved(
        &self,
        request: HttpRequest,
        mut chain: RedirectChain,
        hop: Hop,
    ) -> Result<Followed, ConnectError> {
        chain.push(hop);
        let round = self.trace().next_round();
        self.http.send_following(request, &self.policy, &self.approved, chain, round).await
    }

    /// The verified account of a path without ownCloud's capabilities and avatar.
    fn connected(&self, account: Account, secret: Secret, server: ServerStatus, redirects: Vec<Hop>) -> Step {
        let trace = self.trace();
        Step::Connected(Box::new(Connected {
            account,
            secret,
            server,
            capabilities: Capabilities::default(),
            client_certificate_password: self.client_certificate_password(),
            avatar: None,
            redirects,
            round_trips: trace.round_trips(),
            trace: trace.exchanges(),
        }))
    }

    /// Tells the observer what the wizard does now: typed (`about`, for the desktop's languages)
    /// and in English (`detail`).
    fn step(&self, step: StepName, about: StepAbout) {
        self.trace().notify(&WizardEvent::Step { step, detail: about.text(), about });
    }
}

fn participant(chain: &RedirectChain) -> Participant {
    if chain.hops.is_empty() {
        Participant::Lookup
    } else {
        Participant::Instance
    }
}

fn unexpected(response: &HttpResponse, status: u16, expected: &'static str) -> ConnectError {
    ConnectError::UnexpectedStatus { url: response.url.to_string(), status, expected, snippet: snippet(&response.body) }
}

/// The URL a plain-http refusal names: a redirect's target or a discovered URL.
fn plain_http_refused(error: &ConnectError) -> Option<url::Url> {
    let url = match error {
        ConnectError::PlainHttpRefused { url } => url,
        ConnectError::RedirectRefused(crate::redirect::RedirectRefusal::PlainHttp { to }) => to,
        _ => return None,
    };
    url::Url::parse(url).ok()
}

/// A URL a protocol discovered (a homeserver, an instance) gets the redirect policy's plain-http
/// rule, so it cannot send credentials or tokens readable to another host.
fn refuse_plain_http(policy: &RedirectPolicy, url: &ServerUrl) -> Result<(), ConnectError> {
    if policy.permits_scheme(url.as_url()) {
        Ok(())
    } else {
        Err(ConnectError::PlainHttpRefused { url: url.to_string() })
    }
}
