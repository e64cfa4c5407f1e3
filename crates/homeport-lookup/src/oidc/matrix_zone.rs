//! The Matrix zone (`http://matrix.auth.localhost:<port>`): the OAuth 2.0 server behind the OAuth-only homeserver
//! `oauth`, as matrix-authentication-service (MAS) is one (`docs/protocols/matrix-oauth.md`). What differs from the
//! other zones: the Matrix scopes (`urn:matrix:client:api:*` and exactly one
//! `urn:matrix:client:device:<device id>`, or their MSC2967 unstable spellings), a device session per code exchange
//! that every token of the login belongs to — revoking either token ends it, as the spec's "Token revocation" says —
//! and the homeserver's in-process view of those sessions (whoami, the devices list).

use axum::http::StatusCode;
use serde_json::Value;

use super::{random_token, Grant, OAuthError, Provider, TokenProblem, Zone};
use crate::people::OidcUser;

/// Full client-server API access, stable (spec v1.15) and MSC2967's unstable spelling.
const API_SCOPES: [&str; 2] = ["urn:matrix:client:api:*", "urn:matrix:org.matrix.msc2967.client:api:*"];
/// The device scope prefixes, stable and unstable (MAS's `compat/device.rs` reads both).
const DEVICE_PREFIXES: [&str; 2] = ["urn:matrix:client:device:", "urn:matrix:org.matrix.msc2967.client:device:"];
/// The OpenID scopes the zone grants besides the Matrix ones (MAS: `openid`, `email`).
const OPENID_SCOPES: [&str; 3] = ["openid", "profile", "email"];
/// Bound on the live device sessions of a long-running `homeport mock`.
const MAX_SESSIONS: usize = 100_000;

/// A logged-in Matrix device: what every access and refresh token of one login stands for.
#[derive(Clone, Debug)]
pub(crate) struct DeviceSession {
    pub(crate) user: &'static OidcUser,
    pub(crate) device_id: String,
    /// The name of the client that logged in: the device's display name, as MAS names new devices.
    pub(crate) display_name: String,
}

/// A Matrix zone refresh token's place in its session: the access token issued with it, and (once used) the
/// refresh token that replaced it.
#[derive(Clone, Debug)]
pub(crate) struct RefreshLink {
    session: String,
    access_jti: String,
    successor: Option<String>,
}

impl RefreshLink {
    pub(super) fn new(session: &str, access_jti: &str) -> RefreshLink {
        RefreshLink { session: session.to_owned(), access_jti: access_jti.to_owned(), successor: None }
    }
}

/// The device id of a scope's device token(s), when the scope allocates exactly one device and grants API access;
/// otherwise why not (an `invalid_scope`). The stable and unstable token of one device count as one.
pub(crate) fn check_scope(scope: &str) -> Result<String, String> {
    let tokens: Vec<&str> = scope.split(' ').filter(|token| !token.is_empty()).collect();
    if !tokens.iter().any(|token| API_SCOPES.contains(token)) {
        return Err(format!("the scope must contain {} (full client-server API access)", API_SCOPES[0]));
    }
    let mut devices: Vec<&str> = Vec::new();
    for token in &tokens {
        if let Some(device) = DEVICE_PREFIXES.iter().find_map(|prefix| token.strip_prefix(prefix)) {
            if !devices.contains(&device) {
                devices.push(device);
            }
        }
    }
    match devices.as_slice() {
        [device] if is_device_id(device) => Ok((*device).to_owned()),
        [device] => Err(format!(
            "the device id {device:?} must be non-empty and use only the unreserved characters A-Z a-z 0-9 - . _ ~"
        )),
        [] => Err(format!("the scope must contain exactly one {}<device id>", DEVICE_PREFIXES[0])),
        _ => Err(format!(
            "the scope names {} devices; exactly one {}<device id> is allowed",
            devices.len(),
            DEVICE_PREFIXES[0]
        )),
    }
}

/// RFC 3986's unreserved characters, as the spec's "Device ID allocation" recommends (and MAS accepts).
fn is_device_id(device: &str) -> bool {
    !device.is_empty() && device.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"-._~".contains(&byte))
}

