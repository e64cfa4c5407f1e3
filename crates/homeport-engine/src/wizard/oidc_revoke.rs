//! Ending an OpenID Connect login at its provider when the account is removed (RFC 7009 token
//! revocation): a module of its own, as it asks the discovery document ([`super::oidc`]) for the
//! endpoint and reads the keyring's form ([`super::oidc_tokens`]), which `oidc` uses too.

use url::Url;

use super::oidc_tokens::StoredTokens;
use crate::error::snippet;
use crate::http::{HttpClient, HttpRequest};
use crate::oidc_client::TokenAuth;
use crate::secret::Secret;
use crate::trace::Participant;

/// Ends an OpenID Connect login at its provider when the account is removed (RFC 7009): its
/// refresh token (or, without one, its access token) goes to the revocation endpoint that the
/// issuer's discovery document names, authenticated as the client that logged in. The error says
/// why it could not (no endpoint named, unreachable, refused); no redirect is followed.
pub(crate) async fn revoke_oidc_login(
    http: &HttpClient,
    account: &crate::account::Account,
    secret: &Secret,
) -> Result<(), String> {
    let oidc = account.oidc.as_ref().ok_or("the account names no identity provider")?;
    let stored = StoredTokens::from_secret(secret);
    let (token, hint) = match (&stored.refresh, &stored.access) {
        (Some(refresh), _) => (refresh, "refresh_token"),
        (None, Some(access)) => (access, "access_token"),
        (None, None) => return Err("the keyring holds no token for it".into()),
    };
    let metadata = super::oidc::provider_at(http, &oidc.issuer).await.map_err(|e| e.to_string())?;
    let endpoint = metadata
        .revocation_endpoint
        .ok_or("the identity provider's discovery document names no revocation endpoint (RFC 7009)")?;
    // The plain-http rule: the issuer's own origin was allowed at the login; elsewhere only loopback.
    let issuer_origin = Url::parse(&oidc.issuer).map(|issuer| crate::address::Origin::of(&issuer)).ok();
    if !crate::redirect::RedirectPolicy::default().permits_scheme(&endpoint)
        && issuer_origin != Some(crate::address::Origin::of(&endpoint))
    {
        return Err(format!(
            "the revocation endpoint {endpoint} is plain http on another host: the token was not sent"
        ));
    }
    // The same client as at the login: its secret from the keyring, or the product's known one.
    let client_secret = stored.client_secret.clone().or_else(|| {
        crate::oidc_client::for_product(&account.product)
            .filter(|known| known.client_id.as_deref() == Some(oidc.client_id.as_str()))
            .and_then(|known| known.client_secret)
    });
    let mut request = HttpRequest::new(reqwest::Method::POST, endpoint, Participant::Idp)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "application/json");
    // Built apart: the form serializer is not `Send`, and this future must be.
    let (body, basic) = revocation_body(token, hint, &oidc.client_id, client_secret, oidc.token_auth);
    if let Some(client) = basic {
        request = request.auth(crate::http::Auth::Basic(client));
    }
    let request = request.secret_body(body.into_bytes());
    let answer = http.send(&request, http.trace().next_round()).await.map_err(|e| e.to_string())?;
    match answer.status {
        200 => Ok(()),
        status => {
            Err(format!("the revocation endpoint answered HTTP {status} instead of 200: {}", snippet(&answer.body)))
        }
    }
}

/// The RFC 7009 form, and the client's credentials when it authenticates with Basic: as at the
/// token endpoint (a public client names itself in the form).
fn revocation_body(
    token: &Secret,
    hint: &str,
    client_id: &str,
    client_secret: Option<Secret>,
    token_auth: TokenAuth,
) -> (String, Option<crate::secret::Credentials>) {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("token", token.expose()).append_pair("token_type_hint", hint);
    let basic = match (client_secret, token_auth) {
        (Some(client_secret), TokenAuth::ClientSecretPost) => {
            form.append_pair("client_id", client_id).append_pair("client_secret", client_secret.expose());
            None
        }
        (Some(client_secret), _) => Some(crate::secret::Credentials::new(client_id, client_secret)),
        (None, _) => {
            form.append_pair("client_id", client_id);
            None
        }
    };
    (form.finish(), basic)
}
