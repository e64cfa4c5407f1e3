//! `homeport connect`'s OpenID Connect client flags: what an identity provider's administrator
//! tells a person (a client id, maybe a secret and a fixed redirect port), as the client profile
//! the engine takes for this connection (docs/protocols/oidc-ocis.md#the-client).

use clap::Args;
use homeport_engine::loopback::{RedirectHost, RedirectPort, RedirectSpec};
use homeport_engine::oidc_client::{ClientProfile, TokenAuth};
use homeport_engine::Secret;

use crate::output::Failure;

/// The environment variable a confidential client's secret is read from (never an argument:
/// arguments are visible to every user of the machine).
pub const CLIENT_SECRET_VAR: &str = "HOMEPORT_OIDC_CLIENT_SECRET";

#[derive(Args, Default)]
pub struct OidcFlags {
    /// The OpenID Connect client id to log in as, as the identity provider's administrator
    /// registered it. Default: the server product's desktop client (oCIS: the ownCloud desktop
    /// client), else one registered with the provider. A confidential client's secret is read from
    /// HOMEPORT_OIDC_CLIENT_SECRET. The client flags are refused (exit 7) when the organisation's
    /// configuration locks its clients (`[oidc] lock = true`, docs/administrators.md); without the
    /// lock they come before the file's clients.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// How the client authenticates at the token endpoint. Default: from the provider's
    /// discovery document (Basic when it has a secret, none without).
    #[arg(long, value_enum, value_name = "METHOD")]
    pub token_auth: Option<TokenAuthArg>,
    /// The scopes to ask for, space- or comma-separated. Default: openid profile email offline_access.
    #[arg(long, value_name = "SCOPES")]
    pub scopes: Option<String>,
    /// The OpenID Connect `prompt` parameter ("" sends none). Default: "select_account consent"
    /// (as the ownCloud client: consent is what makes providers grant a refresh token).
    #[arg(long, value_name = "PROMPT")]
    pub prompt: Option<String>,
    /// The port the browser comes back to, for a client registered with a fixed redirect URI:
    /// PORT, or FIRST-LAST (the first free one). Default: any free port.
    #[arg(long, value_name = "PORT|FIRST-LAST")]
    pub redirect_port: Option<RedirectPort>,
    /// The host of the redirect URI the client was registered with. Default: 127.0.0.1.
    #[arg(long, value_enum, value_name = "HOST")]
    pub redirect_host: Option<RedirectHostArg>,
    /// Let the identity provider on another site than the server log you in (its tokens then go
    /// to the server): the provider's origin, as Homeport names it. Repeat for several.
    #[arg(long, value_name = "ORIGIN")]
    pub approve_issuer: Vec<String>,
    /// When the identity provider logs in another user than --user (you were logged in there as
    /// someone else), go on as this user instead of stopping.
    #[arg(long, value_name = "USER")]
    pub continue_as: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RedirectHostArg {
    #[value(name = "127.0.0.1")]
    Ipv4Loopback,
    Localhost,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TokenAuthArg {
    ClientSecretBasic,
    ClientSecretPost,
    None,
}

impl OidcFlags {
    /// The profile these flags describe, for whatever provider this connection meets; None when
    /// no flag was given.
    pub fn profile(&self) -> Result<Option<ClientProfile>, Failure> {
        let client_secret = std::env::var(CLIENT_SECRET_VAR).ok().filter(|s| !s.is_empty()).map(Secret::new);
        if client_secret.is_some() && self.client_id.is_none() {
            return Err(Failure::bad_input(format!(
                "{CLIENT_SECRET_VAR} is set, but no --client-id: a secret goes only with the client id it belongs to"
            )));
        }
        let scopes = self.scopes.as_ref().map(|scopes| {
            scopes.split([' ', ',']).filter(|scope| !scope.is_empty()).map(str::to_owned).collect::<Vec<_>>()
        });
        if scopes.as_ref().is_some_and(|scopes| !scopes.iter().any(|scope| scope == "openid")) {
            return Err(Failure::bad_input("--scopes must include openid (Homeport logs in with OpenID Connect)"));
        }
        let profile = ClientProfile {
            issuer: None,
            client_id: self.client_id.clone(),
            client_secret,
            token_auth: self.token_auth.map(|auth| match auth {
                TokenAuthArg::ClientSecretBasic => TokenAuth::ClientSecretBasic,
                TokenAuthArg::ClientSecretPost => TokenAuth::ClientSecretPost,
                TokenAuthArg::None => TokenAuth::Public,
            }),
            scopes,
            prompt: self.prompt.clone(),
            redirect: (self.redirect_port.is_some() || self.redirect_host.is_some()).then(|| RedirectSpec {
                host: match self.redirect_host {
                    Some(RedirectHostArg::Localhost) => RedirectHost::Localhost,
                    _ => RedirectHost::Ipv4Loopback,
                },
                port: self.redirect_port.unwrap_or_default(),
            }),
        };
        Ok((profile != ClientProfile::default()).then_some(profile))
    }
}
