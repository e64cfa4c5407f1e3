//! Typed errors of the engine, and their flat form ([`ErrorReport`]) for the CLI and IPC.

use serde::Serialize;

use crate::address::{AddressError, Origin};
use crate::certificate::{CertificateInfo, CertificateProblem};
use crate::client_certificate::ClientCertificateError;
use crate::redirect::RedirectRefusal;
use crate::report::{ErrorCode, ErrorReason, ErrorReport};
use crate::store::StoreError;
use crate::trace::Participant;

/// Why a server is not ready to log in to (status.php).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum NotReady {
    Maintenance,
    NeedsDbUpgrade,
    NotInstalled,
}

/// Everything that can stop a connection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    #[error(transparent)]
    Address(#[from] AddressError),
    #[error("could not reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{url} did not answer within {seconds} seconds")]
    Timeout { url: String, seconds: u64 },
    /// The proxy itself failed (refused, wants or refused credentials, a failed SOCKS handshake):
    /// named as such so the person does not look for a fault at the server. `proxy` never
    /// carries credentials.
    #[error("the proxy {proxy} failed, so {url} could not be reached: {reason}")]
    ProxyFailed { proxy: String, url: String, reason: String },
    #[error("the secure connection to {url} failed: {reason}")]
    Tls { url: String, reason: String },
    #[error("{url} presents a certificate this computer does not trust (issued by {}, SHA-256 {})", .certificate.issuer, .certificate.sha256)]
    CertificateUntrusted { url: String, certificate: Box<CertificateInfo> },
    #[error("the certificate of {url} has CHANGED since you trusted it (now SHA-256 {}, issued by {}); Homeport does not accept it silently — it may be an attack, or the server got a new certificate: check with its administrator, then remove and add the account again", .certificate.sha256, .certificate.issuer)]
    CertificateChanged { url: String, certificate: Box<CertificateInfo> },
    #[error("the certificate of {url} {}: {detail}", problem_words(.problem))]
    CertificateInvalid { url: String, problem: CertificateProblem, certificate: Box<CertificateInfo>, detail: String },
    /// The server asks for a client certificate (mutual TLS) and none is set for it: the wizard
    /// asks for one ([`crate::Decision::ClientCertificate`]). `server` is its `host:port`,
    /// `issuers` the authorities it said it accepts certificates from (may be empty).
    #[error("{server} asks for a client certificate (mutual TLS), and none is set for it")]
    ClientCertificateRequired { url: String, server: String, issuers: Vec<String> },
    /// The client certificate was presented and the server did not accept it.
    #[error("{server} did not accept the client certificate {subject}: {reason}")]
    ClientCertificateRefused { url: String, server: String, subject: String, reason: String },
    /// The certificate file gives no identity: a wrong password, not a PKCS#12 file, no key.
    #[error(transparent)]
    ClientCertificate(#[from] ClientCertificateError),
    #[error("{}", not_ready_message(.server, *.reason))]
    ServerNotReady { server: String, reason: NotReady },
    #[error("{origin} did not accept the user name or password for {user}")]
    AuthFailed { origin: Origin, user: String, at: Participant },
    #[error("{server} asks for an unsupported login method ({challenge})")]
    UnsupportedAuth { server: String, challenge: String },
    #[error("{server} needs a user name and password")]
    CredentialsRequired { server: String },
    #[error("{url} uses plain http, which sends your password readable by anyone on the network; only loopback servers may use it unless you allow it")]
    PlainHttpRefused { url: String },
    #[error("redirect refused: {0}")]
    RedirectRefused(RedirectRefusal),
    #[error("{url} answered HTTP {status} where {expected} was expected")]
    UnexpectedStatus { url: String, status: u16, expected: &'static str, snippet: String },
    #[error("{url} sent an invalid {what}: {reason}")]
    InvalidResponse { url: String, what: &'static str, reason: String },
    #[error("the answer from {url} is larger than {limit} bytes")]
    BodyTooLarge { url: String, limit: usize },
    #[error("the identity provider calls itself {got}, but {expected} was asked for; Homeport stops so that no other provider's login is accepted")]
    IssuerMismatch { expected: String, got: String },
    #[error("the login in the browser was refused: {reason}")]
    LoginRefused { reason: String },
    #[error("the identity provider did not log you in: {error}{}", if .description.is_empty() { String::new() } else { format!(" ({})", .description) })]
    BrowserLoginFailed { error: String, description: String },
    /// A Matrix authorization server would not register Homeport as a client (RFC 7591).
    #[error("the authorization server {issuer} refused to register Homeport as a client (HTTP {status}: {error}{})", if .description.is_empty() { String::new() } else { format!(", {}", .description) })]
    RegistrationRefused { issuer: String, status: u16, error: String, description: String },
    #[error("no answer came back from the browser within {seconds} seconds")]
    BrowserLoginTimedOut { seconds: u64 },
    /// The loopback port(s) the login's redirect URI must use are taken (a fixed port a provider
    /// was registered with, or an admin's range): another program listens there.
    #[error("Homeport cannot listen for the browser's answer on port {ports}: {reason}; close the program using it or choose another port")]
    CallbackPortUnavailable { ports: String, reason: String },
    #[error("the identity provider's ID token is not valid: {reason}")]
    InvalidIdToken { reason: String },
    #[error("you logged in as {logged_in}, not as {typed}; start over to log in as {typed} (log out at the identity provider first, or use a private window)")]
    OtherUserLoggedIn { typed: String, logged_in: String },
    #[error(
        "{server} logs in at {issuer}, on another site; Homeport did not log in there because that was not approved"
    )]
    IssuerNotApproved { server: String, issuer: String },
    #[error("the login has expired: {reason}; log in again")]
    LoginExpired { reason: String },
    #[error("{server} says the account is disabled; ask its administrator")]
    AccountDisabled { server: String },
    /// A Matrix homeserver answered `M_USER_DEACTIVATED`: the account was deactivated there
    /// (its devices and, usually, its password are gone), not merely disabled for a while.
    #[error("{server} says the Matrix account is deactivated: it can no longer log in, and only the homeserver's administrator can reactivate it")]
    AccountDeactivated { server: String },
    #[error("{server} refused the login: {message} ({errcode})")]
    MatrixRefused { server: String, errcode: String, message: String },
    #[error("{server} is busy and asked to wait {retry_after_ms} ms; Homeport waited and tried once more, in vain")]
    RateLimited { server: String, retry_after_ms: u64 },
    #[error("the login names {base} as the homeserver, but it is not a usable Matrix server: {reason}")]
    HomeserverUnusable { base: String, reason: String },
    #[error("the account lives on {offered} instances and none was chosen")]
    InstanceNotChosen { offered: usize },
    #[error("the tenant's identity zone refused the login: {reason}")]
    TenantRefused { tenant: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the wizard was asked to continue after it finished")]
    Finished,
    /// A trust answer for a certificate other than the one shown ([`crate::drive::Answer`]).
    #[error("That is not the certificate Homeport asked about; nothing was trusted.")]
    CertificateNotShown,
}

fn not_ready_message(server: &str, reason: NotReady) -> String {
    match reason {
        NotReady::Maintenance => {
            format!("{server} is in maintenance mode; try again when the administrator has finished")
        }
        NotReady::NeedsDbUpgrade => {
            format!("{server} is being upgraded (its database needs an upgrade); try again later")
        }
        NotReady::NotInstalled => {
            format!("{server} is not set up yet (ownCloud is not installed there); ask its administrator")
        }
    }
}

impl ConnectError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ConnectError::Address(_) => ErrorCode::BadInput,
            ConnectError::Unreachable { .. } | ConnectError::Timeout { .. } | ConnectError::ProxyFailed { .. } => {
                ErrorCode::Unreachable
            }
            ConnectError::Tls { .. }
            | ConnectError::CertificateUntrusted { .. }
            | ConnectError::CertificateChanged { .. }
            | ConnectError::CertificateInvalid { .. }
            | ConnectError::ClientCertificateRequired { .. }
            | ConnectError::ClientCertificateRefused { .. } => ErrorCode::Tls,
            ConnectError::ClientCertificate(_) => ErrorCode::BadInput,
            ConnectError::AuthFailed { .. }
            | ConnectError::CredentialsRequired { .. }
            | ConnectError::UnsupportedAuth { .. } => ErrorCode::AuthFailed,
            ConnectError::ServerNotReady { .. } => ErrorCode::ServerNotReady,
            ConnectError::PlainHttpRefused { .. }
            | ConnectError::RedirectRefused(_)
            | ConnectError::IssuerMismatch { .. }
            | ConnectError::LoginRefused { .. }
            | ConnectError::IssuerNotApproved { .. }
            | ConnectError::InvalidIdToken { .. }
            | ConnectError::CertificateNotShown => ErrorCode::PolicyRefused,
            ConnectError::BrowserLoginFailed { .. }
            | ConnectError::RegistrationRefused { .. }
            | ConnectError::OtherUserLoggedIn { .. }
            | ConnectError::LoginExpired { .. }
            | ConnectError::AccountDisabled { .. }
            | ConnectError::AccountDeactivated { .. }
            | ConnectError::TenantRefused { .. } => ErrorCode::AuthFailed,
            ConnectError::InstanceNotChosen { .. } | ConnectError::CallbackPortUnavailable { .. } => {
                ErrorCode::BadInput
            }
            ConnectError::MatrixRefused { .. } | ConnectError::RateLimited { .. } => ErrorCode::AuthFailed,
            ConnectError::HomeserverUnusable { .. } => ErrorCode::Protocol,
            ConnectError::BrowserLoginTimedOut { .. } => ErrorCode::Cancelled,
            ConnectError::UnexpectedStatus { .. }
            | ConnectError::InvalidResponse { .. }
            | ConnectError::BodyTooLarge { .. } => ErrorCode::Protocol,
            ConnectError::Store(e) => e.code(),
            ConnectError::Finished => ErrorCode::Internal,
        }
    }

    /// Machine-readable specifics; never secrets.
    pub fn detail(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            ConnectError::Unreachable { url, .. }
            | ConnectError::Tls { url, .. }
            | ConnectError::PlainHttpRefused { url } => json!({ "url": url }),
            ConnectError::Timeout { url, seconds } => json!({ "url": url, "timeout_seconds": seconds }),
            // The UI points at the proxy settings on this reason.
            ConnectError::ProxyFailed { proxy, url, .. } => json!({ "url": url, "proxy": proxy, "reason": "proxy" }),
            ConnectError::CertificateUntrusted { url, certificate } => {
                json!({ "url": url, "reason": "untrusted", "certificate": certificate })
            }
            ConnectError::CertificateChanged { url, certificate } => {
                json!({ "url": url, "reason": "changed", "certificate": certificate })
            }
            ConnectError::CertificateInvalid { url, problem, certificate, .. } => {
                json!({ "url": url, "reason": problem, "certificate": certificate })
            }
            ConnectError::ClientCertificateRequired { url, server, issuers } => {
                json!({ "url": url, "server": server, "reason": "client_certificate_required", "issuers": issuers })
            }
            ConnectError::ClientCertificateRefused { url, server, subject, .. } => {
                json!({ "url": url, "server": server, "reason": "client_certificate_refused", "subject": subject })
            }
            ConnectError::ClientCertificate(error) => {
                let reason = match error {
                    ClientCertificateError::WrongPassword { .. } => "client_certificate_password",
                    _ => "client_certificate_file",
                };
                json!({ "file": error.file(), "reason": reason })
            }
            ConnectError::ServerNotReady { server, reason } => json!({ "server": server, "reason": reason }),
            // The UI shows the login form again on this reason.
            ConnectError::AuthFailed { origin, user, at } => {
                json!({ "origin": origin, "user": user, "at": at, "reason": "wrong_password" })
            }
            ConnectError::CredentialsRequired { server } => {
                json!({ "server": server })
            }
            ConnectError::UnsupportedAuth { server, challenge } => json!({ "server": server, "challenge": challenge }),
            ConnectError::RedirectRefused(refusal) => serde_json::to_value(refusal).unwrap_or_default(),
            ConnectError::UnexpectedStatus { url, status, snippet, .. } => {
                json!({ "url": url, "status": status, "body": snippet })
            }
            ConnectError::InvalidResponse { url, what, .. } => json!({ "url": url, "what": what }),
            ConnectError::BodyTooLarge { url, limit } => json!({ "url": url, "limit_bytes": limit }),
            ConnectError::IssuerMismatch { expected, got } => json!({ "expected": expected, "got": got }),
            ConnectError::BrowserLoginFailed { error, description } => {
                json!({ "error": error, "description": description })
            }
            ConnectError::RegistrationRefused { issuer, status, error, .. } => {
                json!({ "issuer": issuer, "status": status, "error": error })
            }
            ConnectError::BrowserLoginTimedOut { seconds } => json!({ "timeout_seconds": seconds }),
            ConnectError::CallbackPortUnavailable { ports, .. } => json!({ "ports": ports }),
            ConnectError::AccountDisabled { server } => json!({ "server": server, "reason": "account_disabled" }),
            ConnectError::AccountDeactivated { server } => {
                json!({ "server": server, "reason": "account_deactivated", "errcode": "M_USER_DEACTIVATED" })
            }
            ConnectError::TenantRefused { tenant, reason } => json!({ "tenant": tenant, "reason": reason }),
            ConnectError::InstanceNotChosen { offered } => json!({ "offered": offered }),
            ConnectError::MatrixRefused { server, errcode, .. } => json!({ "server": server, "errcode": errcode }),
            ConnectError::RateLimited { server, retry_after_ms } => {
                json!({ "server": server, "retry_after_ms": retry_after_ms })
            }
            ConnectError::HomeserverUnusable { base, .. } => json!({ "base_url": base }),
            ConnectError::OtherUserLoggedIn { typed, logged_in } => json!({ "typed": typed, "logged_in": logged_in }),
            ConnectError::IssuerNotApproved { server, issuer } => json!({ "server": server, "issuer": issuer }),
            // The UI offers "Log in again" on this reason.
            ConnectError::LoginExpired { .. } => json!({ "reason": "login_expired" }),
            ConnectError::LoginRefused { .. } | ConnectError::InvalidIdToken { .. } => serde_json::Value::Null,
            ConnectError::Store(e) => e.detail(),
            ConnectError::Address(_) | ConnectError::Finished | ConnectError::CertificateNotShown => {
                serde_json::Value::Null
            }
        }
    }

    /// What the UI tells apart within [`ConnectError::code`] (see [`ErrorReason`]).
    pub fn reason(&self) -> Option<ErrorReason> {
        Some(match self {
            ConnectError::ProxyFailed { .. } => ErrorReason::Proxy,
            ConnectError::CertificateUntrusted { .. } => ErrorReason::Untrusted,
            ConnectError::CertificateChanged { .. } => ErrorReason::Changed,
            ConnectError::CertificateInvalid { problem, .. } => match problem {
                CertificateProblem::Untrusted => ErrorReason::Untrusted,
                CertificateProblem::Changed => ErrorReason::Changed,
                CertificateProblem::Expired => ErrorReason::Expired,
                CertificateProblem::NotYetValid => ErrorReason::NotYetValid,
                CertificateProblem::WrongHost => ErrorReason::WrongHost,
                CertificateProblem::WeakSignature => ErrorReason::WeakSignature,
                CertificateProblem::Other => ErrorReason::CertificateInvalid,
            },
            ConnectError::ClientCertificateRequired { .. } => ErrorReason::ClientCertificateRequired,
            ConnectError::ClientCertificateRefused { .. } => ErrorReason::ClientCertificateRefused,
            ConnectError::ClientCertificate(ClientCertificateError::WrongPassword { .. }) => {
                ErrorReason::ClientCertificatePassword
            }
            ConnectError::ClientCertificate(_) => ErrorReason::ClientCertificateFile,
            ConnectError::ServerNotReady { reason, .. } => match reason {
                NotReady::Maintenance => ErrorReason::Maintenance,
                NotReady::NeedsDbUpgrade => ErrorReason::NeedsDbUpgrade,
                NotReady::NotInstalled => ErrorReason::NotInstalled,
            },
            ConnectError::AuthFailed { .. } => ErrorReason::WrongPassword,
            ConnectError::LoginExpired { .. } => ErrorReason::LoginExpired,
            ConnectError::OtherUserLoggedIn { .. } => ErrorReason::OtherUser,
            ConnectError::IssuerNotApproved { .. } => ErrorReason::IssuerNotApproved,
            ConnectError::AccountDisabled { .. } => ErrorReason::AccountDisabled,
            ConnectError::AccountDeactivated { .. } => ErrorReason::AccountDeactivated,
            ConnectError::TenantRefused { .. } => ErrorReason::TenantRefused,
            ConnectError::RateLimited { .. } => ErrorReason::RateLimited,
            ConnectError::MatrixRefused { .. } => ErrorReason::MatrixRefused,
            ConnectError::BrowserLoginFailed { .. } | ConnectError::RegistrationRefused { .. } => {
                ErrorReason::IdpRefused
            }
            ConnectError::HomeserverUnusable { .. } => ErrorReason::HomeserverUnusable,
            ConnectError::Store(e) => return e.reason(),
            _ => return None,
        })
    }

    pub fn report(&self) -> ErrorReport {
        ErrorReport { code: self.code(), message: self.to_string(), detail: self.detail(), reason: self.reason() }
    }
}

