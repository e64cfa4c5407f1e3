//! A Matrix login's tokens after the login (docs/protocols/matrix-oauth.md): the keyring's form,
//! a new access token from the refresh token (`POST /_matrix/client/v3/refresh` for password and
//! SSO logins, the authorization server's token endpoint for OAuth 2.0 logins), and ending the
//! session at the server when the account is removed (`POST /logout`, or RFC 7009 revocation).

use url::Url;

use super::oidc_tokens::{self, Tokens};
use crate::account::{Account, AuthMethod, MatrixOAuthInfo};
use crate::address::ServerUrl;
use crate::error::{snippet, ConnectError};
use crate::http::{Auth, HttpClient, HttpRequest, HttpResponse};
use crate::matrix_oauth::{self, AuthMetadata};
use crate::oidc_client::{ClientSource, OidcClient, TokenAuth};
use crate::secret::Secret;
use crate::trace::Participant;

/// The tokens of a Matrix login, as the keyring keeps them (one JSON secret per account).
#[derive(Clone, Debug)]
pub struct MatrixTokens {
    pub access: Secret,
    pub refresh: Option<Secret>,
}

impl MatrixTokens {
    pub fn new(access: impl Into<String>, refresh: Option<String>) -> MatrixTokens {
        MatrixTokens { access: Secret::new(access.into()), refresh: refresh.map(Secret::new) }
    }

    /// `{"access_token": …, "refresh_token": …}`.
    pub fn to_secret(&self) -> Secret {
        Secret::new(
            serde_json::json!({
                "access_token": self.access.expose(),
                "refresh_token": self.refresh.as_ref().map(Secret::expose),
            })
            .to_string(),
        )
    }

    /// Reads the keyring's secret; one without an access token is no Matrix login.
    pub fn from_secret(secret: &Secret) -> Option<MatrixTokens> {
        let value: serde_json::Value = serde_json::from_str(secret.expose()).ok()?;
        let text = |name: &str| value.get(name).and_then(|token| token.as_str()).filter(|t| !t.is_empty());
        Some(MatrixTokens {
            access: Secret::new(text("access_token")?),
            refresh: text("refresh_token").map(Secret::new),
        })
    }
}

/// The public client an OAuth 2.0 login registered as.
pub fn oauth_client(client_id: &str, device_id: &str) -> OidcClient {
    OidcClient {
        client_id: client_id.to_owned(),
        secret: None,
        token_auth: TokenAuth::Public,
        scopes: matrix_oauth::scopes(device_id),
        prompt: None,
        source: ClientSource::Remembered,
    }
}

/// The homeserver's authorization server: the stable path, then MSC2965's unstable one (both in
/// one round). `Ok(None)`: the homeserver has none (it answered neither with metadata).
pub async fn auth_metadata_at(http: &HttpClient, base: &ServerUrl) -> Result<Option<AuthMetadata>, ConnectError> {
    let round = http.trace().next_round();
    let (stable, unstable) = auth_metadata_requests(base, Participant::Instance);
    let (stable, unstable) = futures_util::future::join(http.send(&stable, round), http.send(&unstable, round)).await;
    auth_metadata_of(stable, unstable)
}

/// `GET auth_metadata` at the stable and the unstable path.
pub fn auth_metadata_requests(base: &ServerUrl, to: Participant) -> (HttpRequest, HttpRequest) {
    let request =
        |path| HttpRequest::new(reqwest::Method::GET, base.join(path), to).header("Accept", "application/json");
    (request(matrix_oauth::AUTH_METADATA_PATH), request(matrix_oauth::UNSTABLE_AUTH_METADATA_PATH))
}

/// The metadata from the stable answer, else the unstable one; a server that answers neither
/// with 200 has no OAuth 2.0 API (a password homeserver answers `404 M_UNRECOGNIZED`).
pub fn auth_metadata_of(
    stable: Result<HttpResponse, ConnectError>,
    unstable: Result<HttpResponse, ConnectError>,
) -> Result<Option<AuthMetadata>, ConnectError> {
    for answer in [stable, unstable] {
        match answer {
            Ok(answer) if answer.status == 200 => return AuthMetadata::parse(&answer.url, &answer.body).map(Some),
            // A homeserver without the API may answer it anyhow (404, 400, 405): not this kind.
            Ok(_) => {}
            Err(error @ (ConnectError::Timeout { .. } | ConnectError::BodyTooLarge { .. })) => return Err(error),
            Err(_) => {}
        }
    }
    Ok(None)
}

/// A new access token for `account` from its refresh token (rotated when the server rotates it).
/// A refused refresh token is [`ConnectError::LoginExpired`]: only a new login helps.
pub async fn refresh(
    http: &HttpClient,
    account: &Account,
    tokens: &MatrixTokens,
) -> Result<MatrixTokens, ConnectError> {
    let Some(refresh_token) = tokens.refresh.clone() else {
        return Err(ConnectError::LoginExpired {
            reason: format!("{} no longer accepts the access token, and gave no refresh token", account.instance_url),
        });
    };
    match oauth_info(account) {
        Some((oauth, device_id)) => {
            let metadata = auth_metadata_at(http, &account.instance_url).await?.ok_or_else(|| no_metadata(account))?;
            let client = oauth_client(&oauth.client_id, device_id);
            let mut refreshed = Tokens {
                access: tokens.access.clone(),
                refresh: Some(refresh_token),
                claims: crate::oidc::IdClaims::subject(&oauth.issuer, &account.user_id),
                scopes: Vec::new(),
                access_expires_at: None,
            };
            oidc_tokens::refresh_tokens(http, &client, &metadata.token_endpoint, &mut refreshed).await?;
            Ok(MatrixTokens { access: refreshed.access, refresh: refreshed.refresh })
        }
        None => refresh_password_login(http, &account.instance_url, &refresh_token).await,
    }
}

