//! `homeport connect` and a self-signed certificate: the refusal shows what to compare and the
//! flag that trusts it; `--trust-cert` pins it with the account, and re-verify honours the pin.

use homeport_lookup::{LookupServer, Scenario};

use crate::{code, homeport, json, lookup, origin};

/// A lookup server over TLS with its self-signed certificate, and what a connect to it names.
pub(crate) struct SelfSigned {
    pub server: LookupServer,
    /// The certificate's SHA-256, as `--trust-cert` takes it.
    pub fingerprint: String,
    pub central: String,
    /// instance2's origin, as `--approve-redirect` takes it.
    pub instance2: String,
}

pub(crate) async fn self_signed() -> SelfSigned {
    let server = lookup(Scenario { tls: true, ..Scenario::default() }).await;
    let fingerprint = server.description().tls_certificate_sha256.expect("fingerprint");
    let (central, instance2) = (server.central_url().to_string(), origin(&server, "instance2"));
    SelfSigned { server, fingerprint, central, instance2 }
}

#[tokio::test]
async fn an_untrusted_certificate_names_its_fingerprint_and_trust_cert_pins_it() {
    let SelfSigned { server, fingerprint, central, instance2 } = self_signed().await;
    let config = tempfile::tempdir().expect("temp");
    let base =
        ["connect", &central, "--user", "test@instance2.com", "--password-stdin", "--approve-redirect", &instance2];

    let refused = homeport(config.path(), &[&base[..], &["--json"]].concat(), Some("secret")).await;
    let failure = json(&refused);
    assert_eq!((code(&refused), failure["error"]["code"].as_str()), (4, Some("tls")), "{failure}");
    assert_eq!(failure["error"]["detail"]["certificate"]["sha256"], fingerprint.as_str(), "what to compare");
    let hint = failure["error"]["hint"].as_str().unwrap_or_default();
    assert!(hint.contains(&format!("--trust-cert {fingerprint}")), "the flag that trusts it: {hint}");

    let trusted =
        homeport(config.path(), &[&base[..], &["--trust-cert", &fingerprint, "--json"]].concat(), Some("secret")).await;
    assert_eq!(code(&trusted), 0, "{}", String::from_utf8_lossy(&trusted.stdout));
    let account = &json(&trusted)["account"];
    let authority = |url: &url::Url| format!("127.0.0.1:{}", url.port().expect("port"));
    assert_eq!(
        account["trusted_certificates"],
        serde_json::json!([
            { "authority": authority(server.central_url()), "sha256": fingerprint },
            { "authority": authority(&server.instance_urls()["instance2"]), "sha256": fingerprint },
        ]),
        "--trust-cert answered for both servers presenting it, each pinned at its host:port"
    );
    let id = account["id"].as_str().expect("id").to_owned();
    let verify = homeport(config.path(), &["accounts", "verify", &id], None).await;
    assert_eq!(
        code(&verify),
        0,
        "re-verify trusts the pinned certificate: {}",
        String::from_utf8_lossy(&verify.stderr)
    );

    let bad = homeport(config.path(), &["connect", &central, "--trust-cert", "12:34"], None).await;
    assert_eq!(code(&bad), 2, "a malformed fingerprint is bad input");
    server.shutdown().await;
}

#[tokio::test]
async fn a_certificate_the_system_trusts_needs_no_question() {
    use base64::Engine as _;
    let server = lookup(Scenario { tls: true, ..Scenario::default() }).await;
    let config = tempfile::tempdir().expect("temp");
    // The system's trust store, as a corporate CA would be installed: rustls-native-certs reads
    // SSL_CERT_FILE like OpenSSL does.
    let der = server.certificate_der().expect("a certificate");
    let body = base64::engine::general_purpose::STANDARD.encode(&der);
    let lines: Vec<&str> = body.as_bytes().chunks(64).map(|line| std::str::from_utf8(line).unwrap_or("")).collect();
    let pem = format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"));
    let store = config.path().join("system-roots.pem");
    std::fs::write(&store, pem).expect("write the store");
    let central = server.central_url().to_string();
    let instance2 = origin(&server, "instance2");
    let output = tokio::process::Command::new(crate::HOMEPORT)
        .args([
            "connect",
            &central,
            "--user",
            "test@instance2.com",
            "--password-stdin",
            "--approve-redirect",
            &instance2,
        ])
        .args(["--no-store", "--json"])
        .env("HOMEPORT_CONFIG_DIR", config.path())
        .env("SSL_CERT_FILE", &store)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("homeport runs");
    let output = {
        let mut child = output;
        use tokio::io::AsyncWriteExt as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(b"secret\n").await.expect("password");
        drop(stdin);
        child.wait_with_output().await.expect("output")
    };
    assert_eq!(code(&output), 0, "trusted by the system: {}", String::from_utf8_lossy(&output.stdout));
    assert_eq!(json(&output)["account"]["trusted_certificates"], serde_json::json!([]), "nothing pinned");
    server.shutdown().await;
}

/// Over TLS a trusted certificate restarts the check (at the server, again at its instance); what
/// it is doing is said once, not once per restart.
#[tokio::test]
async fn over_tls_what_connect_is_doing_is_said_once() {
    let SelfSigned { server, fingerprint, central, instance2 } = self_signed().await;
    let config = tempfile::tempdir().expect("temp");
    let args = [
        "connect",
        &central,
        "--user",
        "test@instance2.com",
        "--password-stdin",
        "--approve-redirect",
        &instance2,
        "--trust-cert",
        &fingerprint,
        "--no-store",
    ];
    let output = homeport(config.path(), &args, Some("secret")).await;
    let story = String::from_utf8_lossy(&output.stdout);
    assert_eq!(code(&output), 0, "{story}{}", String::from_utf8_lossy(&output.stderr));
    let line = format!("checking {central} and logging in as test@instance2.com");
    assert_eq!(story.matches(&line).count(), 1, "said once:\n{story}");
    assert_eq!(story.matches("verifying the account at").count(), 1, "and so is the verification:\n{story}");
    server.shutdown().await;
}
