//! OpenID Connect in the shell: the start page's client setting reaches the engine (and a setting
//! that cannot work is refused before anything is sent), another user than typed is asked about
//! and answered through the session, and a provider on another site crosses IPC named beside the
//! server.

use homeport_engine::oidc_client::{ClientProfile, TokenAuth, OWNCLOUD_DESKTOP_CLIENT_ID};
use homeport_engine::wizard::Protocol;
use homeport_engine::{
    Answer, Decision, ErrorCode, ErrorReason, RedirectHost, RedirectPort, RedirectSpec, Secret, Wizard, WizardOptions,
};

use super::*;
use crate::client::client_setting;
use crate::ipc::{ClientSetting, WizardOutcome};
use crate::session::{Robot, WizardSession};

/// The client id the login page at the provider is asked with.
fn client_id_of(step: &Value) -> String {
    let url = step["decision"]["url"].as_str().unwrap_or_default();
    let url = url::Url::parse(url).unwrap_or_else(|e| panic!("the login page is a URL ({e}): {step}"));
    url.query_pairs().find(|(key, _)| key == "client_id").map(|(_, id)| id.into_owned()).unwrap_or_default()
}

#[test]
fn the_start_pages_client_setting_reaches_the_provider_and_an_unworkable_one_is_refused() {
    let app = app(false);
    let demo = app.invoke("demo_start", json!({})).expect("the demo server starts");
    let ocis = demo["ocis_url"].clone();

    // No setting: the server's product decides (Infinite Scale → the ownCloud desktop client).
    let step = app
        .invoke("wizard_start", json!({ "address": ocis, "onEvent": "__CHANNEL__:1", "call": 1, "client": null }))
        .expect("probe");
    assert_eq!(step["decision"]["decision"], "open_browser", "{step}");
    assert_eq!(client_id_of(&step), OWNCLOUD_DESKTOP_CLIENT_ID, "oCIS knows the ownCloud desktop client");
    assert_eq!(step["decision"]["issuer_elsewhere"], false, "the demo's IdP is on this machine: {step}");
    assert_eq!(step["decision"]["server"], ocis, "the decision names the server typed: {step}");

    // The person's client id, prompt and scopes go to the login page.
    let client = json!({ "client_id": " homeport ", "client_secret": null, "token_auth": null,
                         "scopes": "openid profile offline_access", "prompt": "login consent" });
    let step = app
        .invoke("wizard_start", json!({ "address": ocis, "onEvent": "__CHANNEL__:2", "call": 2, "client": client }))
        .expect("probe with a setting");
    assert_eq!(client_id_of(&step), "homeport", "the person's client id wins, trimmed: {step}");
    let url = step["decision"]["url"].as_str().unwrap_or_default();
    assert!(url.contains("prompt=login+consent") || url.contains("prompt=login%20consent"), "{url}");
    assert!(url.contains("scope=openid+profile+offline_access") || url.contains("openid%20profile"), "{url}");

    // A secret without its client id would be dropped silently: refused, in words.
    let orphan = json!({ "client_id": "", "client_secret": "s3cret", "token_auth": null, "scopes": null,
                         "prompt": null });
    let refused = app
        .invoke("wizard_start", json!({ "address": ocis, "onEvent": "__CHANNEL__:3", "call": 3, "client": orphan }))
        .expect_err("refused");
    assert_eq!(refused["code"], "bad_input", "{refused}");
    assert!(refused["message"].as_str().is_some_and(|m| m.contains("client id")), "{refused}");
    assert!(!refused.to_string().contains("s3cret"), "the secret is not echoed: {refused}");
    app.invoke("demo_stop", json!({})).expect("the demo stops");
}

