//! The wizard's path through Matrix's OAuth 2.0 API (spec v1.15; docs/protocols/matrix-oauth.md),
//! as Element X and matrix-rust-sdk log in: the homeserver's `auth_metadata` names its
//! authorization server; Homeport registers there as a public native client (RFC 7591, once per
//! issuer, remembered), opens the login in the system browser (authorization code, PKCE S256,
//! `state`, the Matrix scopes with a new device id, MSC4198's `login_hint`), exchanges the code
//! and has `whoami` confirm the user and the device before anything is stored.

use super::decision::Protocol;
use super::matrix::{display_name_at, whoami, whoami_and_name, MatrixStart};
use super::matrix_tokens::MatrixTokens;
use super::oidc_session::BROWSER_LOGIN_TIMEOUT;
use super::oidc_tokens;
use super::{Decision, Phase, Step, Wizard};
use crate::account::{Account, AccountKind, AuthMethod, MatrixInfo, MatrixOAuthInfo};
use crate::address::same_site;
use crate::error::{snippet, ConnectError};
use crate::http::HttpRequest;
use crate::loopback::{CallbackRejected, LoopbackCallback};
use crate::matrix_oauth::{self, AuthMetadata};
use crate::oidc::{self, AuthorizationServer, LoginRequest};
use crate::oidc_client::{ClientSource, OidcClient, RegisteredClient, TokenAuth};
use crate::owncloud::ServerStatus;
use crate::secret::Secret;
use crate::trace::{Participant, StepAbout, StepName};

/// Where the OAuth 2.0 path stands between two calls of `Wizard::next`.
pub enum MatrixOAuthPhase {
    /// Starting (again, after the person allowed plain http for an endpoint).
    Start(Box<MatrixStart>),
    Browser(Box<OAuthLogin>),
    /// The server logged in someone else than the Matrix ID typed: continue as them, or not.
    ConfirmUser(Box<Prepared>),
}

/// A login waiting for the browser.
pub struct OAuthLogin {
    start: MatrixStart,
    metadata: AuthMetadata,
    client: OidcClient,
    device_id: String,
    login: LoginRequest,
    callback: LoopbackCallback,
}

/// A verified login, not stored yet.
pub struct Prepared {
    account: Account,
    secret: Secret,
    status: ServerStatus,
}

impl Wizard {
    /// The homeserver has an OAuth 2.0 API: choose the client and ask to open the browser.
    pub(super) async fn matrix_oauth_login(&mut self, start: MatrixStart) -> Result<Step, ConnectError> {
        let Some(metadata) = start.oauth.clone() else {
            return Err(ConnectError::Finished);
        };
        self.step(
            StepName::Authenticate,
            StepAbout::MatrixOAuthAt { server: start.base.to_string(), issuer: metadata.issuer.to_string() },
        );
        if let Some(url) = metadata.endpoints().into_iter().find(|url| !self.policy.permits_scheme(url)) {
            let decision = Decision::ConfirmPlainHttp { url: url.to_string() };
            self.phase = Phase::MatrixOAuth(MatrixOAuthPhase::Start(Box::new(start)));
            return Ok(Step::Decide(decision));
        }
        // An administrator's or the person's client for this issuer comes first; else the one
        // registered earlier (and the path it registered), else a new registration.
        let setting = self.clients.profile_for(&metadata.issuer).cloned();
        let redirect = setting.as_ref().and_then(|p| p.redirect).unwrap_or_default();
        let set_id = setting.as_ref().and_then(|p| p.client_id.clone());
        let remembered = match set_id {
            Some(_) => None,
            None => self.recall_client(&metadata.issuer).await,
        };
        let path = remembered.as_ref().and_then(|client| client.redirect_path.clone());
        let callback = LoopbackCallback::bind_at(&redirect, path.as_deref()).await?;
        let device_id = matrix_oauth::new_device_id();
        let scopes = matrix_oauth::scopes(&device_id);
        let client = match (set_id, remembered) {
            (Some(client_id), _) => OidcClient {
                client_id,
                secret: setting.as_ref().and_then(|p| p.client_secret.clone()),
                token_auth: setting.as_ref().and_then(|p| p.token_auth).unwrap_or(TokenAuth::Public),
                scopes,
                prompt: setting.as_ref().and_then(|p| p.prompt.clone()),
                source: ClientSource::Setting,
            },
            (None, Some(known)) => client_of(known, scopes, ClientSource::Remembered),
            (None, None) => {
                let registered = self.register_matrix_client(&metadata, callback.redirect_uri()).await?;
                self.remember_client(registered.clone()).await;
                client_of(registered, scopes, ClientSource::Registered)
            }
        };
        let hint = self.typed_matrix_id().and_then(|typed| matrix_oauth::login_hint(&typed));
        let server = AuthorizationServer {
            endpoint: &metadata.authorization_endpoint,
            issuer: &metadata.issuer,
            iss_required: metadata.authorization_response_iss_parameter_supported,
            nonce: false,
        };
        let login = LoginRequest::at(server, &client, callback.redirect_uri(), hint.as_deref());
        let issuer_elsewhere =
            url::Url::parse(&metadata.issuer).map(|issuer| !same_site(start.base.as_url(), &issuer)).unwrap_or(true);
        let decision = Decision::OpenBrowser {
            url: login.url.to_string(),
            issuer: metadata.issuer.clone(),
            server: start.base.to_string(),
            issuer_elsewhere,
            protocol: Protocol::MatrixOauth,
        };
        let login = OAuthLogin { start, metadata, client, device_id, login, callback };
        self.phase = Phase::MatrixOAuth(MatrixOAuthPhase::Browser(Box::new(login)));
        Ok(Step::Decide(decision))
    }

