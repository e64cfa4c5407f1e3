//! Certificates against the lookup server's self-signed one (`tls = true`): an untrusted
//! certificate is a decision showing what to check, trusting pins exactly it for the account,
//! re-verify honours the pin, a changed certificate is refused loudly, a wrong host is named.

use homeport_engine::certificate::{CertificatePin, CertificateProblem};
use homeport_engine::{ConnectError, Credentials, Decision, ErrorCode, Secret, Step, Wizard, WizardOptions};
use homeport_lookup::Scenario;

use crate::{instance_origin, lookup, options, PASSWORD};

#[tokio::test]
async fn an_untrusted_certificate_is_a_decision_then_pinned_for_the_account_only() {
    let server = lookup(Scenario { tls: true, ..Scenario::default() }).await;
    let expected = server.description().tls_certificate_sha256.expect("a fingerprint");
    // No extra roots: the self-signed certificate is untrusted, as on a person's computer.
    let mut wizard = Wizard::new(server.central_url().as_str(), WizardOptions::default()).expect("valid address");
    wizard.set_credentials(Credentials::new("test@instance2.com", Secret::new(PASSWORD)));
    wizard.approve_origin(instance_origin(&server, "instance2"));
    let step = wizard.next().await.expect("a decision, not an error");
    let Step::Decide(Decision::TrustCertificate { url, certificate }) = step else {
        panic!("an untrusted certificate asks: {step:?}")
    };
    assert!(url.starts_with(server.central_url().as_str()), "where: {url}");
    assert_eq!(certificate.sha256, expected, "the fingerprint to compare with the administrator's");
    assert!(!certificate.subject.is_empty() && !certificate.issuer.is_empty(), "subject and issuer: {certificate:?}");
    assert!(!certificate.not_after.is_empty(), "validity: {certificate:?}");
    assert!(server.requests().is_empty(), "the handshake failed before any request, credentials included");

    let declined = Decision::TrustCertificate { url: url.clone(), certificate: certificate.clone() }.declined();
    assert_eq!(declined.code(), ErrorCode::Tls, "declining is a TLS refusal");

    wizard.trust_certificate(&certificate.sha256).expect("a fingerprint");
    // The instance presents the same certificate at another port: a pin holds at its host:port only.
    let step = wizard.next().await.expect("a decision for the instance");
    let Step::Decide(Decision::TrustCertificate { url: at_instance, certificate: same }) = step else {
        panic!("the same certificate at another port is asked about again: {step:?}")
    };
    assert!(at_instance.starts_with(server.instance_urls()["instance2"].as_str()), "at the instance: {at_instance}");
    assert_eq!(same.sha256, expected, "the same certificate");
    wizard.trust_certificate(&same.sha256).expect("a fingerprint");
    let Step::Connected(connected) = wizard.next().await.expect("trusted: connected") else { panic!("connected") };
    let pinned: Vec<(String, String)> =
        connected.account.trusted_certificates.iter().map(|pin| (pin.authority.clone(), pin.sha256.clone())).collect();
    let authority = |url: &url::Url| format!("127.0.0.1:{}", url.port().expect("port"));
    assert_eq!(
        pinned,
        [
            (authority(server.central_url()), expected.clone()),
            (authority(&server.instance_urls()["instance2"]), expected.clone())
        ],
        "pinned with the account, each at its host:port"
    );

    let mut again =
        Wizard::for_account(&connected.account, connected.secret.clone(), WizardOptions::default()).expect("re-verify");
    assert!(matches!(again.next().await, Ok(Step::Connected(_))), "the pin is honoured on re-verify");

    let mut other = Wizard::new(server.central_url().as_str(), WizardOptions::default()).expect("valid address");
    assert!(
        matches!(other.next().await, Ok(Step::Decide(Decision::TrustCertificate { .. }))),
        "the pin belongs to the account, not to the computer: a new connection asks again"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_changed_certificate_is_refused_loudly_never_accepted() {
    let first = lookup(Scenario { tls: true, ..Scenario::default() }).await;
    let pin = first.description().tls_certificate_sha256.expect("fingerprint");
    first.shutdown().await;
    // The server now presents another certificate (a new lookup server, a new key).
    let changed = lookup(Scenario { tls: true, ..Scenario::default() }).await;
    let options = WizardOptions {
        http: homeport_engine::HttpConfig {
            pinned_certificates: vec![CertificatePin::at(changed.central_url(), &pin).expect("a pin")],
            ..Default::default()
        },
        ..WizardOptions::default()
    };
    let mut wizard = Wizard::new(changed.central_url().as_str(), options).expect("valid address");
    let error = wizard.next().await.expect_err("a changed certificate is an error, not a question");
    let ConnectError::CertificateChanged { certificate, .. } = &error else { panic!("changed: {error:?}") };
    assert_ne!(certificate.sha256, pin, "it names the new certificate");
    assert!(error.to_string().contains("CHANGED"), "loud: {error}");
    assert_eq!(error.code(), ErrorCode::Tls);
    changed.shutdown().await;
}

#[tokio::test]
async fn a_certificate_for_other_hosts_is_named_as_such() {
    let server = lookup(Scenario { tls: true, ..Scenario::default() }).await;
    let port = server.central_url().port().expect("port");
    // Trusted issuer (the test trusts the lookup server's certificate), but not issued for this name.
    let url = format!("https://not-on-the-certificate.localhost:{port}/");
    let mut wizard = Wizard::new(&url, options(&server)).expect("valid address");
    let error = wizard.next().await.expect_err("wrong host");
    let ConnectError::CertificateInvalid { problem, .. } = &error else { panic!("a named problem: {error:?}") };
    assert_eq!(*problem, CertificateProblem::WrongHost);
    assert!(error.to_string().contains("other host names"), "{error}");
    server.shutdown().await;
}

/// A TLS server on 127.0.0.1 presenting `certificate` (and its key) to every connection, answering
/// nothing: the handshake is all these tests need. Bounded: it serves until dropped.
async fn tls_server(certificate: &rcgen::Certificate, key: &rcgen::KeyPair) -> (u16, tokio::task::JoinHandle<()>) {
    tls_server_der(certificate.der().clone(), key).await
}

/// [`tls_server`] for certificate bytes as given (possibly altered).
async fn tls_server_der(
    der: rustls::pki_types::CertificateDer<'static>,
    key: &rcgen::KeyPair,
) -> (u16, tokio::task::JoinHandle<()>) {
    use std::sync::Arc;
    let private = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).expect("a private key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_no_client_auth()
        .with_single_cert(vec![der], private)
        .expect("a server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let task = tokio::spawn(async move {
        for _ in 0..16 {
            let Ok((stream, _)) = listener.accept().await else { return };
            // The client refuses the certificate: the handshake fails, which is the point.
            let _ = acceptor.accept(stream).await;
        }
    });
    (port, task)
}

#[tokio::test]
async fn an_expired_certificate_is_named_even_from_a_trusted_issuer() {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()]).expect("params");
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let certificate = params.self_signed(&key).expect("certificate");
    let (port, server) = tls_server(&certificate, &key).await;
    // Its issuer is trusted (the test adds it as a root): only the dates are wrong.
    let options = WizardOptions {
        http: homeport_engine::HttpConfig {
            extra_root_certificates: vec![certificate.der().to_vec()],
            ..Default::default()
        },
        ..WizardOptions::default()
    };
    let mut wizard = Wizard::new(&format!("https://127.0.0.1:{port}/"), options).expect("valid address");
    let error = wizard.next().await.expect_err("expired");
    let ConnectError::CertificateInvalid { problem, certificate: shown, .. } = &error else {
        panic!("a named problem: {error:?}")
    };
    assert_eq!(*problem, CertificateProblem::Expired, "{error}");
    assert!(shown.not_after.contains("2021"), "the validity is shown: {shown:?}");
    assert!(error.to_string().contains("has expired"), "{error}");
    server.abort();
}

