//! The wizard's OpenID Connect path (oCIS, docs/protocols/oidc-ocis.md): a Bearer challenge
//! leads here. Issuer discovery (WebFinger, else the server itself), every endpoint through the
//! https rule, the client ([`crate::oidc_client`]), the login in the system browser
//! ([`Decision::OpenBrowser`], naming both sites when the provider is on another one), the code
//! exchange ([`super::oidc_tokens`]), ID-token validation, the person's check that the provider
//! logged in the user they meant, then instance discovery by WebFinger and a bearer PROPFIND.

use url::Url;

use super::decision::Protocol;
use super::oidc_session::{bearer_verification, find_instances, finish_login, Ahead, Beside, BrowserLogin, Session};
use super::oidc_session::{expect_ok, is_typed_user, logged_in_as};
use super::oidc_tokens::{StoredTokens, Tokens};
use super::{refuse_plain_http, unexpected, Decision, Phase, Step, Wizard};
use crate::account::{now_unix, Account, AccountKind, AuthMethod};
use crate::address::{same_site, Origin, ServerUrl};
use crate::error::ConnectError;
use crate::http::{HttpClient, HttpRequest, HttpResponse};
use crate::loopback::LoopbackCallback;
use crate::oidc::{self, IdClaims, InstanceLink, LoginRequest, ProviderMetadata};
use crate::oidc_client::{self, ClientProfile, ClientSource, OidcClient, RegisteredClient, HOMEPORT_CLIENT_ID};
use crate::owncloud::ServerStatus;
use crate::owncloud::{self, OcsUser};
use crate::secret::Secret;
use crate::tenant;
use crate::trace::{Participant, StepAbout, StepName};

/// Where the OIDC path stands between two calls of `Wizard::next`.
pub enum OidcPhase {
    /// Finding the provider (again, after the person allowed plain http for one of its endpoints).
    Start(ServerStatus),
    Browser(Box<BrowserLogin>),
    /// The provider logged in someone else than the person typed: continue as them, or not.
    ConfirmUser {
        status: ServerStatus,
        session: Box<Session>,
    },
    ChooseInstance {
        status: ServerStatus,
        session: Box<Session>,
        instances: Vec<InstanceLink>,
    },
    /// Re-verifying a stored account: refresh its login, then verify at its instance.
    Resume(Box<StoredLogin>),
}

/// A stored OpenID Connect account's login, as the keyring and accounts.json keep it.
pub struct StoredLogin {
    pub status: ServerStatus,
    pub issuer: String,
    pub client: OidcClient,
    pub tokens: StoredTokens,
    /// When a login without a refresh token ends (Unix seconds).
    pub login_expires_at: Option<u64>,
    pub claims: IdClaims,
    pub instance: ServerUrl,
}

/// WebFinger's question for the issuer `server` names: no credentials, so it goes in the
/// discovery's first round beside the other probes' requests (docs/benchmarks.md#round-trips).
pub(super) fn issuer_request(server: &ServerUrl) -> HttpRequest {
    HttpRequest::new(
        reqwest::Method::GET,
        oidc::webfinger_url(server, server.as_url().as_str(), oidc::ISSUER_REL),
        Participant::Lookup,
    )
    .header("Accept", "application/jrd+json, application/json")
}

/// The issuer `server` names in WebFinger (oCIS names its IdP there), else the server itself:
/// from the first round's answer when there was one.
async fn issuer_of(
    http: &HttpClient,
    server: &ServerUrl,
    ahead: Option<Result<HttpResponse, ConnectError>>,
) -> Result<String, ConnectError> {
    let answer = match ahead {
        // Sent ahead with a short bound (discovery.rs): asked again with the full one.
        Some(Err(ConnectError::Timeout { .. })) | None => {
            http.send(&issuer_request(server), http.trace().next_round()).await?
        }
        Some(answer) => answer?,
    };
    // Why the fallback: a server without WebFinger may be its own issuer (DESIGN S2 step 2).
    if answer.status == 200 {
        oidc::issuer_from_webfinger(&answer.url, &answer.body)
    } else {
        Ok(server.as_url().as_str().trim_end_matches('/').to_owned())
    }
}

