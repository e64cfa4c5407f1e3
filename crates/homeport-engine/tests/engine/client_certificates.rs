//! Client certificates (mutual TLS) against real servers that demand one, started here:
//! `openssl s_server -Verify 1` (TLS 1.3 and 1.2) and nginx with `ssl_verify_client on` in front
//! of a lookup-server instance. Without a certificate: a decision naming the server, not a TLS
//! error; with one: connected; a wrong password is named; re-verify presents it again; the
//! certificate goes to its servers only. docs/security.md#client-certificates.

use homeport_engine::client_certificate::{ClientCertificateError, ClientIdentity};
use homeport_engine::http::{HttpClient, HttpRequest};
use homeport_engine::{
    ops, AccountStore, Answer, ConnectError, Credentials, Decision, ErrorCode, ErrorReason, HttpConfig, Participant,
    Secret, Step, StoreError, Trace, Wizard, WizardOptions,
};
use homeport_lookup::testing::mtls::{MtlsServer, Pki, CLIENT_P12_PASSWORD};
use homeport_lookup::Scenario;

use crate::{lookup, PASSWORD};

fn trusting(pki: &Pki) -> WizardOptions {
    let http = HttpConfig { extra_root_certificates: vec![pki.ca_der()], ..HttpConfig::default() };
    WizardOptions { http, ..WizardOptions::default() }
}

fn password() -> Secret {
    Secret::new(CLIENT_P12_PASSWORD)
}

/// A GET through the engine's client: the s_server page, or the error.
async fn get(http: HttpConfig, url: &url::Url) -> Result<String, ConnectError> {
    let client = HttpClient::new(http, Trace::new(None))?;
    let request = HttpRequest::new(reqwest::Method::GET, url.clone(), Participant::Lookup);
    client.send(&request, 1).await.map(|response| String::from_utf8_lossy(&response.body).into_owned())
}

async fn asks_then_connects_over(tls12: bool) {
    let pki = Pki::new();
    let server = MtlsServer::openssl(&pki, tls12);
    let mut options = trusting(&pki);
    // s_server -WWW serves GETs only and waits on anything else: a bound, so the PROPFIND after
    // status.php ends soon.
    options.http.timeout = std::time::Duration::from_secs(3);
    let mut wizard = Wizard::new(server.url().as_str(), options).expect("valid address");
    let step = wizard.next().await.expect("a decision, not a TLS error");
    let Step::Decide(Decision::ClientCertificate { server: asking, issuers, url }) = step else {
        panic!("a server demanding a certificate asks for one (tls12: {tls12}): {step:?}")
    };
    assert_eq!(asking, server.authority(), "the decision names the server that asks");
    assert!(url.starts_with(server.url().as_str()), "and where: {url}");
    assert!(
        issuers.iter().any(|issuer| issuer.contains("Homeport Test CA")),
        "the authorities the server accepts, as it said: {issuers:?}"
    );
    let declined = Decision::ClientCertificate { url, server: asking.clone(), issuers }.declined();
    assert_eq!(declined.code(), ErrorCode::Tls, "declining is a TLS refusal: {declined}");
    assert_eq!(declined.reason(), Some(ErrorReason::ClientCertificateRequired));
    assert!(declined.to_string().contains(&asking), "the refusal names the server: {declined}");

    // A wrong password is refused and named, with the file; nothing is presented.
    let file = pki.client_p12().display().to_string();
    let wrong = wizard
        .answer(Answer::ClientCertificate { file: file.clone(), password: Secret::new("wrong") })
        .expect_err("a wrong password opens nothing");
    assert!(
        matches!(&wrong, ConnectError::ClientCertificate(ClientCertificateError::WrongPassword { file: named }) if *named == file),
        "the wrong password is named, with the file: {wrong:?}"
    );
    assert!(wrong.to_string().contains("password") && wrong.to_string().contains(&file), "{wrong}");
    assert_eq!(wrong.reason(), Some(ErrorReason::ClientCertificatePassword), "the desktop asks again on it");

    wizard.answer(Answer::ClientCertificate { file, password: password() }).expect("the right password opens it");
    // s_server serves an ownCloud status.php: with the certificate the wizard reads it, then
    // PROPFINDs, which s_server does not answer.
    let after = wizard.next().await.expect_err("s_server answers GETs only");
    assert_ne!(after.code(), ErrorCode::Tls, "with the certificate the handshake succeeds (tls12: {tls12}): {after}");
    let status = wizard.trace().exchanges().into_iter().rev().find(|exchange| exchange.url.ends_with("/status.php"));
    assert_eq!(
        status.and_then(|exchange| exchange.status),
        Some(200),
        "status.php was read over mutual TLS (tls12: {tls12})"
    );
}

