//! The start page's advanced settings: the identity provider client for one connection
//! (docs/desktop.md#advanced-identity-provider-client), like the ownCloud 7 client's admin
//! overrides (ClientId, ClientSecret, Ports, Scopes, Prompt). The UI sends what was typed
//! ([`ClientSetting`]); this tidies it into the engine's [`ClientProfile`] and refuses what cannot
//! work, before the wizard starts. The secret arrives as a [`homeport_engine::Secret`] and is
//! never logged.

use homeport_engine::oidc_client::{ClientProfile, TokenAuth};
use homeport_engine::{ErrorCode, ErrorReport, RedirectPort, RedirectSpec, Secret};

use crate::ipc::{error, ClientSetting};

/// The profile to give the wizard, or None when nothing was set (every field empty).
pub fn client_setting(typed: ClientSetting) -> Result<Option<ClientProfile>, ErrorReport> {
    let text = |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let client_id = text(typed.client_id);
    if client_id.as_deref().is_some_and(|id| id.chars().any(char::is_whitespace)) {
        return Err(error(ErrorCode::BadInput, "A client id has no spaces."));
    }
    let client_secret = typed.client_secret.filter(|secret| !secret.expose().is_empty());
    if client_secret.is_some() && client_id.is_none() {
        // The engine sends a secret only with the client id it was given with: without one it
        // would be dropped silently.
        return Err(error(ErrorCode::BadInput, "A client secret needs its client id: type the client id too."));
    }
    if client_secret.is_some() && typed.token_auth == Some(TokenAuth::Public) {
        return Err(error(
            ErrorCode::BadInput,
            "A public client (token authentication \"none\") sends no secret: clear the client secret, or choose \
             client_secret_basic or client_secret_post.",
        ));
    }
    let scopes = typed
        .scopes
        .map(|scopes| scopes.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .filter(|scopes| !scopes.is_empty());
    if scopes.as_ref().is_some_and(|scopes| !scopes.iter().any(|scope| scope == "openid")) {
        return Err(error(ErrorCode::BadInput, "The scopes must include openid (OpenID Connect needs it)."));
    }
    // A Keycloak realm's client registered for one redirect port (`http://127.0.0.1:PORT/*`).
    let port = match text(typed.redirect_port) {
        Some(port) => Some(port.parse::<RedirectPort>().map_err(|problem| {
            error(
                ErrorCode::BadInput,
                format!("The redirect port: {problem}; type random, a port or a range (8000-8010)."),
            )
        })?),
        None => None,
    };
    let redirect = match (typed.redirect_host, port) {
        (None, None) => None,
        (host, port) => Some(RedirectSpec { host: host.unwrap_or_default(), port: port.unwrap_or_default() }),
    };
    let profile = ClientProfile {
        // For whichever provider this connection meets: the person set it for this connection.
        issuer: None,
        client_id,
        client_secret: client_secret.map(|secret| Secret::new(secret.expose().trim())),
        token_auth: typed.token_auth,
        scopes,
        // Empty means "the default" here; the engine's "send none" is not offered.
        prompt: text(typed.prompt),
        redirect,
    };
    Ok((profile != ClientProfile::default()).then_some(profile))
}
