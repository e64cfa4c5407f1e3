//! The shapes that cross IPC, besides the engine's own (Decision, Account, Exchange, ErrorReport).
//! TypeScript for all of them is generated into `ui/src/lib/bindings.ts`.

use homeport_engine::oidc_client::TokenAuth;
use homeport_engine::RedirectHost;
use homeport_engine::{Account, Decision, ErrorCode, ErrorReport, Secret};
use serde::{Deserialize, Serialize};
use specta::Type;

/// What the UI needs to know at start.
#[derive(Clone, Debug, Serialize, Type)]
pub struct AppInfo {
    pub version: String,
    /// `homeport-desktop --demo`: open straight into demo mode.
    pub demo_requested: bool,
    /// The scenario file given with `--script`: the UI plays it (autopilot) at start.
    pub script: Option<String>,
    /// The administrators' configuration (docs/administrators.md): preset and locked keys, words.
    pub admin: homeport_engine::admin_config::AdminView,
    /// The organisation's logo as a `data:` URL, for the first page.
    pub logo: Option<String>,
    /// The administrators' configuration is broken (file:line, key): shown at start; the commands
    /// that reach a server answer with it until it is fixed.
    pub admin_error: Option<ErrorReport>,
    /// The system's language (LC_ALL, LC_MESSAGES, LANG) and the person's setting.
    pub language: crate::locale::LanguageInfo,
}

/// The start page's "Advanced: identity provider client", as typed: every field optional (empty:
/// what Homeport chooses by itself). The shell turns it into the engine's client profile
/// (docs/desktop.md#advanced-identity-provider-client).
#[derive(Clone, Debug, Default, Deserialize, Type)]
pub struct ClientSetting {
    pub client_id: Option<String>,
    /// Crosses IPC as a [`Secret`]: never logged, never written to a file.
    pub client_secret: Option<Secret>,
    /// None: chosen from the provider's discovery document.
    pub token_auth: Option<TokenAuth>,
    /// Space-separated, as typed (`openid profile email offline_access`).
    pub scopes: Option<String>,
    /// The OpenID Connect `prompt` parameter (`select_account consent`).
    pub prompt: Option<String>,
    /// The redirect URI's host; None: 127.0.0.1.
    pub redirect_host: Option<RedirectHost>,
    /// The redirect URI's port as typed: `random`, a port (`53682`) or a range (`8000-8010`).
    pub redirect_port: Option<String>,
}

/// A scenario's answers, resolved, for the UI to play visibly (the autopilot).
#[derive(Clone, Serialize, Type)]
pub struct AutopilotScript {
    pub name: String,
    pub description: Option<String>,
    pub file: String,
    /// Typed into the address field.
    pub address: String,
    /// Typed into the login form (or, with `auto_login`, on the browser's login page by the robot).
    pub user: Option<String>,
    pub password: Option<String>,
    /// Origins whose redirect the autopilot approves; any other is declined.
    pub approve: Vec<String>,
    pub allow_plain_http: bool,
    /// "Open the login page" lets the lookup server's login robot log in, instead of a browser.
    pub auto_login: bool,
    /// `browser = "system"`: "Open the login page" opens the system browser (`$BROWSER`), as a
    /// person's would, and the window waits for it.
    pub system_browser: bool,
    /// The instance to choose when the account lives on several.
    pub instance: Option<String>,
    /// Identity providers on another site than the server that the autopilot may log in at
    /// (their origins); any other such provider is declined, as headless.
    pub approve_issuer: Vec<String>,
    /// When the identity provider logged in another user than the one typed: the user to go on
    /// as; any other is declined (start over), as headless.
    pub continue_as: Option<String>,
    /// The app exits when the verdict is in (`--exit-when-done`).
    pub exit_when_done: bool,
}

// By hand, so the password never reaches a log.
impl std::fmt::Debug for AutopilotScript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutopilotScript")
            .field("name", &self.name)
            .field("address", &self.address)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| Secret::new("")))
            .finish_non_exhaustive()
    }
}

/// How a played script ended, judged by its expectations: typed, for the UI to word in the
/// window's language (ui/src/lib/verdict.ts); `verdict`'s `Display` is the line `homeport run`
/// prints, which `--exit-when-done` prints too.
#[derive(Clone, Debug, Serialize, Type)]
pub struct AutopilotVerdict {
    pub verdict: homeport_scenario::Verdict,
    /// The app exits in a moment, with 0 (passed) or 12.
    pub exit_when_done: bool,
}

