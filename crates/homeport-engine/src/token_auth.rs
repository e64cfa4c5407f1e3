//! How an OAuth client authenticates at the token endpoint: a plain type of its own, so accounts
//! (which store it) need nothing else of the OIDC client ([`crate::oidc_client`]).

use serde::{Deserialize, Serialize};

/// How the client authenticates at the token endpoint (RFC 6749 §2.3, OpenID Connect Core §9).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum TokenAuth {
    /// The secret in an `Authorization: Basic` header (the default of the specifications).
    ClientSecretBasic,
    /// The secret in the form body.
    ClientSecretPost,
    /// A public client: no secret (PKCE protects the code).
    #[default]
    #[serde(rename = "none")]
    Public,
}

impl TokenAuth {
    pub fn wire_name(self) -> &'static str {
        match self {
            TokenAuth::ClientSecretBasic => "client_secret_basic",
            TokenAuth::ClientSecretPost => "client_secret_post",
            TokenAuth::Public => "none",
        }
    }

    /// The method for a client with or without a secret, from what the provider supports
    /// (`token_endpoint_auth_methods_supported`; absent means `client_secret_basic`, Discovery §3).
    /// `wanted` is the person's choice, used only if the provider supports it; otherwise the
    /// reason, in words.
    pub fn choose(has_secret: bool, wanted: Option<TokenAuth>, supported: &[String]) -> Result<TokenAuth, String> {
        let offers = |auth: TokenAuth| {
            if supported.is_empty() {
                auth == TokenAuth::ClientSecretBasic
            } else {
                supported.iter().any(|method| method == auth.wire_name())
            }
        };
        if !has_secret {
            // A public client sends no secret whatever the provider lists: it either accepts it
            // (its client is public) or refuses the code exchange with `invalid_client`.
            return Ok(TokenAuth::Public);
        }
        if let Some(wanted) = wanted.filter(|wanted| *wanted != TokenAuth::Public) {
            return if offers(wanted) {
                Ok(wanted)
            } else {
                Err(format!(
                    "the provider does not offer {} at its token endpoint (it offers {})",
                    wanted.wire_name(),
                    supported.join(", ")
                ))
            };
        }
        Ok([TokenAuth::ClientSecretBasic, TokenAuth::ClientSecretPost]
            .into_iter()
            .find(|auth| offers(*auth))
            // A provider listing only methods Homeport does not speak (private_key_jwt): Basic is
            // still what a secret-holding client sends; the provider's answer says if it is not.
            .unwrap_or(TokenAuth::ClientSecretBasic))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn methods(list: &[&str]) -> Vec<String> {
        list.iter().map(|m| m.to_string()).collect()
    }

    #[test]
    fn token_auth_follows_the_secret_and_the_providers_methods() {
        assert_eq!(TokenAuth::choose(false, None, &methods(&["client_secret_basic"])).ok(), Some(TokenAuth::Public));
        assert_eq!(TokenAuth::choose(true, None, &[]).ok(), Some(TokenAuth::ClientSecretBasic), "the default");
        assert_eq!(
            TokenAuth::choose(true, None, &methods(&["client_secret_post", "none"])).ok(),
            Some(TokenAuth::ClientSecretPost),
            "only post offered"
        );
        assert_eq!(
            TokenAuth::choose(
                true,
                Some(TokenAuth::ClientSecretPost),
                &methods(&["client_secret_basic", "client_secret_post"])
            )
            .ok(),
            Some(TokenAuth::ClientSecretPost),
            "the person's choice when offered"
        );
        assert!(
            TokenAuth::choose(true, Some(TokenAuth::ClientSecretPost), &methods(&["client_secret_basic"])).is_err(),
            "a choice the provider does not offer is a clear error"
        );
    }
}
