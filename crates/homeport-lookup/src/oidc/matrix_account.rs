//! What the Matrix zone adds to its discovery document (the homeserver's `auth_metadata`), and its account
//! management page (`<issuer>/account/`), as MAS has them (`docs/protocols/matrix-oauth.md`).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use super::answers::{fallback, InZone};
use super::page::{self, form_pairs};
use super::{Provider, Zone};
use crate::owncloud::xml_escape;

/// The account management actions the page takes: the spec's (v1.18) and MSC4191's unstable names, both of which
/// MAS advertises (its `oauth2/discovery.rs`; no cross-signing reset here).
pub(crate) const ACCOUNT_ACTIONS: [&str; 7] = [
    "org.matrix.profile",
    "org.matrix.sessions_list",
    "org.matrix.session_view",
    "org.matrix.session_end",
    "org.matrix.devices_list",
    "org.matrix.device_view",
    "org.matrix.device_delete",
];

/// The scopes the Matrix zone names in its metadata (MAS names `openid` and `email`; the Matrix ones it takes
/// without naming them — named here, as RFC 8414 lets a server).
const SCOPES: [&str; 4] = ["openid", "email", "urn:matrix:client:api:*", "urn:matrix:client:device:*"];

/// The Matrix spec's fields of the authorization server metadata: both response modes, `prompt=create`, the
/// account management page and its actions.
pub(super) fn extend_for_matrix(document: &mut Value, issuer: &str) {
    let extra = json!({
        "response_modes_supported": ["query", "fragment"],
        "prompt_values_supported": ["create"],
        "scopes_supported": SCOPES,
        "account_management_uri": format!("{issuer}/account/"),
        "account_management_actions_supported": ACCOUNT_ACTIONS,
    });
    if let (Value::Object(fields), Value::Object(extra)) = (document, extra) {
        fields.extend(extra);
    }
}

/// `GET /account/` at the Matrix zone: the account management page a client links to, with the spec's `action`
/// and `device_id` parameters. This zone keeps no browser session, so the page says what was asked and where the
/// person's devices are; the other zones have no such page.
pub(super) async fn account_page(
    State(provider): State<Arc<Provider>>,
    InZone(zone): InZone,
    RawQuery(query): RawQuery,
) -> Response {
    if zone != Zone::Matrix {
        // The other zones have no such path.
        return fallback().await;
    }
    let params = form_pairs(query.unwrap_or_default().as_bytes());
    let get = |name: &str| params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
    let asked = match (get("action"), get("device_id")) {
        (Some(action), Some(device)) => format!("You asked for {action} of the device {device}."),
        (Some(action), None) => format!("You asked for {action}."),
        (None, _) => "Your profile and the devices logged in to your account.".to_owned(),
    };
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n  \
         <title>Account · {server}</title>\n</head>\n<body>\n  <main>\n    \
         <h1 id=\"account\">Your account on {server}</h1>\n    \
         <p id=\"asked\">{asked}</p>\n    \
         <p>The demo homeserver keeps no browser session: its devices are listed at \
         <code>GET /_matrix/client/v3/devices</code>, and a client logs a device out by revoking its tokens.</p>\n  \
         </main>\n</body>\n</html>\n",
        server = xml_escape(provider.matrix_server_name()),
        asked = xml_escape(&asked),
    );
    page::html(StatusCode::OK, body)
}
