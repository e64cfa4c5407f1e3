//! A self-signed certificate: shown, declined, then trusted for this account only.

use homeport_lookup::{LookupServer, Scenario};
use thirtyfour::prelude::*;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signed_certificate_is_shown_declined_then_trusted_for_this_account_only() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    // S0 over https: every server presents the same self-signed certificate.
    let scenario = Scenario { tls: true, ..Scenario::default() };
    let server = homeport_lookup::testing::start(scenario).await;
    let app = App::launch(&[]).await.expect("the app starts under tauri-driver");
    let outcome = trust_certificate(&app, &server).await;
    app.finish("trust-certificate", outcome).await;
    server.shutdown().await;
}

async fn trust_certificate(app: &App, server: &LookupServer) -> TestResult {
    let central = server.central_url().to_string();
    assert!(central.starts_with("https://"), "{central}");
    let expected = server.description().tls_certificate_sha256.ok_or("the server's fingerprint")?;

    // First "Don't trust", with Escape: the connection ends with the certificate's words.
    app.type_into("#address", central.clone() + Key::Enter).await?;
    app.wait_for("#page-trust").await?;
    app.focus_reaches("distrust").await?;
    app.keys(Key::Escape).await?;
    let words = app.text("#error[data-code='tls'][data-reason='untrusted']").await?;
    assert!(words.contains("not trusted") && words.contains(&expected), "declined, the certificate named: {words}");
    app.wait_for("#page-address").await?;
    assert!(app.store().list()?.is_empty(), "nothing stored");
    app.snapshot("trust-declined").await?;

    // Again, and trust it: the fingerprint shown is the server's, in rows for reading.
    app.click("#connect").await?;
    let shown = app.wait_for("#trust-fingerprint").await?;
    assert_eq!(shown.attr("data-sha256").await?.as_deref(), Some(expected.as_str()), "the server's certificate");
    let mut rows = Vec::new();
    for row in shown.find_all(By::Css(".fingerprint-row")).await? {
        rows.push(row.text().await?.trim().to_owned());
    }
    assert_eq!(rows.len(), 4, "four rows of eight pairs: {rows:?}");
    assert_eq!(rows.join(":"), expected, "the rows read as the fingerprint");
    let page = app.text("#page-trust").await?;
    for words in ["administrator", "this account only", "Subject", "Issuer", "Valid"] {
        assert!(page.contains(words), "the page says {words:?}: {page}");
    }
    assert!(page.contains(origin_of(&central)?.as_str()), "the server is named: {page}");
    app.snapshot("trust-0-certificate").await?;
    app.click("#trust").await?;

    app.wait_for("#page-login").await?;
    app.type_into("#username", "test@instance2.com").await?;
    app.type_into("#password", "secret" + Key::Enter).await?;
    app.click("#approve-redirect").await?;
    // The instance presents the same certificate at another port: a pin holds at one host:port,
    // so it is asked about again there.
    let again = app.wait_for("#trust-fingerprint").await?;
    assert_eq!(again.attr("data-sha256").await?.as_deref(), Some(expected.as_str()), "the same certificate");
    app.click("#trust").await?;
    let certificate = app.text("#verified-certificate").await?;
    assert!(certificate.contains("Trusted certificate SHA-256") && certificate.contains(&expected), "{certificate}");
    app.snapshot("trust-1-verified").await?;
    app.click("#done").await?;

    let listed = app.text("li.account .account-certificate").await?;
    assert!(listed.contains(&expected), "the accounts list shows the trusted fingerprint: {listed}");
    let accounts = app.store().list()?;
    assert_eq!(accounts.len(), 1);
    let pinned: Vec<&str> = accounts[0].trusted_certificates.iter().map(|pin| pin.sha256.as_str()).collect();
    assert_eq!(pinned, [expected.as_str(), expected.as_str()], "stored with this account, at server and instance");
    // The pin is honoured on re-verify: no question, verified.
    app.click(".verify-account").await?;
    let notice = app.text(".notice").await?;
    assert!(notice.contains("is verified"), "re-verified with the trusted certificate: {notice}");
    app.snapshot("trust-2-accounts").await?;
    Ok(())
}
