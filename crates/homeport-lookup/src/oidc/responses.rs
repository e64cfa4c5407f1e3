//! The authorization responses back to the client's redirect URI (a code, or an error), with `state` and `iss`
//! (RFC 9207), shared by the login form and the consent page.

use axum::response::Response;
use url::Url;

use super::answers::found;
use super::{page, Grant, Provider, Zone};

/// The zone's name on its pages.
pub(super) fn zone_title(zone: Zone) -> String {
    match zone {
        Zone::Main => "Infinite Scale".to_owned(),
        Zone::Tenant(tenant) => format!("{} · identity zone", tenant.name),
    }
}

/// An error for the client, on its redirect URI.
pub(super) fn error_redirect(
    redirect_uri: &Url,
    error: &str,
    description: &str,
    state: Option<&str>,
    issuer: &str,
) -> Response {
    let mut location = redirect_uri.clone();
    {
        let mut query = location.query_pairs_mut();
        query.append_pair("error", error).append_pair("error_description", description);
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", issuer);
    }
    found(&location)
}

/// The successful authorization response: a fresh code, the state and `iss` (RFC 9207) on the redirect URI.
pub(super) fn code_redirect(
    provider: &Provider,
    grant: Grant,
    redirect_uri: Url,
    code_challenge: &str,
    state: Option<&str>,
) -> Response {
    let zone = grant.zone;
    let code = match provider.create_code(grant, &redirect_uri, code_challenge) {
        Ok(code) => code,
        Err(error) => return page::html(error.status, page::error(&zone_title(zone), &error.description)),
    };
    let mut location = redirect_uri;
    {
        let mut query = location.query_pairs_mut();
        query.append_pair("code", &code);
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", &provider.issuer(zone));
    }
    found(&location)
}
