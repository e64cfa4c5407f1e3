//! What the lookup server should pretend: redirect flavour, timing, layout, TLS and one injected fault.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use url::Url;

use crate::error::LookupError;
use crate::people::People;

/// The redirect statuses a real multi-tenant front end may answer with; the engine must handle each.
const VALID_REDIRECT_STATUSES: [u16; 4] = [301, 302, 307, 308];

/// How the lookup server behaves. `Scenario::default()` is the sales demo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// Status of the central server's redirect to the user's instance: 301 (default), 302, 307 or 308.
    pub redirect_status: u16,
    /// Added before every response of every server, to make a slow network visible.
    pub latency: Duration,
    /// Serve the instances under `<central>/instanceN/` (as ownCloud's example deployment does) instead of on
    /// their own ports.
    pub path_instances: bool,
    /// oCIS in front of another OpenID Provider (a real one a test started, `homeport mock --oidc-issuer`): its
    /// WebFinger names this issuer and its servers accept that issuer's access tokens, checked at the issuer's
    /// userinfo endpoint as oCIS's proxy checks opaque tokens. Only issuers on this machine (loopback).
    pub oidc_issuer: Option<Url>,
    /// Serve https on every server with a freshly generated self-signed certificate.
    pub tls: bool,
    /// At most one injected fault.
    pub fault: Option<Fault>,
    /// How long the IdP's access tokens are valid (oCIS and the tenants); a short one makes expiry testable. At least
    /// one millisecond; `expires_in` rounds it up to whole seconds.
    pub token_lifetime: Duration,
    /// How the IdP's main zone (oCIS's IdP) is set up; the default is oCIS's built-in IdP.
    pub idp: IdpSetup,
    /// Who may log in where, and the product names: [`BUILT_IN`](crate::BUILT_IN), or a demo file's
    /// ([`crate::Demo`]). This server's own: another lookup server in the same process may have other people.
    pub people: &'static People,
}

/// The IdP's main zone. The default acts out oCIS's built-in IdP (libregraph/lico with `owncloud/ocis`
/// services/idp's default configuration, `docs/protocols/oidc-ocis.md`): no dynamic client registration, and one
/// client, the ownCloud desktop client with its secret. The switches add the other behaviours real deployments have.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IdpSetup {
    /// Offer RFC 7591 dynamic client registration (lico's `allow_dynamic_client_registration`), in discovery and at
    /// `/register`.
    pub registration: bool,
    /// A public client `homeport` (no secret) registered by the IdP's admin.
    pub public_client: Option<PublicClient>,
}

/// The public client `homeport` ([`crate::PUBLIC_CLIENT_ID`]) an admin registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublicClient {
    /// Next to the ownCloud desktop client: any loopback host, port and path (an Entra-style "mobile and desktop"
    /// public client).
    AnyPort,
    /// A Keycloak-style realm: `homeport` is the only client, its redirect URI registered as
    /// `http://127.0.0.1:<redirect_port>/*` (Keycloak's wildcard: a prefix match), so one port only.
    Realm { redirect_port: u16 },
}

/// The IdP's default access token lifetime: five minutes.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            redirect_status: 301,
            latency: Duration::ZERO,
            path_instances: false,
            oidc_issuer: None,
            tls: false,
            fault: None,
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            idp: IdpSetup::default(),
            people: &crate::people::BUILT_IN,
        }
    }
}

impl Scenario {
    /// Rejects scenarios the server could not act out faithfully (as [`crate::LookupServer::start`]
    /// does), so a scenario file's check names the problem before any server starts.
    pub fn check(&self) -> Result<(), LookupError> {
        self.validate()
    }

