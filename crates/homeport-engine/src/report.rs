//! The error boundary: `{code, message, detail, reason}`, what crosses the CLI's `--json` and IPC.
//! A module of its own, below the typed errors ([`crate::error`], [`crate::store`]) that produce
//! it, so those import it and it imports neither.

use serde::Serialize;

/// The closed set of error classes the CLI maps to exit codes and the UI branches on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    BadInput,
    Unreachable,
    Tls,
    AuthFailed,
    ServerNotReady,
    PolicyRefused,
    KeyringUnavailable,
    NotFound,
    Protocol,
    /// The person stopped a running step (the desktop app's Cancel).
    Cancelled,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadInput => "bad_input",
            ErrorCode::Unreachable => "unreachable",
            ErrorCode::Tls => "tls",
            ErrorCode::AuthFailed => "auth_failed",
            ErrorCode::ServerNotReady => "server_not_ready",
            ErrorCode::PolicyRefused => "policy_refused",
            ErrorCode::KeyringUnavailable => "keyring_unavailable",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Protocol => "protocol",
            ErrorCode::Cancelled => "cancelled",
            ErrorCode::Internal => "internal",
        }
    }
}

/// Within an [`ErrorCode`], what the UI tells apart to say what happened and what to do next
/// (which page, which words): typed, so the UI never reads `detail`'s free-form JSON for it. Where
/// `detail.reason` (the CLI's `--json` contract) names the same thing, the word is the same.
/// A reason is added only when a consumer branches on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorReason {
    /// `unreachable`: the proxy failed, not the server (the UI offers the proxy settings).
    Proxy,
    /// `tls`: not issued by an authority this computer trusts (the person may trust it).
    Untrusted,
    /// `tls`: not the certificate the account pinned; never accepted silently (a loud warning).
    Changed,
    /// `tls`: the certificate has expired.
    Expired,
    /// `tls`: the certificate is not valid yet (a wrong clock, usually).
    NotYetValid,
    /// `tls`: the certificate was issued for other host names.
    WrongHost,
    /// `tls`: signed with an algorithm too weak or unknown to check.
    WeakSignature,
    /// `tls`: any other reason the certificate is not valid (`detail.reason` says `other`).
    CertificateInvalid,
    /// `tls`: the server asks for a client certificate and none is set for it.
    ClientCertificateRequired,
    /// `tls`: the server did not accept the client certificate presented.
    ClientCertificateRefused,
    /// `bad_input`: the password does not open the certificate file (the page asks again).
    ClientCertificatePassword,
    /// `bad_input`: the certificate file cannot be used (missing, not PKCS#12, no key): the page
    /// asks for another.
    ClientCertificateFile,
    /// `server_not_ready`: maintenance mode.
    Maintenance,
    /// `server_not_ready`: the database needs an upgrade.
    NeedsDbUpgrade,
    /// `server_not_ready`: the software is not installed there.
    NotInstalled,
    /// `auth_failed`: the only one typing the password again can fix (the login form comes back).
    WrongPassword,
    /// `auth_failed`: the stored sign-in is no longer accepted (the UI offers "Log in again").
    LoginExpired,
    /// `policy_refused`: the identity provider is on another site than the server typed, and
    /// logging in there was not approved.
    IssuerNotApproved,
    /// `auth_failed`: the identity provider logged in another user than the one typed.
    OtherUser,
    /// `auth_failed`: logged in, but the server does not let the account in.
    AccountDisabled,
    /// `auth_failed`: a Matrix homeserver deactivated the account (`M_USER_DEACTIVATED`): only its
    /// administrator can bring it back; told apart from a disabled account.
    AccountDeactivated,
    /// `auth_failed`: the tenant's identity zone issues no login for the application.
    TenantRefused,
    /// `auth_failed`: the server asked to wait; Homeport waited and tried once more, in vain.
    RateLimited,
    /// `auth_failed`: a Matrix server refused the login with an error code (`detail.errcode`).
    MatrixRefused,
    /// `auth_failed`: the identity provider answered the browser login with an error.
    IdpRefused,
    /// `protocol`: the Matrix portal named a homeserver that does not work.
    HomeserverUnusable,
    /// `keyring_unavailable`: there is a keyring, but it is locked.
    KeyringLocked,
    /// `bad_input`: the administrators' configuration file is broken; `policy_refused`: it does
    /// not allow this server, proxy or client setting (docs/administrators.md).
    AdminConfig,
}

/// `{code, message, detail, reason}`: what crosses the CLI `--json` and IPC boundary. `detail` holds
/// machine-readable specifics (URLs, a certificate, the server's error code); `reason` is left out
/// of the JSON when there is none, so `--json` output only gained a field.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ErrorReport {
    pub code: ErrorCode,
    pub message: String,
    pub detail: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<ErrorReason>,
}

impl ErrorReport {
    /// A report with no detail and no reason (a shell's own errors: bad input, internal).
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorReport { code, message: message.into(), detail: serde_json::Value::Null, reason: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_without_a_reason_serializes_as_before() {
        let report = ErrorReport::new(ErrorCode::BadInput, "no");
        let json = serde_json::to_value(&report).expect("a report serializes");
        assert_eq!(json, serde_json::json!({"code": "bad_input", "message": "no", "detail": null}), "--json unchanged");
        let with = ErrorReport { reason: Some(ErrorReason::WrongPassword), ..report };
        let json = serde_json::to_value(&with).expect("a report serializes");
        assert_eq!(json["reason"], "wrong_password", "the typed reason in snake_case: {json}");
    }
}