fn issuer_url(issuer: &str) -> Result<Url, ConnectError> {
    Url::parse(issuer).map_err(|e| ConnectError::InvalidResponse {
        url: issuer.to_owned(),
        what: "OpenID issuer",
        reason: e.to_string(),
    })
}

/// The discovery document of `issuer`, checked to speak for exactly that issuer.
pub async fn provider_at(http: &HttpClient, issuer: &str) -> Result<ProviderMetadata, ConnectError> {
    let discovery =
        HttpRequest::new(reqwest::Method::GET, ProviderMetadata::discovery_url(&issuer_url(issuer)?), Participant::Idp)
            .header("Accept", "application/json");
    let answer = http.send(&discovery, http.trace().next_round()).await?;
    let answer = expect_ok(answer, "200 OK with the OpenID discovery document")?;
    ProviderMetadata::parse(&answer.url, &answer.body, issuer)
}

/// RFC 7591 registration as a native public client; None when the provider refuses (closed to
/// anonymous clients): the next source of a client id applies.
async fn register(
    http: &HttpClient,
    endpoint: &Url,
    redirect_uri: &Url,
) -> Result<Option<oidc::Registration>, ConnectError> {
    let body = oidc::registration_body(redirect_uri).to_string();
    let request = HttpRequest::new(reqwest::Method::POST, endpoint.clone(), Participant::Idp)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .body(body);
    let answer = http.send(&request, http.trace().next_round()).await?;
    if answer.status != 200 && answer.status != 201 {
        return Ok(None);
    }
    oidc::registration_from_answer(&answer.url, &answer.body).map(Some)
}

/// Picks up a stored login: the provider's discovery document (still naming the same issuer),
/// then a new access token from the refresh token. `claims` stand in for the ID token, which a
/// refresh does not repeat. A login stored without a refresh token goes on with its access token
/// until it ends.
async fn resume(http: &HttpClient, stored: StoredLogin) -> Result<(ServerStatus, Session, ServerUrl), ConnectError> {
    let StoredLogin { status, issuer, client, tokens, login_expires_at, claims, instance } = stored;
    if tokens.refresh.is_none() {
        let ended = login_expires_at.is_some_and(|end| end <= now_unix());
        let Some(access) = tokens.access.filter(|_| !ended) else {
            return Err(ConnectError::LoginExpired {
                reason: "the identity provider gave no refresh token and the login has ended".into(),
            });
        };
        let metadata = provider_at(http, &issuer).await?;
        let tokens = Tokens { access, refresh: None, claims, scopes: Vec::new(), access_expires_at: login_expires_at };
        return Ok((status, Session { metadata, client, tokens, ahead: None }, instance));
    }
    let metadata = provider_at(http, &issuer).await?;
    let mut session = Session {
        metadata,
        client,
        tokens: Tokens {
            access: Secret::new(""),
            refresh: tokens.refresh,
            claims,
            scopes: Vec::new(),
            access_expires_at: None,
        },
        ahead: None,
    };
    session.refresh(http).await?;
    Ok((status, session, instance))
}