/// A bounded, printable excerpt of a response body for diagnosis, with secret fields and
/// token-shaped values redacted ([`crate::redact::redact_body`]): a server may quote back the
/// token it was sent, and the excerpt reaches the UI, the CLI's output and autopilot verdicts.
/// Only the excerpt's neighbourhood is redacted — what is shown and [`REDACTION_MARGIN`]
/// characters after it, so a secret that starts inside the excerpt is recognised whole (or by a
/// long prefix) — and it is redacted once: the regexes over a whole 16 KiB body were most of an
/// error's cost (docs/fuzzing.md, "The second campaign").
pub(crate) fn snippet(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(&body[..body.len().min(16 * 1024)]);
    // Control characters go before redaction, so what is shown is what was redacted (a body of
    // newlines cannot push a token's start out of the redacted part).
    let mut printable = text.chars().filter(|c| !c.is_control() || *c == ' ');
    let neighbourhood: String = printable.by_ref().take(MAX + REDACTION_MARGIN).collect();
    let cut = printable.next().is_some();
    let redacted = crate::redact::redact_body(&neighbourhood);
    let mut out: String = redacted.chars().take(MAX).collect();
    if cut || redacted.chars().count() > MAX {
        out.push('…');
    }
    out
}

/// How far past an excerpt's end its redaction reads: longer than most tokens servers issue
/// by far (a token longer than it is still recognised by its first 512 characters; Matrix and
/// Nextcloud tokens are far shorter).
const REDACTION_MARGIN: usize = 512;

