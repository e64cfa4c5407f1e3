//! The consent page after the login at the main zone, as lico shows it for every client that is not trusted
//! (oCIS's desktop client is not), and at the Matrix zone, as MAS shows it for every authorization:
//! `POST /authorize/consent` answers it. Allowed, the client gets its code; refused,
//! `access_denied` (RFC 6749 §4.1.2.1).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use url::Url;

use super::answers::InZone;
use super::clients::Client;
use super::page::{self, form_pairs};
use super::responses::{code_redirect, error_redirect, zone_title, ResponseMode};
use super::{random_token, Grant, OAuthError, Provider, Zone};

/// A consent page must be answered within this long after the login.
const CONSENT_LIFETIME: Duration = Duration::from_secs(600);
/// Bound on the logins waiting for an answer in a long-running `homeport mock`.
const MAX_CONSENTS: usize = 10_000;

/// A login that waits for the person's answer on the consent page.
#[derive(Clone, Debug)]
pub(super) struct PendingConsent {
    grant: Grant,
    redirect_uri: Url,
    mode: ResponseMode,
    code_challenge: String,
    state: Option<String>,
    expires_at: Instant,
}

impl Provider {
    /// Keeps a login until the person answers the consent page; returns the page's single-use ticket.
    fn await_consent(&self, pending: PendingConsent) -> Result<String, OAuthError> {
        let ticket = random_token(24)?;
        let now = Instant::now();
        let mut store = self.lock();
        store.consents.retain(|_, pending| pending.expires_at > now);
        if store.consents.len() >= MAX_CONSENTS {
            return Err(OAuthError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                error: "temporarily_unavailable",
                description: "too many logins wait for consent; restart the lookup server".into(),
            });
        }
        store.consents.insert(ticket.clone(), pending);
        Ok(ticket)
    }

    /// The login a consent page stands for, used up; `None` when unknown, expired or of another zone.
    fn take_consent(&self, zone: Zone, ticket: &str) -> Option<PendingConsent> {
        let pending = self.lock().consents.remove(ticket)?;
        (pending.expires_at > Instant::now() && pending.grant.zone == zone).then_some(pending)
    }
}

/// The consent page for a login that succeeded: what `client` asks for, Allow or Cancel.
pub(super) fn consent_page(
    provider: &Provider,
    client: &Client,
    grant: Grant,
    redirect_uri: Url,
    mode: ResponseMode,
    code_challenge: String,
    state: Option<String>,
) -> Response {
    let title = zone_title(grant.zone);
    let user = grant.user.display_name;
    let zone = grant.zone;
    let scopes: Vec<String> = grant
        .scope
        .split(' ')
        .filter(|scope| !scope.is_empty())
        // MAS words each Matrix scope for the person; lico lists the scope names.
        .map(|scope| if zone == Zone::Matrix { super::matrix_zone::describe_scope(scope) } else { scope.to_owned() })
        .collect();
    let expires_at = Instant::now() + CONSENT_LIFETIME;
    let pending = PendingConsent { grant, redirect_uri, mode, code_challenge, state, expires_at };
    match provider.await_consent(pending) {
        Ok(ticket) => page::html(StatusCode::OK, page::consent(&title, &client.name, user, &scopes, &ticket)),
        Err(error) => page::html(error.status, page::error(&title, &error.description)),
    }
}

/// `POST /authorize/consent`: `ticket` and `consent=allow` (or anything else: refused).
pub(super) async fn consent_submit(
    State(provider): State<Arc<Provider>>,
    InZone(zone): InZone,
    body: Bytes,
) -> Response {
    let params = form_pairs(&body);
    let get = |name: &str| params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
    let Some(pending) = get("ticket").and_then(|ticket| provider.take_consent(zone, ticket)) else {
        return page::html(
            StatusCode::BAD_REQUEST,
            page::error(&zone_title(zone), "This page expired or was answered already; start the login again."),
        );
    };
    if get("consent") == Some("allow") {
        let PendingConsent { grant, redirect_uri, mode, code_challenge, state, .. } = pending;
        code_redirect(&provider, grant, redirect_uri, mode, &code_challenge, state.as_deref())
    } else {
        let issuer = provider.issuer(zone);
        let state = pending.state.as_deref();
        error_redirect(&pending.redirect_uri, pending.mode, "access_denied", "consent denied", state, &issuer)
    }
}
