//! Issuing tokens: the code exchange, refresh with rotation, revocation (RFC 7009), the access, refresh and ID
//! tokens of a grant, and the check of an access token the resource servers make.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::{
    forge_signature, pkce_challenge, random_token, unix_seconds, AccessClaims, AccessRecord, Grant, IdTokenClaims,
    OAuthError, Provider, TokenProblem, Zone, ACCESS_TOKEN_AUDIENCE, MAX_REFRESH_TOKENS,
};
use crate::scenario::Fault;

impl Provider {
    /// `grant_type=authorization_code` for an authenticated client. The code is used up by any attempt, successful or
    /// not.
    pub(super) fn exchange_code(
        &self,
        zone: Zone,
        code: &str,
        client_id: &str,
        redirect_uri: &str,
        code_verifier: &str,
    ) -> Result<Value, OAuthError> {
        let pending = self.lock().codes.remove(code);
        let pending = pending.ok_or_else(|| {
            OAuthError::new("invalid_grant", "the authorization code is unknown, expired or already used")
        })?;
        if pending.expires_at <= Instant::now() {
            return Err(OAuthError::new("invalid_grant", "the authorization code expired"));
        }
        if pending.grant.zone != zone {
            return Err(OAuthError::new("invalid_grant", "the authorization code was issued by another zone"));
        }
        if pending.grant.client_id != client_id {
            return Err(OAuthError::new("invalid_grant", "the authorization code was issued to another client"));
        }
        if pending.redirect_uri != redirect_uri {
            return Err(OAuthError::new("invalid_grant", "redirect_uri differs from the authorization request"));
        }
        if pkce_challenge(code_verifier) != pending.code_challenge {
            return Err(OAuthError::new("invalid_grant", "PKCE verification failed: code_verifier does not match"));
        }
        let mut grant = pending.grant;
        if zone == Zone::Matrix {
            if self.fault == Some(Fault::MatrixOauthTokenRefused) {
                return Err(OAuthError::new("invalid_grant", "the authorization code was refused (fault)"));
            }
            // The Matrix zone's tokens stand for a device: the session begins with the first tokens.
            grant.session = Some(self.begin_device_session(&grant)?);
        }
        let mut tokens = self.issue(&grant)?;
        if self.fault == Some(Fault::ExpiredAccessToken) {
            self.expire_access_token(&tokens, zone);
        }
        if self.fault == Some(Fault::IdpBadSignature) {
            if let Some(id_token) = tokens.get("id_token").and_then(Value::as_str) {
                tokens["id_token"] = Value::from(forge_signature(id_token));
            }
        }
        Ok(tokens)
    }

    /// Marks the access token of a token response of `zone` as expired from now on.
    fn expire_access_token(&self, tokens: &Value, zone: Zone) {
        let Some(token) = tokens.get("access_token").and_then(Value::as_str) else { return };
        let Ok(claims) = self.key.verify::<AccessClaims>(token, &self.issuer(zone), ACCESS_TOKEN_AUDIENCE) else {
            return;
        };
        if let Some(record) = self.lock().access_tokens.get_mut(&claims.jti) {
            record.expires_at = SystemTime::now();
        }
    }

    /// `grant_type=refresh_token`, with rotation: the presented token is revoked, a new one issued.
    pub(super) fn refresh(
        &self,
        zone: Zone,
        refresh_token: &str,
        client_id: Option<&str>,
    ) -> Result<Value, OAuthError> {
        let grant = {
            let mut store = self.lock();
            if self.fault == Some(Fault::RevokedRefreshToken) {
                // The grant was revoked behind the client's back: the token is gone, as after `/revoke`.
                store.refresh_tokens.remove(refresh_token);
                return Err(OAuthError::new("invalid_grant", "the refresh token is unknown or revoked"));
            }
            if zone == Zone::Matrix {
                drop(store);
                return self.refresh_matrix(refresh_token, client_id);
            }
            let Some(grant) = store.refresh_tokens.get(refresh_token) else {
                return Err(OAuthError::new("invalid_grant", "the refresh token is unknown or revoked"));
            };
            if grant.zone != zone {
                return Err(OAuthError::new("invalid_grant", "the refresh token was issued by another zone"));
            }
            if client_id.is_some_and(|client_id| client_id != grant.client_id) {
                return Err(OAuthError::new("invalid_grant", "the refresh token was issued to another client"));
            }
            store
                .refresh_tokens
                .remove(refresh_token)
                .ok_or_else(|| OAuthError::new("invalid_grant", "the refresh token is unknown or revoked"))?
        };
        self.issue(&grant)
    }

    /// RFC 7009: revokes a refresh token, or an access token; unknown tokens are ignored.
    /// At the Matrix zone either token ends the whole device session (its access and refresh tokens), as the
    /// spec's "Token revocation" requires.
    pub(super) fn revoke(&self, token: &str) {
        let mut store = self.lock();
        if let Some(grant) = store.refresh_tokens.remove(token) {
            drop(store);
            if let Some(session) = &grant.session {
                self.end_device_session(session);
            }
            return;
        }
        drop(store);
        // An access token of any zone of this provider: revoke it by its jti.
        let zones = [Zone::Main, Zone::Matrix].into_iter().chain(self.people().tenants.iter().map(Zone::Tenant));
        for zone in zones {
            if let Ok(claims) = self.key.verify::<AccessClaims>(token, &self.issuer(zone), ACCESS_TOKEN_AUDIENCE) {
                if let Some(record) = self.lock().access_tokens.get_mut(&claims.jti) {
                    record.revoked = true;
                }
                if let Some(session) = &claims.sid {
                    self.end_device_session(session);
                }
                return;
            }
        }
    }