#[tokio::test]
async fn a_certificate_signed_with_an_unsupported_algorithm_is_named_weak() {
    let key = rcgen::KeyPair::generate().expect("P-256 key");
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".into()]).expect("params");
    let certificate = params.self_signed(&key).expect("certificate");
    // ecdsa-with-SHA256 (1.2.840.10045.4.3.2) → ecdsa-with-SHA224 (…4.3.1), which no one should
    // accept any more and rustls does not: in the signed part and in the outer algorithm.
    let sha256 = [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02];
    let mut der = certificate.der().to_vec();
    let mut replaced = 0;
    for start in 0..der.len().saturating_sub(sha256.len()) {
        if der[start..start + sha256.len()] == sha256 {
            der[start + sha256.len() - 1] = 0x01;
            replaced += 1;
        }
    }
    assert_eq!(replaced, 2, "both algorithm identifiers were rewritten");
    let weak = rustls::pki_types::CertificateDer::from(der);
    let (port, server) = tls_server_der(weak.clone(), &key).await;
    let options = WizardOptions {
        http: homeport_engine::HttpConfig { extra_root_certificates: vec![weak.to_vec()], ..Default::default() },
        ..WizardOptions::default()
    };
    let mut wizard = Wizard::new(&format!("https://127.0.0.1:{port}/"), options).expect("valid address");
    let error = wizard.next().await.expect_err("a weak signature");
    let ConnectError::CertificateInvalid { problem, .. } = &error else { panic!("a named problem: {error:?}") };
    assert_eq!(*problem, CertificateProblem::WeakSignature, "{error}");
    assert!(error.to_string().contains("weak or unknown algorithm"), "{error}");
    server.abort();
}

