//! The wizard's OpenID Connect path (oCIS, docs/protocols/oidc-ocis.md): a Bearer challenge
//! leads here. Issuer discovery (WebFinger, else the server itself), client registration, the
//! login in the system browser ([`Decision::OpenBrowser`]), the code exchange through `oauth2`
//! with the engine's own HTTP client (so every request is traced and no redirect is followed
//! behind the policy's back), ID-token validation, then instance discovery by WebFinger and a
//! bearer PROPFIND.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, Client, ClientId, EndpointNotSet, EndpointSet, ExtraTokenFields, RedirectUrl,
    RefreshToken, StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use url::Url;

use super::decision::Protocol;
use super::{refuse_plain_http, unexpected, Decision, Phase, Step, Wizard};
use crate::account::{Account, AccountKind, AuthMethod};
use crate::address::{Origin, ServerUrl};
use crate::error::{snippet, ConnectError};
use crate::http::{Auth, HttpClient, HttpRequest, HttpResponse};
use crate::loopback::{CallbackRejected, LoopbackCallback};
use crate::oidc::{self, IdClaims, InstanceLink, LoginRequest, ProviderMetadata};
use crate::owncloud::ServerStatus;
use crate::owncloud::{self, OcsUser};
use crate::secret::Secret;
use crate::tenant;
use crate::trace::{Participant, StepName};

/// How long the wizard waits for the person to finish logging in in the browser.
pub const BROWSER_LOGIN_TIMEOUT: Duration = Duration::from_secs(300);
pub const SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// The token response with the OpenID `id_token`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct IdTokenField {
    #[serde(default)]
    pub id_token: Option<String>,
}
impl ExtraTokenFields for IdTokenField {}

type TokenAnswer = StandardTokenResponse<IdTokenField, BasicTokenType>;
type OidcClient = Client<
    BasicErrorResponse,
    TokenAnswer,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

type RefreshClient = Client<
    BasicErrorResponse,
    TokenAnswer,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// A login waiting for the browser.
pub struct BrowserLogin {
    pub status: ServerStatus,
    pub metadata: ProviderMetadata,
    pub client_id: String,
    pub login: LoginRequest,
    pub callback: LoopbackCallback,
}

/// Tokens after a successful login (never written anywhere but the keyring).
pub struct Tokens {
    pub access: Secret,
    pub refresh: Option<Secret>,
    pub claims: IdClaims,
    /// The scopes the provider granted (its `scope` answer).
    pub scopes: Vec<String>,
}

/// Where the OIDC path stands between two calls of `Wizard::next`.
pub enum OidcPhase {
    Browser(Box<BrowserLogin>),
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
    pub client_id: String,
    pub refresh_token: Secret,
    pub claims: IdClaims,
    pub instance: ServerUrl,
}

/// What the rest of the path needs after the login.
pub struct Session {
    pub metadata: ProviderMetadata,
    pub client_id: String,
    pub tokens: Tokens,
}

/// Finds the issuer for `server`: WebFinger first (oCIS names its IdP there), else the server
/// itself; then its discovery document, checked to speak for exactly that issuer.
pub async fn discover_provider(http: &HttpClient, server: &ServerUrl) -> Result<ProviderMetadata, ConnectError> {
    let issuer = issuer_of(http, server).await?;
    provider_at(http, &issuer).await
}

async fn issuer_of(http: &HttpClient, server: &ServerUrl) -> Result<String, ConnectError> {
    let round = http.trace().next_round();
    let finger = HttpRequest::new(
        reqwest::Method::GET,
        oidc::webfinger_url(server, server.as_url().as_str(), oidc::ISSUER_REL),
        Participant::Lookup,
    )
    .header("Accept", "application/jrd+json, application/json");
    let answer = http.send(&finger, round).await?;
    // Why the fallback: a server without WebFinger may be its own issuer (DESIGN S2 step 2).
    if answer.status == 200 {
        oidc::issuer_from_webfinger(&answer.url, &answer.body)
    } else {
        Ok(server.as_url().as_str().trim_end_matches('/').to_owned())
    }
}

