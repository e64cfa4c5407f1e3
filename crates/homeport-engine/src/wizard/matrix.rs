//! The wizard's Matrix path (MSC1730 portal login, docs/protocols/matrix-msc1730.md). Discovery
//! (well-known, then `/versions` and the login flows), the login at the portal — password or
//! SSO with the same loopback listener as OpenID Connect — and where the answer sends the
//! client next: the portal's `well_known` / `base_cs_url` (proxy mode) or a 307 to the
//! homeserver (redirect mode, which re-sends the password and so goes through the one redirect
//! policy). Verified with `whoami` at the final homeserver.

use std::time::Duration;

use super::decision::{confirm_redirect, matrix_resent, Protocol};
use super::matrix_tokens::{auth_metadata_of, auth_metadata_requests, refresh, MatrixTokens};
use super::oidc_session::BROWSER_LOGIN_TIMEOUT;
use super::{participant, refuse_plain_http, Decision, Phase, Probed, Step, Wizard};
use crate::account::{now_unix, Account, AccountKind, AuthMethod, MatrixInfo};
use crate::address::{Origin, ServerUrl};
use crate::error::{snippet, ConnectError};
use crate::http::{Auth, Followed, HttpClient, HttpRequest, HttpResponse};
use crate::loopback::{CallbackRejected, LoopbackCallback};
use crate::matrix::{self, LoginAnswer, LoginFlows};
use crate::matrix_oauth::AuthMetadata;
use crate::owncloud::ServerStatus;
use crate::redirect::{Hop, RedirectChain, RedirectPolicy};
use crate::secret::Secret;
use crate::trace::{Participant, StepAbout, StepName};

/// The longest a rate limit is waited out before the one retry; a server asking for more is
/// reported instead of hanging the wizard.
pub const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(10);

/// A Matrix server found and ready for login: where to log in and how.
#[derive(Clone, Debug)]
pub struct MatrixStart {
    /// The portal or homeserver the login goes to (the well-known's base URL).
    pub base: ServerUrl,
    pub flows: LoginFlows,
    /// The newest client-server API version it speaks, for the account's "version".
    pub version: String,
    /// Its OAuth 2.0 API's authorization server (`auth_metadata`): logins go there, as Element X's do.
    pub oauth: Option<AuthMetadata>,
}

/// Where the Matrix path stands between two calls of `Wizard::next`.
// One per wizard: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum MatrixPhase {
    /// Waiting for a password (the form), or for the caller to prefer the browser.
    NeedCredentials(MatrixStart),
    /// A 307 would re-send the login to another origin: waiting for approval.
    AwaitApproval { start: MatrixStart, hop: Hop, request: HttpRequest, chain: RedirectChain, sso: bool },
    /// The SSO page is open in the browser; the listener waits for `loginToken`.
    Browser { start: MatrixStart, callback: LoopbackCallback },
    /// Re-verifying a stored account: its access token at its homeserver (refreshed once when
    /// it expired).
    Resume { account: Box<crate::account::Account>, tokens: MatrixTokens },
}

