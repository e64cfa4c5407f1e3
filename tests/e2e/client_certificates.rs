//! A server that demands a client certificate (nginx, `ssl_verify_client on`, in front of a
//! lookup-server instance): the certificate page names it, a wrong password keeps the page with
//! its error, the right one connects; the account keeps the file, the keyring its password, and
//! Verify presents it again.

use homeport_lookup::testing::mtls::{MtlsServer, Pki, CLIENT_P12_PASSWORD};
use homeport_lookup::Scenario;
use thirtyfour::prelude::*;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_asking_for_a_certificate_gets_its_page_and_connects_with_the_file() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let pki = Pki::new();
    let server = homeport_lookup::testing::start(Scenario::default()).await;
    let nginx = MtlsServer::nginx(&pki, &server.instance_urls()["instance1"]);
    // The test CA as the system's trust (rustls-native-certs reads SSL_CERT_FILE).
    let envs = [("SSL_CERT_FILE", pki.ca_pem().display().to_string())];
    let app = App::launch_with_envs(&[], &envs).await.expect("the app starts under tauri-driver");
    let outcome = use_certificate(&app, &pki, &nginx).await;
    app.finish("client-certificate", outcome).await;
    server.shutdown().await;
}

async fn use_certificate(app: &App, pki: &Pki, nginx: &MtlsServer) -> TestResult {
    app.type_into("#address", nginx.url().to_string() + Key::Enter).await?;
    app.wait_for("#page-client-certificate").await?;
    let named = app.text("#client-certificate-server").await?;
    assert_eq!(named, nginx.authority(), "the page names the server that asks");
    app.snapshot("client-certificate-0-asked").await?;

    let file = pki.client_p12().display().to_string();
    app.type_into("#client-certificate-file", file.clone()).await?;
    app.type_into("#client-certificate-password", "wrong").await?;
    app.click("#client-certificate-use").await?;
    let words = app.text("#error[data-code='bad_input'][data-reason='client_certificate_password']").await?;
    assert!(words.contains("password does not open"), "the wrong password is named: {words}");
    app.wait_for("#page-client-certificate").await?;
    assert_eq!(app.value("#client-certificate-file").await?, file, "the path typed stays");
    app.snapshot("client-certificate-1-wrong-password").await?;

    let password = app.wait_for("#client-certificate-password").await?;
    password.clear().await?;
    app.type_into("#client-certificate-password", CLIENT_P12_PASSWORD).await?;
    app.click("#client-certificate-use").await?;
    app.wait_for("#page-login").await?;
    app.type_into("#username", "test@instance1.com").await?;
    app.type_into("#password", "secret" + Key::Enter).await?;
    let shown = app.text("#verified-client-certificate").await?;
    assert!(shown.contains("CN=alice") && shown.contains(&nginx.authority()), "named when verified: {shown}");
    app.click("#done").await?;
    // Stored once the accounts page lists it.
    let listed = app.text("li.account .account-client-certificate").await?;
    assert!(listed.contains("CN=alice") && listed.contains(&file), "the accounts list names it: {listed}");

    let accounts = app.store().list()?;
    assert_eq!(accounts.len(), 1, "stored");
    let certificate = accounts[0].client_certificate.clone().ok_or("the account keeps its certificate")?;
    assert_eq!(certificate.file, file);
    assert_eq!(certificate.servers, [nginx.authority()], "presented to that server only");
    let kept = app.store().client_certificate_password(&accounts[0].id)?;
    assert_eq!(kept.expose(), CLIENT_P12_PASSWORD, "its password is in the keyring");
    app.click(".verify-account").await?;
    let notice = app.text(".notice").await?;
    assert!(notice.contains("is verified"), "Verify presents the certificate again: {notice}");
    app.snapshot("client-certificate-2-accounts").await?;
    Ok(())
}