    pub(super) async fn advance_matrix_oauth(&mut self, phase: MatrixOAuthPhase) -> Result<Step, ConnectError> {
        match phase {
            MatrixOAuthPhase::Start(start) => self.matrix_oauth_login(*start).await,
            MatrixOAuthPhase::Browser(login) => self.finish_matrix_oauth(*login).await,
            MatrixOAuthPhase::ConfirmUser(prepared) => {
                let Prepared { account, secret, status } = *prepared;
                Ok(self.connected(account, secret, status, Vec::new()))
            }
        }
    }

    /// RFC 7591 with the Matrix client metadata; a refusal is reported (there is no other client
    /// to fall back on at a Matrix authorization server).
    async fn register_matrix_client(
        &self,
        metadata: &AuthMetadata,
        redirect_uri: &url::Url,
    ) -> Result<RegisteredClient, ConnectError> {
        let Some(endpoint) = &metadata.registration_endpoint else {
            return Err(ConnectError::UnsupportedAuth {
                server: metadata.issuer.clone(),
                challenge: "its OAuth 2.0 API offers no client registration (registration_endpoint)".into(),
            });
        };
        self.step(StepName::Authenticate, StepAbout::RegisteringClient { issuer: metadata.issuer.to_string() });
        let request = HttpRequest::new(reqwest::Method::POST, endpoint.clone(), Participant::Idp)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .body(matrix_oauth::registration_body(redirect_uri).to_string());
        let answer = self.http.send(&request, self.trace().next_round()).await?;
        if answer.status != 200 && answer.status != 201 {
            let (error, description) = oauth_error(&answer.body);
            return Err(ConnectError::RegistrationRefused {
                issuer: metadata.issuer.clone(),
                status: answer.status,
                error,
                description,
            });
        }
        let registration = oidc::registration_from_answer(&answer.url, &answer.body)?;
        Ok(RegisteredClient {
            issuer: metadata.issuer.clone(),
            client_id: registration.client_id,
            secret: registration.client_secret,
            token_auth: registration.token_auth,
            redirect_path: Some(redirect_uri.path().to_owned()),
        })
    }