#[tokio::test]
async fn a_certificate_trusted_at_one_host_and_port_is_asked_about_at_any_other() {
    // Two servers presenting one self-signed certificate: the lookup server's central server and
    // its instances (same certificate, other ports); `localhost` is the same server by another name.
    let server = lookup(Scenario { tls: true, ..Scenario::default() }).await;
    let port = server.central_url().port().expect("port");
    let mut wizard = Wizard::new(server.central_url().as_str(), WizardOptions::default()).expect("valid address");
    let step = wizard.next().await.expect("a decision");
    let Step::Decide(Decision::TrustCertificate { certificate, .. }) = step else { panic!("untrusted: {step:?}") };
    wizard.trust_certificate(&certificate.sha256).expect("trusted at 127.0.0.1");
    let step = wizard.next().await.expect("the central server answers now");
    assert!(
        matches!(step, Step::Decide(Decision::NeedsCredentials { .. })),
        "trusted at 127.0.0.1:{port}: the probe gets through: {step:?}"
    );
    // What a re-verify does with an account trusted at 127.0.0.1:<port>, typed as another host
    // or port: the pin does not vouch there.
    let mut account = homeport_engine::Account {
        trusted_certificates: vec![CertificatePin::at(server.central_url(), &certificate.sha256).expect("pin")],
        client_certificate: None,
        ..stored_account(&server)
    };
    for elsewhere in [format!("https://localhost:{port}/"), server.instance_urls()["instance2"].to_string()] {
        account.entered_address = elsewhere.clone();
        let mut again = Wizard::for_account(&account, Secret::new(PASSWORD), WizardOptions::default()).expect("wizard");
        let step = again.next().await;
        let Ok(Step::Decide(Decision::TrustCertificate { url, certificate: shown })) = step else {
            panic!("{elsewhere}: a certificate pinned for 127.0.0.1:{port} is not trusted here: {step:?}")
        };
        assert!(url.starts_with(&elsewhere), "asked for {elsewhere}: {url}");
        assert_eq!(shown.sha256, certificate.sha256, "the same certificate");
    }
    server.shutdown().await;
}

/// An ownCloud account as the store holds it, at the lookup server's central server.
fn stored_account(server: &homeport_lookup::LookupServer) -> homeport_engine::Account {
    let central = homeport_engine::ServerUrl::from_url(server.central_url().clone()).expect("a server URL");
    homeport_engine::Account {
        id: "acct-test".into(),
        kind: homeport_engine::AccountKind::Owncloud,
        entered_address: central.to_string(),
        server_url: central.clone(),
        instance_url: central,
        redirect_permanent: false,
        login_name: "test@instance2.com".into(),
        user_id: "test".into(),
        display_name: "test".into(),
        auth_method: homeport_engine::AuthMethod::Basic,
        product: String::new(),
        version: String::new(),
        trusted_certificates: Vec::new(),
        client_certificate: None,
        created_at: 0,
        verified_at: 0,
        tenant: None,
        oidc: None,
        matrix: None,
    }
}
