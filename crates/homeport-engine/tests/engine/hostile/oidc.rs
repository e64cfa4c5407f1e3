//! Hostile servers — OpenID Connect and WebFinger (the corpus and its rules: `mod.rs`).

use super::*;

/// A whole scripted server as one function.
type ScriptRoute = fn(&Seen) -> Vec<Act>;
/// The instance WebFinger answer for a subject, given the plain-http "remote" host's URL.
type InstancesAnswer = fn(&str, &Url) -> Vec<Act>;

const ISSUER_REL: &str = "http://openid.net/specs/connect/1.0/issuer";
const INSTANCE_REL: &str = "http://webfinger.owncloud/rel/server-instance";

fn query_of(seen: &Seen, name: &str) -> Option<String> {
    let url = Url::parse(&format!("http://x{}", seen.target)).ok()?;
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn jrd(subject: &str, links: &[(&str, &str)]) -> Vec<Act> {
    let links: Vec<serde_json::Value> =
        links.iter().map(|(rel, href)| serde_json::json!({ "rel": rel, "href": href })).collect();
    json(serde_json::json!({ "subject": subject, "links": links }).to_string())
}

/// An oCIS-like server: Bearer on the PROPFIND, status.php, and `answer` for everything else.
fn ocis(seen: &Seen, answer: impl Fn(&Seen) -> Vec<Act>) -> Vec<Act> {
    match (seen.method.as_str(), seen.path()) {
        ("GET", "/status.php") => json(r#"{"installed":true,"productname":"Infinite Scale","versionstring":"7.0.0"}"#),
        ("PROPFIND", _) => http("401 Unauthorized", &[("WWW-Authenticate", "Bearer realm=\"oCIS\"")], ""),
        _ => answer(seen),
    }
}

/// A discovery document for `issuer` with `changes` merged in.
fn discovery(issuer: &str, changes: serde_json::Value) -> Vec<Act> {
    let mut document = serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "code_challenge_methods_supported": ["S256"],
    });
    if let (Some(document), Some(changes)) = (document.as_object_mut(), changes.as_object()) {
        for (key, value) in changes {
            if value.is_null() {
                document.remove(key);
            } else {
                document.insert(key.clone(), value.clone());
            }
        }
    }
    json(document.to_string())
}

/// The issuer a scripted server is its own issuer under (no WebFinger): its URL without the slash.
fn own_issuer(seen: &Seen) -> String {
    format!("http://{}", seen.host)
}