/// `"<why>; the body starts with: <snippet>"`, each part redacted once: a parser's message can
/// quote a value of the body too (serde's `invalid type: string "…"`).
pub(crate) fn quoting(why: &dyn std::fmt::Display, body: &[u8]) -> String {
    format!("{}; the body starts with: {}", crate::redact::redact_body(&why.to_string()), snippet(body))
}

fn problem_words(problem: &CertificateProblem) -> &'static str {
    match problem {
        CertificateProblem::Expired => "has expired",
        CertificateProblem::NotYetValid => "is not valid yet (check this computer's clock)",
        CertificateProblem::WrongHost => "was issued for other host names",
        CertificateProblem::WeakSignature => "is signed with a weak or unknown algorithm",
        CertificateProblem::Untrusted => "is not issued by an authority this computer trusts",
        CertificateProblem::Changed => "has changed since you trusted it",
        CertificateProblem::Other => "is not valid",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    fn certificate() -> Box<CertificateInfo> {
        Box::new(CertificateInfo {
            subject: "CN=x".into(),
            issuer: "CN=x".into(),
            not_before: String::new(),
            not_after: String::new(),
            sha256: "AB".into(),
        })
    }

    #[test]
    fn the_typed_reason_says_what_detail_reason_says() {
        let url = String::from("https://x/");
        let errors = [
            ConnectError::ProxyFailed { proxy: "p".into(), url: url.clone(), reason: "r".into() },
            ConnectError::CertificateUntrusted { url: url.clone(), certificate: certificate() },
            ConnectError::CertificateChanged { url: url.clone(), certificate: certificate() },
            ConnectError::CertificateInvalid {
                url: url.clone(),
                problem: CertificateProblem::WrongHost,
                certificate: certificate(),
                detail: String::new(),
            },
            ConnectError::ServerNotReady { server: url.clone(), reason: NotReady::NeedsDbUpgrade },
            ConnectError::AuthFailed {
                origin: Origin::parse("https://x").expect("origin"),
                user: "u".into(),
                at: Participant::Lookup,
            },
            ConnectError::LoginExpired { reason: "r".into() },
            ConnectError::AccountDisabled { server: url.clone() },
            ConnectError::AccountDeactivated { server: url.clone() },
        ];
        for error in errors {
            let report = serde_json::to_value(error.report()).expect("a report serializes");
            assert_eq!(report["reason"], report["detail"]["reason"], "one word for one reason: {report}");
        }
    }

    #[test]
    fn a_quoted_body_carries_no_token() {
        let body =
            br#"{"access_token":"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln","refresh_token":"r1","token_type":7}"#;
        let quoted = quoting(&"invalid type: integer `7`, expected a string", body);
        assert!(
            quoted.contains(r#""access_token":"[redacted]""#) && quoted.contains(r#""refresh_token":"[redacted]""#)
        );
        assert!(!quoted.contains("eyJ") && !quoted.contains("r1\""), "{quoted}");
        assert!(quoted.contains(r#""token_type":7"#), "the rest stays readable: {quoted}");
    }

    #[test]
    fn an_excerpt_redacts_a_token_that_starts_in_it_and_ends_far_past_it() {
        let token: String = (0..3000).map(|i| if i % 7 == 0 { '4' } else { 'x' }).collect();
        let body = format!("{}{{\"note\":\"{token}\"}}", "\n".repeat(5000));
        let shown = snippet(body.as_bytes());
        assert!(!shown.contains("x4x"), "no part of the token is shown: {shown}");
        assert!(shown.contains("[redacted]") && shown.ends_with('…'), "{shown}");
        let secret = format!("{{\"access_token\":\"{}\"}}", "a".repeat(5000));
        let shown = snippet(secret.as_bytes());
        assert_eq!(
            shown,
            r#"{"access_token":"[redacted]""#.to_owned() + "…",
            "a field past the margin is redacted too"
        );
    }

    #[test]
    fn reasons_the_ui_told_apart_by_detail_fields_are_typed_too() {
        let cases = [
            (ConnectError::TenantRefused { tenant: "t".into(), reason: "not subscribed".into() }, "tenant_refused"),
            (ConnectError::RateLimited { server: "s".into(), retry_after_ms: 1 }, "rate_limited"),
            (
                ConnectError::MatrixRefused { server: "s".into(), errcode: "M_X".into(), message: "m".into() },
                "matrix_refused",
            ),
            (ConnectError::BrowserLoginFailed { error: "e".into(), description: String::new() }, "idp_refused"),
            (ConnectError::HomeserverUnusable { base: "b".into(), reason: "r".into() }, "homeserver_unusable"),
            (ConnectError::Store(StoreError::KeyringLocked { reason: "r".into() }), "keyring_locked"),
        ];
        for (error, reason) in cases {
            assert_eq!(serde_json::to_value(error.report()).expect("serializes")["reason"], reason, "{error:?}");
        }
        let report = serde_json::to_value(ConnectError::Finished.report()).expect("serializes");
        assert!(report.get("reason").is_none(), "no reason, no field: --json only gains one: {report}");
    }
}
