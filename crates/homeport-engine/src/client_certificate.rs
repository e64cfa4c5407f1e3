//! Client certificates (mutual TLS): a person's identity from a PKCS#12 file and its password,
//! presented to the servers of one account only, and the record of servers that asked for one.
//!
//! [`ClientIdentity::load`] reads the file (p12-keystore, pure Rust: PBES2/AES as OpenSSL 3
//! writes it, and the older 3DES/RC2 files) into rustls's key and chain. A wrong password is
//! [`ClientCertificateError::WrongPassword`], named with the file. The HTTP client builds one
//! connection configuration per `host:port` the identity is for ([`crate::http`]): no other
//! server ever sees the certificate, which names the person (docs/security.md#client-certificates).
//! Every other configuration carries an [`IdentityResolver`] without a key that notes, in a
//! [`ClientCertificateLog`], that a server asked — so a refused handshake becomes
//! [`crate::Decision::ClientCertificate`] instead of a TLS error.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rustls::client::ResolvesClientCert;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;
use rustls::SignatureScheme;
use serde::{Deserialize, Serialize};

use crate::certificate::{describe, CertificateInfo};
use crate::secret::Secret;

/// Why a PKCS#12 file gives no identity. Each names the file; none carries the password.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientCertificateError {
    #[error("the password does not open the certificate file {file} (PKCS#12): check it and try again")]
    WrongPassword { file: String },
    #[error("could not read the certificate file {file}: {reason}")]
    Unreadable { file: String, reason: String },
    #[error("{file} is not a PKCS#12 certificate file (.p12/.pfx): {reason}")]
    NotPkcs12 { file: String, reason: String },
    #[error("{file} holds no private key with its certificate; export the certificate together with its key (openssl pkcs12 -export -inkey …)")]
    NoKey { file: String },
    #[error("the key in {file} cannot be used: {reason}")]
    UnusableKey { file: String, reason: String },
}

impl ClientCertificateError {
    pub fn file(&self) -> &str {
        match self {
            ClientCertificateError::WrongPassword { file }
            | ClientCertificateError::Unreadable { file, .. }
            | ClientCertificateError::NotPkcs12 { file, .. }
            | ClientCertificateError::NoKey { file }
            | ClientCertificateError::UnusableKey { file, .. } => file,
        }
    }
}

/// The certificate an account presents, as accounts.json keeps it: the file (read again at each
/// re-verify, its password in the keyring), what it is, and the `host:port`s it is presented to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ClientCertificateRef {
    /// The PKCS#12 file, as an absolute path.
    pub file: String,
    /// The certificate's subject (`CN=alice, O=Example`).
    pub subject: String,
    pub issuer: String,
    /// `AB:CD:…` of the certificate.
    pub sha256: String,
    /// The `host:port`s it is presented to (the account's servers that asked for it).
    pub servers: Vec<String>,
}

/// A key and its certificate chain from a PKCS#12 file, and the servers it is for. `Debug` shows
/// the file and the certificate, never the key or the password.
#[derive(Clone)]
pub struct ClientIdentity {
    pub file: PathBuf,
    /// The leaf certificate.
    pub certificate: CertificateInfo,
    /// Kept for the keyring: the account stores it beside its own secret.
    pub password: Secret,
    /// `host:port`s (see [`crate::certificate::authority`]) it is presented to; no other server
    /// sees it.
    pub servers: Vec<String>,
    key: Arc<CertifiedKey>,
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("file", &self.file)
            .field("subject", &self.certificate.subject)
            .field("sha256", &self.certificate.sha256)
            .field("servers", &self.servers)
            .finish_non_exhaustive()
    }
}

impl ClientIdentity {
    /// Reads `file` (PKCS#12) with `password`. The path is made absolute, so the account finds
    /// the file again from any working directory.
    pub fn load(file: &Path, password: &Secret) -> Result<Self, ClientCertificateError> {
        let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_owned());
        let shown = absolute.display().to_string();
        let bytes = std::fs::read(&absolute)
            .map_err(|e| ClientCertificateError::Unreadable { file: shown.clone(), reason: e.to_string() })?;
        let mut identity = Self::from_pkcs12(&bytes, password, &shown)?;
        identity.file = absolute;
        Ok(identity)
    }

    /// The identity in the PKCS#12 bytes; `file` only names them in errors.
    pub fn from_pkcs12(bytes: &[u8], password: &Secret, file: &str) -> Result<Self, ClientCertificateError> {
        let store = p12_keystore::KeyStore::from_pkcs12(bytes, password.expose()).map_err(|e| match e {
            // The MAC over the file is keyed by the password: a mismatch is a wrong password
            // (or a damaged file, which the same words cover well enough).
            p12_keystore::error::Error::MacError(_) => ClientCertificateError::WrongPassword { file: file.to_owned() },
            // Without a MAC, a wrong password shows as undecryptable or unpaddable contents.
            p12_keystore::error::Error::UnpadError | p12_keystore::error::Error::Pkcs5Error(_) => {
                ClientCertificateError::WrongPassword { file: file.to_owned() }
            }
            other => ClientCertificateError::NotPkcs12 { file: file.to_owned(), reason: other.to_string() },
        })?;
        let Some((_, chain)) = store.private_key_chain() else {
            return Err(ClientCertificateError::NoKey { file: file.to_owned() });
        };
        let certificates: Vec<CertificateDer<'static>> =
            chain.chain().iter().map(|certificate| CertificateDer::from(certificate.as_der().to_vec())).collect();
        let Some(leaf) = certificates.first() else {
            return Err(ClientCertificateError::NoKey { file: file.to_owned() });
        };
        let certificate = describe(leaf.as_ref());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().to_vec()));
        let provider = rustls::crypto::ring::default_provider();
        let key = CertifiedKey::from_der(certificates, key, &provider)
            .map_err(|e| ClientCertificateError::UnusableKey { file: file.to_owned(), reason: e.to_string() })?;
        Ok(ClientIdentity {
            file: PathBuf::from(file),
            certificate,
            password: password.clone(),
            servers: Vec::new(),
            key: Arc::new(key),
        })
    }

    /// Also presented to `server` (`host:port`).
    pub fn add_server(&mut self, server: &str) {
        if !server.is_empty() && !self.servers.iter().any(|known| known == server) {
            self.servers.push(server.to_owned());
        }
    }

    pub fn is_for(&self, server: &str) -> bool {
        self.servers.iter().any(|known| known == server)
    }

    /// What accounts.json keeps of it.
    pub fn stored(&self) -> ClientCertificateRef {
        ClientCertificateRef {
            file: self.file.display().to_string(),
            subject: self.certificate.subject.clone(),
            issuer: self.certificate.issuer.clone(),
            sha256: self.certificate.sha256.clone(),
            servers: self.servers.clone(),
        }
    }
}

