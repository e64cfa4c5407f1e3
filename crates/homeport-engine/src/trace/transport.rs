//! Why an exchange got no (usable) answer, as data: the desktop words the kind in the window's
//! language and shows the engine's raw text (the OS's, rustls', the proxy's) beside it as detail
//! (docs/translating.md). The kind follows the error's variant, as `ConnectError::code` does; an
//! unreachable server is told apart by its innermost cause (std's `io::Error` text names the OS
//! error: "Connection refused (os error 111)").

use serde::{Deserialize, Serialize};

use crate::error::ConnectError;

/// The kind of an exchange's failure (its `error_kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum TransportErrorKind {
    /// Nothing listens at the server's address and port.
    ConnectionRefused,
    /// No answer in time (connecting, or the whole exchange).
    TimedOut,
    /// The server's name has no address (DNS).
    NameNotResolved,
    /// The secure connection failed: the certificate, the handshake, a client certificate.
    Tls,
    /// The connection was cut before the answer was complete.
    ConnectionReset,
    /// The proxy failed, or refused the request.
    Proxy,
    /// The answer was larger than Homeport reads.
    TooLarge,
    /// Anything else: the raw text says what.
    Other,
}

impl TransportErrorKind {
    /// The kind of `error`, the failure an exchange ended with.
    pub fn of(error: &ConnectError) -> TransportErrorKind {
        match error {
            ConnectError::Timeout { .. } => TransportErrorKind::TimedOut,
            ConnectError::ProxyFailed { .. } => TransportErrorKind::Proxy,
            ConnectError::Tls { .. }
            | ConnectError::CertificateUntrusted { .. }
            | ConnectError::CertificateChanged { .. }
            | ConnectError::CertificateInvalid { .. }
            | ConnectError::ClientCertificateRequired { .. }
            | ConnectError::ClientCertificateRefused { .. } => TransportErrorKind::Tls,
            ConnectError::BodyTooLarge { .. } => TransportErrorKind::TooLarge,
            ConnectError::Unreachable { reason, .. } => TransportErrorKind::of_cause(reason),
            _ => TransportErrorKind::Other,
        }
    }

    /// An unreachable server's innermost cause, as text: Linux's errno in std's words
    /// ("… (os error 111)"), getaddrinfo's for a name, hyper's for a cut connection ("end of file
    /// before message length reached", "connection closed before message completed").
    fn of_cause(reason: &str) -> TransportErrorKind {
        let reason = reason.to_ascii_lowercase();
        let os_error = |code: u32| reason.contains(&format!("(os error {code})"));
        if os_error(111) || reason.contains("connection refused") {
            TransportErrorKind::ConnectionRefused
        } else if os_error(104)
            || os_error(32)
            || reason.contains("connection reset")
            || reason.contains("connection closed")
            || reason.contains("end of file before message")
        {
            TransportErrorKind::ConnectionReset
        } else if os_error(110) || reason.contains("timed out") {
            TransportErrorKind::TimedOut
        } else if reason.contains("failed to lookup address")
            || reason.contains("name or service not known")
            || reason.contains("no address associated")
            || reason.contains("dns error")
        {
            TransportErrorKind::NameNotResolved
        } else {
            TransportErrorKind::Other
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unreachable(reason: &str) -> ConnectError {
        ConnectError::Unreachable { url: "http://127.0.0.1:9/".into(), reason: reason.into() }
    }

    #[test]
    fn an_unreachable_server_is_told_apart_by_its_os_error() {
        for (reason, kind) in [
            ("Connection refused (os error 111)", TransportErrorKind::ConnectionRefused),
            ("Connection reset by peer (os error 104)", TransportErrorKind::ConnectionReset),
            ("Broken pipe (os error 32)", TransportErrorKind::ConnectionReset),
            ("connection closed before message completed", TransportErrorKind::ConnectionReset),
            ("end of file before message length reached", TransportErrorKind::ConnectionReset),
            ("Connection timed out (os error 110)", TransportErrorKind::TimedOut),
            ("failed to lookup address information: Name or service not known", TransportErrorKind::NameNotResolved),
            ("No route to host (os error 113)", TransportErrorKind::Other),
        ] {
            assert_eq!(TransportErrorKind::of(&unreachable(reason)), kind, "{reason}");
        }
    }

    #[test]
    fn other_failures_by_their_variant() {
        let url = || "https://127.0.0.1:1/".to_owned();
        for (error, kind) in [
            (ConnectError::Timeout { url: url(), seconds: 30 }, TransportErrorKind::TimedOut),
            (ConnectError::Tls { url: url(), reason: "handshake".into() }, TransportErrorKind::Tls),
            (
                ConnectError::ProxyFailed { proxy: "p".into(), url: url(), reason: "refused".into() },
                TransportErrorKind::Proxy,
            ),
            (ConnectError::BodyTooLarge { url: url(), limit: 1 }, TransportErrorKind::TooLarge),
            (ConnectError::LoginRefused { reason: "no".into() }, TransportErrorKind::Other),
        ] {
            assert_eq!(TransportErrorKind::of(&error), kind, "{error}");
        }
        let json = serde_json::to_string(&TransportErrorKind::NameNotResolved).expect("serializes");
        assert_eq!(json, r#""name_not_resolved""#, "snake_case on the wire, as the UI's catalogue keys it");
    }
}