#[test]
fn a_client_setting_is_tidied_into_the_engines_profile() {
    let typed = |client_id: &str, secret: Option<&str>, token_auth, scopes: &str, prompt: &str| ClientSetting {
        client_id: Some(client_id.into()),
        client_secret: secret.map(Secret::new),
        token_auth,
        scopes: Some(scopes.into()),
        prompt: Some(prompt.into()),
        redirect_host: None,
        redirect_port: Some(" ".into()),
    };
    assert_eq!(client_setting(typed(" ", Some(""), None, "  ", "")).ok(), Some(None), "all empty: Homeport chooses");
    assert_eq!(client_setting(ClientSetting::default()).ok(), Some(None));
    let profile = client_setting(typed(
        " homeport ",
        Some("s3cret"),
        Some(TokenAuth::ClientSecretPost),
        " openid  offline_access ",
        " consent ",
    ))
    .expect("valid")
    .expect("something set");
    assert_eq!(
        profile,
        ClientProfile {
            issuer: None,
            client_id: Some("homeport".into()),
            client_secret: Some(Secret::new("s3cret")),
            token_auth: Some(TokenAuth::ClientSecretPost),
            scopes: Some(vec!["openid".into(), "offline_access".into()]),
            prompt: Some("consent".into()),
            redirect: None,
        },
        "for whichever provider this connection meets"
    );
    // A Keycloak realm's one redirect port, or the ownCloud client's range, on either host.
    let port = |host, port: &str| ClientSetting {
        redirect_host: host,
        redirect_port: Some(port.into()),
        ..ClientSetting::default()
    };
    let redirect = |setting| client_setting(setting).expect("valid").and_then(|profile| profile.redirect);
    assert_eq!(
        redirect(port(None, " 53682 ")),
        Some(RedirectSpec { host: RedirectHost::Ipv4Loopback, port: RedirectPort::Fixed(53682) })
    );
    assert_eq!(
        redirect(port(Some(RedirectHost::Localhost), "8000-8010")),
        Some(RedirectSpec { host: RedirectHost::Localhost, port: RedirectPort::Range { first: 8000, last: 8010 } })
    );
    assert_eq!(
        redirect(port(Some(RedirectHost::Localhost), "")),
        Some(RedirectSpec { host: RedirectHost::Localhost, port: RedirectPort::Random }),
        "the host alone: any port there"
    );
    assert!(!format!("{profile:?}").contains("s3cret"), "the secret never reaches a log");
    let refused = |setting| client_setting(setting).expect_err("refused").message;
    assert!(refused(typed("", Some("s"), None, "", "")).contains("needs its client id"));
    assert!(refused(typed("my client", None, None, "", "")).contains("no spaces"));
    assert!(refused(typed("c", Some("s"), Some(TokenAuth::Public), "", "")).contains("public client"));
    assert!(refused(typed("c", None, None, "profile email", "")).contains("openid"));
    assert!(refused(port(None, "8010-8000")).contains("redirect port"), "an empty range");
    assert!(refused(port(None, "http")).contains("redirect port"), "not a port");
}

/// The demo's oCIS, addressed with the user the person means (`http://einstein@…`).
fn ocis_as(user: &str, ocis: &str) -> String {
    ocis.replacen("http://", &format!("http://{user}@"), 1)
}

/// Starts the session at `address` and logs in at the demo's IdP as `robot` (the lookup
/// server's login robot, as the autopilot's `auto-login` does): where the login leads.
async fn log_in_as(session: &WizardSession, address: &str, robot: (&str, &str)) -> WizardOutcome {
    let wizard = Wizard::new(address, WizardOptions::default()).expect("a valid address");
    let outcome = session.start(1, wizard).await.expect("the probe");
    let WizardOutcome::Decide { decision: Decision::OpenBrowser { url, .. } } = outcome else {
        panic!("oCIS asks for the browser first: {outcome:?}")
    };
    assert!(url.contains("login_hint=einstein"), "the typed user goes to the provider as a hint: {url}");
    let robot = Robot { user: robot.0.into(), password: Secret::new(robot.1) };
    session.answer(2, Answer::ContinueInBrowser, Some(robot)).await.expect("logged in at the provider")
}

