//! Server certificates: the system's trust store first, then the person's per-account pins.
//!
//! [`PinningVerifier`] wraps rustls' WebPKI verifier (system roots plus any extra roots). A pin is
//! a SHA-256 tied to one `host:port` ([`CertificatePin`]): the certificate is accepted as that
//! server's, exactly that one, at exactly that host and port — the HTTP client connects to each
//! pinned `host:port` with a verifier holding only its pins ([`crate::http`]), since rustls shows
//! a verifier the server's name but not its port. Any other certificate must pass the normal checks. When a check fails the verifier notes what
//! was presented and why, per host, so the wizard can turn "unknown issuer" into a decision
//! (subject, issuer, validity, fingerprint) and name the other failures (expired, wrong host,
//! weak signature, a pinned certificate that changed) precisely.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error as TlsError, SignatureScheme};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a person sees before trusting a certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CertificateInfo {
    pub subject: String,
    pub issuer: String,
    /// RFC 2822 (`Mon, 01 Jan 2024 00:00:00 +0000`).
    pub not_before: String,
    pub not_after: String,
    /// Uppercase hex with `:` separators, as browsers show it.
    pub sha256: String,
}

/// Why a presented certificate was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum CertificateProblem {
    /// Not issued by an authority this computer trusts (self-signed, a private CA): the person
    /// may trust it for this account.
    Untrusted,
    /// The account pinned another certificate: never accepted silently.
    Changed,
    Expired,
    NotYetValid,
    /// Issued for other host names.
    WrongHost,
    /// Signed with an algorithm too weak or unknown to check.
    WeakSignature,
    Other,
}

/// A certificate a server presented and why it failed.
#[derive(Clone, Debug)]
pub struct Presented {
    pub info: CertificateInfo,
    pub problem: CertificateProblem,
    pub detail: String,
}

/// A certificate the person trusted at one server: `authority` is `host:port` (the port always
/// written, IPv6 hosts in brackets), `sha256` the `AB:CD:…` fingerprint.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CertificatePin {
    pub authority: String,
    pub sha256: String,
}

impl CertificatePin {
    /// `sha256` (any form [`parse_fingerprint`] reads, stored as `AB:CD:…`) trusted at `url`'s
    /// `host:port`; `None` if it is no fingerprint or `url` has no host.
    pub fn at(url: &url::Url, sha256: &str) -> Option<CertificatePin> {
        Some(CertificatePin { authority: authority(url)?, sha256: normalize_fingerprint(sha256)? })
    }
}

/// `host:port` of `url`, with the scheme's default port written out (`cloud.example.com:443`).
pub fn authority(url: &url::Url) -> Option<String> {
    Some(format!("{}:{}", url.host_str()?.to_ascii_lowercase(), url.port_or_known_default()?))
}

/// `AB:CD:…` of the DER bytes.
pub fn fingerprint(der: &[u8]) -> String {
    format_fingerprint(&Sha256::digest(der).into())
}

/// The `AB:CD:…` form of a SHA-256 digest, the one Homeport shows and stores.
pub fn format_fingerprint(digest: &[u8; 32]) -> String {
    digest.iter().map(|byte| format!("{byte:02X}")).collect::<Vec<_>>().join(":")
}

/// Any written form of a fingerprint in the `AB:CD:…` form, or `None` if it is not one.
pub fn normalize_fingerprint(text: &str) -> Option<String> {
    parse_fingerprint(text).map(|digest| format_fingerprint(&digest))
}

/// The 32 bytes of a fingerprint written with or without `:`, any case; `None` if it is not one.
pub fn parse_fingerprint(text: &str) -> Option<[u8; 32]> {
    let hex: String = text.chars().filter(|c| *c != ':' && !c.is_whitespace()).collect();
    if hex.len() != 64 {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(index * 2..index * 2 + 2)?, 16).ok()?;
    }
    Some(bytes)
}

/// Subject, issuer and validity of a DER certificate (unreadable parts say so).
pub fn describe(der: &[u8]) -> CertificateInfo {
    let sha256 = fingerprint(der);
    match x509_parser::parse_x509_certificate(der) {
        Ok((_, certificate)) => {
            let readable = |time: x509_parser::time::ASN1Time| time.to_rfc2822().unwrap_or_else(|_| time.to_string());
            CertificateInfo {
                subject: certificate.subject().to_string(),
                issuer: certificate.issuer().to_string(),
                not_before: readable(certificate.validity().not_before),
                not_after: readable(certificate.validity().not_after),
                sha256,
            }
        }
        Err(_) => CertificateInfo {
            subject: "(unreadable certificate)".into(),
            issuer: String::new(),
            not_before: String::new(),
            not_after: String::new(),
            sha256,
        },
    }
}

fn classify(error: &TlsError) -> CertificateProblem {
    #[allow(deprecated)] // UnsupportedSignatureAlgorithm is still what some paths report.
    match error {
        TlsError::InvalidCertificate(problem) => match problem {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => CertificateProblem::Untrusted,
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => CertificateProblem::Expired,
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                CertificateProblem::NotYetValid
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                CertificateProblem::WrongHost
            }
            CertificateError::UnsupportedSignatureAlgorithm
            | CertificateError::UnsupportedSignatureAlgorithmContext { .. }
            | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
                CertificateProblem::WeakSignature
            }
            _ => CertificateProblem::Other,
        },
        _ => CertificateProblem::Other,
    }
}

