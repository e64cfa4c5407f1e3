//! Certificates against the lookup server's self-signed one (`tls = true`): an untrusted
//! certificate is a decision showing what to check, trusting pins exactly it for the account,
//! re-verify honours the pin, a changed certificate is refused loudly, a wrong host is named.

use homeport_engine::certificate::CertificateProblem;
use homeport_engine::{ConnectError, Credentials, Decision, ErrorCode, Secret, Step, Wizard, WizardOptions};
use homeport_lookup::Scenario;

use crate::{instance_origin, lookup, options, PASSWORD};

#[tokio::test]
async fn an_untrusted_certificate_is_a_decision_then_pinned_for_the_account_only() {
    let server = lookup(Scenario { tls: true, ..Scenario::default() }).await;
    let expected = server.description()["tls_certificate_sha256"].as_str().expect("a fingerprint").to_owned();
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
    let Step::Connected(connected) = wizard.next().await.expect("trusted: connected") else { panic!("connected") };
    assert_eq!(connected.account.trusted_certificates, [expected], "pinned with the account");

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
    let pin = first.description()["tls_certificate_sha256"].as_str().expect("fingerprint").to_owned();
    first.shutdown().await;
    // The server now presents another certificate (a new lookup server, a new key).
    let changed = lookup(Scenario { tls: true, ..Scenario::default() }).await;
    let options = WizardOptions {
        http: homeport_engine::HttpConfig { pinned_certificates: vec![pin.clone()], ..Default::default() },
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