/// The running embedded lookup server, as the demo page shows it: the ownCloud central server
/// (docs/protocols/owncloud-redirect.md), the Matrix portals (matrix-msc1730.md), the oCIS
/// server with its OpenID Provider (oidc-ocis.md) and the tenants (tenant-by-host.md).
#[derive(Clone, Debug, Serialize, Type)]
pub struct DemoInfo {
    /// The ownCloud central server that redirects each user to their instance
    /// (docs/protocols/owncloud-redirect.md).
    pub central_url: String,
    pub people: Vec<DemoPerson>,
    /// The password of every ownCloud demo person.
    pub password: String,
    /// oCIS (docs/protocols/oidc-ocis.md): the oCIS server; it logs in through the OpenID Provider
    /// at `idp_url`.
    pub ocis_url: String,
    pub idp_url: String,
    /// A second lookup server that serves S0 over https with a self-signed certificate, which
    /// this computer does not trust: connecting shows the certificate and asks.
    pub self_signed: DemoSelfSigned,
    /// The people the OpenID Provider knows (oCIS and the tenants), with their passwords: the demo
    /// page shows what to type into the browser's login page.
    pub oidc_people: Vec<DemoOidcPerson>,
    /// Tenants by host (docs/protocols/tenant-by-host.md): one address per tenant; Homeport derives
    /// the tenant from the host.
    pub tenants: Vec<DemoTenant>,
    /// MSC1730 (docs/protocols/matrix-msc1730.md): two Matrix login portals in front of two
    /// homeservers.
    pub matrix: DemoMatrix,
    /// Nextcloud Global Scale (docs/scenarios.md#nextcloud-global-scale): a Global Site Selector
    /// that logs people in with Login Flow v2 and names the node that holds their account.
    pub nextcloud: DemoNextcloud,
}

/// The Nextcloud systems of the demo: the Global Site Selector (the address to type), its two
/// nodes and their people.
#[derive(Clone, Debug, Serialize, Type)]
pub struct DemoNextcloud {
    pub gss_url: String,
    /// The nodes (`node1`, `node2`).
    pub nodes: Vec<DemoInstance>,
    pub people: Vec<DemoNextcloudPerson>,
}

#[derive(Clone, Debug, Serialize, Type)]
pub struct DemoNextcloudPerson {
    pub login: String,
    /// The account password, typed into the Global Site Selector's login page; Homeport stores
    /// the app password the node hands out instead.
    pub password: String,
    pub display_name: String,
    /// The node that holds the account: `node1` or `node2`.
    pub node: String,
    /// That node's URL, where the account ends up.
    pub node_url: String,
}

/// The Matrix systems of the demo (MSC1730): one portal per mode, the homeservers behind them
/// and their people.
#[derive(Clone, Debug, Serialize, Type)]
pub struct DemoMatrix {
    /// Both portal modes: the proxy portal first, then the 307 portal.
    pub portals: Vec<DemoPortal>,
    /// The homeservers behind the portals (`hs1`, `hs2`).
    pub homeservers: Vec<DemoInstance>,
    pub people: Vec<DemoMatrixPerson>,
    /// The homeserver that offers only Matrix's OAuth 2.0 API.
    pub oauth: DemoMatrixOAuth,
}

/// The demo's OAuth-only homeserver (docs/protocols/matrix-oauth.md): the person types a Matrix ID
/// and logs in in the browser, at its authorization server.
#[derive(Clone, Debug, Serialize, Type)]
pub struct DemoMatrixOAuth {
    pub url: String,
    /// The server name in its Matrix IDs: `oauth.localhost:41246`.
    pub server_name: String,
    /// Its authorization server (the lookup IdP's Matrix zone).
    pub issuer: String,
    pub people: Vec<DemoMatrixOAuthPerson>,
}

#[derive(Clone, Debug, Serialize, Type)]
pub struct DemoMatrixOAuthPerson {
    /// The Matrix ID to type.
    pub user_id: String,
    /// What to type on the server's login page.
    pub login: String,
    pub password: String,
    pub display_name: String,
}

#[derive(Clone, Debug, Serialize, Type)]
pub struct DemoPortal {
    pub mode: PortalMode,
    pub url: String,
    /// The server name in Matrix IDs: `proxy.localhost:41245`.
    pub server_name: String,
}