/// Matrix discovery for `server`: `.well-known/matrix/client` names the base URL; then the base
/// must answer `/versions`, and its login flows and OAuth 2.0 authorization server
/// (`auth_metadata`, stable and unstable path) are read — concurrently, one round trip.
/// `Ok(None)`: not a Matrix server.
/// A well-known document may not send the client (and later its password) to a plain-http host
/// elsewhere unless the person allowed plain http.
/// `well_known` is the answer to [`well_known_request`], sent in the discovery's first round.
pub async fn discover(
    http: &HttpClient,
    server: &ServerUrl,
    policy: &RedirectPolicy,
    well_known: Result<HttpResponse, ConnectError>,
) -> Result<Option<MatrixStart>, ConnectError> {
    let answer = well_known?;
    let base = if answer.status == 200 {
        matrix::homeserver_from_well_known(&answer.url, &answer.body)?
    } else {
        // Why the fallback: a homeserver without delegation serves the API itself and need not
        // publish a well-known (matrix-rust-sdk treats the server URL as the homeserver then).
        server.clone()
    };
    refuse_plain_http(policy, &base)?;
    let to = if Origin::of(base.as_url()) == Origin::of(server.as_url()) {
        Participant::Lookup
    } else {
        Participant::Instance
    };
    let round = http.trace().next_round();
    let versions = HttpRequest::new(reqwest::Method::GET, base.join(matrix::VERSIONS_PATH), to)
        .header("Accept", "application/json");
    let flows =
        HttpRequest::new(reqwest::Method::GET, base.join(matrix::LOGIN_PATH), to).header("Accept", "application/json");
    let (stable, unstable) = auth_metadata_requests(&base, to);
    let (versions, flows, stable, unstable) = futures_util::future::join4(
        http.send(&versions, round),
        http.send(&flows, round),
        http.send(&stable, round),
        http.send(&unstable, round),
    )
    .await;
    let versions = versions?;
    if versions.status != 200 {
        return Ok(None);
    }
    let Ok(known) = matrix::versions(&versions.url, &versions.body) else { return Ok(None) };
    let oauth = auth_metadata_of(stable, unstable)?;
    let flows = flows?;
    let flows = match flows.status {
        200 => matrix::login_flows(&flows.url, &flows.body)?,
        // An OAuth-only homeserver need not answer the legacy login API (`M_UNRECOGNIZED`).
        _ if oauth.is_some() => LoginFlows::default(),
        _ => return Err(unexpected(&flows, "200 OK with the login flows")),
    };
    let version = known.last().cloned().unwrap_or_default();
    Ok(Some(MatrixStart { base, flows, version, oauth }))
}

/// `GET .well-known/matrix/client` at the typed server: no credentials, so it goes in the
/// discovery's first round beside the other probes' requests (docs/benchmarks.md#round-trips).
pub fn well_known_request(server: &ServerUrl) -> HttpRequest {
    HttpRequest::new(reqwest::Method::GET, server.join(matrix::WELL_KNOWN_PATH), Participant::Lookup)
        .header("Accept", "application/json")
}

/// `POST /login` at `start.base` with `body` (a password or a login token: a secret body).
pub fn login_request(start: &MatrixStart, body: Vec<u8>) -> HttpRequest {
    HttpRequest::new(reqwest::Method::POST, start.base.join(matrix::LOGIN_PATH), Participant::Lookup)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .secret_body(body)
}

/// What a login answer means: the login, an error to report, or a rate limit to wait out.
pub enum LoginOutcome {
    LoggedIn(LoginAnswer),
    /// Wait this long (at most [`MAX_RATE_LIMIT_WAIT`]), then try once more.
    RateLimited {
        retry_after_ms: u64,
    },
}

/// Reads the answer to `POST /login` (after any approved redirect).
pub fn login_outcome(response: &HttpResponse, user: &str, at: Participant) -> Result<LoginOutcome, ConnectError> {
    let server = Origin::of(&response.url).to_string();
    if response.status == 200 {
        return matrix::login_answer(&response.url, &response.body).map(LoginOutcome::LoggedIn);
    }
    let Some(error) = matrix::error_of(&response.body) else {
        return Err(unexpected(response, "200 OK with the login, or a Matrix error"));
    };
    match error.errcode.as_str() {
        "M_FORBIDDEN" => Err(ConnectError::AuthFailed { origin: Origin::of(&response.url), user: user.to_owned(), at }),
        "M_USER_DEACTIVATED" => Err(ConnectError::AccountDeactivated { server }),
        "M_LIMIT_EXCEEDED" => {
            let retry_after_ms = error.retry_after_ms.unwrap_or(1000);
            if Duration::from_millis(retry_after_ms) > MAX_RATE_LIMIT_WAIT {
                return Err(ConnectError::RateLimited { server, retry_after_ms });
            }
            Ok(LoginOutcome::RateLimited { retry_after_ms })
        }
        // The server's words, shown as they are but for a secret quoted in them.
        _ => Err(ConnectError::MatrixRefused {
            server,
            errcode: crate::redact::redact_body(&error.errcode),
            message: crate::redact::redact_body(&error.error),
        }),
    }
}

/// The base URL of the server that answered a login (the homeserver after a 307): the URL minus
/// the login path.
pub fn base_of_login_url(response: &HttpResponse) -> Option<ServerUrl> {
    let text = response.url.as_str();
    let base = text.split(matrix::LOGIN_PATH).next().filter(|base| base.len() < text.len())?;
    ServerUrl::from_url(url::Url::parse(base).ok()?).ok()
}

