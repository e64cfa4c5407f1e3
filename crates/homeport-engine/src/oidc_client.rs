//! Which OAuth client Homeport is at an identity provider (docs/protocols/oidc-ocis.md#the-client).
//! Real providers know their clients in advance: oCIS's built-in IdP knows the ownCloud desktop
//! client and nothing else unless an admin adds one; a Keycloak realm knows the client its admin
//! registered (often for one fixed redirect port). So the client is chosen, in order, from:
//! 1. the person's or admin's setting for this issuer ([`ClientProfile`], CLI flags, scenario keys,
//!    the desktop's advanced settings);
//! 2. what Homeport knows of the server product ([`for_product`]: oCIS → the ownCloud desktop client);
//! 3. a client registered earlier with this issuer ([`ClientMemory`]: no new registration per connect);
//! 4. dynamic registration (RFC 7591), when the provider offers it;
//! 5. Homeport's own client id, last.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::ConnectError;
use crate::loopback::RedirectSpec;
use crate::secret::Secret;
pub use crate::token_auth::TokenAuth;

/// The ownCloud desktop client every ownCloud desktop app ships (public values of its theme);
/// oCIS's built-in IdP (lico) knows it by default, native, any loopback port and path.
pub const OWNCLOUD_DESKTOP_CLIENT_ID: &str = "xdXOt13JKxym1B1QcEncf2XDkLAexMBFwiT9j6EfhhHFJhs2KM9jbjTmf8JBXE69";
pub const OWNCLOUD_DESKTOP_CLIENT_SECRET: &str = "UBntmLjC2yYCeHwsyj73Uwo9TAaecAetRwMw0xYcvNL9yRdLSUi0hUAHfvCHFeFh";
/// OpenCloud's desktop client (a public client).
pub const OPENCLOUD_DESKTOP_CLIENT_ID: &str = "OpenCloudDesktop";
/// The client id used when nothing else names one.
pub const HOMEPORT_CLIENT_ID: &str = "homeport-desktop";
/// What the ownCloud client sends: the person picks the account, and `consent` is what makes
/// most providers (lico, node-oidc-provider, Keycloak's offline tokens) grant `offline_access`.
/// `prompt` is a standard parameter; providers that do not publish `prompt_values_supported`
/// still take it.
pub const DEFAULT_PROMPT: &str = "select_account consent";
pub const DEFAULT_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// A person's or admin's client for an issuer: every field optional, an absent one comes from
/// the next source. A plain serde type so an admin file can carry it (`client_secret` is read,
/// never written back: secrets live in the keyring).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(default, deny_unknown_fields)]
pub struct ClientProfile {
    /// The issuer this profile is for, exactly as its discovery document names it; None: any
    /// issuer this connection meets (a profile given for one connection).
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    #[serde(skip_serializing)]
    pub client_secret: Option<Secret>,
    /// None: chosen from the provider's discovery document.
    pub token_auth: Option<TokenAuth>,
    pub scopes: Option<Vec<String>>,
    /// The `prompt` parameter; an empty string sends none.
    pub prompt: Option<String>,
    /// Where the browser comes back: host (127.0.0.1 or localhost) and port (random, fixed, or a
    /// range), for a client registered with a fixed redirect URI.
    pub redirect: Option<RedirectSpec>,
}

impl ClientProfile {
    /// Whether this profile applies to `issuer`.
    pub fn is_for(&self, issuer: &str) -> bool {
        self.issuer.as_deref().is_none_or(|own| own.trim_end_matches('/') == issuer.trim_end_matches('/'))
    }

    fn is_empty(&self) -> bool {
        self.client_id.is_none()
            && self.client_secret.is_none()
            && self.token_auth.is_none()
            && self.scopes.is_none()
            && self.prompt.is_none()
            && self.redirect.is_none()
    }
}

/// What Homeport knows of a server product's desktop client (`status.php`'s `productname`).
pub fn for_product(productname: &str) -> Option<ClientProfile> {
    let product = productname.trim().to_ascii_lowercase();
    let known = |id: &str, secret: Option<&str>| ClientProfile {
        client_id: Some(id.to_owned()),
        client_secret: secret.map(Secret::new),
        ..ClientProfile::default()
    };
    match product.as_str() {
        "infinite scale" | "owncloud infinite scale" | "ocis" => {
            Some(known(OWNCLOUD_DESKTOP_CLIENT_ID, Some(OWNCLOUD_DESKTOP_CLIENT_SECRET)))
        }
        "opencloud" => Some(known(OPENCLOUD_DESKTOP_CLIENT_ID, None)),
        _ => None,
    }
}