/// Servers that asked for a certificate where the connection had none to give. rustls tells a
/// resolver neither the server's name nor the connection, so the count tells a request whether
/// a server asked while it ran ([`crate::http`] compares it before and after).
#[derive(Debug, Default)]
pub struct ClientCertificateLog {
    asked: AtomicU64,
    /// The authorities the last asking server accepts certificates from (RFC 8446 §4.2.4).
    issuers: Mutex<Vec<String>>,
}

impl ClientCertificateLog {
    pub fn asked(&self) -> u64 {
        self.asked.load(Ordering::SeqCst)
    }

    /// The certificate authorities the last server that asked named.
    pub fn issuers(&self) -> Vec<String> {
        self.issuers.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    fn note(&self, hints: &[&[u8]]) {
        let names: Vec<String> = hints.iter().take(16).map(|der| distinguished_name(der)).collect();
        *self.issuers.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = names;
        self.asked.fetch_add(1, Ordering::SeqCst);
    }
}

/// A DER `Name` in words. rustls documents the hints as the Name without its outer SEQUENCE;
/// both forms are read, whichever gives a name.
fn distinguished_name(der: &[u8]) -> String {
    let parse = |bytes: &[u8]| {
        x509_parser::x509::X509Name::from_der(bytes)
            .ok()
            .map(|(_, name)| name.to_string())
            .filter(|name| !name.is_empty())
    };
    let mut wrapped = vec![0x30];
    let length = der.len();
    match length {
        0..=0x7f => wrapped.push(length as u8),
        0x80..=0xff => wrapped.extend([0x81, length as u8]),
        _ => wrapped.extend([0x82, (length >> 8) as u8, length as u8]),
    }
    wrapped.extend_from_slice(der);
    parse(&wrapped).or_else(|| parse(der)).unwrap_or_else(|| "(an authority name Homeport cannot read)".into())
}

use x509_parser::prelude::FromDer as _;

/// rustls asks this when a server sends a CertificateRequest: the identity's key if the
/// connection is to one of its servers, else nothing — and the log notes that a server asked.
#[derive(Debug)]
pub struct IdentityResolver {
    key: Option<Arc<CertifiedKey>>,
    log: Arc<ClientCertificateLog>,
}

impl IdentityResolver {
    pub fn new(identity: Option<&ClientIdentity>, log: Arc<ClientCertificateLog>) -> Self {
        IdentityResolver { key: identity.map(|identity| identity.key.clone()), log }
    }
}

impl ResolvesClientCert for IdentityResolver {
    fn resolve(&self, root_hint_subjects: &[&[u8]], _sigschemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        if self.key.is_none() {
            self.log.note(root_hint_subjects);
        }
        self.key.clone()
    }

    fn has_certs(&self) -> bool {
        self.key.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk_is_no_pkcs12_file_and_says_which_file() {
        let error = ClientIdentity::from_pkcs12(b"not a p12", &Secret::new("pw"), "/tmp/x.p12")
            .expect_err("junk is not an identity");
        assert!(matches!(error, ClientCertificateError::NotPkcs12 { .. }), "{error:?}");
        assert!(error.to_string().contains("/tmp/x.p12"), "the file is named: {error}");
    }

    #[test]
    fn a_missing_file_is_named() {
        let error =
            ClientIdentity::load(Path::new("/nonexistent/alice.p12"), &Secret::new("pw")).expect_err("no such file");
        assert!(matches!(error, ClientCertificateError::Unreadable { .. }), "{error:?}");
        assert!(error.to_string().contains("/nonexistent/alice.p12"), "{error}");
    }

    #[test]
    fn authority_hints_read_as_names() {
        let mut params = rcgen::CertificateParams::new(vec!["ca".into()]).expect("params");
        params.distinguished_name.push(rcgen::DnType::CommonName, "Example Client CA");
        let der = params.distinguished_name.clone();
        let key = rcgen::KeyPair::generate().expect("key");
        let certificate = params.self_signed(&key).expect("ca");
        let (_, parsed) = x509_parser::parse_x509_certificate(certificate.der()).expect("parses");
        // The subject as rustls hands it: the contents of the Name's SEQUENCE.
        let raw = parsed.subject().as_raw();
        let inner = &raw[2..];
        assert!(distinguished_name(inner).contains("Example Client CA"), "{der:?}");
    }
}