    pub(crate) fn validate(&self) -> Result<(), LookupError> {
        if !VALID_REDIRECT_STATUSES.contains(&self.redirect_status) {
            return Err(LookupError::InvalidScenario(format!(
                "redirect_status {} is not a redirect the central server would send (use 301, 302, 307 or 308)",
                self.redirect_status
            )));
        }
        if let Some(issuer) = &self.oidc_issuer {
            let web = matches!(issuer.scheme(), "http" | "https");
            if !web || !crate::ocis::external::is_loopback_url(issuer) {
                return Err(LookupError::InvalidScenario(format!(
                    "oidc_issuer {issuer} must be an http(s) URL on this machine (127.0.0.1, [::1], localhost): the lookup server talks to loopback only"
                )));
            }
            if issuer.query().is_some() || issuer.fragment().is_some() {
                return Err(LookupError::InvalidScenario(format!(
                    "oidc_issuer {issuer} must have no query or fragment (OpenID Connect Discovery §2)"
                )));
            }
        }
        if self.token_lifetime < Duration::from_millis(1) {
            return Err(LookupError::InvalidScenario(
                "token_lifetime must be at least one millisecond: the IdP issues no already-expired tokens".into(),
            ));
        }
        if self.idp.public_client == Some(PublicClient::Realm { redirect_port: 0 }) {
            return Err(LookupError::InvalidScenario(
                "the realm's redirect port must be a port (1-65535): a realm registers one fixed redirect URI".into(),
            ));
        }
        Ok(())
    }
}