/// A base URL the portal named must be a Matrix server: `GET /versions` there, in `round`.
pub async fn check_homeserver(http: &HttpClient, base: &ServerUrl, round: u32) -> Result<(), ConnectError> {
    let request = HttpRequest::new(reqwest::Method::GET, base.join(matrix::VERSIONS_PATH), Participant::Instance)
        .header("Accept", "application/json");
    let unusable = |reason: String| ConnectError::HomeserverUnusable { base: base.to_string(), reason };
    let answer = match http.send(&request, round).await {
        Ok(answer) => answer,
        Err(error) => return Err(unusable(error.to_string())),
    };
    if answer.status != 200 {
        return Err(unusable(format!("/_matrix/client/versions answered HTTP {}", answer.status)));
    }
    matrix::versions(&answer.url, &answer.body).map(|_| ()).map_err(|e| unusable(e.to_string()))
}

/// `whoami` at the homeserver with the access token: the user and device it belongs to.
pub async fn whoami(
    http: &HttpClient,
    base: &ServerUrl,
    access_token: &Secret,
) -> Result<(String, Option<String>), ConnectError> {
    whoami_in(http, base, access_token, http.trace().next_round()).await
}

async fn whoami_in(
    http: &HttpClient,
    base: &ServerUrl,
    access_token: &Secret,
    round: u32,
) -> Result<(String, Option<String>), ConnectError> {
    let request = HttpRequest::new(reqwest::Method::GET, base.join(matrix::WHOAMI_PATH), Participant::Instance)
        .header("Accept", "application/json")
        .auth(Auth::Bearer(access_token.clone()));
    let answer = http.send(&request, round).await?;
    match answer.status {
        200 => matrix::whoami(&answer.url, &answer.body),
        401 => Err(ConnectError::LoginExpired { reason: format!("{base} no longer accepts the access token") }),
        _ => Err(unexpected(&answer, "200 OK with the user id (whoami)")),
    }
}

/// `whoami` and the user's profile at the homeserver, concurrently (one round trip). The display
/// name is optional: a homeserver may keep profiles private, and whoami already proves the login.
/// With `check`, the homeserver a portal named is also asked for `/versions` in the same round:
/// its answer decides nothing about where the token may go (the portal that took the password
/// named the homeserver), only whether the account is usable there, so it need not come first;
/// a homeserver that is none is reported as such before any other answer.
pub async fn whoami_and_name(
    http: &HttpClient,
    base: &ServerUrl,
    access_token: &Secret,
    user_id: &str,
    check: bool,
) -> Result<((String, Option<String>), Option<String>), ConnectError> {
    let round = http.trace().next_round();
    let checked = async {
        match check {
            true => check_homeserver(http, base, round).await,
            false => Ok(()),
        }
    };
    let (checked, who, name) = futures_util::future::join3(
        checked,
        whoami_in(http, base, access_token, round),
        name_in(http, base, access_token, user_id, round),
    )
    .await;
    checked?;
    Ok((who?, name?))
}

/// The user's display name from their profile, if the homeserver shows it.
pub async fn display_name_at(
    http: &HttpClient,
    base: &ServerUrl,
    access_token: &Secret,
    user_id: &str,
) -> Result<Option<String>, ConnectError> {
    name_in(http, base, access_token, user_id, http.trace().next_round()).await
}

async fn name_in(
    http: &HttpClient,
    base: &ServerUrl,
    access_token: &Secret,
    user_id: &str,
    round: u32,
) -> Result<Option<String>, ConnectError> {
    let mut url = base.join(matrix::PROFILE_PATH);
    url.path_segments_mut().map_err(|()| unusable_url(base))?.pop_if_empty().push(user_id);
    let profile = HttpRequest::new(reqwest::Method::GET, url, Participant::Instance)
        .header("Accept", "application/json")
        .auth(Auth::Bearer(access_token.clone()));
    let answer = http.send(&profile, round).await.ok();
    Ok(answer.filter(|answer| answer.status == 200).and_then(|answer| matrix::display_name(&answer.body)))
}

fn unusable_url(base: &ServerUrl) -> ConnectError {
    ConnectError::HomeserverUnusable { base: base.to_string(), reason: "its URL cannot take a path".into() }
}