/// The discovery document of `issuer`, checked to speak for exactly that issuer.
pub async fn provider_at(http: &HttpClient, issuer: &str) -> Result<ProviderMetadata, ConnectError> {
    let issuer_url = Url::parse(issuer).map_err(|e| ConnectError::InvalidResponse {
        url: issuer.to_owned(),
        what: "OpenID issuer",
        reason: e.to_string(),
    })?;
    let discovery =
        HttpRequest::new(reqwest::Method::GET, ProviderMetadata::discovery_url(&issuer_url), Participant::Idp)
            .header("Accept", "application/json");
    let answer = http.send(&discovery, http.trace().next_round()).await?;
    let answer = expect_ok(answer, "200 OK with the OpenID discovery document")?;
    ProviderMetadata::parse(&answer.url, &answer.body, issuer)
}

/// Registers Homeport when the provider allows it (RFC 7591), else uses the built-in client id.
pub async fn client_id(
    http: &HttpClient,
    metadata: &ProviderMetadata,
    redirect_uri: &Url,
) -> Result<String, ConnectError> {
    let Some(endpoint) = &metadata.registration_endpoint else {
        return Ok(oidc::BUILT_IN_CLIENT_ID.to_owned());
    };
    let body = oidc::registration_body(redirect_uri).to_string();
    let request = HttpRequest::new(reqwest::Method::POST, endpoint.clone(), Participant::Idp)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .body(body);
    let answer = http.send(&request, http.trace().next_round()).await?;
    if answer.status != 200 && answer.status != 201 {
        // Why the fallback: registration may be closed to anonymous clients.
        return Ok(oidc::BUILT_IN_CLIENT_ID.to_owned());
    }
    oidc::client_id_from_registration(&answer.url, &answer.body)
}

fn client(metadata: &ProviderMetadata, client_id: &str, redirect_uri: &Url) -> OidcClient {
    Client::new(ClientId::new(client_id.to_owned()))
        .set_auth_uri(AuthUrl::from_url(metadata.authorization_endpoint.clone()))
        .set_token_uri(TokenUrl::from_url(metadata.token_endpoint.clone()))
        .set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()))
}

/// Waits for the browser, exchanges the code (PKCE verifier), checks the ID token.
pub async fn finish_login(http: &HttpClient, login: BrowserLogin) -> Result<Session, ConnectError> {
    let redirect_uri = login.callback.redirect_uri().clone();
    // A callback with another state is no answer to this login: 400, and the wait goes on.
    let code = login
        .callback
        .receive(BROWSER_LOGIN_TIMEOUT, |target| match login.login.is_this_login(target) {
            true => Ok(login.login.code_from_callback(target)),
            false => Err(CallbackRejected::new("it belongs to no login Homeport started (state mismatch)")),
        })
        .await??;
    let client = client(&login.metadata, &login.client_id, &redirect_uri);
    let verifier = oauth2::PkceCodeVerifier::new(login.login.pkce_verifier().secret().clone());
    let transport = Transport { http, round: http.trace().next_round() };
    let answer = client
        .exchange_code(AuthorizationCode::new(code.expose().to_owned()))
        .set_pkce_verifier(verifier)
        .request_async(&transport)
        .await
        .map_err(|e| token_error(&login.metadata.token_endpoint, e))?;
    let id_token = answer
        .extra_fields()
        .id_token
        .clone()
        .ok_or_else(|| ConnectError::InvalidIdToken { reason: "the token answer has no ID token".into() })?;
    let jwks = fetch_jwks(http, &login.metadata).await?;
    let claims =
        oidc::validate_id_token(&id_token, &jwks, &login.metadata.issuer, &login.client_id, login.login.nonce())?;
    let mut session = Session {
        tokens: Tokens {
            access: Secret::new(answer.access_token().secret().clone()),
            refresh: answer.refresh_token().map(|t| Secret::new(t.secret().clone())),
            claims,
            scopes: answer.scopes().map(|scopes| scopes.iter().map(|s| s.to_string()).collect()).unwrap_or_default(),
        },
        metadata: login.metadata,
        client_id: login.client_id,
    };
    // Why optional: the ID token already names the person; userinfo only adds to it.
    if let Some(endpoint) = session.metadata.userinfo_endpoint.clone() {
        session.tokens.claims = userinfo(http, &endpoint, &mut session).await?;
    }
    Ok(session)
}