/// `POST /_matrix/client/v3/refresh` (spec v1.3).
async fn refresh_password_login(
    http: &HttpClient,
    base: &ServerUrl,
    refresh_token: &Secret,
) -> Result<MatrixTokens, ConnectError> {
    let request =
        HttpRequest::new(reqwest::Method::POST, base.join(crate::matrix::REFRESH_PATH), Participant::Instance)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .secret_body(matrix_oauth::refresh_body(refresh_token.expose()));
    let answer = http.send(&request, http.trace().next_round()).await?;
    match answer.status {
        200 => {
            let (access, rotated) = matrix_oauth::refresh_answer(&answer.url, &answer.body)?;
            Ok(MatrixTokens {
                access: Secret::new(access),
                refresh: rotated.map(Secret::new).or_else(|| Some(refresh_token.clone())),
            })
        }
        401 | 403 => Err(ConnectError::LoginExpired { reason: format!("{base} refused the refresh token") }),
        _ => Err(unexpected(&answer, "200 OK with a new access token")),
    }
}

/// Ends `account`'s session at its server: an OAuth 2.0 login's refresh token (or access token)
/// goes to the revocation endpoint, which ends both; a password or SSO login's device logs out
/// (refreshing the access token once if it expired). Never follows a redirect.
pub async fn end_session(http: &HttpClient, account: &Account, tokens: &MatrixTokens) -> Result<(), String> {
    match oauth_info(account) {
        Some((oauth, _)) => {
            let metadata = auth_metadata_at(http, &account.instance_url)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| no_metadata(account).to_string())?;
            let endpoint = metadata.revocation_endpoint.ok_or("the server names no revocation endpoint")?;
            let (token, hint) = match &tokens.refresh {
                Some(refresh) => (refresh, "refresh_token"),
                None => (&tokens.access, "access_token"),
            };
            revoke(http, &endpoint, token, hint, &oauth.client_id).await
        }
        None => {
            let answer = log_out(http, &account.instance_url, &tokens.access).await?;
            if answer.status == 401 && tokens.refresh.is_some() {
                let refreshed = refresh(http, account, tokens).await.map_err(|e| e.to_string())?;
                let again = log_out(http, &account.instance_url, &refreshed.access).await?;
                return logged_out(&again);
            }
            logged_out(&answer)
        }
    }
}

async fn revoke(http: &HttpClient, endpoint: &Url, token: &Secret, hint: &str, client_id: &str) -> Result<(), String> {
    let form = matrix_oauth::revocation_form(token.expose(), hint, client_id);
    let request = HttpRequest::new(reqwest::Method::POST, endpoint.clone(), Participant::Idp)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "application/json")
        .secret_body(form.into_bytes());
    let answer = http.send(&request, http.trace().next_round()).await.map_err(|e| e.to_string())?;
    match answer.status {
        200 => Ok(()),
        status => Err(format!("the revocation endpoint answered HTTP {status} instead of 200")),
    }
}

async fn log_out(http: &HttpClient, base: &ServerUrl, access: &Secret) -> Result<HttpResponse, String> {
    let request = HttpRequest::new(reqwest::Method::POST, base.join(crate::matrix::LOGOUT_PATH), Participant::Instance)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .auth(Auth::Bearer(access.clone()))
        .body("{}");
    http.send(&request, http.trace().next_round()).await.map_err(|e| e.to_string())
}

fn logged_out(answer: &HttpResponse) -> Result<(), String> {
    match answer.status {
        200 => Ok(()),
        status => Err(format!("the homeserver answered HTTP {status} to the logout instead of 200")),
    }
}

/// An OAuth 2.0 login's client and device, from the account.
fn oauth_info(account: &Account) -> Option<(&MatrixOAuthInfo, &str)> {
    let matrix = account.matrix.as_ref()?;
    (account.auth_method == AuthMethod::MatrixOAuth)
        .then_some(matrix.oauth.as_ref().map(|oauth| (oauth, matrix.device_id.as_str())))
        .flatten()
}

fn no_metadata(account: &Account) -> ConnectError {
    ConnectError::LoginExpired {
        reason: format!("{} no longer names its authorization server (auth_metadata)", account.instance_url),
    }
}

fn unexpected(response: &HttpResponse, expected: &'static str) -> ConnectError {
    ConnectError::UnexpectedStatus {
        url: response.url.to_string(),
        status: response.status,
        expected,
        snippet: snippet(&response.body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keyring_form_keeps_both_tokens() {
        let tokens = MatrixTokens::new("access", Some("refresh".into()));
        let read = MatrixTokens::from_secret(&tokens.to_secret()).expect("tokens");
        assert_eq!((read.access.expose(), read.refresh.as_ref().map(Secret::expose)), ("access", Some("refresh")));
        let without = MatrixTokens::from_secret(&MatrixTokens::new("a", None).to_secret()).expect("tokens");
        assert!(without.refresh.is_none(), "no refresh token");
        assert!(MatrixTokens::from_secret(&Secret::new("a bare password")).is_none(), "not a Matrix login");
        assert!(MatrixTokens::from_secret(&Secret::new(r#"{"access_token":""}"#)).is_none(), "empty token");
    }
}
