//! The token endpoint: the code exchange and refreshes through `oauth2` with the engine's own HTTP
//! client (every request traced, no redirect followed behind the policy's back), authenticated as
//! the chosen client says ([`TokenAuth`]), and the form an OpenID Connect login takes in the
//! keyring.

use std::future::Future;
use std::pin::Pin;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthType, AuthorizationCode, Client, ClientId, ClientSecret, EndpointNotSet, EndpointSet, ExtraTokenFields,
    PkceCodeVerifier, RedirectUrl, RefreshToken, StandardRevocableToken, StandardTokenResponse, TokenResponse,
    TokenUrl,
};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::account::now_unix;
use crate::error::{quoting, ConnectError};
use crate::http::{HttpClient, HttpRequest};
use crate::oidc::IdClaims;
use crate::oidc_client::{OidcClient, TokenAuth};
use crate::secret::Secret;
use crate::trace::Participant;

/// The token response with the OpenID `id_token`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct IdTokenField {
    #[serde(default)]
    pub id_token: Option<String>,
}
impl ExtraTokenFields for IdTokenField {}

pub type TokenAnswer = StandardTokenResponse<IdTokenField, BasicTokenType>;
type TokenClient = Client<
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

/// Tokens after a successful login (never written anywhere but the keyring).
pub struct Tokens {
    pub access: Secret,
    pub refresh: Option<Secret>,
    pub claims: IdClaims,
    /// The scopes the provider granted (its `scope` answer).
    pub scopes: Vec<String>,
    /// When the access token ends (Unix seconds), if the provider said (`expires_in`).
    pub access_expires_at: Option<u64>,
}

/// The client at the token endpoint: its id, and its secret sent as [`TokenAuth`] says.
fn token_client(client: &OidcClient, token_endpoint: &Url) -> TokenClient {
    let base =
        Client::new(ClientId::new(client.client_id.clone())).set_token_uri(TokenUrl::from_url(token_endpoint.clone()));
    match (&client.secret, client.token_auth) {
        (Some(secret), TokenAuth::ClientSecretBasic) => {
            base.set_client_secret(ClientSecret::new(secret.expose().to_owned())).set_auth_type(AuthType::BasicAuth)
        }
        (Some(secret), TokenAuth::ClientSecretPost) => {
            base.set_client_secret(ClientSecret::new(secret.expose().to_owned())).set_auth_type(AuthType::RequestBody)
        }
        // A public client: its id in the body, no secret (oauth2 does so without a secret).
        _ => base.set_auth_type(AuthType::RequestBody),
    }
}

/// The authorization code for tokens (with the PKCE verifier).
pub async fn exchange_code(
    http: &HttpClient,
    client: &OidcClient,
    token_endpoint: &Url,
    redirect_uri: &Url,
    code: &Secret,
    verifier: &PkceCodeVerifier,
    round: u32,
) -> Result<TokenAnswer, ConnectError> {
    let transport = Transport { http, round };
    token_client(client, token_endpoint)
        .set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()))
        .exchange_code(AuthorizationCode::new(code.expose().to_owned()))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.secret().clone()))
        .request_async(&transport)
        .await
        .map_err(|e| token_error(token_endpoint, e))
}

/// A new access token from the refresh token; a refused one (`invalid_grant`) is
/// [`ConnectError::LoginExpired`].
pub async fn refresh_tokens(
    http: &HttpClient,
    client: &OidcClient,
    token_endpoint: &Url,
    tokens: &mut Tokens,
) -> Result<(), ConnectError> {
    let Some(refresh_token) = &tokens.refresh else {
        return Err(ConnectError::LoginExpired { reason: "the identity provider gave no refresh token".into() });
    };
    let transport = Transport { http, round: http.trace().next_round() };
    let answer: TokenAnswer = token_client(client, token_endpoint)
        .exchange_refresh_token(&RefreshToken::new(refresh_token.expose().to_owned()))
        .request_async(&transport)
        .await
        .map_err(|e| match token_error(token_endpoint, e) {
            ConnectError::BrowserLoginFailed { error, description } if error == "invalid_grant" => {
                ConnectError::LoginExpired { reason: format!("the refresh token was refused ({description})") }
            }
            // The provider no longer knows the client (an admin removed it, a registration
            // expired): only a new login helps.
            ConnectError::BrowserLoginFailed { error, description } if error == "invalid_client" => {
                ConnectError::LoginExpired {
                    reason: format!("the identity provider no longer accepts Homeport's client ({description})"),
                }
            }
            other => other,
        })?;
    tokens.access = Secret::new(answer.access_token().secret().clone());
    tokens.access_expires_at = expires_at(&answer);
    if let Some(rotated) = answer.refresh_token() {
        tokens.refresh = Some(Secret::new(rotated.secret().clone()));
    }
    if let Some(scopes) = answer.scopes() {
        tokens.scopes = scopes.iter().map(|scope| scope.to_string()).collect();
    }
    Ok(())
}