/// What the verifier saw fail, by host (a wizard talks to a few hosts; the last word counts).
#[derive(Debug, Default)]
pub struct CertificateLog {
    by_host: Mutex<HashMap<String, Presented>>,
}

impl CertificateLog {
    pub fn presented(&self, host: &str) -> Option<Presented> {
        self.by_host.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(host).cloned()
    }

    fn note(&self, host: String, presented: Presented) {
        let mut log = self.by_host.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Bounded: one entry per host, and a wizard talks to a handful.
        if log.len() < 64 || log.contains_key(&host) {
            log.insert(host, presented);
        }
    }
}

/// The system's trust, plus exactly the certificates pinned for one server.
#[derive(Debug)]
pub struct PinningVerifier {
    inner: Arc<WebPkiServerVerifier>,
    /// The host the pins are for (`None`: no pins); a pin never vouches for another name.
    host: Option<String>,
    pins: Vec<[u8; 32]>,
    log: Arc<CertificateLog>,
}

impl PinningVerifier {
    pub fn new(
        inner: Arc<WebPkiServerVerifier>,
        host: Option<String>,
        pins: Vec<[u8; 32]>,
        log: Arc<CertificateLog>,
    ) -> Self {
        PinningVerifier { inner, host, pins, log }
    }
}

impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        let digest: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        let name = server_name.to_str();
        let for_this_host = self.host.as_deref().is_some_and(|host| host.trim_matches(['[', ']']) == name.as_ref());
        if for_this_host && self.pins.contains(&digest) {
            // The person trusted exactly this certificate for this account.
            return Ok(ServerCertVerified::assertion());
        }
        match self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Ok(verified) => Ok(verified),
            Err(error) => {
                let mut problem = classify(&error);
                if problem == CertificateProblem::Untrusted && !self.pins.is_empty() {
                    problem = CertificateProblem::Changed;
                }
                let presented = Presented { info: describe(end_entity.as_ref()), problem, detail: error.to_string() };
                self.log.note(server_name.to_str().into_owned(), presented);
                Err(error)
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The system's roots and `extra_roots`, read once for all of one HTTP client's connections.
pub fn trust_roots(extra_roots: &[Vec<u8>]) -> Result<Arc<rustls::RootCertStore>, String> {
    let mut roots = rustls::RootCertStore::empty();
    // A missing or partly unreadable system store leaves fewer roots, not a broken wizard: the
    // person then sees an untrusted-certificate decision instead.
    let native = rustls_native_certs::load_native_certs();
    for certificate in native.certs {
        let _ = roots.add(certificate);
    }
    for der in extra_roots {
        roots.add(CertificateDer::from(der.clone())).map_err(|e| format!("a trusted certificate is not valid: {e}"))?;
    }
    Ok(Arc::new(roots))
}

/// A rustls client configuration: `roots`, and `pins` accepted as they are for the server named
/// `host` (the caller connects this configuration only to the pins' `host:port`), failures noted
/// in `log`; `client_certificate` answers a server's request for a client certificate
/// ([`crate::client_certificate`]).
pub fn client_config(
    roots: &Arc<rustls::RootCertStore>,
    host: Option<String>,
    pins: Vec<[u8; 32]>,
    log: Arc<CertificateLog>,
    client_certificate: Arc<dyn rustls::client::ResolvesClientCert>,
) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let webpki = WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone())
        .build()
        .map_err(|e| format!("no usable trust store: {e}"))?;
    let verifier = Arc::new(PinningVerifier::new(webpki, host, pins, log));
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(client_certificate);
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_read_in_either_form() {
        let der = b"not really a certificate";
        let shown = fingerprint(der);
        assert_eq!(shown.len(), 32 * 3 - 1, "AB:CD:… form: {shown}");
        let parsed = parse_fingerprint(&shown).expect("its own form");
        assert_eq!(parse_fingerprint(&shown.replace(':', "").to_lowercase()), Some(parsed), "no colons, lowercase");
        assert_eq!(parse_fingerprint("AB:CD"), None, "too short");
        assert_eq!(
            normalize_fingerprint(&shown.replace(':', "").to_lowercase()),
            Some(shown.clone()),
            "stored one way"
        );
        assert_eq!(parse_fingerprint(&"ZZ".repeat(32)), None, "not hex");
    }

    #[test]
    fn a_certificate_is_described_by_subject_issuer_and_validity() {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(vec!["cloud.example.com".into()]).expect("params");
        params.distinguished_name.push(rcgen::DnType::CommonName, "cloud.example.com");
        let certificate = params.self_signed(&key).expect("self-signed");
        let info = describe(certificate.der());
        assert!(info.subject.contains("cloud.example.com"), "{info:?}");
        assert_eq!(info.subject, info.issuer, "self-signed: issued by itself");
        assert!(!info.not_before.is_empty() && !info.not_after.is_empty(), "{info:?}");
        assert_eq!(info.sha256, fingerprint(certificate.der()));
        assert_eq!(describe(b"junk").subject, "(unreadable certificate)");
    }
}