/// How a portal tells the client which homeserver holds the account.
#[derive(Clone, Copy, Debug, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum PortalMode {
    /// The login answer names the homeserver (`well_known`, `base_cs_url`).
    Proxy,
    /// The login is answered with 307 to the homeserver: the password goes there only if approved.
    Redirect,
}

#[derive(Clone, Debug, Serialize, Type)]
pub struct DemoMatrixPerson {
    pub localpart: String,
    pub password: String,
    pub display_name: String,
    /// The homeserver that holds the account (a name from [`DemoMatrix::homeservers`]).
    pub homeserver: String,
    pub user_id: String,
    /// The address to type for each portal, in the order of [`DemoMatrix::portals`]:
    /// `@alice:proxy.localhost:41245`.
    pub addresses: Vec<String>,
    /// The homeserver refuses the login (`M_USER_DEACTIVATED`).
    pub deactivated: bool,
    /// The first login is answered "wait": Homeport waits visibly and tries once more.
    pub rate_limited: bool,
}

/// The demo's "self-signed certificate" server (the ownCloud redirect over https).
#[derive(Clone, Debug, Serialize, Type)]
pub struct DemoSelfSigned {
    /// Its central server (`https://127.0.0.1:…/`); the ownCloud demo people and password work
    /// there.
    pub central_url: String,
    /// The SHA-256 fingerprint of its certificate, as an administrator would hand it out.
    pub sha256: String,
}

#[derive(Clone, Debug, Serialize, Type)]
pub struct DemoPerson {
    pub login: String,
    pub display_name: String,
    pub instance_url: String,
}

#[derive(Clone, Debug, Serialize, Type)]
pub struct DemoOidcPerson {
    pub login: String,
    pub password: String,
    pub display_name: String,
    /// The oCIS instances the account lives on (several: Homeport asks which one).
    pub instances: Vec<DemoInstance>,
    /// The IdP logs the person in, but oCIS refuses the account (a disabled account,
    /// docs/protocols/oidc-ocis.md).
    pub disabled: bool,
}

#[derive(Clone, Debug, Serialize, Type)]
pub struct DemoInstance {
    pub name: String,
    pub url: String,
}

#[derive(Clone, Debug, Serialize, Type)]
pub struct DemoTenant {
    pub name: String,
    pub url: String,
    /// An unsubscribed tenant's identity zone issues no token: Homeport refuses it clearly.
    pub subscribed: bool,
}

/// Where the wizard stands after a step.
#[derive(Clone, Debug, Serialize, Type)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum WizardOutcome {
    Decide { decision: Decision },
    Verified { verified: Box<Verified> },
}

/// A verified account, not stored yet: the "Done" page.
#[derive(Clone, Debug, Serialize, Type)]
pub struct Verified {
    pub account: Account,
    /// `data:image/png;base64,…`, or null: show `initials`.
    pub avatar: Option<String>,
    pub initials: String,
    /// The redirects that led to the instance, in order.
    pub redirects: Vec<RedirectStep>,
    pub round_trips: u32,
    /// This account (same user at the same instance) is stored already: Done updates its login
    /// instead of adding a second one.
    pub already_stored: bool,
}

#[derive(Clone, Debug, Serialize, Type)]
pub struct RedirectStep {
    pub from: String,
    pub to: String,
    pub status: u16,
    pub permanent: bool,
}

/// A stored account and how it fared the last time it was checked.
#[derive(Clone, Debug, Serialize, Type)]
pub struct AccountEntry {
    pub account: Account,
    /// Whether its password is in the keyring (false: the keyring lost it; log in again). Null
    /// when the keyring could not be asked ([`AccountList::keyring`] says why).
    pub has_secret: Option<bool>,
    /// The initials the verified page showed for it (the engine's one rule: "Test User Three" → "TT").
    pub initials: String,
}

impl AccountEntry {
    pub fn new(account: Account, has_secret: Option<bool>) -> AccountEntry {
        let initials = homeport_engine::owncloud::initials(&account.display_name);
        AccountEntry { account, has_secret, initials }
    }
}

/// The stored accounts (accounts.json needs no keyring), and why the keyring could not be
/// asked about their secrets, if it could not (locked, or no Secret Service running).
#[derive(Clone, Debug, Serialize, Type)]
pub struct AccountList {
    pub accounts: Vec<AccountEntry>,
    /// `keyring_unavailable`: the UI explains it and offers "Try again".
    pub keyring: Option<ErrorReport>,
}

pub fn error(code: ErrorCode, message: impl Into<String>) -> ErrorReport {
    ErrorReport::new(code, message)
}