/// The question after the login.
async fn question_after_logging_in_as(session: &WizardSession, address: &str, robot: (&str, &str)) -> Decision {
    match log_in_as(session, address, robot).await {
        WizardOutcome::Decide { decision } => decision,
        other => panic!("after the login, a question: {other:?}"),
    }
}

#[test]
fn another_user_than_typed_is_asked_about_and_either_answer_works() {
    let app = app(false);
    let demo = app.invoke("demo_start", json!({})).expect("the demo server starts");
    let address = ocis_as("einstein", demo["ocis_url"].as_str().unwrap_or_default());
    tauri::async_runtime::block_on(async {
        // The browser was logged in as marie: Homeport says so instead of connecting marie.
        let session = WizardSession::default();
        let decision = question_after_logging_in_as(&session, &address, ("marie", "radioactivity")).await;
        let Decision::ConfirmUser { typed, logged_in, display_name } = &decision else {
            panic!("marie is not einstein: the person is asked: {decision:?}")
        };
        assert_eq!((typed.as_str(), logged_in.as_str()), ("einstein", "marie"));
        assert_eq!(display_name.as_deref(), Some("Marie Curie"));

        // Start over: the connection ends with `other_user`, nothing verified.
        let ended = session.answer(3, Answer::Decline, None).await.expect_err("declined");
        assert_eq!((ended.code, ended.reason), (ErrorCode::AuthFailed, Some(ErrorReason::OtherUser)), "{ended:?}");
        assert!(ended.message.contains("marie") && ended.message.contains("einstein"), "{}", ended.message);
        assert!(session.save().await.is_err(), "nothing to save");

        // Continue as marie: she lives on two instances, then she is verified.
        let decision = question_after_logging_in_as(&session, &address, ("marie", "radioactivity")).await;
        assert!(matches!(decision, Decision::ConfirmUser { .. }), "asked again: {decision:?}");
        let outcome = session.answer(3, Answer::ContinueAsLoggedInUser, None).await.expect("continued");
        let WizardOutcome::Decide { decision: Decision::ChooseInstance { instances } } = outcome else {
            panic!("marie's two instances: {outcome:?}")
        };
        let instance = instances[0].url.clone();
        let outcome = session.answer(4, Answer::ChooseInstance { instance }, None).await.expect("verified");
        let WizardOutcome::Verified { verified } = outcome else { panic!("verified: {outcome:?}") };
        assert_eq!(verified.account.display_name, "Marie Curie", "the provider's user, as confirmed");

        // The user typed is the one logged in: no question, einstein is verified at once.
        let session = WizardSession::default();
        let outcome = log_in_as(&session, &address, ("einstein", "relativity")).await;
        let WizardOutcome::Verified { verified } = outcome else { panic!("einstein is einstein: {outcome:?}") };
        assert_eq!(verified.account.display_name, "Albert Einstein");
    });
    app.invoke("demo_stop", json!({})).expect("the demo stops");
}

#[test]
fn a_provider_on_another_site_crosses_ipc_named_beside_the_server() {
    // Loopback hosts are one site (address::same_site), so no lookup server on this machine can
    // produce this decision: its value, as the UI gets it.
    let decision = Decision::OpenBrowser {
        url: "https://login.example.org/authorize?client_id=c".into(),
        issuer: "https://login.example.org".into(),
        server: "https://cloud.example.com/".into(),
        issuer_elsewhere: true,
        protocol: Protocol::Oidc,
    };
    let declined = decision.declined().report();
    let outcome = serde_json::to_value(WizardOutcome::Decide { decision }).expect("JSON");
    assert_eq!(outcome["decision"]["decision"], "open_browser");
    assert_eq!(outcome["decision"]["issuer_elsewhere"], true, "{outcome}");
    assert_eq!(outcome["decision"]["server"], "https://cloud.example.com/", "both are named: {outcome}");
    assert_eq!(outcome["decision"]["issuer"], "https://login.example.org");
    // Declining ("Cancel" on the page) is a refusal of that provider, not a failed login.
    assert_eq!(declined.code, ErrorCode::PolicyRefused, "{declined:?}");
}