/// Where the client came from, as the account and the story tell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ClientSource {
    /// The person's or admin's setting for the issuer.
    Setting,
    /// Homeport's knowledge of the server product (the ownCloud desktop client for oCIS).
    Product,
    /// Registered with this issuer on an earlier connect.
    Remembered,
    /// Registered just now (RFC 7591).
    Registered,
    /// Homeport's own client id.
    BuiltIn,
}

/// The client a login uses, all decided.
#[derive(Clone, PartialEq)]
pub struct OidcClient {
    pub client_id: String,
    pub secret: Option<Secret>,
    pub token_auth: TokenAuth,
    pub scopes: Vec<String>,
    /// None: no `prompt` parameter.
    pub prompt: Option<String>,
    pub source: ClientSource,
}

impl fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcClient")
            .field("client_id", &self.client_id)
            .field("has_secret", &self.secret.is_some())
            .field("token_auth", &self.token_auth)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl OidcClient {
    /// Fills the client from `layers` (most important first) and the provider's methods.
    pub fn from_layers(
        layers: &[(&ClientProfile, ClientSource)],
        fallback_id: (&str, ClientSource),
        supported_auth: &[String],
    ) -> Result<OidcClient, ConnectError> {
        // The client id and its secret come from the same layer: a secret never goes to another
        // client id than the one it was given with.
        let (client_id, secret, source) = layers
            .iter()
            .find_map(|(profile, source)| {
                profile.client_id.clone().map(|id| (id, profile.client_secret.clone(), *source))
            })
            .unwrap_or_else(|| (fallback_id.0.to_owned(), None, fallback_id.1));
        let wanted_auth = layers.iter().find_map(|(p, _)| p.token_auth);
        let scopes = layers
            .iter()
            .find_map(|(p, _)| p.scopes.clone())
            .unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect());
        let prompt = layers
            .iter()
            .find_map(|(p, _)| p.prompt.clone())
            .unwrap_or_else(|| DEFAULT_PROMPT.to_owned())
            .trim()
            .to_owned();
        let token_auth = TokenAuth::choose(secret.is_some(), wanted_auth, supported_auth).map_err(|reason| {
            ConnectError::InvalidResponse { url: String::new(), what: "OpenID discovery document", reason }
        })?;
        let client = OidcClient {
            client_id,
            secret,
            token_auth,
            scopes,
            prompt: Some(prompt).filter(|p| !p.is_empty()),
            source,
        };
        Ok(client)
    }
}

/// The person's settings for this connection's providers, and the memory of registered clients.
#[derive(Clone, Default)]
pub struct ClientSettings {
    /// Profiles by issuer (or for any issuer): the first that applies wins.
    pub profiles: Vec<ClientProfile>,
    /// Clients registered earlier, by issuer; None: nothing is remembered (tests, `--no-store`).
    pub memory: Option<Arc<dyn ClientMemory>>,
}

impl ClientSettings {
    /// The setting that applies to `issuer`, if any has something to say.
    pub fn profile_for(&self, issuer: &str) -> Option<&ClientProfile> {
        self.profiles.iter().find(|profile| profile.is_for(issuer) && !profile.is_empty())
    }
}

impl fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSettings")
            .field("profiles", &self.profiles)
            .field("memory", &self.memory.is_some())
            .finish()
    }
}

/// A client a provider registered for Homeport (RFC 7591's answer), kept per issuer.
#[derive(Clone, Debug, PartialEq)]
pub struct RegisteredClient {
    pub issuer: String,
    pub client_id: String,
    pub secret: Option<Secret>,
    pub token_auth: TokenAuth,
    /// The path of the redirect URI it was registered with (providers match it exactly).
    pub redirect_path: Option<String>,
}