/// The granted scope: the Matrix and OpenID tokens asked for, once each, in their order; unknown tokens are not
/// granted (RFC 6749 §3.3 lets a server grant less).
pub(super) fn granted_scope(requested: &str) -> String {
    let known = |token: &&str| {
        API_SCOPES.contains(token)
            || OPENID_SCOPES.contains(token)
            || DEVICE_PREFIXES.iter().any(|prefix| token.strip_prefix(prefix).is_some_and(is_device_id))
    };
    let mut granted: Vec<&str> = Vec::new();
    for token in requested.split(' ').filter(known) {
        if !granted.contains(&token) {
            granted.push(token);
        }
    }
    granted.join(" ")
}

/// What the consent page says a scope token lets the client do, as MAS's consent page words them.
pub(super) fn describe_scope(token: &str) -> String {
    if API_SCOPES.contains(&token) {
        return "See and change your Matrix account: your rooms, messages and profile".to_owned();
    }
    if let Some(device) = DEVICE_PREFIXES.iter().find_map(|prefix| token.strip_prefix(prefix)) {
        return format!("Log in as a new device ({device})");
    }
    match token {
        "openid" => "See your profile info".to_owned(),
        "email" => "See your email address".to_owned(),
        other => other.to_owned(),
    }
}

impl Provider {
    /// The homeserver's server name (`oauth.localhost:<port>`).
    pub(crate) fn matrix_server_name(&self) -> &str {
        &self.matrix_server_name
    }

    /// The login form's user name for a `login_hint`: MAS takes `mxid:@<localpart>:<server name>` of its own
    /// homeserver and prefills the localpart; other hints are ignored.
    pub(super) fn matrix_login_hint(&self, hint: &str) -> Option<String> {
        let (localpart, server) = hint.strip_prefix("mxid:")?.strip_prefix('@')?.split_once(':')?;
        (server.eq_ignore_ascii_case(&self.matrix_server_name) && !localpart.is_empty()).then(|| localpart.to_owned())
    }

    /// A new device session for `grant`'s user and device; an older session of the same user and device ends (the
    /// device logs in again).
    pub(super) fn begin_device_session(&self, grant: &Grant) -> Result<String, OAuthError> {
        let device_id = check_scope(&grant.scope).map_err(|problem| OAuthError::new("invalid_scope", problem))?;
        let display_name =
            self.client(Zone::Matrix, &grant.client_id).map_or_else(|| grant.client_id.clone(), |c| c.name);
        let id = random_token(16)?;
        let replaced: Vec<String> = {
            let store = self.lock();
            if store.sessions.len() >= MAX_SESSIONS {
                return Err(OAuthError {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    error: "temporarily_unavailable",
                    description: "too many device sessions; restart the lookup server".into(),
                });
            }
            store
                .sessions
                .iter()
                .filter(|(_, session)| session.user == grant.user && session.device_id == device_id)
                .map(|(id, _)| id.clone())
                .collect()
        };
        for session in &replaced {
            self.end_device_session(session);
        }
        let session = DeviceSession { user: grant.user, device_id, display_name };
        self.lock().sessions.insert(id.clone(), session);
        Ok(id)
    }

    /// `grant_type=refresh_token` at the Matrix zone, as MAS does it: the refresh token rotates and the access token
    /// issued with it is revoked. The spec's "Refresh token grant" wants a lost answer to be retried: a used refresh
    /// token works once more while its successor and that one's access token are unused (MAS's double refresh),
    /// replacing them.
    pub(super) fn refresh_matrix(&self, refresh_token: &str, client_id: Option<&str>) -> Result<Value, OAuthError> {
        let unknown = || OAuthError::new("invalid_grant", "the refresh token is unknown, revoked or used");
        let grant = {
            let mut store = self.lock();
            let link = store.refresh_links.get(refresh_token).cloned().ok_or_else(unknown)?;
            let (replaced, grant) = match store.refresh_tokens.get(refresh_token).cloned() {
                Some(grant) => (refresh_token.to_owned(), grant),
                None => {
                    // Used before: a retry, when what it gave was never used.
                    let successor = link.successor.clone().ok_or_else(unknown)?;
                    let grant = store.refresh_tokens.get(&successor).cloned().ok_or_else(unknown)?;
                    let next = store.refresh_links.get(&successor).ok_or_else(unknown)?;
                    let next_used = store.access_tokens.get(&next.access_jti).is_none_or(|record| record.used);
                    if next_used {
                        return Err(unknown());
                    }
                    (successor, grant)
                }
            };
            if grant.zone != Zone::Matrix || client_id.is_some_and(|client_id| client_id != grant.client_id) {
                return Err(OAuthError::new("invalid_grant", "the refresh token was issued to another client"));
            }
            store.refresh_tokens.remove(&replaced);
            if let Some(access_jti) = store.refresh_links.get(&replaced).map(|link| link.access_jti.clone()) {
                if let Some(record) = store.access_tokens.get_mut(&access_jti) {
                    record.revoked = true;
                }
            }
            if replaced != refresh_token {
                store.refresh_links.remove(&replaced);
            }
            // The token before this one can never be retried now.
            store.refresh_links.retain(|_, link| link.successor.as_deref() != Some(refresh_token));
            grant
        };
        let tokens = self.issue(&grant)?;
        let successor = tokens.get("refresh_token").and_then(Value::as_str).map(str::to_owned);
        if let Some(link) = self.lock().refresh_links.get_mut(refresh_token) {
            link.successor = successor;
        }
        Ok(tokens)
    }