fn unexpected(response: &HttpResponse, expected: &'static str) -> ConnectError {
    ConnectError::UnexpectedStatus {
        url: response.url.to_string(),
        status: response.status,
        expected,
        snippet: snippet(&response.body),
    }
}

impl Wizard {
    /// What the probe says it is doing, when it comes first.
    pub(super) fn announce_matrix(&self) {
        self.step(StepName::Probe, StepAbout::LookingUpMatrix { server: self.server.to_string() });
    }

    /// Matrix discovery at the typed server, from the well-known answer of the first round; a
    /// server that answers neither the well-known document nor `/versions` is not of this kind.
    pub(super) async fn probe_matrix(&mut self, well_known: Result<HttpResponse, ConnectError>) -> Probed {
        match discover(&self.http, &self.server, &self.policy, well_known).await {
            Ok(Some(start)) => Probed::Recognised(self.matrix_login(start).await),
            Ok(None) => Probed::NotThisKind(ConnectError::InvalidResponse {
                url: self.server.to_string(),
                what: "Matrix server",
                reason: "it answers neither the Matrix well-known document nor /_matrix/client/versions".into(),
            }),
            Err(error) => Probed::NotThisKind(error),
        }
    }

    /// The Matrix path's next step, from where it stands.
    pub(super) async fn advance_matrix(&mut self, phase: MatrixPhase) -> Result<Step, ConnectError> {
        match phase {
            MatrixPhase::NeedCredentials(start) => self.matrix_login(start).await,
            MatrixPhase::AwaitApproval { start, hop, request, chain, sso } => {
                if !self.approved.contains(&Origin::of(&hop.to)) {
                    let decision = confirm_redirect(&hop, matrix_resent(sso), Protocol::Matrix);
                    self.phase = Phase::Matrix(MatrixPhase::AwaitApproval { start, hop, request, chain, sso });
                    return Ok(Step::Decide(decision));
                }
                self.step(StepName::Discover, StepAbout::FollowingPortal { to: Origin::of(&hop.to).to_string() });
                let followed = self.follow_approved(request, chain, hop).await?;
                let user = self.credentials.as_ref().map(|c| matrix_user(&c.user)).unwrap_or_default();
                match self.matrix_followed(start, followed, sso, &user).await? {
                    MatrixNext::Step(step) => Ok(step),
                    MatrixNext::RateLimited { retry_after_ms } => Err(ConnectError::RateLimited {
                        server: Origin::of(self.server.as_url()).to_string(),
                        retry_after_ms,
                    }),
                }
            }
            MatrixPhase::Browser { start, callback } => {
                self.step(StepName::Authenticate, StepAbout::WaitingForBrowser);
                // No state in Matrix SSO: the path's random segment keeps forgers out; a request
                // there without a login token is no answer (400, and the wait goes on).
                let token = callback
                    .receive(BROWSER_LOGIN_TIMEOUT, |target| {
                        crate::matrix::login_token_from_callback(target)
                            .map_err(|_| CallbackRejected::new("it carries no login token"))
                    })
                    .await?;
                let request = login_request(&start, crate::matrix::token_login_body(token.expose()));
                self.matrix_send(start, request, true, String::new()).await
            }
            MatrixPhase::Resume { account, mut tokens } => {
                let base = account.instance_url.clone();
                self.step(StepName::Verify, StepAbout::CheckingLoginAt { server: base.to_string() });
                let user_id = match whoami(&self.http, &base, &tokens.access).await {
                    Err(ConnectError::LoginExpired { .. }) if tokens.refresh.is_some() => {
                        self.step(StepName::Authenticate, StepAbout::RefreshingExpiredToken);
                        tokens = refresh(&self.http, &account, &tokens).await?;
                        whoami(&self.http, &base, &tokens.access).await?.0
                    }
                    who => who?.0,
                };
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
                Ok(self.connected(account, tokens.to_secret(), status, Vec::new()))
            }
        }
    }

