//! The authorization responses back to the client's redirect URI (a code, or an error), with `state` and `iss`
//! (RFC 9207), shared by the login form and the consent page; in the query, or at the Matrix zone in the fragment
//! when the client asks (`response_mode`, OAuth 2.0 Multiple Response Type Encoding Practices).

use axum::response::Response;
use url::Url;

use super::answers::found;
use super::{page, Grant, Provider, Zone};

/// Where the authorization response's parameters go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum ResponseMode {
    #[default]
    Query,
    Fragment,
}

/// The zone's name on its pages.
pub(super) fn zone_title(zone: Zone) -> String {
    match zone {
        Zone::Main => "Infinite Scale".to_owned(),
        Zone::Tenant(tenant) => format!("{} · identity zone", tenant.name),
        Zone::Matrix => "Matrix account".to_owned(),
    }
}

/// `redirect_uri` with `pairs` added to its query, or set as its fragment.
fn with_parameters(redirect_uri: &Url, mode: ResponseMode, pairs: &[(&str, &str)]) -> Url {
    let mut location = redirect_uri.clone();
    match mode {
        ResponseMode::Query => {
            location.query_pairs_mut().extend_pairs(pairs);
        }
        ResponseMode::Fragment => {
            let encoded = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
            location.set_fragment(Some(&encoded));
        }
    }
    location
}

/// An error for the client, on its redirect URI.
pub(super) fn error_redirect(
    redirect_uri: &Url,
    mode: ResponseMode,
    error: &str,
    description: &str,
    state: Option<&str>,
    issuer: &str,
) -> Response {
    let mut pairs = vec![("error", error), ("error_description", description)];
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", issuer));
    found(&with_parameters(redirect_uri, mode, &pairs))
}

/// The successful authorization response: a fresh code, the state and `iss` (RFC 9207) on the redirect URI.
pub(super) fn code_redirect(
    provider: &Provider,
    grant: Grant,
    redirect_uri: Url,
    mode: ResponseMode,
    code_challenge: &str,
    state: Option<&str>,
) -> Response {
    let zone = grant.zone;
    let code = match provider.create_code(grant, &redirect_uri, code_challenge) {
        Ok(code) => code,
        Err(error) => return page::html(error.status, page::error(&zone_title(zone), &error.description)),
    };
    let issuer = provider.issuer(zone);
    let mut pairs = vec![("code", code.as_str())];
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", issuer.as_str()));
    found(&with_parameters(&redirect_uri, mode, &pairs))
}
