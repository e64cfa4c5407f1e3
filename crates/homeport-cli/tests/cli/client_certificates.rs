//! `homeport connect --client-cert` against nginx demanding a client certificate
//! (`ssl_verify_client on`) in front of a lookup-server instance: refused without (the hint names
//! the flag), a wrong password named, connected with, `accounts show` names the certificate and
//! `accounts verify` presents it again.

use homeport_lookup::testing::mtls::{MtlsServer, Pki, CLIENT_P12_PASSWORD};
use homeport_lookup::Scenario;

use crate::{code, homeport_with, json, lookup};

#[tokio::test]
async fn client_cert_connects_through_a_server_demanding_one_and_verify_presents_it_again() {
    let pki = Pki::new();
    let server = lookup(Scenario::default()).await;
    let nginx = MtlsServer::nginx(&pki, &server.instance_urls()["instance1"]);
    let config = tempfile::tempdir().expect("temp");
    let url = nginx.url().to_string();
    let base = ["connect", &url, "--user", "test@instance1.com", "--password-stdin", "--json"];
    // The test CA as the system's trust (rustls-native-certs reads SSL_CERT_FILE).
    let trust = ("SSL_CERT_FILE", pki.ca_pem().display().to_string());
    let password = |value: &str| ("HOMEPORT_CLIENT_CERT_PASSWORD", value.to_owned());

    let refused = homeport_with(config.path(), &base, Some("secret"), std::slice::from_ref(&trust)).await;
    let failure = json(&refused);
    assert_eq!((code(&refused), failure["error"]["code"].as_str()), (4, Some("tls")), "{failure}");
    assert_eq!(failure["error"]["detail"]["reason"], "client_certificate_required", "{failure}");
    assert_eq!(failure["error"]["detail"]["server"], nginx.authority().as_str(), "names the server: {failure}");
    let hint = failure["error"]["hint"].as_str().unwrap_or_default();
    assert!(hint.contains("--client-cert") && hint.contains("HOMEPORT_CLIENT_CERT_PASSWORD"), "the flag: {hint}");

    let file = pki.client_p12().display().to_string();
    let with_cert = [&base[..], &["--client-cert", &file]].concat();
    let missing = homeport_with(config.path(), &with_cert, Some("secret"), std::slice::from_ref(&trust)).await;
    assert_eq!(code(&missing), 2, "no password in the environment is bad input: {}", json(&missing));

    let wrong = homeport_with(config.path(), &with_cert, Some("secret"), &[trust.clone(), password("wrong")]).await;
    let failure = json(&wrong);
    assert_eq!(code(&wrong), 2, "a wrong password is bad input: {failure}");
    assert_eq!(failure["error"]["detail"]["reason"], "client_certificate_password", "{failure}");
    let message = failure["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("password") && message.contains(&file), "names the password and the file: {message}");

    let connected =
        homeport_with(config.path(), &with_cert, Some("secret"), &[trust.clone(), password(CLIENT_P12_PASSWORD)]).await;
    assert_eq!(code(&connected), 0, "connected with the certificate: {}", String::from_utf8_lossy(&connected.stdout));
    let account = &json(&connected)["account"];
    assert_eq!(account["client_certificate"]["file"], file.as_str(), "{account}");
    assert_eq!(account["client_certificate"]["servers"], serde_json::json!([nginx.authority()]), "{account}");
    let stored = std::fs::read_to_string(config.path().join("accounts.json")).expect("accounts.json");
    assert!(!stored.contains(CLIENT_P12_PASSWORD), "the password is in the keyring only: {stored}");

    let id = account["id"].as_str().expect("id").to_owned();
    let show = homeport_with(config.path(), &["accounts", "show", &id], None, &[]).await;
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(text.contains("Certificate") && text.contains("alice") && text.contains(&file), "named: {text}");
    // Re-verify reads the file again with the password from the keyring (no variable set now).
    let verify = homeport_with(config.path(), &["accounts", "verify", &id], None, std::slice::from_ref(&trust)).await;
    assert_eq!(code(&verify), 0, "re-verify presents it: {}", String::from_utf8_lossy(&verify.stderr));
    server.shutdown().await;
}

#[tokio::test]
async fn a_scenario_with_client_cert_connects_through_a_server_demanding_one() {
    let pki = Pki::new();
    let server = lookup(Scenario::default()).await;
    let nginx = MtlsServer::nginx(&pki, &server.instance_urls()["instance1"]);
    let dir = tempfile::tempdir().expect("temp");
    // Relative to the scenario file.
    std::fs::copy(pki.client_p12(), dir.path().join("alice.p12")).expect("copy the certificate file");
    let scenario = |with_cert: bool| {
        let cert = if with_cert {
            "client_cert = \"alice.p12\"\nclient_cert_password_env = \"HOMEPORT_CLIENT_CERT_PASSWORD\"\n"
        } else {
            ""
        };
        let expect = if with_cert { "" } else { "status = \"failed\"\nerror_code = \"tls\"\n" };
        format!(
            "name = \"mTLS via nginx\"\n[target]\nurl = \"{url}\"\n[connect]\naddress = \"{url}\"\nuser = \"test@instance1.com\"\npassword_env = \"HOMEPORT_PASSWORD\"\n{cert}[expect]\n{expect}",
            url = nginx.url()
        )
    };
    let envs = [
        ("SSL_CERT_FILE", pki.ca_pem().display().to_string()),
        ("HOMEPORT_PASSWORD", "secret".to_owned()),
        ("HOMEPORT_CLIENT_CERT_PASSWORD", CLIENT_P12_PASSWORD.to_owned()),
    ];
    for with_cert in [true, false] {
        let file = dir.path().join(format!("mtls-{with_cert}.toml"));
        std::fs::write(&file, scenario(with_cert)).expect("write the scenario");
        let output = homeport_with(dir.path(), &["run", file.to_str().expect("utf-8")], None, &envs).await;
        let lines = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            code(&output),
            0,
            "with_cert {with_cert}: connected with it, refused (tls) without: {lines}{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    server.shutdown().await;
}
