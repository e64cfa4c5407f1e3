//! oCIS with OpenID Connect (`docs/protocols/oidc-ocis.md`): an oCIS-like server (the address a person types:
//! `status.php`, the Bearer challenge, WebFinger) and two instances that accept only valid bearer tokens of the IdP.

pub(crate) mod external;
pub(crate) mod instance;
pub(crate) mod server;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use self::external::ExternalIssuer;
use crate::dav::{Home, Product};
use crate::oidc::{bearer_error_challenge, bearer_token, AccessClaims, Provider, Zone};
use crate::owncloud::sabre_error;
use crate::people::{OcisAccount, People};

/// WebFinger relation of the IdP (OpenID Connect Discovery §2).
pub(crate) const ISSUER_REL: &str = "http://openid.net/specs/connect/1.0/issuer";
/// WebFinger relation of the instances a user's data lives on (oCIS `server-instance`).
pub(crate) const INSTANCE_REL: &str = "http://webfinger.owncloud/rel/server-instance";

/// The message of the challenge for a disabled account.
pub(crate) const ACCOUNT_DISABLED: &str = "account is disabled";

/// The title WebFinger gives an instance.
pub(crate) fn instance_title(name: &str) -> String {
    format!("Instance {name}")
}

/// `status.php` of an Infinite Scale (or, with another product name, an approuter's) server.
pub(crate) fn status_document(product: &str, version: &str) -> Value {
    json!({
        "installed": true,
        "maintenance": false,
        "needsDbUpgrade": false,
        "version": version,
        "versionstring": version,
        "edition": "Community",
        "productname": product,
        "product": product,
    })
}

pub(crate) fn ocis_status(people: &People) -> Value {
    status_document(people.ocis_product, "7.1.0")
}

/// The demo home at `href` as the oCIS instance `instance` (`A`, `B`) serves it.
pub(crate) fn ocis_home(href: String, instance: &str) -> Home {
    Home { href, instance_tag: format!("ocis{instance}"), product: Product::Ocis }
}

/// A 401 with SabreDAV's body and the given `WWW-Authenticate` challenge.
pub(crate) fn dav_unauthorized(challenge: &str, message: &str) -> Response {
    let mut response = sabre_error(StatusCode::UNAUTHORIZED, "Sabre\\DAV\\Exception\\NotAuthenticated", message);
    if let Ok(value) = HeaderValue::from_str(challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// Why a request with (or without) a bearer token is refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BearerRefusal {
    /// No bearer token: the challenge names the realm only.
    Missing,
    /// `error="invalid_token"` with this description.
    InvalidToken(&'static str),
    /// A valid token of a user who may not use this server.
    Forbidden(String),
}

impl BearerRefusal {
    /// The refusal as WebDAV answers it.
    pub(crate) fn dav_response(&self, realm: &str) -> Response {
        match self {
            BearerRefusal::Missing => {
                dav_unauthorized(&format!("Bearer realm=\"{realm}\""), "No bearer token was sent")
            }
            BearerRefusal::InvalidToken(description) => {
                dav_unauthorized(&bearer_error_challenge(description), description)
            }
            BearerRefusal::Forbidden(message) => {
                sabre_error(StatusCode::FORBIDDEN, "Sabre\\DAV\\Exception\\Forbidden", message)
            }
        }
    }

    /// The `WWW-Authenticate` value of a 401 refusal.
    pub(crate) fn challenge(&self, realm: &str) -> Option<String> {
        match self {
            BearerRefusal::Missing => Some(format!("Bearer realm=\"{realm}\"")),
            BearerRefusal::InvalidToken(description) => Some(bearer_error_challenge(description)),
            BearerRefusal::Forbidden(_) => None,
        }
    }
}

/// The claims of the request's valid bearer token of `zone`.
pub(crate) fn bearer_claims(
    provider: &Provider,
    zone: Zone,
    headers: &HeaderMap,
) -> Result<AccessClaims, BearerRefusal> {
    let token = bearer_token(headers).ok_or(BearerRefusal::Missing)?;
    let claims =
        provider.validate_access(zone, token).map_err(|problem| BearerRefusal::InvalidToken(problem.description()))?;
    if claims.user(provider.people()).is_none() {
        return Err(BearerRefusal::InvalidToken(crate::oidc::TokenProblem::Invalid.description()));
    }
    Ok(claims)
}

/// The issuer oCIS trusts, as WebFinger names it: the lookup server's IdP (main zone), or the external one.
pub(crate) fn ocis_issuer(provider: &Provider, external: Option<&ExternalIssuer>) -> String {
    match external {
        Some(external) => external.issuer().to_owned(),
        None => provider.issuer(Zone::Main),
    }
}

/// The user name (`preferred_username`) behind the request's bearer token, checked by the issuer oCIS trusts: the
/// lookup server's IdP (its JWT, main zone), or an external issuer's userinfo endpoint.
pub(crate) async fn ocis_user(
    provider: &Provider,
    external: Option<&ExternalIssuer>,
    headers: &HeaderMap,
) -> Result<String, BearerRefusal> {
    match external {
        Some(external) => external.user(bearer_token(headers).ok_or(BearerRefusal::Missing)?).await,
        None => bearer_claims(provider, Zone::Main, headers).map(|claims| claims.preferred_username),
    }
}

/// The oCIS account behind the request's bearer token: valid, of the issuer oCIS trusts, not disabled.
pub(crate) async fn ocis_account(
    provider: &Provider,
    external: Option<&ExternalIssuer>,
    headers: &HeaderMap,
) -> Result<(String, &'static OcisAccount), BearerRefusal> {
    let user = ocis_user(provider, external, headers).await?;
    let account = provider.people().find_ocis_account(&user).ok_or(BearerRefusal::InvalidToken("unknown account"))?;
    if account.disabled {
        return Err(BearerRefusal::InvalidToken(ACCOUNT_DISABLED));
    }
    Ok((user, account))
}

#[cfg(test)]
mod tests {
    use crate::people::BUILT_IN;

    #[test]
    fn accounts_match_the_idp_users() {
        for account in BUILT_IN.ocis_accounts {
            assert!(BUILT_IN.find_oidc_user(account.login).is_some(), "{} logs in at the IdP", account.login);
            for instance in account.instances {
                assert!(BUILT_IN.ocis_instances.contains(instance), "{} lives on a real instance", account.login);
            }
        }
        assert_eq!(BUILT_IN.find_ocis_account("marie").map(|a| a.instances.len()), Some(2), "marie has a choice");
        assert_eq!(BUILT_IN.find_ocis_account("richard").map(|a| a.disabled), Some(true), "richard is disabled");
    }
}