/// `GET userinfo` with the new access token (refreshed once if it already expired: a long login,
/// a skewed clock); its answer must be about the same subject.
async fn userinfo(http: &HttpClient, endpoint: &Url, session: &mut Session) -> Result<IdClaims, ConnectError> {
    let mut refreshed = false;
    loop {
        let request = HttpRequest::new(reqwest::Method::GET, endpoint.clone(), Participant::Idp)
            .header("Accept", "application/json")
            .auth(Auth::Bearer(session.tokens.access.clone()));
        let answer = http.send(&request, http.trace().next_round()).await?;
        let expired =
            answer.status == 401 && answer.header_values("www-authenticate").join(", ").contains("invalid_token");
        if expired && !refreshed {
            refresh(http, session).await?;
            refreshed = true;
            continue;
        }
        let answer = expect_ok(answer, "200 OK with the user's claims")?;
        return oidc::userinfo_for(&answer.url, &answer.body, &session.tokens.claims);
    }
}

/// Picks up a stored login: the provider's discovery document (still naming the same issuer),
/// then a new access token from the refresh token. `claims` stand in for the ID token, which a
/// refresh does not repeat.
pub async fn resume(
    http: &HttpClient,
    issuer: &str,
    client_id: &str,
    refresh_token: Secret,
    claims: IdClaims,
) -> Result<Session, ConnectError> {
    let metadata = provider_at(http, issuer).await?;
    let mut session = Session {
        metadata,
        client_id: client_id.to_owned(),
        tokens: Tokens { access: Secret::new(""), refresh: Some(refresh_token), claims, scopes: Vec::new() },
    };
    refresh(http, &mut session).await?;
    Ok(session)
}

/// A new access token from the refresh token (the provider may rotate the refresh token too).
pub async fn refresh(http: &HttpClient, session: &mut Session) -> Result<(), ConnectError> {
    let Some(refresh_token) = &session.tokens.refresh else {
        return Err(ConnectError::LoginExpired { reason: "the provider gave no refresh token".into() });
    };
    // The redirect URI is not used by a refresh; oauth2 wants one only for the code exchange.
    let client: RefreshClient = Client::new(ClientId::new(session.client_id.clone()))
        .set_token_uri(TokenUrl::from_url(session.metadata.token_endpoint.clone()));
    let transport = Transport { http, round: http.trace().next_round() };
    let answer: TokenAnswer = client
        .exchange_refresh_token(&RefreshToken::new(refresh_token.expose().to_owned()))
        .request_async(&transport)
        .await
        .map_err(|e| match token_error(&session.metadata.token_endpoint, e) {
            ConnectError::BrowserLoginFailed { error, description } if error == "invalid_grant" => {
                ConnectError::LoginExpired { reason: format!("the refresh token was refused ({description})") }
            }
            other => other,
        })?;
    session.tokens.access = Secret::new(answer.access_token().secret().clone());
    if let Some(rotated) = answer.refresh_token() {
        session.tokens.refresh = Some(Secret::new(rotated.secret().clone()));
    }
    if let Some(scopes) = answer.scopes() {
        session.tokens.scopes = scopes.iter().map(|scope| scope.to_string()).collect();
    }
    Ok(())
}

async fn fetch_jwks(http: &HttpClient, metadata: &ProviderMetadata) -> Result<JwkSet, ConnectError> {
    let round = http.trace().next_round();
    let request = HttpRequest::new(reqwest::Method::GET, metadata.jwks_uri.clone(), Participant::Idp)
        .header("Accept", "application/json");
    let answer = expect_ok(http.send(&request, round).await?, "200 OK with the provider's keys (JWKS)")?;
    serde_json::from_slice(&answer.body).map_err(|e| ConnectError::InvalidResponse {
        url: answer.url.to_string(),
        what: "JWKS",
        reason: format!("{e}; the body starts with: {}", snippet(&answer.body)),
    })
}

