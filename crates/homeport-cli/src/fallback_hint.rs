//! What to do next for a failure whose command gave no hint of its own: every failure carries a
//! `hint` (docs/cli.md#for-scripts---json-and-exit-codes), by its code and reason. A command's
//! own hint, which knows the flags that were given, goes first.

use homeport_engine::{ErrorCode, ErrorReason, ErrorReport};

pub fn for_report(report: &ErrorReport) -> String {
    let by_reason = report.reason.and_then(for_reason);
    by_reason.unwrap_or_else(|| for_code(report.code)).to_owned()
}

fn for_reason(reason: ErrorReason) -> Option<&'static str> {
    Some(match reason {
        ErrorReason::KeyringLocked => {
            "unlock the Login keyring (log in to your desktop session, or open Passwords and Keys and unlock it), then run the command again"
        }
        ErrorReason::AccountDisabled => {
            "you logged in, but the server does not let this account in: ask its administrator to enable it"
        }
        ErrorReason::AccountDeactivated => {
            "the Matrix account is deactivated: only the homeserver's administrator can reactivate it; or connect another account"
        }
        ErrorReason::WrongPassword => "check the user name and password and try again",
        ErrorReason::LoginExpired => "log in again: connect the account again (it replaces the stored one)",
        ErrorReason::TenantRefused => "ask your administrator to subscribe the tenant to the application, or check the address",
        ErrorReason::RateLimited => "the server is busy: wait a minute, then try again",
        ErrorReason::MatrixRefused => "the homeserver refused the login (detail.errcode says why): ask its administrator",
        ErrorReason::IdpRefused => "the identity provider refused the login: try again, or ask its administrator",
        ErrorReason::OtherUser => "log out at the identity provider (or use a private window) and try again",
        ErrorReason::Maintenance => "try again when the administrator has finished the maintenance",
        ErrorReason::NeedsDbUpgrade => "try again when the administrator has finished the upgrade",
        ErrorReason::NotInstalled => "ask the server's administrator: the server is not set up yet",
        ErrorReason::Proxy => "check the proxy (is it running? its user and password?), or connect without it",
        ErrorReason::AdminConfig => "your organisation's administrators decide this (docs/administrators.md)",
        _ => return None,
    })
}

fn for_code(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::BadInput => "check the command and its flags: homeport <command> --help lists them",
        ErrorCode::Unreachable => "check the address and your network connection; is the server running?",
        ErrorCode::Tls => {
            "check the server's certificate with its administrator; Homeport trusts what this computer trusts, and what you pinned with --trust-cert"
        }
        ErrorCode::AuthFailed => "check the user name and password, or log in again",
        ErrorCode::ServerNotReady => "try again later, or ask the server's administrator",
        ErrorCode::PolicyRefused => {
            "Homeport stopped before sending anything it was not allowed to: the message says what, and which flag would allow it if you trust it"
        }
        ErrorCode::KeyringUnavailable => {
            "start a Secret Service in your session (gnome-keyring, or KeePassXC with its Secret Service integration), then run the command again"
        }
        ErrorCode::NotFound => "copy the id from homeport accounts list (--json for scripts)",
        ErrorCode::Protocol => {
            "the server answered something Homeport cannot use: check that the address is the server's (not a login page or a portal); homeport connect --trace FILE records what it said, secrets redacted"
        }
        ErrorCode::Cancelled => "run the command again when you are ready to finish the login",
        _ => "this is a bug in Homeport: please report it with this message (and a --trace file of the run, if you can)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_hint_and_reasons_may_say_more() {
        let codes = [
            ErrorCode::BadInput,
            ErrorCode::Unreachable,
            ErrorCode::Tls,
            ErrorCode::AuthFailed,
            ErrorCode::ServerNotReady,
            ErrorCode::PolicyRefused,
            ErrorCode::KeyringUnavailable,
            ErrorCode::NotFound,
            ErrorCode::Protocol,
            ErrorCode::Cancelled,
            ErrorCode::Internal,
        ];
        let mut seen = std::collections::BTreeSet::new();
        for code in codes {
            let hint = for_report(&ErrorReport::new(code, "m"));
            assert!(hint.len() > 20, "{code:?} has words: {hint}");
            assert!(seen.insert(hint.clone()), "{code:?} has words of its own: {hint}");
        }
        let deactivated = ErrorReport {
            reason: Some(ErrorReason::AccountDeactivated),
            ..ErrorReport::new(ErrorCode::AuthFailed, "m")
        };
        let disabled =
            ErrorReport { reason: Some(ErrorReason::AccountDisabled), ..ErrorReport::new(ErrorCode::AuthFailed, "m") };
        assert_ne!(for_report(&deactivated), for_report(&disabled), "different causes, different words");
        assert!(for_report(&deactivated).contains("deactivated"), "{}", for_report(&deactivated));
    }
}