    /// The browser came back: the code for tokens, then `whoami` must name the device this login
    /// created (and, unless the person goes on as them, the user typed).
    async fn finish_matrix_oauth(&mut self, login: OAuthLogin) -> Result<Step, ConnectError> {
        let OAuthLogin { start, metadata, client, device_id, login, callback } = login;
        self.step(StepName::Authenticate, StepAbout::WaitingForBrowser);
        let redirect_uri = callback.redirect_uri().clone();
        // A callback with another state is no answer to this login: 400, and the wait goes on.
        let code = callback
            .receive(BROWSER_LOGIN_TIMEOUT, |target| match login.is_this_login(target) {
                true => Ok(login.code_from_callback(target)),
                false => Err(CallbackRejected::new("it belongs to no login Homeport started (state mismatch)")),
            })
            .await??;
        let exchanged = oidc_tokens::exchange_code(
            &self.http,
            &client,
            &metadata.token_endpoint,
            &redirect_uri,
            &code,
            login.pkce_verifier(),
            self.trace().next_round(),
        )
        .await;
        let answer = match exchanged {
            // The server no longer knows the client it registered: forget it, so the next
            // connect registers anew.
            Err(ConnectError::BrowserLoginFailed { error, description })
                if error == "invalid_client" && client.source == ClientSource::Remembered =>
            {
                self.forget_client(metadata.issuer.clone()).await;
                return Err(ConnectError::BrowserLoginFailed { error, description });
            }
            other => other?,
        };
        use oauth2::TokenResponse as _;
        let tokens = MatrixTokens::new(
            answer.access_token().secret().clone(),
            answer.refresh_token().map(|token| token.secret().clone()),
        );
        let base = start.base.clone();
        self.step(StepName::Verify, StepAbout::VerifyingAt { server: base.to_string() });
        let typed = self.typed_matrix_id();
        let ((user_id, device), name) = match &typed {
            // The profile of the user typed is asked for beside whoami (one round trip).
            Some(typed) => {
                let ((user_id, device), name) =
                    whoami_and_name(&self.http, &base, &tokens.access, typed, false).await?;
                let name = if user_id.eq_ignore_ascii_case(typed) { name } else { None };
                ((user_id, device), name)
            }
            None => {
                let who = whoami(&self.http, &base, &tokens.access).await?;
                let name = display_name_at(&self.http, &base, &tokens.access, &who.0).await?;
                (who, name)
            }
        };
        if device.as_deref().is_some_and(|device| device != device_id) {
            return Err(ConnectError::InvalidResponse {
                url: base.join(crate::matrix::WHOAMI_PATH).to_string(),
                what: "Matrix whoami answer",
                reason: format!(
                    "the token belongs to device {}, not to the device {device_id} this login created",
                    device.unwrap_or_default()
                ),
            });
        }
        let localpart = crate::matrix::localpart(&user_id).to_owned();
        let account = Account {
            id: Account::id_for(AccountKind::Matrix, &base, &user_id),
            server_url: start.base.clone(),
            display_name: name.clone().unwrap_or_else(|| localpart.clone()),
            product: "Matrix".into(),
            version: start.version.clone(),
            matrix: Some(MatrixInfo {
                device_id,
                oauth: Some(MatrixOAuthInfo { issuer: metadata.issuer.clone(), client_id: client.client_id.clone() }),
                account_management_uri: metadata.account_management(),
            }),
            ..self.new_account(AccountKind::Matrix, AuthMethod::MatrixOAuth, base, localpart, user_id.clone())
        };
        let status = ServerStatus {
            installed: true,
            productname: "Matrix".into(),
            versionstring: start.version.clone(),
            ..ServerStatus::default()
        };
        let prepared = Prepared { account, secret: tokens.to_secret(), status };
        match typed {
            Some(typed) if !same_user(&typed, &user_id) => {
                let decision = Decision::ConfirmUser { typed, logged_in: user_id, display_name: name };
                self.phase = Phase::MatrixOAuth(MatrixOAuthPhase::ConfirmUser(Box::new(prepared)));
                Ok(Step::Decide(decision))
            }
            _ => Ok(self.connected(prepared.account, prepared.secret, prepared.status, Vec::new())),
        }
    }

    /// The Matrix ID the person means: typed as the address, or given as the user.
    fn typed_matrix_id(&self) -> Option<String> {
        let given = self.login_user.clone().or_else(|| self.credentials.as_ref().map(|c| c.user.clone()));
        [Some(self.entered.clone()), given]
            .into_iter()
            .flatten()
            .map(|text| text.trim().to_owned())
            .find(|text| text.starts_with('@') && text.contains(':'))
    }
}

fn client_of(registered: RegisteredClient, scopes: Vec<String>, source: ClientSource) -> OidcClient {
    OidcClient {
        client_id: registered.client_id,
        secret: registered.secret,
        token_auth: registered.token_auth,
        scopes,
        prompt: None,
        source,
    }
}

/// Matrix user ids compare by their exact form; the server part's case does not matter.
fn same_user(typed: &str, user_id: &str) -> bool {
    typed.eq_ignore_ascii_case(user_id)
}

/// RFC 6749 §5.2 `error` and `error_description` of a refusal, if the body is one.
fn oauth_error(body: &[u8]) -> (String, String) {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let text = |name: &str| value.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    let description = crate::redact::redact_body(&text("error_description").unwrap_or_default());
    (text("error").map_or_else(|| snippet(body), |error| crate::redact::redact_body(&error)), description)
}