/// A failure the servers act out, each one something real deployments do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// `status.php` says `"maintenance": "true"` (a string, as some servers send); WebDAV and OCS answer 503.
    Maintenance,
    /// `status.php` says `needsDbUpgrade: true`; WebDAV and OCS answer 503.
    NeedsDbUpgrade,
    /// `status.php` says `installed: false`; WebDAV and OCS answer 503.
    NotInstalled,
    /// The central server sends authenticated requests to `<central>/loop/remote.php/webdav/`, which sends them
    /// back to `<central>/remote.php/webdav/`: same origin, endless.
    RedirectLoop,
    /// The central server's `Location` uses `http://` with the instance's host and port: a downgrade when the
    /// scenario serves TLS (without TLS every URL is plain http anyway, so this changes nothing).
    RedirectToPlainHttp,
    /// The IdP's discovery document names another issuer than the one asked for (an OpenID mix-up attack).
    IdpIssuerMismatch,
    /// The IdP's ID tokens carry a signature its published keys do not verify (a forged token).
    IdpBadSignature,
    /// The access token from the code exchange is already expired when it reaches a resource server (a long
    /// login, a skewed clock); refreshed tokens are fine.
    ExpiredAccessToken,
    /// The Matrix portals send clients to a base URL that is no homeserver (a path on hs1/hs2 where everything
    /// answers `404 M_UNRECOGNIZED` at once): the proxy portal's `well_known` and `base_cs_url`, and the 307
    /// portal's `Location`. Its `/_matrix/client/versions` fails, so a client must refuse it.
    MatrixBadBaseUrl,
    /// Every request to the central server is answered `500 Internal Server Error` with Apache's small HTML
    /// page (a 5xx storm: a crashed PHP backend, a broken deployment); instances on their own ports are fine (in
    /// the path layout they share the central web server and answer 500 too). A
    /// real server keeps answering this way until someone repairs it. Homeport should stop at the probe with an
    /// unexpected status 500 from status.php (a protocol error), not ask for a password.
    ServerError,
    /// The central server's redirect points at a third origin, the canary ([`crate::LookupServer::canary_url`]:
    /// its own loopback port, in the request log as `canary`, answering `404` to everything) instead of the
    /// user's instance: a hijacked or misconfigured front end. A real server sends the client's credentials
    /// wherever its `Location` points only if the client lets them travel; Homeport should ask before it sends
    /// the password to the canary (`ConfirmRedirect`), send nothing there unless approved, and after approval
    /// report the canary's `404` as an unexpected status.
    RedirectToOtherOrigin,
    /// The central server's `status.php` answers `200` with a JSON-looking body of 10 MiB, streamed in chunks
    /// without a `Content-Length` (as PHP streams large output behind a proxy): a debug dump gone wild. Homeport
    /// should stop reading at its body bound and report the body as too large (a protocol error), never buffer
    /// the whole of it.
    OversizedBody,
    /// The central server's `status.php` answers `200 application/json` with a document cut off in the middle of
    /// a key (a PHP process that died mid-output behind a buffering proxy: the HTTP framing is intact, the JSON is
    /// not). Homeport should report an invalid status.php (a protocol error), not a crash.
    MalformedJson,
    /// Each ownCloud instance answers a PROPFIND with a `207` whose XML is not well-formed: SabreDAV's streamed
    /// multistatus stops in the middle of an element and PHP's fatal error (memory limit) follows it as HTML.
    /// Homeport should refuse the instance's answer as invalid (a protocol error) rather than store an account it
    /// could not read.
    MalformedXml,
    /// The central server's `status.php` answers `200 text/html` with a Wi-Fi login page, as a captive portal
    /// answers every request until the person logs in to the network. Homeport should say that status.php is not
    /// ownCloud's JSON (a protocol error); ideally it hints at a network login page.
    HtmlInsteadOfJson,
    /// The central server's `status.php` sends its headers at once and then its body one byte every 200 ms (a
    /// trickle: about 35 s for its 177 bytes, then the response ends). Homeport should give up at its
    /// whole-exchange bound (30 s) with a timeout, rather than wait for as long as bytes keep coming.
    SlowBody,
    /// The central server accepts every connection, sends the status line and headers with a `Content-Length`,
    /// half of the body, and then drops the connection (a crashing backend, a proxy that kills the stream; in the
    /// path layout the instances behind it too). Homeport
    /// should report the server as unreachable (the connection broke) rather than parse half a body.
    ConnectionReset,
    /// oCIS's WebFinger names no `server-instance` for any account (no instance rule matches the user's claims):
    /// the IdP link is all it answers. Homeport should log in and then say that no instance was found for the
    /// account (a protocol error), not guess one.
    WebfingerNoInstances,
    /// oCIS's WebFinger names three instances for every account: A, B and a retired "Instance C" still in the
    /// configuration, whose URL (a path on the oCIS server) answers `404` to everything; an account without data
    /// on an instance is refused there (`403`). Homeport should let the person choose (`ChooseInstance` with three
    /// entries) and report the chosen instance's refusal or `404` clearly.
    WebfingerManyInstances,
    /// The IdP refuses every refresh with `400 invalid_grant`, as after a grant was revoked (the person logged out
    /// everywhere, an admin revoked the session); code exchange and issued access tokens still work. Homeport's
    /// first login should succeed; a re-verify (or a refresh after an expired access token) should say the login
    /// expired (`LoginExpired`: log in again), never retry the refresh.
    RevokedRefreshToken,
    /// Nextcloud's Login Flow v2 flows are expired from the start (a person who took longer than the flow's 20
    /// minutes): the flow URL answers Nextcloud's `403` page "Your login token is invalid or has expired" and the
    /// poll answers `404` forever. Homeport should stop polling and say the login expired (start again), not poll
    /// on.
    NextcloudFlowExpired,
    /// The Nextcloud nodes are down: their ports refuse connections. The Global Site Selector still logs the
    /// person in and names the node (its poll's `server`, its WebDAV redirect). Homeport should report the node as
    /// unreachable and store nothing.
    NextcloudNodeDown,
    /// The Global Site Selector's Login Flow v2 poll answers `500` with Nextcloud's error page, every time.
    /// Homeport should stop with a server error rather than poll on (or treat it as "not yet").
    NextcloudPollError,
    /// The OAuth-only homeserver's OAuth 2.0 server refuses every client registration with `400
    /// invalid_client_metadata` (MAS's policy refusing the client's metadata). Homeport should say the server refused
    /// the registration, before any browser opens.
    MatrixOauthRegistrationRefused,
    /// The OAuth-only homeserver's token endpoint refuses every authorization code with `400 invalid_grant` (the
    /// code expired, the grant was cancelled) after a successful browser login. Homeport should say the login
    /// failed and store nothing.
    MatrixOauthTokenRefused,
    /// The OAuth-only homeserver's whoami answers a `device_id` other than the one the token's scope allocated (a
    /// homeserver that mixed up sessions). Homeport should refuse the login and store nothing.
    MatrixOauthWhoamiMismatch,
}