/// oCIS instance discovery: WebFinger `acct:<user>@<host>` with the bearer token.
pub async fn find_instances(
    http: &HttpClient,
    server: &ServerUrl,
    session: &Session,
) -> Result<Vec<InstanceLink>, ConnectError> {
    let round = http.trace().next_round();
    let user = session.tokens.claims.preferred_username.clone().unwrap_or_else(|| session.tokens.claims.sub.clone());
    let host = Origin::of(server.as_url()).to_string();
    let host = host.split_once("://").map_or(host.as_str(), |(_, rest)| rest).to_owned();
    let subject = format!("acct:{user}@{host}");
    let request = HttpRequest::new(
        reqwest::Method::GET,
        oidc::webfinger_url(server, &subject, oidc::SERVER_INSTANCE_REL),
        Participant::Lookup,
    )
    .header("Accept", "application/jrd+json, application/json")
    .auth(Auth::Bearer(session.tokens.access.clone()));
    let answer = expect_ok(http.send(&request, round).await?, "200 OK with the account's instances (WebFinger)")?;
    oidc::instances_from_webfinger(&answer.url, &answer.body, &subject)
}

/// oauth2's HTTP client: the engine's own (a named type, not a closure, so the futures stay `Send`).
struct Transport<'a> {
    http: &'a HttpClient,
    round: u32,
}

impl<'c> oauth2::AsyncHttpClient<'c> for Transport<'_> {
    type Error = ConnectError;
    type Future = Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, ConnectError>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(send_for_oauth2(self.http, request, self.round))
    }
}

/// Adapts oauth2's requests to the engine's client: traced, bounded, no automatic redirects.
async fn send_for_oauth2(
    http: &HttpClient,
    request: oauth2::HttpRequest,
    round: u32,
) -> Result<oauth2::HttpResponse, ConnectError> {
    let url = Url::parse(&request.uri().to_string()).map_err(|e| ConnectError::InvalidResponse {
        url: request.uri().to_string(),
        what: "token endpoint",
        reason: e.to_string(),
    })?;
    let method = reqwest::Method::from_bytes(request.method().as_str().as_bytes())
        .map_err(|e| ConnectError::InvalidResponse { url: url.to_string(), what: "method", reason: e.to_string() })?;
    let mut ours = HttpRequest::new(method, url, Participant::Idp);
    for (name, value) in request.headers() {
        // oauth2 sends only these; HttpRequest keeps static header names.
        let name: &'static str = match name.as_str() {
            "accept" => "Accept",
            "content-type" => "Content-Type",
            "authorization" => "Authorization",
            _ => continue,
        };
        ours = ours.header(name, value.to_str().unwrap_or_default());
    }
    let ours = ours.body(request.into_body());
    let answer = http.send(&ours, round).await?;
    let mut response = oauth2::http::Response::builder().status(answer.status);
    for (name, value) in &answer.headers {
        response = response.header(name.as_str(), value.as_bytes());
    }
    response.body(answer.body).map_err(|e| ConnectError::InvalidResponse {
        url: answer.url.to_string(),
        what: "token answer",
        reason: e.to_string(),
    })
}

fn token_error(endpoint: &Url, error: oauth2::RequestTokenError<ConnectError, BasicErrorResponse>) -> ConnectError {
    match error {
        oauth2::RequestTokenError::ServerResponse(response) => ConnectError::BrowserLoginFailed {
            error: response.error().to_string(),
            description: response.error_description().cloned().unwrap_or_default(),
        },
        oauth2::RequestTokenError::Request(inner) => inner,
        oauth2::RequestTokenError::Parse(e, body) => ConnectError::InvalidResponse {
            url: endpoint.to_string(),
            what: "token answer",
            reason: format!("{e}; the body starts with: {}", snippet(&body)),
        },
        oauth2::RequestTokenError::Other(reason) => {
            ConnectError::InvalidResponse { url: endpoint.to_string(), what: "token answer", reason }
        }
    }
}