#[tokio::test]
async fn a_server_that_demands_a_certificate_is_a_decision_then_connects_with_it_tls13() {
    asks_then_connects_over(false).await;
}

#[tokio::test]
async fn a_server_that_demands_a_certificate_is_a_decision_then_connects_with_it_tls12() {
    asks_then_connects_over(true).await;
}

#[tokio::test]
async fn the_certificate_is_presented_to_its_servers_only() {
    let pki = Pki::new();
    let server = MtlsServer::openssl(&pki, false);
    let mut identity = ClientIdentity::load(&pki.client_p12(), &password()).expect("the PKCS#12 file opens");
    assert!(identity.certificate.subject.contains("alice"), "{:?}", identity.certificate);
    assert!(!format!("{identity:?}").contains(CLIENT_P12_PASSWORD), "Debug hides the password: {identity:?}");
    let roots = vec![pki.ca_der()];

    identity.add_server("127.0.0.1:1");
    let elsewhere = HttpConfig {
        extra_root_certificates: roots.clone(),
        client_identity: Some(identity.clone()),
        ..HttpConfig::default()
    };
    let refused = get(elsewhere, &server.url()).await.expect_err("not presented to another server");
    assert!(matches!(refused, ConnectError::ClientCertificateRequired { .. }), "{refused:?}");

    identity.add_server(&server.authority());
    let here = HttpConfig { extra_root_certificates: roots, client_identity: Some(identity), ..HttpConfig::default() };
    let status = server.url().join("status.php").expect("url");
    let page = get(here, &status).await.expect("the server accepts the certificate");
    assert!(page.contains("ownCloud"), "s_server served status.php over mutual TLS: {page}");
}

#[tokio::test]
async fn a_certificate_the_server_does_not_accept_is_named_as_refused() {
    let pki = Pki::new();
    let server = MtlsServer::openssl(&pki, false);
    let mut identity = ClientIdentity::load(&pki.stranger_p12(), &password()).expect("the PKCS#12 file opens");
    identity.add_server(&server.authority());
    let http = HttpConfig {
        extra_root_certificates: vec![pki.ca_der()],
        client_identity: Some(identity),
        ..Default::default()
    };
    let refused = get(http, &server.url()).await.expect_err("another CA's certificate is refused");
    let ConnectError::ClientCertificateRefused { server: named, subject, .. } = &refused else {
        panic!("a refused certificate is named as such: {refused:?}")
    };
    assert_eq!(*named, server.authority());
    assert!(subject.contains("mallory"), "which certificate: {refused}");
    assert_eq!(refused.reason(), Some(ErrorReason::ClientCertificateRefused));
}

