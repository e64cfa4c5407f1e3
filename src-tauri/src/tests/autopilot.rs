//! The autopilot: a `--script` reaches the UI resolved, and its verdict uses the expectations.

use super::*;

fn scripted_app(file: &str) -> MockApp {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios").join(file);
    let scenario = homeport_scenario::Scenario::load(&path).expect("the scenario file reads");
    let state = AppState::with_script(false, Some(scenario), false);
    let app = with_homeport(mock_builder(), state).build(tauri::generate_context!()).expect("the app builds");
    let window = WebviewWindowBuilder::new(&app, "main", Default::default()).build().expect("main window");
    MockApp { _app: app, window }
}

#[test]
fn a_script_reaches_the_ui_resolved_and_its_verdict_uses_the_expectations() {
    let app = scripted_app("s0-instance2.toml");
    let info = app.invoke("app_info", json!({})).expect("app_info");
    assert!(info["script"].as_str().is_some_and(|f| f.ends_with("s0-instance2.toml")), "--script reaches the UI");
    let script = app.invoke("autopilot_load", json!({})).expect("autopilot_load is granted");
    let address = script["address"].as_str().unwrap_or_default().to_owned();
    assert!(
        address.starts_with("http://127.0.0.1:"),
        "${{central}} resolved to the scenario's lookup server: {script}"
    );
    assert_eq!(script["user"], "test@instance2.com");
    assert_eq!(script["password"], "secret", "typed into the password field (as dots)");
    let approved = script["approve"][0].as_str().unwrap_or_default().to_owned();
    assert!(approved.starts_with("http://127.0.0.1:"), "the instance's origin: {script}");
    assert_eq!(script["auto_login"], false);
    assert_eq!(app.invoke("autopilot_load", json!({})).expect("again")["address"], address.as_str(), "started once");

    // The UI plays it with the normal commands; the file's credentials went with the probe.
    let step = app
        .invoke("wizard_start", json!({ "address": address, "onEvent": "__CHANNEL__:1", "call": 1 }))
        .expect("probe");
    assert_eq!(step["decision"]["decision"], "confirm_redirect", "credentials up front, as headless: {step}");
    assert_eq!(step["decision"]["to"], approved.as_str());
    let answer = json!({ "answer": "approve_redirect", "origin": approved });
    let step = app.invoke("wizard_answer", json!({ "answer": answer, "call": 2 })).expect("verify");
    assert_eq!(step["outcome"], "verified", "{step}");
    let finished = app.invoke("autopilot_finish", json!({})).expect("autopilot_finish is granted");
    let verdict = &finished["verdict"];
    assert_eq!(verdict["passed"], true, "{verdict}");
    assert_eq!(verdict["round_trips"], 2, "as many as headless (max_round_trips = 2): {verdict}");
    assert_eq!(verdict["name"], "S0: test@instance2.com is redirected to instance2");
    assert_eq!(verdict["ended"]["status"], "connected", "typed, for the UI's languages: {verdict}");
    assert_eq!(verdict["ended"]["user_id"], "test@instance2.com");
    assert_eq!(verdict["failures"], json!([]));
    assert_eq!(finished["exit_when_done"], false);

    // After the verdict the person is in control: the file's credentials no longer go along,
    // and a connection that ends otherwise fails the expectations, in words.
    let step = app
        .invoke("wizard_start", json!({ "address": address, "onEvent": "__CHANNEL__:2", "call": 3 }))
        .expect("probe");
    assert_eq!(step["decision"]["decision"], "needs_credentials", "the person logs in: {step}");
    let refusal = app.invoke("wizard_answer", json!({ "answer": { "answer": "decline" }, "call": 4 }));
    let code = refusal.expect_err("declined")["code"].clone();
    let finished = app.invoke("autopilot_finish", json!({})).expect("verdict");
    let verdict = &finished["verdict"];
    assert_eq!(verdict["passed"], false, "{verdict}");
    assert_eq!(verdict["ended"]["status"], "failed", "{verdict}");
    assert_eq!(verdict["ended"]["error"]["code"], code, "the engine's report, worded by the UI as an error: {verdict}");
    let failure = &verdict["failures"][0];
    assert_eq!(failure["kind"], "expected_to_connect", "each failure typed by its expectation: {verdict}");
    assert_eq!(failure["error"]["code"], code, "with the error it failed with: {verdict}");
}

#[test]
fn without_a_script_there_is_nothing_to_play() {
    let app = app(false);
    assert_eq!(app.invoke("app_info", json!({})).expect("app_info")["script"], Value::Null);
    assert_eq!(app.invoke("autopilot_load", json!({})).expect("granted"), Value::Null, "no --script");
    let none = app.invoke("autopilot_finish", json!({})).expect_err("no verdict without a script");
    assert_eq!(none["code"], "not_found", "{none}");
}

#[test]
fn a_scripts_oidc_answers_reach_the_ui_and_its_client_reaches_the_provider() {
    let folder = tempfile::tempdir().expect("scratch");
    let path = folder.path().join("s2-marie-for-einstein.toml");
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let file = "name = \"einstein typed, marie logged in\"\n[connect]\naddress = \"${ocis}\"\nuser = \"einstein\"\n\
                browser = \"system\"\ncontinue_as = \"marie\"\napprove_issuer = [\"https://login.example.org\"]\n\
                client_id = \"homeport-realm\"\nredirect_port = \"PORT\"\n";
    std::fs::write(&path, file.replace("PORT", &port.to_string())).expect("a scenario file");
    let scenario = homeport_scenario::Scenario::load(&path).expect("the scenario file reads");
    let app = with_homeport(mock_builder(), AppState::with_script(false, Some(scenario), false))
        .build(tauri::generate_context!())
        .expect("the app builds");
    let window = WebviewWindowBuilder::new(&app, "main", Default::default()).build().expect("main window");
    let app = MockApp { _app: app, window };
    let script = app.invoke("autopilot_load", json!({})).expect("autopilot_load");
    assert_eq!(script["continue_as"], "marie", "the UI answers the another-user page with it: {script}");
    assert_eq!(script["approve_issuer"], json!(["https://login.example.org"]), "{script}");
    assert_eq!((script["system_browser"].clone(), script["auto_login"].clone()), (json!(true), json!(false)));
    assert_eq!(script["password"], Value::Null, "user alone: the login hint, no password");

    // The file's client and redirect port, and the user as the login hint, go to the provider.
    let step = app
        .invoke("wizard_start", json!({ "address": script["address"], "onEvent": "__CHANNEL__:1", "call": 1 }))
        .expect("probe");
    assert_eq!(step["decision"]["decision"], "open_browser", "{step}");
    let url = url::Url::parse(step["decision"]["url"].as_str().unwrap_or_default()).expect("the login page");
    let param = |name: &str| url.query_pairs().find(|(key, _)| key == name).map(|(_, value)| value.into_owned());
    assert_eq!(param("client_id").as_deref(), Some("homeport-realm"), "{url}");
    assert_eq!(param("login_hint").as_deref(), Some("einstein"), "{url}");
    let redirect = url::Url::parse(&param("redirect_uri").unwrap_or_default()).expect("a redirect URI");
    assert_eq!(redirect.port(), Some(port), "the file's redirect port: {redirect}");
}
