//! The self-signed certificate every server of a TLS scenario presents, and the acceptor that serves it.

use std::fmt::Write as _;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};
use tokio_rustls::TlsAcceptor;

use crate::error::LookupError;
use crate::matrix::MATRIX_HOSTS;

/// The names a local client may use to reach the servers; the IPs become real IP SANs (rcgen parses them).
/// The Matrix hosts ([`MATRIX_HOSTS`]) are added one by one: a wildcard right under `localhost` is one clients
/// refuse.
const SUBJECT_ALT_NAMES: [&str; 5] = ["localhost", "127.0.0.1", "::1", "*.auth.localhost", "*.approuter.localhost"];

/// One generated certificate with its ready-to-use acceptor.
#[derive(Clone)]
pub(crate) struct SelfSignedTls {
    certificate_der: CertificateDer<'static>,
    acceptor: TlsAcceptor,
}

impl SelfSignedTls {
    pub(crate) fn generate() -> Result<Self, LookupError> {
        let subject_alt_names: Vec<String> =
            SUBJECT_ALT_NAMES.iter().chain(MATRIX_HOSTS.iter()).map(|name| (*name).to_owned()).collect();
        let generated =
            rcgen::generate_simple_self_signed(subject_alt_names).map_err(|error| LookupError::Tls(Box::new(error)))?;
        let certificate_der = generated.cert.der().clone();
        let private_key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(generated.key_pair.serialize_der()));

        // An explicit provider: the process may have no default installed, or a different one (the engine's).
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| LookupError::Tls(Box::new(error)))?
            .with_no_client_auth()
            .with_single_cert(vec![certificate_der.clone()], private_key)
            .map_err(|error| LookupError::Tls(Box::new(error)))?;
        // HTTP/2 first, as real servers offer it (a client that offers both gets HTTP/2), HTTP/1.1 for a client
        // that offers only that; serve.rs serves what was chosen.
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];

        Ok(SelfSignedTls { certificate_der, acceptor: TlsAcceptor::from(Arc::new(config)) })
    }

    pub(crate) fn certificate_der(&self) -> &[u8] {
        self.certificate_der.as_ref()
    }

    pub(crate) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }

    /// The fingerprint a person compares when asked to trust the certificate.
    pub(crate) fn sha256_fingerprint(&self) -> String {
        sha256_fingerprint(self.certificate_der())
    }
}