    /// A Matrix server was found: log in with the password, in the browser (SSO), or ask.
    pub(super) async fn matrix_login(&mut self, start: MatrixStart) -> Result<Step, ConnectError> {
        if start.oauth.is_some() {
            // The server's own authorization server, even where the legacy password API still
            // answers (as Element X does): the password then goes only to the server's page.
            return self.matrix_oauth_login(start).await;
        }
        if start.flows.password {
            self.matrix_form = Some(start.clone());
        }
        let use_browser = start.flows.sso && (self.prefer_browser || !start.flows.password);
        if let (Some(credentials), true, false) = (self.credentials.clone(), start.flows.password, use_browser) {
            let user = matrix_user(&credentials.user);
            self.step(
                StepName::Authenticate,
                StepAbout::LoggingInAtAs { server: start.base.to_string(), user: user.clone() },
            );
            let body = crate::matrix::password_login_body(&user, credentials.password.expose());
            let request = login_request(&start, body);
            return self.matrix_send(start, request, false, user).await;
        }
        if use_browser {
            let callback = LoopbackCallback::bind().await?;
            let url = crate::matrix::sso_redirect_url(&start.base, callback.redirect_uri());
            let decision = Decision::OpenBrowser {
                url: url.to_string(),
                issuer: start.base.to_string(),
                server: start.base.to_string(),
                issuer_elsewhere: false,
                protocol: Protocol::Matrix,
            };
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
                protocol: Protocol::Matrix,
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
            let followed = self.follow(request.clone()).await?;
            match self.matrix_followed(start.clone(), followed, sso, &user).await? {
                MatrixNext::Step(step) => return Ok(step),
                MatrixNext::RateLimited { retry_after_ms } if !retried => {
                    self.step(
                        StepName::Authenticate,
                        StepAbout::RateLimitedWaiting { server: start.base.to_string(), retry_after_ms },
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
                let decision = confirm_redirect(&hop, matrix_resent(sso), Protocol::Matrix);
                self.phase = Phase::Matrix(MatrixPhase::AwaitApproval { start, hop, request, chain, sso });
                return Ok(MatrixNext::Step(Step::Decide(decision)));
            }
            Followed::Done { response, chain } => (response, chain),
        };
        let answer = match login_outcome(&response, user, participant(&chain))? {
            LoginOutcome::LoggedIn(answer) => answer,
            LoginOutcome::RateLimited { retry_after_ms } => return Ok(MatrixNext::RateLimited { retry_after_ms }),
        };
        let answered_by = base_of_login_url(&response).unwrap_or_else(|| start.base.clone());
        let (base, check) = match answer.base.clone() {
            Some(named) if Origin::of(named.as_url()) != Origin::of(answered_by.as_url()) => {
                refuse_plain_http(&self.policy, &named)?;
                self.step(StepName::Discover, StepAbout::PortalSendsFromNowOn { to: named.to_string() });
                (named, true)
            }
            Some(named) => (named, false),
            None => (answered_by, false),
        };
        self.step(StepName::Verify, StepAbout::VerifyingAt { server: base.to_string() });
        let access = Secret::new(answer.access_token.clone());
        let ((user_id, device_id), name) = whoami_and_name(&self.http, &base, &access, &answer.user_id, check).await?;
        if user_id != answer.user_id {
            return Err(ConnectError::InvalidResponse {
                url: base.join(crate::matrix::WHOAMI_PATH).to_string(),
                what: "Matrix whoami answer",
                reason: format!("the token belongs to {user_id}, but the login was for {}", answer.user_id),
            });
        }
        let localpart = crate::matrix::localpart(&user_id).to_owned();
        let auth_method = if sso { AuthMethod::MatrixSso } else { AuthMethod::MatrixPassword };
        let account = Account {
            // The full Matrix ID names the account: one localpart may live on several homeservers.
            id: Account::id_for(AccountKind::Matrix, &base, &user_id),
            // The portal is where the login started; the homeserver (`base`) holds the account.
            server_url: start.base.clone(),
            display_name: name.unwrap_or_else(|| localpart.clone()),
            product: "Matrix".into(),
            version: start.version.clone(),
            matrix: Some(MatrixInfo {
                device_id: device_id.unwrap_or(answer.device_id.clone()),
                oauth: None,
                account_management_uri: None,
            }),
            ..self.new_account(AccountKind::Matrix, auth_method, base, localpart, user_id)
        };
        let status = ServerStatus {
            installed: true,
            productname: "Matrix".into(),
            versionstring: start.version.clone(),
            ..ServerStatus::default()
        };
        let tokens = MatrixTokens::new(answer.access_token.clone(), answer.refresh_token.clone());
        Ok(MatrixNext::Step(self.connected(account, tokens.to_secret(), status, chain.hops)))
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