    /// Access, refresh and (for `openid`) ID token for `grant`.
    pub(super) fn issue(&self, grant: &Grant) -> Result<Value, OAuthError> {
        let now = SystemTime::now();
        let iat = unix_seconds(now);
        let expires_at = now + self.token_lifetime;
        // Rounded up: the claim never says a token expired before it really did.
        let exp = expires_at
            .duration_since(UNIX_EPOCH)
            .map(|since| since.as_secs() + u64::from(since.subsec_nanos() > 0))
            .unwrap_or_default();
        let issuer = self.issuer(grant.zone);
        let zid = match grant.zone {
            Zone::Main | Zone::Matrix => None,
            Zone::Tenant(tenant) => Some(tenant.zid),
        };
        let jti = random_token(16)?;
        let access = AccessClaims {
            iss: issuer.clone(),
            sub: grant.user.sub.to_owned(),
            aud: ACCESS_TOKEN_AUDIENCE.to_owned(),
            exp,
            iat,
            scope: grant.scope.clone(),
            preferred_username: grant.user.login.to_owned(),
            client_id: grant.client_id.clone(),
            jti: jti.clone(),
            zid: zid.map(str::to_owned),
            sid: grant.session.clone(),
        };
        let access_token =
            self.key.sign(&access).map_err(|error| OAuthError::server(format!("cannot sign: {error}")))?;
        let id_token = if grant.scope.split(' ').any(|scope| scope == "openid") {
            let claims = IdTokenClaims {
                iss: &issuer,
                sub: grant.user.sub,
                aud: &grant.client_id,
                exp,
                iat,
                auth_time: grant.auth_time,
                nonce: grant.nonce.as_deref(),
                name: grant.user.display_name,
                preferred_username: grant.user.login,
                email: grant.user.email,
                email_verified: true,
                zid,
            };
            Some(self.key.sign(&claims).map_err(|error| OAuthError::server(format!("cannot sign: {error}")))?)
        } else {
            None
        };
        // OpenID Connect Core §11: a refresh token only for a granted offline_access. The tenants' zones (XSUAA)
        // always issue one, and so does the Matrix zone (the spec's "Refresh token grant": MUST).
        let offline = match grant.zone {
            Zone::Main => grant.scope.split(' ').any(|scope| scope == "offline_access"),
            Zone::Tenant(_) | Zone::Matrix => true,
        };
        let refresh_token = if offline { Some(random_token(32)?) } else { None };
        {
            let mut store = self.lock();
            store.access_tokens.retain(|_, record| record.expires_at > now);
            store.access_tokens.insert(
                jti.clone(),
                AccessRecord { expires_at, revoked: false, session: grant.session.clone(), used: false },
            );
            if let Some(refresh_token) = &refresh_token {
                if store.refresh_tokens.len() >= MAX_REFRESH_TOKENS {
                    return Err(OAuthError {
                        status: StatusCode::SERVICE_UNAVAILABLE,
                        error: "temporarily_unavailable",
                        description: "too many refresh tokens; restart the lookup server".into(),
                    });
                }
                store.refresh_tokens.insert(refresh_token.clone(), grant.clone());
                if let Some(session) = &grant.session {
                    let link = super::matrix_zone::RefreshLink::new(session, &jti);
                    store.refresh_links.insert(refresh_token.clone(), link);
                }
            }
        }
        let expires_in = self.token_lifetime.as_secs() + u64::from(self.token_lifetime.subsec_nanos() > 0);
        let mut response = json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": expires_in,
            "scope": grant.scope,
        });
        if let Some(refresh_token) = refresh_token {
            response["refresh_token"] = Value::from(refresh_token);
        }
        if let Some(id_token) = id_token {
            response["id_token"] = Value::from(id_token);
        }
        Ok(response)
    }

    /// The claims of a valid, unexpired, unrevoked access token of `zone`.
    pub(crate) fn validate_access(&self, zone: Zone, token: &str) -> Result<AccessClaims, TokenProblem> {
        let claims: AccessClaims =
            self.key.verify(token, &self.issuer(zone), ACCESS_TOKEN_AUDIENCE).map_err(|_| TokenProblem::Invalid)?;
        let now = SystemTime::now();
        let store = self.lock();
        // An ended device session outlives its expired tokens' records: its tokens are revoked, not expired.
        if claims.sid.as_ref().is_some_and(|session| !store.sessions.contains_key(session)) {
            return Err(TokenProblem::Invalid);
        }
        match store.access_tokens.get(&claims.jti) {
            Some(record) if record.revoked => Err(TokenProblem::Invalid),
            Some(record) if now >= record.expires_at => Err(TokenProblem::Expired),
            Some(_) => Ok(claims),
            // Records are dropped once expired; a signed token without one expired before.
            None if unix_seconds(now) >= claims.exp => Err(TokenProblem::Expired),
            None => Err(TokenProblem::Invalid),
        }
    }
}