#[tokio::test]
async fn through_nginx_a_full_connect_stores_the_certificate_and_reverify_presents_it() {
    let pki = Pki::new();
    let lookup = lookup(Scenario::default()).await;
    let instance = lookup.instance_urls()["instance1"].clone();
    let nginx = MtlsServer::nginx(&pki, &instance);

    let mut wizard = Wizard::new(nginx.url().as_str(), trusting(&pki)).expect("valid address");
    wizard.set_credentials(Credentials::new("test@instance1.com", Secret::new(PASSWORD)));
    let step = wizard.next().await.expect("a decision, not nginx's 400 page as an error");
    let Step::Decide(Decision::ClientCertificate { server, .. }) = step else {
        panic!("nginx's 'No required SSL certificate was sent' asks for a certificate: {step:?}")
    };
    assert_eq!(server, nginx.authority());
    wizard
        .answer(Answer::ClientCertificate { file: pki.client_p12().display().to_string(), password: password() })
        .expect("the certificate opens");
    let Step::Connected(connected) = wizard.next().await.expect("connected through nginx") else {
        panic!("connected with the certificate")
    };
    // nginx offers HTTP/2 beside HTTP/1.1: the certificate is presented in the handshake, and
    // every request after it went over HTTP/2 with the certificate verified.
    let requests = nginx.requests();
    let verified: Vec<&String> = requests.iter().filter(|line| line.ends_with(" SUCCESS")).collect();
    assert!(
        !verified.is_empty() && verified.iter().all(|line| line.starts_with("HTTP/2.0 ")),
        "the wizard's requests with the certificate went over HTTP/2: {requests:?}"
    );
    let stored = connected.account.client_certificate.clone().expect("the account keeps its certificate");
    assert_eq!(stored.file, pki.client_p12().display().to_string(), "the file, to read again at re-verify");
    assert!(stored.subject.contains("alice"), "{stored:?}");
    assert_eq!(stored.servers, [nginx.authority()], "presented there only");
    assert_eq!(
        connected.client_certificate_password.as_ref().map(Secret::expose),
        Some(CLIENT_P12_PASSWORD),
        "its password goes to the keyring"
    );
    let json = serde_json::to_string(&connected.account).expect("serializes");
    assert!(!json.contains(CLIENT_P12_PASSWORD), "never in accounts.json: {json}");

    // Re-verify: the identity from the file (as ops::reverify loads it), at the account's servers.
    let identity = ClientIdentity::load(&pki.client_p12(), &password()).expect("opens");
    let mut options = trusting(&pki);
    options.http.client_identity = Some(identity);
    let mut again =
        Wizard::for_account(&connected.account, connected.secret.clone(), options).expect("a re-verify wizard");
    let step = again.next().await.expect("re-verified with the certificate");
    assert!(matches!(step, Step::Connected(_)), "re-verify presents the certificate: {step:?}");

    let mut without =
        Wizard::for_account(&connected.account, connected.secret.clone(), trusting(&pki)).expect("a re-verify wizard");
    let step = without.next().await;
    assert!(
        matches!(step, Ok(Step::Decide(Decision::ClientCertificate { .. }))),
        "without it the server asks again: {step:?}"
    );

    // Stored: the password in the keyring (an entry of its own), and `ops::reverify` reads the
    // file again with it.
    let dir = tempfile::tempdir().expect("temp dir");
    let store = AccountStore::at(dir.path());
    let (saving, account, secret, certificate_password) = (
        store.clone(),
        connected.account.clone(),
        connected.secret.clone(),
        connected.client_certificate_password.clone(),
    );
    tokio::task::spawn_blocking(move || saving.save_with_certificate(&account, &secret, certificate_password.as_ref()))
        .await
        .expect("join")
        .expect("saving needs a working Secret Service: run the README test command");
    let id = connected.account.id.clone();
    assert_eq!(store.client_certificate_password(&id).expect("in the keyring").expose(), CLIENT_P12_PASSWORD);
    let accounts_json = std::fs::read_to_string(store.accounts_path()).expect("accounts.json");
    assert!(accounts_json.contains("alice.p12") && !accounts_json.contains(CLIENT_P12_PASSWORD), "{accounts_json}");
    let reverify = ops::ReverifyOptions { wizard: trusting(&pki), approve: Vec::new() };
    let verified = ops::reverify(&store, &id, reverify).await.expect("re-verified with the stored certificate");
    assert!(verified.account.client_certificate.is_some(), "still kept");
    assert_eq!(store.client_certificate_password(&id).expect("kept").expose(), CLIENT_P12_PASSWORD);
    let removing = store.clone();
    let removed_id = id.clone();
    tokio::task::spawn_blocking(move || removing.remove(&removed_id)).await.expect("join").expect("removed");
    assert!(
        matches!(store.client_certificate_password(&id), Err(StoreError::SecretMissing { .. })),
        "the certificate's password leaves the keyring with the account"
    );
}