    /// Ends a device session: its access tokens are revoked, its refresh tokens gone.
    pub(super) fn end_device_session(&self, id: &str) {
        let mut store = self.lock();
        store.sessions.remove(id);
        store.refresh_tokens.retain(|_, grant| grant.session.as_deref() != Some(id));
        store.refresh_links.retain(|_, link| link.session != id);
        for record in store.access_tokens.values_mut() {
            if record.session.as_deref() == Some(id) {
                record.revoked = true;
            }
        }
    }

    /// The user and device of a Matrix zone access token, as the homeserver's whoami answers them.
    pub(crate) fn matrix_device(&self, token: &str) -> Result<(&'static OidcUser, DeviceSession), TokenProblem> {
        let claims = self.validate_access(Zone::Matrix, token)?;
        let user = claims.user(self.people()).ok_or(TokenProblem::Invalid)?;
        let mut store = self.lock();
        let session = claims.sid.as_ref().and_then(|id| store.sessions.get(id).cloned());
        let session = session.ok_or(TokenProblem::Invalid)?;
        if let Some(record) = store.access_tokens.get_mut(&claims.jti) {
            record.used = true;
        }
        Ok((user, session))
    }

    /// The live device sessions of `user`, by device id.
    pub(crate) fn matrix_devices(&self, user: &OidcUser) -> Vec<DeviceSession> {
        let mut devices: Vec<DeviceSession> =
            self.lock().sessions.values().filter(|session| session.user == user).cloned().collect();
        devices.sort_by(|a, b| a.device_id.cmp(&b.device_id));
        devices
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scope_needs_api_access_and_exactly_one_device() {
        let device = |scope: &str| check_scope(scope);
        assert_eq!(device("urn:matrix:client:api:* urn:matrix:client:device:ABCDEFGHIJ"), Ok("ABCDEFGHIJ".into()));
        assert_eq!(
            device("urn:matrix:org.matrix.msc2967.client:api:* urn:matrix:org.matrix.msc2967.client:device:AB~c.d"),
            Ok("AB~c.d".into()),
            "MSC2967's unstable spelling"
        );
        assert_eq!(
            device(
                "urn:matrix:client:api:* urn:matrix:client:device:X1 urn:matrix:org.matrix.msc2967.client:device:X1"
            ),
            Ok("X1".into()),
            "the stable and unstable token of one device are one device"
        );
        for (bad, why) in [
            ("urn:matrix:client:device:ABC", "no API access"),
            ("openid urn:matrix:client:api:*", "no device"),
            ("urn:matrix:client:api:* urn:matrix:client:device:A urn:matrix:client:device:B", "two devices"),
            ("urn:matrix:client:api:* urn:matrix:client:device:", "an empty device id"),
            ("urn:matrix:client:api:* urn:matrix:client:device:a/b", "not unreserved"),
        ] {
            assert!(device(bad).is_err(), "{why}: {bad}");
        }
        assert_eq!(
            granted_scope("urn:matrix:client:api:* bogus urn:matrix:client:device:D1 openid urn:matrix:client:api:*"),
            "urn:matrix:client:api:* urn:matrix:client:device:D1 openid",
            "known tokens once each, in order"
        );
        assert_eq!(describe_scope("urn:matrix:client:device:D1"), "Log in as a new device (D1)", "the device");
    }
}