/// When the answer's access token ends, from `expires_in`: saturated, as a provider's number may be
/// anything up to `u64::MAX` (found with the oidc_token fuzz target, docs/fuzzing.md).
pub fn expires_at(answer: &TokenAnswer) -> Option<u64> {
    answer.expires_in().map(|lifetime| now_unix().saturating_add(lifetime.as_secs()))
}

/// An OpenID Connect login as the keyring keeps it: the refresh token (or, when the provider gave
/// none, the access token until it ends) and a confidential client's secret, so a re-verify can
/// refresh as the same client. Accounts stored before this form kept the bare refresh token.
#[derive(Default, Serialize, Deserialize)]
struct KeyringForm {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
}

/// What a stored OpenID Connect login holds.
#[derive(Debug, Default)]
pub struct StoredTokens {
    pub refresh: Option<Secret>,
    pub access: Option<Secret>,
    pub client_secret: Option<Secret>,
}

impl StoredTokens {
    /// The keyring's secret: a JSON object with the tokens (never in accounts.json).
    pub fn to_secret(tokens: &Tokens, client: &OidcClient) -> Secret {
        let form = KeyringForm {
            refresh_token: tokens.refresh.as_ref().map(|t| t.expose().to_owned()),
            // Only without a refresh token: then it is all there is until the login ends.
            access_token: tokens.refresh.is_none().then(|| tokens.access.expose().to_owned()),
            client_secret: client.secret.as_ref().map(|s| s.expose().to_owned()),
        };
        Secret::new(serde_json::to_string(&form).unwrap_or_default())
    }

    /// Reads the keyring's secret: the JSON form, or a bare refresh token (older accounts).
    pub fn from_secret(secret: &Secret) -> StoredTokens {
        let text = secret.expose();
        match serde_json::from_str::<KeyringForm>(text) {
            Ok(form) if text.trim_start().starts_with('{') => StoredTokens {
                refresh: form.refresh_token.map(Secret::new),
                access: form.access_token.map(Secret::new),
                client_secret: form.client_secret.map(Secret::new),
            },
            _ => StoredTokens { refresh: Some(secret.clone()), ..StoredTokens::default() },
        }
    }
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
    // A token request's body always holds a credential: the authorization code and its verifier,
    // a refresh token or the client's secret.
    let ours = ours.secret_body(request.into_body());
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
        // The provider's words, shown as they are but for a secret quoted in them.
        oauth2::RequestTokenError::ServerResponse(response) => ConnectError::BrowserLoginFailed {
            error: crate::redact::redact_body(response.error().as_ref()),
            description: crate::redact::redact_body(response.error_description().map_or("", String::as_str)),
        },
        oauth2::RequestTokenError::Request(inner) => inner,
        oauth2::RequestTokenError::Parse(e, body) => ConnectError::InvalidResponse {
            url: endpoint.to_string(),
            what: "token answer",
            reason: quoting(&e, &body),
        },
        oauth2::RequestTokenError::Other(reason) => {
            ConnectError::InvalidResponse { url: endpoint.to_string(), what: "token answer", reason }
        }
    }
}

/// A token endpoint's answer (`status`, `body`, sent as JSON) read exactly as [`refresh_tokens`]
/// and [`exchange_code`] read it, oauth2's parsing and [`token_error`], without the network: the
/// fuzz target's entry point (docs/fuzzing.md), re-exported by `crate::fuzzing`.
#[doc(hidden)]
pub fn read_token_answer(endpoint: &Url, status: u16, body: Vec<u8>) -> Result<TokenAnswer, ConnectError> {
    let client: TokenClient =
        Client::new(ClientId::new("homeport".into())).set_token_uri(TokenUrl::from_url(endpoint.clone()));
    let answer = |_: oauth2::HttpRequest| {
        oauth2::http::Response::builder()
            .status(status)
            .header("Content-Type", "application/json")
            .body(body.clone())
            .map_err(|e| ConnectError::InvalidResponse {
                url: endpoint.to_string(),
                what: "token answer",
                reason: e.to_string(),
            })
    };
    client
        .set_auth_type(AuthType::RequestBody)
        .exchange_refresh_token(&RefreshToken::new("refresh".into()))
        .request(&answer)
        .map_err(|e| token_error(endpoint, e))
}