impl Wizard {
    /// The OpenID Connect path's next step, from where it stands.
    pub(super) async fn advance_oidc(&mut self, phase: OidcPhase) -> Result<Step, ConnectError> {
        match phase {
            OidcPhase::Start(status) => self.start_browser_login(status).await,
            OidcPhase::Browser(login) => {
                self.step(StepName::Authenticate, StepAbout::WaitingForBrowser);
                let status = login.status.clone();
                let remembered =
                    (login.client.source == ClientSource::Remembered).then(|| login.metadata.issuer.clone());
                let typed = self.typed_user();
                // A tenant's approuter is the instance: verified beside userinfo (docs/benchmarks.md).
                let beside = match self.tenant {
                    Some(_) => Beside::Verify(&self.server),
                    None => Beside::Instances(&self.server),
                };
                let session = finish_login(&self.http, *login, beside, typed.as_deref()).await.map_err(|error| {
                    match (error, &self.tenant) {
                        // The zone refuses to log anyone in for a tenant that is not subscribed
                        // (docs/protocols/tenant-by-host.md).
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
                });
                let session = match (session, remembered) {
                    // The provider no longer knows the client it registered: forget it, so the
                    // next connect registers anew.
                    (Err(ConnectError::BrowserLoginFailed { error, description }), Some(issuer))
                        if error == "invalid_client" =>
                    {
                        self.forget_client(issuer).await;
                        return Err(ConnectError::BrowserLoginFailed { error, description });
                    }
                    (session, _) => session?,
                };
                if let Some(typed) = self.typed_user() {
                    if !is_typed_user(&typed, &session.tokens.claims) {
                        let decision = Decision::ConfirmUser {
                            typed,
                            logged_in: logged_in_as(&session.tokens.claims),
                            display_name: session.tokens.claims.name.clone(),
                        };
                        self.phase = Phase::Oidc(OidcPhase::ConfirmUser { status, session: Box::new(session) });
                        return Ok(Step::Decide(decision));
                    }
                }
                self.after_login(status, Box::new(session)).await
            }
            OidcPhase::ConfirmUser { status, session } => self.after_login(status, session).await,
            OidcPhase::ChooseInstance { status, session, instances } => {
                self.after_instances(status, session, instances).await
            }
            OidcPhase::Resume(stored) => {
                self.step(StepName::Authenticate, StepAbout::RefreshingAt { issuer: stored.issuer.to_string() });
                let (status, session, instance) = resume(&self.http, *stored).await?;
                self.verify_bearer(status, session, instance, true).await
            }
        }
    }

    /// The user the person meant: typed in the address (`einstein@…`) or given as the login name.
    fn typed_user(&self) -> Option<String> {
        self.login_hint()
            .or_else(|| self.login_user.clone())
            .or_else(|| self.credentials.as_ref().map(|c| c.user.clone()))
            .filter(|u| !u.is_empty())
    }

    /// Logged in as the right user: a tenant is verified at the approuter itself, else WebFinger
    /// names the account's instance(s).
    async fn after_login(&mut self, status: ServerStatus, session: Box<Session>) -> Result<Step, ConnectError> {
        if self.tenant.is_some() {
            // The approuter serves every tenant itself: no instance to discover.
            let server = self.server.clone();
            return self.verify_bearer(status, *session, server, false).await;
        }
        self.step(StepName::Discover, StepAbout::AskingWhereAccountLives { server: self.server.to_string() });
        let instances = find_instances(&self.http, &self.server, &session).await?;
        self.after_instances(status, session, instances).await
    }

    /// The first of `urls` the https rule does not permit yet (plain http to a host that is not
    /// this machine): the person is asked before anything is sent there.
    fn needs_plain_http_consent<'u>(&self, urls: impl IntoIterator<Item = &'u Url>) -> Option<&'u Url> {
        urls.into_iter().find(|url| !self.policy.permits_scheme(url))
    }

    /// A Bearer challenge: find the provider, choose the client, and ask to open the browser.
    pub(super) async fn start_browser_login(&mut self, status: ServerStatus) -> Result<Step, ConnectError> {
        self.step(StepName::Authenticate, StepAbout::FindingIdentityProvider { server: self.server.to_string() });
        let issuer = match &self.tenant {
            // The host named the tenant: its identity zone is the issuer
            // (docs/protocols/tenant-by-host.md), no WebFinger.
            Some((_, zone)) => zone.clone(),
            None => issuer_of(&self.http, &self.server, self.issuer_ahead.take()).await?,
        };
        let issuer_at = issuer_url(&issuer)?;
        if let Some(url) = self.needs_plain_http_consent([&issuer_at]) {
            return Ok(self.ask_plain_http(url, status));
        }
        let metadata = provider_at(&self.http, &issuer).await?;
        if let Some(url) = self.needs_plain_http_consent(metadata.endpoints()) {
            return Ok(self.ask_plain_http(url, status));
        }
        // A client registered for a fixed redirect URI needs its port (and host) from the setting;
        // one Homeport registered earlier, the path it registered.
        let setting = self.clients.profile_for(&metadata.issuer).cloned();
        let redirect = setting.as_ref().and_then(|p| p.redirect).unwrap_or_default();
        let remembered = match self.product_or_setting_names_a_client(setting.as_ref(), &status) {
            true => None,
            false => self.recall_client(&metadata.issuer).await,
        };
        let path = remembered.as_ref().and_then(|client| client.redirect_path.clone());
        let callback = LoopbackCallback::bind_at(&redirect, path.as_deref()).await?;
        let client = self.choose_client(&metadata, setting, &status, remembered, callback.redirect_uri()).await?;
        let hint = self.typed_user();
        let login = LoginRequest::new(&metadata, &client, callback.redirect_uri(), hint.as_deref());
        // The person confirms a provider on another site than the server they typed: it is
        // where their password goes, and its tokens then go to the server and the instances
        // it names. A tenant's zone is the person's own setting.
        let issuer_elsewhere = self.tenant.is_none() && !same_site(self.server.as_url(), &issuer_at);
        let decision = Decision::OpenBrowser {
            url: login.url.to_string(),
            issuer: metadata.issuer.clone(),
            server: self.server.to_string(),
            issuer_elsewhere,
            protocol: Protocol::Oidc,
        };
        self.phase =
            Phase::Oidc(OidcPhase::Browser(Box::new(BrowserLogin { status, metadata, client, login, callback })));
        Ok(Step::Decide(decision))
    }

    fn ask_plain_http(&mut self, url: &Url, status: ServerStatus) -> Step {
        self.phase = Phase::Oidc(OidcPhase::Start(status));
        Step::Decide(Decision::ConfirmPlainHttp { url: url.to_string() })
    }

    /// The client for this provider (docs/protocols/oidc-ocis.md#the-client): the person's
    /// setting, the server product's known client, one registered earlier, a new registration,
    /// Homeport's own id — in that order, field by field.
    async fn choose_client(
        &self,
        metadata: &ProviderMetadata,
        setting: Option<ClientProfile>,
        status: &ServerStatus,
        remembered: Option<RegisteredClient>,
        redirect_uri: &Url,
    ) -> Result<OidcClient, ConnectError> {
        let mut layers: Vec<(ClientProfile, ClientSource)> = Vec::new();
        layers.extend(setting.map(|p| (p, ClientSource::Setting)));
        layers.extend(self.product_client(status).map(|p| (p, ClientSource::Product)));
        if !layers.iter().any(|(profile, _)| profile.client_id.is_some()) {
            if let Some(client) = remembered {
                layers.push((registered_profile(&client), ClientSource::Remembered));
            } else if let Some(endpoint) = &metadata.registration_endpoint {
                if let Some(registration) = register(&self.http, endpoint, redirect_uri).await? {
                    let client = RegisteredClient {
                        issuer: metadata.issuer.clone(),
                        client_id: registration.client_id,
                        secret: registration.client_secret,
                        token_auth: registration.token_auth,
                        redirect_path: Some(redirect_uri.path().to_owned()),
                    };
                    self.remember_client(client.clone()).await;
                    layers.push((registered_profile(&client), ClientSource::Registered));
                }
            }
        }
        let borrowed: Vec<(&ClientProfile, ClientSource)> = layers.iter().map(|(p, s)| (p, *s)).collect();
        OidcClient::from_layers(
            &borrowed,
            (HOMEPORT_CLIENT_ID, ClientSource::BuiltIn),
            &metadata.token_endpoint_auth_methods_supported,
        )
    }

    /// The server product's own client; product knowledge is about the server's own IdP, so a
    /// tenant's zone (no oCIS) has none.
    fn product_client(&self, status: &ServerStatus) -> Option<ClientProfile> {
        if self.tenant.is_none() {
            oidc_client::for_product(&status.productname)
        } else {
            None
        }
    }

    /// Whether the setting or the product already names the client id (then nothing registered
    /// is recalled).
    fn product_or_setting_names_a_client(&self, setting: Option<&ClientProfile>, status: &ServerStatus) -> bool {
        setting.is_some_and(|p| p.client_id.is_some())
            || self.product_client(status).is_some_and(|p| p.client_id.is_some())
    }

    pub(super) async fn recall_client(&self, issuer: &str) -> Option<RegisteredClient> {
        let memory = self.clients.memory.clone()?;
        let issuer = issuer.to_owned();
        // The keyring blocks: off the runtime's threads.
        tokio::task::spawn_blocking(move || memory.recall(&issuer)).await.ok().flatten()
    }

    pub(super) async fn remember_client(&self, client: RegisteredClient) {
        if let Some(memory) = self.clients.memory.clone() {
            let _ = tokio::task::spawn_blocking(move || memory.remember(&client)).await;
        }
    }

    pub(super) async fn forget_client(&self, issuer: String) {
        if let Some(memory) = self.clients.memory.clone() {
            let _ = tokio::task::spawn_blocking(move || memory.forget(&issuer)).await;
        }
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
        refuse_plain_http(&self.policy, &instance)?;
        self.step(StepName::Verify, StepAbout::VerifyingAt { server: instance.to_string() });
        // The PROPFIND and the user's name from OCS together: both to the instance, with the
        // token WebFinger (or the account) sent there; a refused token asks both again.
        let mut ahead = match session.ahead.take() {
            Some(Ahead::Verify { instance: at, propfind, user }) if at == instance => Some((propfind, user)),
            _ => None,
        };
        let user = loop {
            let (response, user) = match ahead.take() {
                Some(answers) => answers,
                None => {
                    let [request, user_request] = bearer_verification(&instance, &session.tokens.access);
                    let round = self.trace().next_round();
                    futures_util::future::join(self.http.send(&request, round), self.http.send(&user_request, round))
                        .await
                }
            };
            let response = response?;
            match response.status {
                207 => {
                    owncloud::check_multistatus(&response.url, &response.body)?;
                    break user?;
                }
                401 => {
                    let challenge = response.header_values("www-authenticate").join(", ");
                    if challenge.to_ascii_lowercase().contains("disabled") {
                        return Err(ConnectError::AccountDisabled { server: Origin::of(&response.url).to_string() });
                    }
                    if refreshed || session.tokens.refresh.is_none() || !challenge.contains("invalid_token") {
                        return Err(ConnectError::LoginExpired { reason: format!("{instance} refused the token") });
                    }
                    self.step(StepName::Authenticate, StepAbout::RefreshingExpiredToken);
                    session.refresh(&self.http).await?;
                    refreshed = true;
                }
                other => return Err(unexpected(&response, other, "207 Multi-Status")),
            }
        };
        let claims = &session.tokens.claims;
        let login_name = claims.preferred_username.clone().unwrap_or_else(|| claims.sub.clone());
        // Why optional: the PROPFIND already proved the account; OCS only adds the name.
        let ocs_user = if user.status == 200 { OcsUser::parse(&user.url, &user.body).ok() } else { None };
        let display_name = ocs_user
            .as_ref()
            .map(|u| u.display_name.clone())
            .filter(|name| !name.is_empty())
            .or_else(|| claims.name.clone())
            .unwrap_or_else(|| login_name.clone());
        let user_id = ocs_user.map(|u| u.id).unwrap_or_else(|| login_name.clone());
        let tenant = self.tenant.as_ref().map(|(tenant, _)| crate::account::TenantInfo {
            tenant: tenant.clone(),
            zone_id: claims.zid.clone().unwrap_or_default(),
            scopes: tenant::application_scopes(&session.tokens.scopes),
        });
        let kind = if tenant.is_some() { AccountKind::TenantOidc } else { AccountKind::Ocis };
        let account = Account {
            display_name,
            product: if status.productname.is_empty() {
                "ownCloud Infinite Scale".into()
            } else {
                status.productname.clone()
            },
            version: status.versionstring.clone(),
            tenant,
            oidc: Some(crate::account::OidcInfo {
                issuer: session.metadata.issuer.clone(),
                client_id: session.client.client_id.clone(),
                token_auth: session.client.token_auth,
                // Without a refresh token the login ends with its access token: the account says
                // so ("log in again in N minutes") instead of passing for a lasting one.
                login_expires_at: if session.tokens.refresh.is_none() {
                    session.tokens.access_expires_at.or(Some(now_unix()))
                } else {
                    None
                },
            }),
            ..self.new_account(kind, AuthMethod::Oidc, instance, login_name, user_id)
        };
        let secret = StoredTokens::to_secret(&session.tokens, &session.client);
        Ok(self.connected(account, secret, status, Vec::new()))
    }
}

/// A registered client as a profile layer.
fn registered_profile(client: &RegisteredClient) -> ClientProfile {
    ClientProfile {
        client_id: Some(client.client_id.clone()),
        client_secret: client.secret.clone(),
        token_auth: Some(client.token_auth),
        ..ClientProfile::default()
    }
}
