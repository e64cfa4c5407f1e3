//! One login in the browser (OpenID Connect, or a plain OAuth 2.0 server such as a Matrix
//! homeserver's): the authorization request with PKCE S256, `state` (and `nonce`), and the checks
//! of the callback — `state`, RFC 9207's `iss`, the provider's `error`, the code.

use std::collections::BTreeMap;

use oauth2::{CsrfToken, PkceCodeChallenge, PkceCodeVerifier};
use url::Url;

use super::ProviderMetadata;
use crate::error::ConnectError;
use crate::oidc_client::OidcClient;
use crate::secret::Secret;

/// Where a login in the browser goes: the authorization endpoint, the issuer an RFC 9207 `iss`
/// must name (and whether the server promised it), and whether the login asks for an ID token's
/// `nonce` (OpenID Connect) or not (plain OAuth 2.0).
#[derive(Clone, Copy, Debug)]
pub struct AuthorizationServer<'a> {
    pub endpoint: &'a Url,
    pub issuer: &'a str,
    pub iss_required: bool,
    pub nonce: bool,
}

/// One login in the browser: the URL to open and what the callback must match.
pub struct LoginRequest {
    pub url: Url,
    state: Secret,
    nonce: Secret,
    verifier: PkceCodeVerifier,
    /// The issuer an RFC 9207 `iss` in the callback must name.
    issuer: String,
    /// The provider promised `iss` in every authorization response: one without it is refused.
    iss_required: bool,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest").field("url", &self.url.as_str()).finish_non_exhaustive()
    }
}

impl LoginRequest {
    /// Authorization code request with PKCE S256, a random `state` and a random `nonce`, the
    /// client's scopes and `prompt`, and `login_hint` (the user the person typed) when known.
    pub fn new(
        metadata: &ProviderMetadata,
        client: &OidcClient,
        redirect_uri: &Url,
        login_hint: Option<&str>,
    ) -> LoginRequest {
        let provider = AuthorizationServer {
            endpoint: &metadata.authorization_endpoint,
            issuer: &metadata.issuer,
            iss_required: metadata.authorization_response_iss_parameter_supported,
            nonce: true,
        };
        LoginRequest::at(provider, client, redirect_uri, login_hint)
    }

    /// The same request at any OAuth 2.0 authorization server (a Matrix homeserver's: no `nonce`
    /// then, as there is no ID token), with `response_mode=query` where the server names modes.
    pub fn at(
        server: AuthorizationServer<'_>,
        client: &OidcClient,
        redirect_uri: &Url,
        login_hint: Option<&str>,
    ) -> LoginRequest {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = CsrfToken::new_random();
        let nonce = CsrfToken::new_random();
        let mut url = server.endpoint.clone();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &client.client_id)
                .append_pair("redirect_uri", redirect_uri.as_str())
                .append_pair("scope", &client.scopes.join(" "))
                .append_pair("state", state.secret());
            if server.nonce {
                query.append_pair("nonce", nonce.secret());
            } else {
                query.append_pair("response_mode", "query");
            }
            query
                .append_pair("code_challenge", challenge.as_str())
                .append_pair("code_challenge_method", challenge.method().as_str());
            if let Some(prompt) = &client.prompt {
                query.append_pair("prompt", prompt);
            }
            if let Some(hint) = login_hint.filter(|hint| !hint.is_empty()) {
                query.append_pair("login_hint", hint);
            }
        }
        LoginRequest {
            url,
            state: Secret::new(state.secret().clone()),
            nonce: Secret::new(nonce.secret().clone()),
            verifier,
            issuer: server.issuer.to_owned(),
            iss_required: server.iss_required,
        }
    }

    pub fn nonce(&self) -> &Secret {
        &self.nonce
    }

    pub fn pkce_verifier(&self) -> &PkceCodeVerifier {
        &self.verifier
    }

    /// Whether the callback's request target carries this login's `state`: one that does not is
    /// no answer to this login (forged, or left over), so the loopback listener answers it 400 and
    /// keeps waiting ([`crate::loopback::LoopbackCallback::receive`]).
    pub fn is_this_login(&self, target: &str) -> bool {
        Url::parse("http://127.0.0.1/")
            .and_then(|base| base.join(target))
            .is_ok_and(|url| url.query_pairs().any(|(name, value)| name == "state" && value == self.state.expose()))
    }

    /// The authorization code from the callback's request target (`/callback?code=…&state=…`),
    /// after checking `state`. An `error` from the provider is reported as such.
    pub fn code_from_callback(&self, target: &str) -> Result<Secret, ConnectError> {
        let url = Url::parse("http://127.0.0.1/")
            .and_then(|base| base.join(target))
            .map_err(|_| ConnectError::LoginRefused { reason: "the browser returned an unreadable address".into() })?;
        let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
        if query.get("state").map(String::as_str) != Some(self.state.expose()) {
            return Err(ConnectError::LoginRefused {
                reason: "the answer from the browser does not belong to this login (state mismatch)".into(),
            });
        }
        // RFC 9207 §2.4: an `iss` that is present must be this login's issuer; a provider that
        // promised it must send it. Checked before `error` too: a mixed-up error is not ours.
        match query.get("iss") {
            Some(iss) if iss != &self.issuer => {
                return Err(ConnectError::LoginRefused {
                    reason: format!(
                        "the answer from the browser comes from another identity provider ({iss}, not {})",
                        self.issuer
                    ),
                })
            }
            None if self.iss_required => {
                return Err(ConnectError::LoginRefused {
                    reason: "the answer from the browser does not name its identity provider (iss), which it promised"
                        .into(),
                })
            }
            _ => {}
        }
        if let Some(error) = query.get("error") {
            // The provider's words, shown as they are but for a secret quoted in them.
            let description = crate::redact::redact_body(&query.get("error_description").cloned().unwrap_or_default());
            return Err(ConnectError::BrowserLoginFailed { error: crate::redact::redact_body(error), description });
        }
        query.get("code").filter(|code| !code.is_empty()).map(|code| Secret::new(code.clone())).ok_or_else(|| {
            ConnectError::LoginRefused { reason: "the answer from the browser carries no authorization code".into() }
        })
    }
}
