//! `homeport mock --oidc-issuer`: the mock's oCIS in front of a real OpenID Provider (node-oidc-provider, started
//! by `homeport_lookup::testing::RealIdp`), as docs/cli.md describes it.

use std::process::Stdio;

use homeport_lookup::testing::real_flow::real_idp_tokens;
use homeport_lookup::testing::{access_token, browser_robot, client, propfind, RealIdp, RealIdpSetup};
use serde_json::Value;
use tokio::process::Command;

use super::{start_mock, HOMEPORT};

#[tokio::test(flavor = "multi_thread")]
async fn the_mocks_ocis_trusts_the_issuer_it_is_given() {
    let idp = RealIdp::start(RealIdpSetup::Ocis { access_token_ttl: None });
    let (mut mock, description) = start_mock(&["mock", "--oidc-issuer", idp.issuer()]).await;
    assert_eq!(description["ocis_issuer"], idp.issuer(), "the description names the issuer: {description}");
    let ocis = url::Url::parse(description["ocis"].as_str().expect("the oCIS URL")).expect("a URL");

    let mut webfinger = ocis.join(".well-known/webfinger").expect("URL");
    webfinger.query_pairs_mut().append_pair("resource", ocis.as_str());
    let jrd: Value = client().get(webfinger).send().await.expect("answers").json().await.expect("JRD");
    assert_eq!(jrd["links"][0]["href"], idp.issuer(), "WebFinger names the real provider: {jrd}");

    let token = access_token(&real_idp_tokens(&idp, &browser_robot("einstein", "relativity"), None).await);
    let home = ocis.join("remote.php/webdav/").expect("URL");
    let status = propfind(&client(), home.clone()).bearer_auth(&token).send().await.expect("answers").status();
    assert_eq!(status, 207, "the real provider's token opens einstein's home");
    let status = propfind(&client(), home).bearer_auth("not-a-token").send().await.expect("answers").status();
    assert_eq!(status, 401, "a garbage token does not");
    mock.kill().await.expect("the mock stops");
}

#[tokio::test]
async fn the_mock_refuses_an_issuer_on_another_machine() {
    let output = Command::new(HOMEPORT)
        .args(["mock", "--oidc-issuer", "https://idp.example.org"])
        .stdin(Stdio::null())
        .output()
        .await
        .expect("homeport mock runs");
    assert!(!output.status.success(), "refused");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("oidc_issuer") && stderr.contains("this machine"), "says why: {stderr}");
}
