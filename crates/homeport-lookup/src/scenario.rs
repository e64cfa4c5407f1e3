//! What the lookup server should pretend: redirect flavour, timing, layout, TLS and one injected fault.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::LookupError;

/// The redirect statuses a real multi-tenant front end may answer with; the engine must handle each.
const VALID_REDIRECT_STATUSES: [u16; 4] = [301, 302, 307, 308];

/// How the lookup server behaves. `Scenario::default()` is the sales demo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// Status of the central server's redirect to the user's instance: 301 (default), 302, 307 or 308.
    pub redirect_status: u16,
    /// Added before every response of every server, to make a slow network visible.
    pub latency: Duration,
    /// Serve the instances under `<central>/instanceN/` (as the seed's example deployment does) instead of on
    /// their own ports.
    pub path_instances: bool,
    /// Serve https on every server with a freshly generated self-signed certificate.
    pub tls: bool,
    /// At most one injected fault.
    pub fault: Option<Fault>,
    /// How long the IdP's access tokens are valid (seeds 002/003); a short one makes expiry testable. At least
    /// one millisecond; `expires_in` rounds it up to whole seconds.
    pub token_lifetime: Duration,
}

/// The IdP's default access token lifetime: five minutes.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            redirect_status: 301,
            latency: Duration::ZERO,
            path_instances: false,
            tls: false,
            fault: None,
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
        }
    }
}

impl Scenario {
    /// Rejects scenarios the server could not act out faithfully.
    pub(crate) fn validate(&self) -> Result<(), LookupError> {
        if !VALID_REDIRECT_STATUSES.contains(&self.redirect_status) {
            return Err(LookupError::InvalidScenario(format!(
                "redirect_status {} is not a redirect the central server would send (use 301, 302, 307 or 308)",
                self.redirect_status
            )));
        }
        if self.token_lifetime < Duration::from_millis(1) {
            return Err(LookupError::InvalidScenario(
                "token_lifetime must be at least one millisecond: the IdP issues no already-expired tokens".into(),
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
    /// The IdP offers no dynamic client registration (its discovery document names no `registration_endpoint`):
    /// clients use their built-in client id.
    IdpNoRegistration,
    /// The access token from the code exchange is already expired when it reaches a resource server (a long
    /// login, a skewed clock); refreshed tokens are fine.
    ExpiredAccessToken,
    /// The Matrix portals send clients to a base URL that is no homeserver (a path on hs1/hs2 where everything
    /// answers `404 M_UNRECOGNIZED` at once): the proxy portal's `well_known` and `base_cs_url`, and the 307
    /// portal's `Location`. Its `/_matrix/client/versions` fails, so a client must refuse it.
    MatrixBadBaseUrl,
}

impl Fault {
    /// Every fault, for CLIs and pickers that list them.
    pub const ALL: [Fault; 10] = [
        Fault::Maintenance,
        Fault::NeedsDbUpgrade,
        Fault::NotInstalled,
        Fault::RedirectLoop,
        Fault::RedirectToPlainHttp,
        Fault::IdpIssuerMismatch,
        Fault::IdpBadSignature,
        Fault::IdpNoRegistration,
        Fault::ExpiredAccessToken,
        Fault::MatrixBadBaseUrl,
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
            Fault::IdpNoRegistration => "idp-no-registration",
            Fault::ExpiredAccessToken => "expired-access-token",
            Fault::MatrixBadBaseUrl => "matrix-bad-base-url",
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
    fn token_lifetime_defaults_to_five_minutes_and_must_be_positive() {
        assert_eq!(Scenario::default().token_lifetime, Duration::from_secs(300), "the demo's tokens last 5 min");
        let short = Scenario { token_lifetime: Duration::from_secs(1), ..Scenario::default() };
        assert!(short.validate().is_ok(), "a one-second lifetime is how tests make tokens expire");
        let zero = Scenario { token_lifetime: Duration::ZERO, ..Scenario::default() };
        assert!(matches!(zero.validate(), Err(LookupError::InvalidScenario(_))), "zero is refused");
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
}