/// Where registered clients are kept (the client id in a file, its secret in the keyring:
/// [`crate::settings::Settings`]). Called off the async runtime's threads.
pub trait ClientMemory: Send + Sync {
    fn recall(&self, issuer: &str) -> Option<RegisteredClient>;
    /// Keeps `client`; a failure only costs a new registration next time, so it is not an error
    /// of the connection.
    fn remember(&self, client: &RegisteredClient);
    /// Forgets the issuer's client (the provider no longer knows it).
    fn forget(&self, issuer: &str);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn methods(list: &[&str]) -> Vec<String> {
        list.iter().map(|m| m.to_string()).collect()
    }

    #[test]
    fn the_client_id_and_its_secret_come_from_one_layer() {
        let setting = ClientProfile { prompt: Some("login".into()), ..ClientProfile::default() };
        let product = for_product("Infinite Scale").expect("oCIS is known");
        let client = OidcClient::from_layers(
            &[(&setting, ClientSource::Setting), (&product, ClientSource::Product)],
            (HOMEPORT_CLIENT_ID, ClientSource::BuiltIn),
            &methods(&["client_secret_basic", "none"]),
        )
        .expect("client");
        assert_eq!(client.client_id, OWNCLOUD_DESKTOP_CLIENT_ID, "the setting names no id: the product's");
        assert_eq!(client.secret.as_ref().map(Secret::expose), Some(OWNCLOUD_DESKTOP_CLIENT_SECRET));
        assert_eq!(client.token_auth, TokenAuth::ClientSecretBasic);
        assert_eq!(client.prompt.as_deref(), Some("login"), "the setting's prompt wins");
        assert_eq!(client.source, ClientSource::Product);

        let own = ClientProfile { client_id: Some("homeport".into()), ..ClientProfile::default() };
        let client = OidcClient::from_layers(
            &[(&own, ClientSource::Setting), (&product, ClientSource::Product)],
            (HOMEPORT_CLIENT_ID, ClientSource::BuiltIn),
            &[],
        )
        .expect("client");
        assert_eq!(client.client_id, "homeport");
        assert!(client.secret.is_none(), "the product's secret never goes with another client id");
        assert_eq!(client.token_auth, TokenAuth::Public);
        assert_eq!(client.prompt.as_deref(), Some(DEFAULT_PROMPT), "select_account consent by default");
        assert_eq!(client.scopes, DEFAULT_SCOPES.map(String::from).to_vec(), "offline_access asked for");
    }

    #[test]
    fn products_name_their_desktop_clients() {
        assert_eq!(
            for_product("Infinite Scale").and_then(|p| p.client_id).as_deref(),
            Some(OWNCLOUD_DESKTOP_CLIENT_ID)
        );
        assert_eq!(
            for_product("ownCloud Infinite Scale").and_then(|p| p.client_id).as_deref(),
            Some(OWNCLOUD_DESKTOP_CLIENT_ID)
        );
        let opencloud = for_product("OpenCloud").expect("OpenCloud is known");
        assert_eq!(opencloud.client_id.as_deref(), Some(OPENCLOUD_DESKTOP_CLIENT_ID));
        assert!(opencloud.client_secret.is_none(), "a public client");
        assert!(for_product("Nextcloud").is_none() && for_product("").is_none(), "others: no guess");
    }

    #[test]
    fn a_profile_applies_to_its_issuer_or_to_any() {
        let any = ClientProfile { client_id: Some("x".into()), ..ClientProfile::default() };
        let one = ClientProfile { issuer: Some("https://idp.example.org/realms/a".into()), ..any.clone() };
        assert!(any.is_for("https://idp.example.org"));
        assert!(one.is_for("https://idp.example.org/realms/a/") && !one.is_for("https://idp.example.org/realms/b"));
        let parsed: ClientProfile =
            serde_json::from_str(r#"{"client_id":"homeport","client_secret":"s3","token_auth":"client_secret_post"}"#)
                .expect("an admin file's profile");
        assert_eq!(parsed.token_auth, Some(TokenAuth::ClientSecretPost));
        assert!(!serde_json::to_string(&parsed).expect("json").contains("s3"), "the secret is never written back");
        assert!(serde_json::from_str::<ClientProfile>(r#"{"clientid":"x"}"#).is_err(), "a misspelt key is an error");
    }
}
