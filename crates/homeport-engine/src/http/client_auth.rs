//! When a server wants a client certificate (mutual TLS): how each kind of server says so, turned
//! into [`ConnectError::ClientCertificateRequired`] (→ [`crate::Decision::ClientCertificate`]) or,
//! when the certificate was sent, [`ConnectError::ClientCertificateRefused`].
//! docs/security.md#client-certificates.

use rustls::AlertDescription;
use url::Url;

use crate::error::ConnectError;

/// What a server that wants a certificate answered, besides an ordinary failure.
pub(super) struct Refusal<'a> {
    pub url: &'a Url,
    /// `host:port` of `url`.
    pub server: String,
    /// The certificate presented there (its subject), if the account has one for it.
    pub presented: Option<&'a str>,
    /// A server sent a CertificateRequest while the request ran ([`crate::client_certificate::ClientCertificateLog`]).
    pub asked: bool,
    pub issuers: Vec<String>,
}

impl Refusal<'_> {
    /// A failed connection: the server's alert, or (after it asked) its hanging up.
    ///
    /// - TLS 1.3 servers that require a certificate end the handshake with `certificate_required`
    ///   (RFC 8446 §4.4.2.4; OpenSSL's `-Verify`, Apache's `SSLVerifyClient require`): that alone
    ///   says it, whichever server asked.
    /// - TLS 1.2 servers send `handshake_failure` (or `bad_certificate`, `access_denied`), which a
    ///   cipher mismatch sends too: only counted when a server asked during this request.
    /// - A server that asked and then closed the connection without an alert.
    pub fn of_failure(&self, tls: Option<&rustls::Error>) -> Option<ConnectError> {
        let alert = match tls {
            Some(rustls::Error::AlertReceived(alert)) => Some(*alert),
            _ => None,
        };
        let about_certificates = matches!(
            alert,
            Some(
                AlertDescription::CertificateRequired
                    | AlertDescription::BadCertificate
                    | AlertDescription::UnsupportedCertificate
                    | AlertDescription::CertificateRevoked
                    | AlertDescription::CertificateExpired
                    | AlertDescription::CertificateUnknown
                    | AlertDescription::UnknownCA
                    | AlertDescription::AccessDenied
            )
        );
        match self.presented {
            None => {
                let required = alert == Some(AlertDescription::CertificateRequired)
                    || (self.asked && (about_certificates || alert == Some(AlertDescription::HandshakeFailure)))
                    || (self.asked && tls.is_none());
                required.then(|| self.required())
            }
            Some(subject) => {
                // `asked` counts requests without a certificate to give only (the resolver's log),
                // so with one presented only the alerts about certificates say it was refused.
                let refused = about_certificates;
                refused.then(|| ConnectError::ClientCertificateRefused {
                    url: self.url.to_string(),
                    server: self.server.clone(),
                    subject: subject.to_owned(),
                    reason: match alert {
                        Some(alert) => alert_words(alert),
                        None => "it ended the connection".into(),
                    },
                })
            }
        }
    }

    /// An HTTP answer: nginx with `ssl_verify_client on` finishes the handshake without a
    /// certificate and answers 400 with its own page instead ("No required SSL certificate was
    /// sent"; with a certificate it does not accept, "The SSL certificate error").
    pub fn of_answer(&self, status: u16, body: &[u8]) -> Option<ConnectError> {
        if status != 400 {
            return None;
        }
        let body = String::from_utf8_lossy(&body[..body.len().min(2048)]);
        if body.contains("No required SSL certificate was sent") {
            return Some(self.required());
        }
        match (self.presented, body.contains("The SSL certificate error")) {
            (Some(subject), true) => Some(ConnectError::ClientCertificateRefused {
                url: self.url.to_string(),
                server: self.server.clone(),
                subject: subject.to_owned(),
                reason: "it does not accept the certificate (HTTP 400, \"The SSL certificate error\")".into(),
            }),
            _ => None,
        }
    }

    fn required(&self) -> ConnectError {
        ConnectError::ClientCertificateRequired {
            url: self.url.to_string(),
            server: self.server.clone(),
            issuers: self.issuers.clone(),
        }
    }
}

fn alert_words(alert: AlertDescription) -> String {
    let words = match alert {
        AlertDescription::UnknownCA => "it does not trust the authority that issued it (unknown_ca)",
        AlertDescription::CertificateExpired => "it has expired (certificate_expired)",
        AlertDescription::CertificateRevoked => "it was revoked (certificate_revoked)",
        AlertDescription::AccessDenied => "the certificate is valid but not allowed in (access_denied)",
        AlertDescription::BadCertificate => "it calls the certificate bad (bad_certificate)",
        AlertDescription::UnsupportedCertificate => "it does not support this kind of certificate",
        _ => return format!("it ended the handshake ({alert:?})"),
    };
    words.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal<'a>(url: &'a Url, presented: Option<&'a str>, asked: bool) -> Refusal<'a> {
        Refusal { url, server: "cloud.example.com:443".into(), presented, asked, issuers: vec!["CN=CA".into()] }
    }

    #[test]
    fn certificate_required_alone_says_it_a_handshake_failure_only_after_a_request() {
        let url = Url::parse("https://cloud.example.com/status.php").expect("url");
        let required = rustls::Error::AlertReceived(AlertDescription::CertificateRequired);
        let handshake = rustls::Error::AlertReceived(AlertDescription::HandshakeFailure);
        assert!(
            matches!(
                refusal(&url, None, false).of_failure(Some(&required)),
                Some(ConnectError::ClientCertificateRequired { .. })
            ),
            "TLS 1.3's certificate_required needs no other sign"
        );
        assert!(
            refusal(&url, None, false).of_failure(Some(&handshake)).is_none(),
            "a cipher mismatch stays a TLS error"
        );
        assert!(
            matches!(
                refusal(&url, None, true).of_failure(Some(&handshake)),
                Some(ConnectError::ClientCertificateRequired { .. })
            ),
            "TLS 1.2: handshake_failure after a CertificateRequest"
        );
        assert!(refusal(&url, None, false).of_failure(None).is_none(), "a reset without a request is the network's");
        let unknown = rustls::Error::AlertReceived(AlertDescription::UnknownCA);
        match refusal(&url, Some("CN=alice"), true).of_failure(Some(&unknown)) {
            Some(ConnectError::ClientCertificateRefused { subject, reason, .. }) => {
                assert_eq!(subject, "CN=alice");
                assert!(reason.contains("unknown_ca"), "{reason}");
            }
            other => panic!("with a certificate sent, a refusal: {other:?}"),
        }
    }

    #[test]
    fn nginx_pages_say_required_or_refused() {
        let url = Url::parse("https://cloud.example.com/status.php").expect("url");
        let page =
            b"<html><center><h1>400 Bad Request</h1></center><center>No required SSL certificate was sent</center>";
        assert!(matches!(
            refusal(&url, None, false).of_answer(400, page),
            Some(ConnectError::ClientCertificateRequired { .. })
        ));
        let error = b"<center>The SSL certificate error</center>";
        assert!(matches!(
            refusal(&url, Some("CN=alice"), false).of_answer(400, error),
            Some(ConnectError::ClientCertificateRefused { .. })
        ));
        assert!(refusal(&url, None, false).of_answer(200, page).is_none(), "only nginx's 400 page");
        assert!(refusal(&url, None, false).of_answer(400, b"bad request").is_none(), "an ordinary 400");
    }
}