/// Uppercase hex SHA-256 with `:` separators, the form browsers and the engine's trust decision show.
pub(crate) fn sha256_fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    let mut out = String::with_capacity(digest.len() * 3);
    for (index, byte) in digest.iter().enumerate() {
        if index > 0 {
            out.push(':');
        }
        // Writing into a String cannot fail.
        let _ = write!(out, "{byte:02X}");
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::{ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::*;
    use crate::testing::{client, start};
    use crate::Scenario;

    #[test]
    fn fingerprint_format() {
        let fingerprint = sha256_fingerprint(b"");
        assert_eq!(
            fingerprint,
            "E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55",
            "uppercase hex pairs joined by colons, SHA-256 of the DER"
        );
    }

    /// Accepts any certificate and remembers the one presented, so the test sees exactly what was served.
    #[derive(Debug, Default)]
    struct CapturingVerifier {
        presented: Mutex<Option<Vec<u8>>>,
    }

    impl ServerCertVerifier for CapturingVerifier {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            if let Ok(mut presented) = self.presented.lock() {
                *presented = Some(end_entity.as_ref().to_vec());
            }
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            _message: &[u8],
            _cert: &CertificateDer<'_>,
            _dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }

        fn verify_tls13_signature(
            &self,
            _message: &[u8],
            _cert: &CertificateDer<'_>,
            _dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            rustls::crypto::ring::default_provider().signature_verification_algorithms.supported_schemes()
        }
    }

    /// Connects with rustls directly and returns the DER of the certificate the server presented.
    async fn presented_certificate(address: std::net::SocketAddr) -> Vec<u8> {
        let verifier = Arc::new(CapturingVerifier::default());
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = TcpStream::connect(address).await.expect("the TLS listener accepts connections");
        let server_name = ServerName::try_from("localhost").expect("localhost is a valid server name");
        let _tls = connector.connect(server_name, tcp).await.expect("the TLS handshake succeeds");
        let presented = verifier.presented.lock().expect("verifier lock").clone();
        presented.expect("the server presented a certificate")
    }

    fn socket_address(url: &url::Url) -> std::net::SocketAddr {
        url.socket_addrs(|| None)
            .expect("the server URL names a socket address")
            .into_iter()
            .next()
            .expect("one socket address")
    }

    #[tokio::test]
    async fn served_certificate_matches_the_description() {
        let server = start(Scenario { tls: true, ..Scenario::default() }).await;
        let description = server.description().to_json();
        let described = description["tls_certificate_sha256"]
            .as_str()
            .expect("a TLS scenario describes its certificate fingerprint")
            .to_owned();
        assert_eq!(
            Some(described.clone()),
            server.certificate_der().map(|der| sha256_fingerprint(&der)),
            "the described fingerprint is the one of certificate_der()"
        );
        let mut urls = vec![server.central_url().clone()];
        urls.extend(server.instance_urls().values().cloned());
        for url in urls {
            assert_eq!(url.scheme(), "https", "every server of a TLS scenario is https: {url}");
            let presented = presented_certificate(socket_address(&url)).await;
            assert_eq!(
                sha256_fingerprint(&presented),
                described,
                "{url} must present the certificate whose fingerprint description() announces"
            );
        }
        server.shutdown().await;
    }

    #[tokio::test]
    async fn a_client_trusting_the_certificate_gets_status_over_https() {
        let server = start(Scenario { tls: true, ..Scenario::default() }).await;
        let der = server.certificate_der().expect("a TLS scenario has a certificate");
        let certificate = reqwest::Certificate::from_der(&der).expect("the certificate is valid DER");
        let trusting = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .tls_built_in_root_certs(false)
            .add_root_certificate(certificate)
            .build()
            .expect("a client trusting the mock's certificate");

        let response = trusting
            .get(server.central_url().join("status.php").expect("status URL"))
            .send()
            .await
            .expect("https with the trusted self-signed certificate must work (IP SAN 127.0.0.1)");
        assert_eq!(response.status(), 200, "status.php answers over https");
        let status: serde_json::Value = response.json().await.expect("status.php is JSON");
        assert_eq!(status["installed"], true, "the instance is installed");

        let untrusting = client();
        let refused = untrusting.get(server.central_url().join("status.php").expect("status URL")).send().await;
        assert!(refused.is_err(), "a client that does not trust the self-signed certificate must be refused");

        // The refused handshake above must not have stopped the listener.
        let again = trusting
            .get(server.central_url().join("status.php").expect("status URL"))
            .send()
            .await
            .expect("the server keeps serving after a failed handshake");
        assert_eq!(again.status(), 200, "status.php still answers after a failed handshake");
        server.shutdown().await;
    }

    /// HTTP/2 for a client that offers it by ALPN (reqwest with the certificate trusted), HTTP/1.1 for one that
    /// offers only that: the same answers either way.
    #[tokio::test]
    async fn clients_get_http2_when_they_offer_it_and_http1_when_not() {
        let server = start(Scenario { tls: true, ..Scenario::default() }).await;
        let der = server.certificate_der().expect("a TLS scenario has a certificate");
        let status = server.central_url().join("status.php").expect("status URL");
        for (http1_only, version) in [(false, reqwest::Version::HTTP_2), (true, reqwest::Version::HTTP_11)] {
            let mut builder = reqwest::Client::builder()
                .no_proxy()
                .tls_built_in_root_certs(false)
                .add_root_certificate(reqwest::Certificate::from_der(&der).expect("the certificate is valid DER"));
            if http1_only {
                builder = builder.http1_only();
            }
            let client = builder.build().expect("a client trusting the mock's certificate");
            for _ in 0..2 {
                let response = client.get(status.clone()).send().await.expect("status.php over https");
                assert_eq!(response.version(), version, "http1_only {http1_only}: the protocol the server chose");
                assert_eq!(response.status(), 200, "status.php answers over {version:?}");
            }
        }
        assert_eq!(
            server.connections_used().get("central").copied(),
            Some(crate::ConnectionsUsed { http1: 1, http2: 1 }),
            "one connection per client, each kept for its second request: {:?}",
            server.connections_used()
        );
        server.shutdown().await;
    }

    #[tokio::test]
    async fn garbage_instead_of_a_handshake_does_not_stop_the_server() {
        let server = start(Scenario { tls: true, ..Scenario::default() }).await;
        let address = socket_address(server.central_url());
        let mut plain = TcpStream::connect(address).await.expect("connect");
        // Plain HTTP to a TLS port: the handshake fails on the server side.
        plain.write_all(b"GET /status.php HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("write");
        let mut buffer = Vec::new();
        let _ = plain.read_to_end(&mut buffer).await;

        let presented = presented_certificate(address).await;
        assert_eq!(
            Some(presented),
            server.certificate_der(),
            "the listener still completes handshakes after a failed one"
        );
        server.shutdown().await;
    }
}