#[tokio::test]
async fn lying_webfinger_and_discovery_documents_stop_before_the_browser_opens() {
    let rows: Vec<(&str, ScriptRoute, WireCheck)> = vec![
        (
            "WebFinger names a javascript: issuer",
            |s| ocis(s, |_| jrd("x", &[(ISSUER_REL, "javascript:alert(1)")])),
            |o| invalid(o, "WebFinger") || invalid(o, "issuer"),
        ),
        (
            "WebFinger names a file: issuer",
            |s| ocis(s, |_| jrd("x", &[(ISSUER_REL, "file:///etc/passwd")])),
            |o| invalid(o, "WebFinger") || invalid(o, "issuer"),
        ),
        (
            "WebFinger answers HTML",
            |s| ocis(s, |_| http("200 OK", &[], "<html>portal</html>")),
            |o| invalid(o, "WebFinger"),
        ),
        (
            "WebFinger names no issuer",
            |s| ocis(s, |_| jrd("x", &[("self", "https://example.com/")])),
            |o| invalid(o, "WebFinger"),
        ),
        (
            "a discovery document without PKCE S256",
            |s| {
                ocis(s, |s| match s.path() {
                    "/.well-known/openid-configuration" => {
                        discovery(&own_issuer(s), serde_json::json!({ "code_challenge_methods_supported": ["plain"] }))
                    }
                    _ => not_found(),
                })
            },
            |o| invalid(o, "discovery"),
        ),
        (
            "a discovery document with a javascript: login page",
            |s| {
                ocis(s, |s| match s.path() {
                    "/.well-known/openid-configuration" => discovery(
                        &own_issuer(s),
                        serde_json::json!({ "authorization_endpoint": "javascript:alert(document.cookie)" }),
                    ),
                    _ => not_found(),
                })
            },
            |o| invalid(o, "discovery"),
        ),
        (
            "a discovery document with a file: token endpoint",
            |s| {
                ocis(s, |s| match s.path() {
                    "/.well-known/openid-configuration" => {
                        discovery(&own_issuer(s), serde_json::json!({ "token_endpoint": "file:///etc/passwd" }))
                    }
                    _ => not_found(),
                })
            },
            |o| invalid(o, "discovery"),
        ),
        (
            "a discovery document without jwks_uri",
            |s| {
                ocis(s, |s| match s.path() {
                    "/.well-known/openid-configuration" => {
                        discovery(&own_issuer(s), serde_json::json!({ "jwks_uri": null }))
                    }
                    _ => not_found(),
                })
            },
            |o| invalid(o, "discovery"),
        ),
        (
            "a discovery document of 10 MB",
            |s| {
                ocis(s, |s| match s.path() {
                    "/.well-known/openid-configuration" => {
                        vec![Act::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 10485760\r\n\r\n{".to_vec()), Act::Hang]
                    }
                    _ => not_found(),
                })
            },
            |o| matches!(o, Outcome::Failed(ConnectError::BodyTooLarge { .. })),
        ),
    ];
    let runs = rows.into_iter().map(|(case, route, expected)| async move {
        let server = Scripted::start(route).await;
        let mut wizard = wizard(case, server.url().as_str(), loopback_options(), None);
        let (outcome, elapsed) = step(case, &mut wizard).await;
        check(case, &outcome, expected(&outcome));
        assert!(elapsed < BOUNDED, "{case}: took {elapsed:?}");
    });
    all_rows(runs).await;
}

/// Logs in at the lookup server's real IdP through a scripted oCIS front whose instance
/// WebFinger answers with `instances` (given the subject asked for).
async fn login_behind_scripted_ocis(
    case: &str,
    idp: &LookupServer,
    remote: &Scripted,
    instances: InstancesAnswer,
) -> Outcome {
    let issuer = idp.idp_issuer();
    let remote_url = remote.url_as("0.0.0.0");
    let server = Scripted::start(move |s| {
        ocis(s, |s| match (s.path(), query_of(s, "rel").as_deref()) {
            ("/.well-known/webfinger", Some(ISSUER_REL)) => jrd("x", &[(ISSUER_REL, issuer.as_str())]),
            ("/.well-known/webfinger", Some(INSTANCE_REL)) => {
                instances(&query_of(s, "resource").unwrap_or_default(), &remote_url)
            }
            _ => not_found(),
        })
    })
    .await;
    let options = WizardOptions { http: loopback(), ..options(idp) };
    let mut wizard = wizard(case, server.url().as_str(), options, None);
    let (outcome, _) = step(case, &mut wizard).await;
    let Outcome::Asked(Decision::OpenBrowser { url, .. }) = outcome else {
        panic!("{case}: the scripted oCIS leads to the browser, got {outcome:?}")
    };
    let page = Url::parse(&url).expect("the login page is a URL");
    let robot = tokio::spawn(async move { complete_browser_login(&page, "einstein", "relativity").await });
    let (outcome, _) = step(case, &mut wizard).await;
    let status = tokio::time::timeout(GUARD, robot).await.expect("the robot finishes").expect("robot task");
    assert_eq!(status.ok(), Some(200), "{case}: the robot logged in at the real IdP");
    outcome
}

#[tokio::test]
async fn webfinger_instance_answers_that_lie_after_a_real_login_are_refused() {
    let idp = lookup(Scenario::default()).await;
    let rows: Vec<(&str, InstancesAnswer, WireCheck)> = vec![
        (
            "WebFinger describes another subject",
            |_, _| jrd("acct:mallory@elsewhere", &[(INSTANCE_REL, "http://127.0.0.1:9/")]),
            |o| invalid(o, "WebFinger"),
        ),
        (
            "WebFinger instances that are not http(s)",
            |subject, _| jrd(subject, &[(INSTANCE_REL, "javascript:alert(1)"), (INSTANCE_REL, "ftp://files.example/")]),
            |o| invalid(o, "WebFinger"),
        ),
        (
            "WebFinger answers a 10 MB body",
            |_, _| vec![Act::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 10485760\r\n\r\n{".to_vec()), Act::Hang],
            |o| matches!(o, Outcome::Failed(ConnectError::BodyTooLarge { .. })),
        ),
        (
            "WebFinger names a plain-http instance on a remote host",
            |subject, remote| jrd(subject, &[(INSTANCE_REL, remote.as_str())]),
            |o| matches!(o, Outcome::Asked(Decision::ConfirmPlainHttp { url }) if url.starts_with("http://0.0.0.0:")),
        ),
    ];
    for (case, instances, expected) in rows {
        // 0.0.0.0 reaches this machine on Linux, yet is no loopback address: a remote host that answers.
        let remote = Scripted::start(|_| not_found()).await;
        let outcome = login_behind_scripted_ocis(case, &idp, &remote, instances).await;
        check(case, &outcome, expected(&outcome));
        assert!(remote.seen().is_empty(), "{case}: the bearer token went to {:?}", remote.seen());
    }
    idp.shutdown().await;
}

#[tokio::test]
async fn the_lookup_servers_webfinger_faults_end_in_a_protocol_error_or_a_choice() {
    let server = lookup(Scenario { fault: Some(Fault::WebfingerNoInstances), ..Scenario::default() }).await;
    let case = Fault::WebfingerNoInstances.name();
    let outcome = oidc_login(case, &server, None).await;
    check(case, &outcome, invalid(&outcome, "WebFinger"));
    server.shutdown().await;

    let server = lookup(Scenario { fault: Some(Fault::WebfingerManyInstances), ..Scenario::default() }).await;
    let case = "webfinger-many-instances, the retired one chosen";
    let retired = Url::parse(server.ocis_url().as_str()).expect("url");
    let outcome = oidc_login(case, &server, Some(retired)).await;
    check(case, &outcome, matches!(outcome, Outcome::Failed(ConnectError::UnexpectedStatus { status: 404, .. })));
    server.shutdown().await;
}

/// Logs einstein in at the lookup server's oCIS; a ChooseInstance offering three is answered with
/// the one whose URL starts with `choose`.
async fn oidc_login(case: &str, server: &LookupServer, choose: Option<Url>) -> Outcome {
    let mut wizard = wizard(case, server.ocis_url().as_str(), options(server), None);
    let (outcome, _) = step(case, &mut wizard).await;
    let Outcome::Asked(Decision::OpenBrowser { url, .. }) = outcome else { panic!("{case}: browser, got {outcome:?}") };
    let page = Url::parse(&url).expect("the login page is a URL");
    let robot = tokio::spawn(async move { complete_browser_login(&page, "einstein", "relativity").await });
    let (outcome, _) = step(case, &mut wizard).await;
    let _ = robot.await;
    match (outcome, choose) {
        (Outcome::Asked(Decision::ChooseInstance { instances }), Some(prefix)) => {
            assert_eq!(instances.len(), 3, "{case}: A, B and the retired C are offered");
            let retired = instances
                .iter()
                .find(|i| i.url.as_url().as_str().starts_with(prefix.as_str()))
                .unwrap_or_else(|| panic!("{case}: the retired instance lives on the oCIS server: {instances:?}"));
            wizard.choose_instance(retired.url.clone());
            step(case, &mut wizard).await.0
        }
        (outcome, _) => outcome,
    }
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

#[tokio::test]
async fn every_oidc_endpoint_goes_through_the_https_rule_before_anything_is_sent_there() {
    // 0.0.0.0 reaches this machine, but is not loopback by name: Homeport treats it as a remote
    // host, so plain http to it needs the person's consent.
    let idp = Scripted::start(|_: &Seen| not_found()).await;
    let idp_issuer = leak(idp.url_as("0.0.0.0").as_str().trim_end_matches('/').to_owned());
    drop(idp);
    let server = Scripted::start(move |s: &Seen| ocis(s, |_| jrd("x", &[(ISSUER_REL, idp_issuer)]))).await;
    let mut first = wizard("plain-http issuer", server.url().as_str(), loopback_options(), None);
    let (outcome, _) = step("plain-http issuer", &mut first).await;
    match &outcome {
        Outcome::Asked(Decision::ConfirmPlainHttp { url }) => {
            assert!(url.starts_with(idp_issuer), "the issuer is named before its discovery document is asked: {url}")
        }
        other => panic!("a plain-http issuer on another host must be a question, got {other:#?}"),
    }
    assert!(
        server.seen().iter().all(|s| !s.target.contains("openid-configuration")),
        "nothing was asked of the issuer before the consent"
    );

    // The provider is loopback, but its discovery document sends the token endpoint (where the
    // code and the client secret go) to plain http elsewhere.
    let rows: Vec<(&str, &str)> = vec![
        ("token_endpoint", "http://0.0.0.0:9/token"),
        ("userinfo_endpoint", "http://0.0.0.0:9/userinfo"),
        ("jwks_uri", "http://0.0.0.0:9/jwks"),
        ("authorization_endpoint", "http://0.0.0.0:9/authorize"),
        ("registration_endpoint", "http://0.0.0.0:9/register"),
    ];
    let runs = rows.into_iter().map(|(field, endpoint)| async move {
        let case = format!("discovery names a plain-http {field}");
        let server = Scripted::start(move |s: &Seen| {
            ocis(s, |s| match s.path() {
                "/.well-known/openid-configuration" => {
                    discovery(&own_issuer(s), serde_json::json!({ field: endpoint }))
                }
                _ => not_found(),
            })
        })
        .await;
        let mut wizard = wizard(&case, server.url().as_str(), loopback_options(), None);
        let (outcome, _) = step(&case, &mut wizard).await;
        let asked = matches!(&outcome, Outcome::Asked(Decision::ConfirmPlainHttp { url }) if url == endpoint);
        assert!(asked, "{case}: the endpoint is a question before the browser opens, got {outcome:#?}");
    });
    all_rows(runs).await;
}

#[tokio::test]
async fn an_identity_provider_on_another_site_is_named_beside_the_server_and_needs_consent() {
    // The provider names itself by the host it is asked under (0.0.0.0: another site).
    let idp = Scripted::start(|s: &Seen| match s.path() {
        "/.well-known/openid-configuration" => discovery(&own_issuer(s), serde_json::json!({})),
        _ => not_found(),
    })
    .await;
    let issuer = leak(idp.url_as("0.0.0.0").as_str().trim_end_matches('/').to_owned());
    let server = Scripted::start(move |s: &Seen| ocis(s, |_| jrd("x", &[(ISSUER_REL, issuer)]))).await;
    let case = "issuer on another site";
    let mut wizard = wizard(case, server.url().as_str(), loopback_options(), None);
    let (outcome, _) = step(case, &mut wizard).await;
    assert!(matches!(outcome, Outcome::Asked(Decision::ConfirmPlainHttp { .. })), "{case}: {outcome:#?}");
    wizard.answer(homeport_engine::Answer::AllowPlainHttp).expect("plain http allowed for the provider");
    let (outcome, _) = step(case, &mut wizard).await;
    let Outcome::Asked(decision @ Decision::OpenBrowser { .. }) = outcome else {
        panic!("{case}: the browser decision, got {outcome:#?}")
    };
    let Decision::OpenBrowser { server: typed, issuer: named, issuer_elsewhere, .. } = &decision else {
        unreachable!()
    };
    assert!(*issuer_elsewhere, "{case}: 127.0.0.1 and 0.0.0.0 are two sites");
    assert_eq!(typed, server.url().as_str(), "{case}: the decision names the server typed");
    assert_eq!(named, issuer, "{case}: and the identity provider");
    let declined = wizard.answer(homeport_engine::Answer::Decline);
    assert!(
        matches!(declined, Err(ConnectError::IssuerNotApproved { .. })),
        "{case}: declining is a typed refusal naming both, got {declined:?}"
    );
    if let Err(error) = &declined {
        let report = error.report();
        assert_eq!(report.reason, Some(homeport_engine::ErrorReason::IssuerNotApproved), "{case}: a reason for the UI");
        assert_eq!(report.detail["issuer"], issuer, "{case}: the detail names the provider");
    }
    assert!(server.authorized().is_empty(), "{case}: no token or credential went to the server");
    assert!(idp.authorized().is_empty(), "{case}: nor to the provider");
}