fn expect_ok(answer: HttpResponse, expected: &'static str) -> Result<HttpResponse, ConnectError> {
    if answer.status == 200 {
        Ok(answer)
    } else {
        Err(ConnectError::UnexpectedStatus {
            url: answer.url.to_string(),
            status: answer.status,
            expected,
            snippet: snippet(&answer.body),
        })
    }
}

impl Wizard {
    /// The OpenID Connect path's next step, from where it stands.
    pub(super) async fn advance_oidc(&mut self, phase: OidcPhase) -> Result<Step, ConnectError> {
        match phase {
            OidcPhase::Browser(login) => {
                self.step(StepName::Authenticate, "waiting for the login in your browser".into());
                let status = login.status.clone();
                let session = finish_login(&self.http, *login).await.map_err(|error| {
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
                })?;
                if self.tenant.is_some() {
                    // The approuter serves every tenant itself: no instance to discover.
                    let server = self.server.clone();
                    return self.verify_bearer(status, session, server, false).await;
                }
                self.step(StepName::Discover, format!("asking {} where the account lives", self.server));
                let instances = find_instances(&self.http, &self.server, &session).await?;
                self.after_instances(status, Box::new(session), instances).await
            }
            OidcPhase::ChooseInstance { status, session, instances } => {
                self.after_instances(status, session, instances).await
            }
            OidcPhase::Resume(stored) => {
                let StoredLogin { status, issuer, client_id, refresh_token, claims, instance } = *stored;
                self.step(StepName::Authenticate, format!("refreshing the login at {issuer}"));
                let session = resume(&self.http, &issuer, &client_id, refresh_token, claims).await?;
                self.verify_bearer(status, session, instance, true).await
            }
        }
    }

    /// A Bearer challenge: find the provider, register, and ask to open the browser.
    pub(super) async fn start_browser_login(&mut self, status: ServerStatus) -> Result<Step, ConnectError> {
        self.step(
            StepName::Authenticate,
            format!("{} logs in with OpenID Connect: finding its identity provider", self.server),
        );
        let metadata = match &self.tenant {
            // The host named the tenant: its identity zone is the issuer
            // (docs/protocols/tenant-by-host.md), no WebFinger.
            Some((_, zone)) => provider_at(&self.http, zone).await?,
            None => discover_provider(&self.http, &self.server).await?,
        };
        let callback = LoopbackCallback::bind().await?;
        let client_id = client_id(&self.http, &metadata, callback.redirect_uri()).await?;
        let login = LoginRequest::new(&metadata, &client_id, callback.redirect_uri(), &SCOPES);
        let decision = Decision::OpenBrowser {
            url: login.url.to_string(),
            issuer: metadata.issuer.clone(),
            protocol: Protocol::Oidc,
        };
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
        refuse_plain_http(&self.policy, &instance)?;
        self.step(StepName::Verify, format!("verifying the account at {instance}"));
        loop {
            let request = HttpRequest::new(owncloud::propfind(), owncloud::dav_url(&instance), Participant::Instance)
                .header("Depth", "0")
                .header("Content-Type", "application/xml; charset=utf-8")
                .auth(Auth::Bearer(session.tokens.access.clone()))
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
                    self.step(StepName::Authenticate, "the access token expired: refreshing it".into());
                    refresh(&self.http, &mut session).await?;
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
                .auth(Auth::Bearer(session.tokens.access.clone()));
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
                client_id: session.client_id.clone(),
            }),
            ..self.new_account(kind, AuthMethod::Oidc, instance, login_name, user_id)
        };
        let secret = session.tokens.refresh.clone().unwrap_or_else(|| session.tokens.access.clone());
        Ok(self.connected(account, secret, status, Vec::new()))
    }
}
