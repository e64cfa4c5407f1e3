//! What a step is doing, as data: the desktop renders it in the person's language from its
//! catalogue (`ui/messages/*.json`, keys `step_<kind>`; docs/translating.md), the CLI and the
//! PlantUML export print [`StepAbout::text`], the English words every step had before.

use serde::{Deserialize, Serialize};

/// One step's detail, beside its step name. Servers, users and issuers are the
/// engine's own names (URLs, origins), placed into the sentence by each language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepAbout {
    /// The probe of the typed server (ownCloud, oCIS, Nextcloud).
    Checking { server: String },
    /// The probe, with the password sent along.
    CheckingAndLoggingIn { server: String, user: String },
    /// A password login (ownCloud's WebDAV).
    LoggingInAs { user: String },
    /// A password login at a Matrix homeserver.
    LoggingInAtAs { server: String, user: String },
    /// An approved redirect is followed.
    FollowingRedirect { to: String },
    /// A Matrix portal's redirect is followed.
    FollowingPortal { to: String },
    /// The portal named its homeserver for good (Matrix's well-known `m.homeserver`).
    PortalSendsFromNowOn { to: String },
    /// Looking up the typed Matrix server (well-known, `/versions`).
    LookingUpMatrix { server: String },
    /// The account is checked where it lives.
    VerifyingAt { server: String },
    /// A Matrix login (single sign-on, a stored token) is checked with whoami.
    CheckingLoginAt { server: String },
    /// The browser is open on the login page; Homeport waits for its redirect back.
    WaitingForBrowser,
    /// The access token expired and is refreshed.
    RefreshingExpiredToken,
    /// A stored OpenID Connect login is refreshed at its provider.
    RefreshingAt { issuer: String },
    /// Matrix's OAuth 2.0 API (MSC3861) names its authorization server.
    #[serde(rename = "matrix_oauth_at")]
    MatrixOAuthAt { server: String, issuer: String },
    /// Dynamic client registration at the authorization server.
    RegisteringClient { issuer: String },
    /// A Bearer challenge: WebFinger or the tenant names the identity provider.
    FindingIdentityProvider { server: String },
    /// oCIS's WebFinger is asked for the instances of the logged-in account.
    AskingWhereAccountLives { server: String },
    /// A Matrix homeserver asked to wait (`M_LIMIT_EXCEEDED`); one more try follows.
    RateLimitedWaiting { server: String, retry_after_ms: u64 },
    /// Nextcloud's Login Flow v2 starts.
    LoginFlowStarting { server: String },
    /// Nextcloud's Login Flow v2 is polled; the link works for `minutes_left` more minutes.
    LoginFlowWaiting { minutes_left: u64 },
    /// Nextcloud's grant named the node that holds the account.
    AccountLivesOn { server: String },
    /// Nextcloud's password is exchanged for an app password.
    ExchangingForAppPassword { server: String },
}

impl StepAbout {
    /// The detail in English, as the CLI's progress line and the PlantUML export print it.
    pub fn text(&self) -> String {
        match self {
            StepAbout::Checking { server } => format!("checking {server}"),
            StepAbout::CheckingAndLoggingIn { server, user } => format!("checking {server} and logging in as {user}"),
            StepAbout::LoggingInAs { user } => format!("logging in as {user}"),
            StepAbout::LoggingInAtAs { server, user } => format!("logging in at {server} as {user}"),
            StepAbout::FollowingRedirect { to } => format!("following the redirect to {to}"),
            StepAbout::FollowingPortal { to } => format!("following the portal to {to}"),
            StepAbout::PortalSendsFromNowOn { to } => format!("the portal sends Homeport to {to} from now on"),
            StepAbout::LookingUpMatrix { server } => format!("looking up the Matrix server {server}"),
            StepAbout::VerifyingAt { server } => format!("verifying the account at {server}"),
            StepAbout::CheckingLoginAt { server } => format!("checking the login at {server}"),
            StepAbout::WaitingForBrowser => "waiting for the login in your browser".to_owned(),
            StepAbout::RefreshingExpiredToken => "the access token expired: refreshing it".to_owned(),
            StepAbout::RefreshingAt { issuer } => format!("refreshing the login at {issuer}"),
            StepAbout::MatrixOAuthAt { server, issuer } => {
                format!("{server} logs in with Matrix's OAuth 2.0 API at {issuer}")
            }
            StepAbout::RegisteringClient { issuer } => format!("registering Homeport as a client at {issuer}"),
            StepAbout::FindingIdentityProvider { server } => {
                format!("{server} logs in with OpenID Connect: finding its identity provider")
            }
            StepAbout::AskingWhereAccountLives { server } => format!("asking {server} where the account lives"),
            StepAbout::RateLimitedWaiting { server, retry_after_ms } => {
                format!("{server} asks to wait {retry_after_ms} ms before logging in: waiting, then trying once more")
            }
            StepAbout::LoginFlowStarting { server } => {
                format!("starting the login in the browser at {server} (Login Flow v2)")
            }
            StepAbout::LoginFlowWaiting { minutes_left } => format!(
                "waiting for you to log in in the browser (and grant access) — the link works for {minutes_left} more minute{}",
                if *minutes_left == 1 { "" } else { "s" }
            ),
            StepAbout::AccountLivesOn { server } => format!("the account lives on {server}"),
            StepAbout::ExchangingForAppPassword { server } => {
                format!("exchanging the password for an app password at {server}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_detail_crosses_as_its_kind_and_fields_and_reads_in_english() {
        let about = StepAbout::LoginFlowWaiting { minutes_left: 1 };
        let json = serde_json::to_value(&about).expect("serializes");
        assert_eq!(json, serde_json::json!({ "kind": "login_flow_waiting", "minutes_left": 1 }));
        assert_eq!(
            about.text(),
            "waiting for you to log in in the browser (and grant access) — the link works for 1 more minute"
        );
        let about = StepAbout::LoggingInAtAs { server: "https://m.example/".into(), user: "alice".into() };
        assert_eq!(about.text(), "logging in at https://m.example/ as alice");
        assert_eq!(
            serde_json::to_value(StepAbout::WaitingForBrowser).expect("serializes"),
            serde_json::json!({ "kind": "waiting_for_browser" })
        );
    }
}