impl Fault {
    /// Every fault, for CLIs and pickers that list them.
    pub const ALL: [Fault; 26] = [
        Fault::Maintenance,
        Fault::NeedsDbUpgrade,
        Fault::NotInstalled,
        Fault::RedirectLoop,
        Fault::RedirectToPlainHttp,
        Fault::IdpIssuerMismatch,
        Fault::IdpBadSignature,
        Fault::ExpiredAccessToken,
        Fault::MatrixBadBaseUrl,
        Fault::ServerError,
        Fault::RedirectToOtherOrigin,
        Fault::OversizedBody,
        Fault::MalformedJson,
        Fault::MalformedXml,
        Fault::HtmlInsteadOfJson,
        Fault::SlowBody,
        Fault::ConnectionReset,
        Fault::WebfingerNoInstances,
        Fault::WebfingerManyInstances,
        Fault::RevokedRefreshToken,
        Fault::NextcloudFlowExpired,
        Fault::NextcloudNodeDown,
        Fault::NextcloudPollError,
        Fault::MatrixOauthRegistrationRefused,
        Fault::MatrixOauthTokenRefused,
        Fault::MatrixOauthWhoamiMismatch,
    ];

    /// The name used on command lines and in scenario files; `FromStr` parses it back.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Maintenance => "maintenance",
            Fault::NeedsDbUpgrade => "needs-db-upgrade",
            Fault::NotInstalled => "not-installed",
            Fault::RedirectLoop => "redirect-loop",
            Fault::RedirectToPlainHttp => "redirect-to-plain-http",
            Fault::IdpIssuerMismatch => "idp-issuer-mismatch",
            Fault::IdpBadSignature => "idp-bad-signature",
            Fault::ExpiredAccessToken => "expired-access-token",
            Fault::MatrixBadBaseUrl => "matrix-bad-base-url",
            Fault::ServerError => "server-error",
            Fault::RedirectToOtherOrigin => "redirect-to-other-origin",
            Fault::OversizedBody => "oversized-body",
            Fault::MalformedJson => "malformed-json",
            Fault::MalformedXml => "malformed-xml",
            Fault::HtmlInsteadOfJson => "html-instead-of-json",
            Fault::SlowBody => "slow-body",
            Fault::ConnectionReset => "connection-reset",
            Fault::WebfingerNoInstances => "webfinger-no-instances",
            Fault::WebfingerManyInstances => "webfinger-many-instances",
            Fault::RevokedRefreshToken => "revoked-refresh-token",
            Fault::NextcloudFlowExpired => "nextcloud-flow-expired",
            Fault::NextcloudNodeDown => "nextcloud-node-down",
            Fault::NextcloudPollError => "nextcloud-poll-error",
            Fault::MatrixOauthRegistrationRefused => "matrix-oauth-registration-refused",
            Fault::MatrixOauthTokenRefused => "matrix-oauth-token-refused",
            Fault::MatrixOauthWhoamiMismatch => "matrix-oauth-whoami-mismatch",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Fault {
    type Err = LookupError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fault::ALL.into_iter().find(|fault| fault.name() == s).ok_or_else(|| {
            let known: Vec<&str> = Fault::ALL.iter().map(|fault| fault.name()).collect();
            LookupError::InvalidScenario(format!("unknown fault {s:?} (known: {})", known.join(", ")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_the_demo() {
        let demo = Scenario::default();
        assert_eq!(demo.redirect_status, 301, "the seed's redirect is a 301");
        assert_eq!(demo.latency, Duration::ZERO, "the demo must feel instant");
        assert!(!demo.path_instances, "the demo shows real cross-origin redirects");
        assert!(!demo.tls, "the demo needs no certificate decision");
        assert_eq!(demo.fault, None, "the demo succeeds");
        assert_eq!(demo.idp, IdpSetup { registration: false, public_client: None }, "oCIS's IdP as it ships");
        assert!(demo.validate().is_ok(), "the demo scenario must be valid");
    }

    #[test]
    fn only_redirect_statuses_are_valid() {
        for status in [301, 302, 307, 308] {
            let scenario = Scenario { redirect_status: status, ..Scenario::default() };
            assert!(scenario.validate().is_ok(), "{status} is a redirect status");
        }
        for status in [200, 300, 303, 304, 401, 999] {
            let scenario = Scenario { redirect_status: status, ..Scenario::default() };
            assert!(
                matches!(scenario.validate(), Err(LookupError::InvalidScenario(_))),
                "{status} must be rejected: the engine is only tested against 301/302/307/308"
            );
        }
    }

    #[test]
    fn an_external_issuer_must_be_on_loopback() {
        assert_eq!(Scenario::default().oidc_issuer, None, "the demo's oCIS trusts the lookup server's IdP");
        let with =
            |issuer: &str| Scenario { oidc_issuer: Some(Url::parse(issuer).expect("a URL")), ..Scenario::default() };
        for good in [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/realms/homeport",
            "https://localhost:9443",
            "http://[::1]:1",
        ] {
            assert!(with(good).validate().is_ok(), "{good} is on this machine");
        }
        for bad in ["https://idp.example.org", "http://10.0.0.1:8080", "ftp://127.0.0.1/", "http://127.0.0.1:1/?x=1"] {
            let Err(LookupError::InvalidScenario(message)) = with(bad).validate() else {
                panic!("{bad} is refused");
            };
            assert!(message.contains("oidc_issuer"), "the error names the key: {message}");
        }
    }

    #[test]
    fn token_lifetime_defaults_to_five_minutes_and_must_be_positive() {
        assert_eq!(Scenario::default().token_lifetime, Duration::from_secs(300), "the demo's tokens last 5 min");
        let short = Scenario { token_lifetime: Duration::from_secs(1), ..Scenario::default() };
        assert!(short.validate().is_ok(), "a one-second lifetime is how tests make tokens expire");
        let zero = Scenario { token_lifetime: Duration::ZERO, ..Scenario::default() };
        assert!(matches!(zero.validate(), Err(LookupError::InvalidScenario(_))), "zero is refused");
    }

    #[test]
    fn a_realm_needs_a_real_redirect_port() {
        let realm = |redirect_port| Scenario {
            idp: IdpSetup { public_client: Some(PublicClient::Realm { redirect_port }), ..IdpSetup::default() },
            ..Scenario::default()
        };
        assert!(realm(53682).validate().is_ok(), "a fixed port is a realm");
        let Err(LookupError::InvalidScenario(message)) = realm(0).validate() else {
            panic!("port 0 is no redirect URI a realm could register");
        };
        assert!(message.contains("redirect port"), "the error names the switch: {message}");
        assert!("idp-no-registration".parse::<Fault>().is_err(), "no registration is oCIS's default now, not a fault");
    }

    #[test]
    fn fault_names_round_trip() {
        for fault in Fault::ALL {
            assert_eq!(fault.name().parse::<Fault>().ok(), Some(fault), "the CLI name of {fault:?} must parse back");
        }
        assert_eq!(
            "redirect-to-plain-http".parse::<Fault>().ok(),
            Some(Fault::RedirectToPlainHttp),
            "names are the documented kebab-case ones"
        );
        assert!(
            matches!("Maintenance".parse::<Fault>(), Err(LookupError::InvalidScenario(_))),
            "names are case-sensitive kebab-case, other spellings are errors"
        );
    }

    #[test]
    fn every_fault_is_listed_once_with_a_kebab_case_name_and_unknown_names_list_them_all() {
        let names: std::collections::BTreeSet<&str> = Fault::ALL.iter().map(|fault| fault.name()).collect();
        assert_eq!(names.len(), Fault::ALL.len(), "no two faults share a name, none is listed twice");
        for name in &names {
            let kebab = name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            assert!(kebab && !name.starts_with('-') && !name.ends_with('-'), "{name:?} is kebab-case");
        }
        for name in ["server-error", "oversized-body", "connection-reset", "webfinger-many-instances"] {
            assert!(names.contains(name), "{name} is one of the faults");
        }
        assert!("wrong-password".parse::<Fault>().is_err(), "a wrong password is user input, not a fault");
        let Err(LookupError::InvalidScenario(message)) = "no-such-fault".parse::<Fault>() else {
            panic!("an unknown name is an invalid scenario");
        };
        assert!(message.contains("\"no-such-fault\""), "the error names what was asked: {message}");
        for name in &names {
            assert!(message.contains(name), "the error lists the known fault {name}: {message}");
        }
    }
}
