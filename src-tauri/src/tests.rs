//! The shell's own tests: generated bindings stay current, and the commands work through real
//! IPC on Tauri's mock runtime against a real lookup server on loopback.

use std::path::Path;

/// The committed TypeScript must be what the Rust types generate today.
/// `HOMEPORT_WRITE_BINDINGS=1` (`./dev.sh bindings`) rewrites it instead.
#[test]
fn typescript_bindings_are_up_to_date() {
    let committed_path = Path::new(env!("CARGO_MANIFEST_DIR")).join(crate::BINDINGS_PATH);
    if std::env::var_os("HOMEPORT_WRITE_BINDINGS").is_some() {
        crate::export_bindings(&committed_path).expect("write bindings");
        return;
    }
    let scratch = tempfile::tempdir().expect("scratch dir");
    let fresh_path = scratch.path().join("bindings.ts");
    crate::export_bindings(&fresh_path).expect("export bindings");
    let fresh = std::fs::read_to_string(&fresh_path).expect("read fresh bindings");
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
    assert!(
        fresh == committed,
        "{} is stale: the IPC types changed. Run `./dev.sh bindings` and commit the result.",
        crate::BINDINGS_PATH
    );
}

mod ipc {
    use serde_json::{json, Value};
    use tauri::test::{get_ipc_response, mock_builder, INVOKE_KEY};
    use tauri::webview::InvokeRequest;
    use tauri::WebviewWindowBuilder;

    use crate::{with_homeport, AppState};

    struct MockApp {
        _app: tauri::App<tauri::test::MockRuntime>,
        window: tauri::WebviewWindow<tauri::test::MockRuntime>,
    }

    /// The real config and capabilities (tauri.conf.json, capabilities/), on the mock runtime.
    fn app(demo_requested: bool) -> MockApp {
        let app = with_homeport(mock_builder(), AppState::new(demo_requested))
            .build(tauri::generate_context!())
            .expect("the app builds");
        let window = WebviewWindowBuilder::new(&app, "main", Default::default()).build().expect("main window");
        MockApp { _app: app, window }
    }

    impl MockApp {
        fn invoke(&self, command: &str, args: Value) -> Result<Value, Value> {
            let request = InvokeRequest {
                cmd: command.into(),
                callback: tauri::ipc::CallbackFn(0),
                error: tauri::ipc::CallbackFn(1),
                url: "tauri://localhost".parse().expect("url"),
                body: tauri::ipc::InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            };
            get_ipc_response(&self.window, request).map(|body| body.deserialize::<Value>().expect("a JSON answer"))
        }
    }

    #[test]
    fn app_info_reports_the_demo_flag() {
        let answer = app(true).invoke("app_info", json!({})).expect("app_info is granted");
        assert_eq!(answer["demo_requested"], true, "--demo reaches the UI");
        assert_eq!(answer["version"], env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn the_window_gets_homeports_commands_and_no_core_plugin() {
        let app = app(false);
        let granted = app.invoke("wizard_cancel", json!({ "call": 1 }));
        assert!(granted.is_ok(), "Homeport's own commands are granted to the main window: {granted:?}");
        let denied = app.invoke("plugin:window|close", json!({})).expect_err("core window commands are not granted");
        assert!(denied.to_string().contains("not allowed"), "refused by the ACL: {denied}");
        let denied = app.invoke("plugin:event|emit", json!({ "event": "x", "payload": null }));
        assert!(denied.is_err(), "events are not granted either");
    }

    #[test]
    fn the_wizard_runs_over_ipc_against_the_demo_server() {
        let app = app(false);
        let demo = app.invoke("demo_start", json!({})).expect("the demo server starts");
        let central = demo["central_url"].as_str().expect("central url").to_owned();
        assert!(central.starts_with("http://127.0.0.1:"), "loopback only: {central}");
        assert_eq!(demo["people"].as_array().map(Vec::len), Some(3), "the seed's three demo users");
        assert_eq!(app.invoke("demo_start", json!({})).expect("again")["central_url"], central, "started once");

        let channel = "__CHANNEL__:7";
        let step =
            app.invoke("wizard_start", json!({ "address": central, "onEvent": channel, "call": 1 })).expect("probe");
        assert_eq!(step["decision"]["decision"], "needs_credentials", "{step}");
        let credentials = json!({ "answer": "credentials", "user": "test@instance3.com", "password": "secret" });
        let step = app.invoke("wizard_answer", json!({ "answer": credentials, "call": 2 })).expect("login");
        assert_eq!(step["decision"]["decision"], "confirm_redirect", "{step}");
        let origin = step["decision"]["to"].clone();
        let step = app
            .invoke("wizard_answer", json!({ "answer": { "answer": "approve_redirect", "origin": origin }, "call": 3 }))
            .expect("verify");
        assert_eq!(step["outcome"], "verified", "{step}");
        assert_eq!(step["verified"]["account"]["display_name"], "Test User Three");
        assert_eq!(step["verified"]["avatar"], Value::Null, "instance 3 has no avatar");
        assert_eq!(step["verified"]["initials"], "TT");

        let error =
            app.invoke("wizard_answer", json!({ "answer": { "answer": "decline" }, "call": 4 })).expect_err("done");
        assert_eq!(error["code"], "not_found", "a finished wizard takes no answers: {error}");
        app.invoke("demo_stop", json!({})).expect("the demo stops");
        let unreachable = app.invoke("wizard_start", json!({ "address": central, "onEvent": channel, "call": 1 }));
        assert_eq!(unreachable.expect_err("stopped")["code"], "unreachable", "stopping the demo stops the server");
    }

    #[test]
    fn the_demo_offers_ocis_and_tenants_and_its_tenant_profile_reaches_the_wizard() {
        let app = app(false);
        let demo = app.invoke("demo_start", json!({})).expect("the demo server starts");
        let person = |login: &str| {
            demo["oidc_people"].as_array().and_then(|people| people.iter().find(|p| p["login"] == login)).cloned()
        };
        let einstein = person("einstein").expect("einstein is an IdP user");
        assert_eq!(einstein["password"], "relativity", "the demo page shows what to type at the IdP");
        assert_eq!(einstein["instances"].as_array().map(Vec::len), Some(1), "einstein lives on instance A");
        let marie = person("marie").expect("marie is an IdP user");
        assert_eq!(marie["instances"].as_array().map(Vec::len), Some(2), "marie lives on A and B: a choice");
        assert_eq!(person("richard").expect("richard")["disabled"], true, "seed 002's disabled account");
        let tenants = demo["tenants"].as_array().expect("tenants");
        let tenant = |name: &str| tenants.iter().find(|t| t["name"] == name).cloned().expect("a demo tenant");
        assert_eq!(tenant("tenant1")["subscribed"], true);
        assert_eq!(tenant("tenant3")["subscribed"], false, "one unsubscribed tenant, refused");

        // oCIS answers with a Bearer challenge: the wizard asks to log in at the demo's IdP.
        let ocis = demo["ocis_url"].clone();
        let step = app
            .invoke("wizard_start", json!({ "address": ocis, "onEvent": "__CHANNEL__:3", "call": 1 }))
            .expect("probe");
        assert_eq!(step["decision"]["decision"], "open_browser", "{step}");
        assert_eq!(step["decision"]["issuer"], demo["idp_url"], "oCIS names the demo's IdP: {step}");

        // A tenant's address leads to the tenant's own identity zone only through the demo's
        // tenant profile (TENANT_HOST_PATTERN and the zones' issuer template).
        let url = tenant("tenant1")["url"].clone();
        let step = app
            .invoke("wizard_start", json!({ "address": url, "onEvent": "__CHANNEL__:4", "call": 1 }))
            .expect("probe");
        assert_eq!(step["decision"]["decision"], "open_browser", "{step}");
        let issuer = step["decision"]["issuer"].as_str().unwrap_or_default();
        assert!(issuer.starts_with("http://tenant1.auth.localhost:"), "tenant1's zone is the issuer: {step}");
        app.invoke("demo_stop", json!({})).expect("the demo stops");
    }

    #[test]
    fn the_demo_offers_both_matrix_portals_and_the_browser_instead_of_the_password() {
        let app = app(false);
        let demo = app.invoke("demo_start", json!({})).expect("the demo server starts");
        let matrix = &demo["matrix"];
        let modes: Vec<Value> =
            matrix["portals"].as_array().expect("portals").iter().map(|p| p["mode"].clone()).collect();
        assert_eq!(modes, [json!("proxy"), json!("redirect")], "both portal modes, proxy first: {matrix}");
        let homeserver = |name: &str| {
            matrix["homeservers"].as_array().and_then(|all| all.iter().find(|h| h["name"] == name)).cloned()
        };
        let person = |localpart: &str| {
            matrix["people"].as_array().and_then(|people| people.iter().find(|p| p["localpart"] == localpart)).cloned()
        };
        let alice = person("alice").expect("alice is a Matrix demo user");
        assert_eq!(alice["password"], "wonderland", "the demo page shows the password");
        assert_eq!(alice["homeserver"], "hs1");
        let at_proxy = alice["addresses"][0].as_str().unwrap_or_default().to_owned();
        let at_307 = alice["addresses"][1].as_str().unwrap_or_default();
        assert!(at_proxy.starts_with("@alice:proxy.localhost:"), "a Matrix ID at the proxy portal: {at_proxy}");
        assert!(at_307.starts_with("@alice:redirect.localhost:"), "and at the 307 portal: {at_307}");
        assert_eq!(person("dave").expect("dave")["deactivated"], true, "the deactivated user is marked");
        assert_eq!(person("carol").expect("carol")["rate_limited"], true, "the rate-limited user is marked");

        // The password form names Matrix; the browser (SSO) can be asked for instead.
        let step = app
            .invoke("wizard_start", json!({ "address": at_proxy, "onEvent": "__CHANNEL__:1", "call": 1 }))
            .expect("discovery");
        let decision = &step["decision"];
        assert_eq!(decision["decision"], "needs_credentials", "{step}");
        assert!(decision["product"].as_str().unwrap_or_default().starts_with("Matrix"), "{step}");
        assert_eq!(decision["login_hint"], "alice", "the localpart is the login hint: {step}");
        let step = app
            .invoke("wizard_answer", json!({ "answer": { "answer": "use_browser_login" }, "call": 2 }))
            .expect("SSO");
        assert_eq!(step["decision"]["decision"], "open_browser", "{step}");
        let portal = matrix["portals"][0]["url"].as_str().unwrap_or_default();
        let login_page = step["decision"]["url"].as_str().unwrap_or_default();
        assert!(login_page.starts_with(portal), "the portal's SSO page: {login_page}");

        // The password at the proxy portal: its answer names hs1, no question asked.
        app.invoke("wizard_start", json!({ "address": at_proxy, "onEvent": "__CHANNEL__:2", "call": 3 }))
            .expect("discovery");
        let credentials = json!({ "answer": "credentials", "user": "alice", "password": "wonderland" });
        let step = app.invoke("wizard_answer", json!({ "answer": credentials, "call": 4 })).expect("login");
        assert_eq!(step["outcome"], "verified", "{step}");
        let account = &step["verified"]["account"];
        assert_eq!(account["kind"], "matrix");
        assert_eq!(account["server_url"], portal, "the portal is kept: {account}");
        assert_eq!(account["instance_url"], homeserver("hs1").expect("hs1")["url"], "alice is on hs1: {account}");
        assert_eq!(account["user_id"], alice["user_id"]);
        assert!(account["matrix"]["device_id"].as_str().is_some_and(|d| !d.is_empty()), "a device: {account}");

        // bob at the 307 portal: the redirect to hs2 is a question, with its status.
        let bob = person("bob").expect("bob");
        app.invoke("wizard_start", json!({ "address": bob["addresses"][1], "onEvent": "__CHANNEL__:3", "call": 5 }))
            .expect("discovery");
        let credentials = json!({ "answer": "credentials", "user": "bob", "password": bob["password"] });
        let step = app.invoke("wizard_answer", json!({ "answer": credentials, "call": 6 })).expect("login");
        assert_eq!(step["decision"]["decision"], "confirm_redirect", "{step}");
        assert_eq!(step["decision"]["status"], 307, "{step}");
        let hs2 = homeserver("hs2").expect("hs2")["url"].as_str().unwrap_or_default().trim_end_matches('/').to_owned();
        assert_eq!(step["decision"]["to"], hs2, "bob's homeserver: {step}");
        app.invoke("demo_stop", json!({})).expect("the demo stops");
    }

    #[test]
    fn a_cancel_that_overtakes_its_call_stops_that_call_and_no_other() {
        let app = app(false);
        // Every answer takes 3 s: a step that is not cancelled is easy to tell.
        let scenario = homeport_lookup::Scenario {
            latency: std::time::Duration::from_secs(3),
            ..homeport_lookup::Scenario::default()
        };
        let loopback = std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0));
        let slow = tauri::async_runtime::block_on(homeport_lookup::LookupServer::start(loopback, scenario))
            .expect("a slow lookup server");
        let central = slow.central_url().to_string();

        // The UI's Cancel for call 7 is handled before call 7 has started (commands run concurrently).
        app.invoke("wizard_cancel", json!({ "call": 7 })).expect("wizard_cancel is granted");
        let started = std::time::Instant::now();
        let cancelled =
            app.invoke("wizard_start", json!({ "address": central, "onEvent": "__CHANNEL__:5", "call": 7 }));
        assert_eq!(cancelled.expect_err("cancelled")["code"], "cancelled", "the overtaken call is stopped");
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "at once, not after the slow answer");

        // A cancel for another call (one that had already finished) stops nothing else.
        app.invoke("wizard_cancel", json!({ "call": 8 })).expect("cancel");
        let demo = app.invoke("demo_start", json!({})).expect("demo")["central_url"].clone();
        let step = app.invoke("wizard_start", json!({ "address": demo, "onEvent": "__CHANNEL__:6", "call": 9 }));
        assert_eq!(step.expect("not cancelled")["decision"]["decision"], "needs_credentials");
        tauri::async_runtime::block_on(slow.shutdown());
    }

    #[test]
    fn declining_a_redirect_is_a_policy_refusal_and_bad_addresses_are_bad_input() {
        let app = app(false);
        let bad =
            app.invoke("wizard_start", json!({ "address": "not a server", "onEvent": "__CHANNEL__:1", "call": 1 }));
        assert_eq!(bad.expect_err("rejected")["code"], "bad_input");

        let central = app.invoke("demo_start", json!({})).expect("demo")["central_url"].clone();
        app.invoke("wizard_start", json!({ "address": central, "onEvent": "__CHANNEL__:2", "call": 1 }))
            .expect("probe");
        let credentials = json!({ "answer": "credentials", "user": "test@instance1.com", "password": "secret" });
        let step = app.invoke("wizard_answer", json!({ "answer": credentials, "call": 2 })).expect("login");
        assert_eq!(step["decision"]["decision"], "confirm_redirect");
        let refusal =
            app.invoke("wizard_answer", json!({ "answer": { "answer": "decline" }, "call": 4 })).expect_err("no");
        assert_eq!(refusal["code"], "policy_refused", "{refusal}");
    }

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
        assert_eq!(
            app.invoke("autopilot_load", json!({})).expect("again")["address"],
            address.as_str(),
            "started once"
        );

        // The UI plays it with the normal commands; the file's credentials went with the probe.
        let step = app
            .invoke("wizard_start", json!({ "address": address, "onEvent": "__CHANNEL__:1", "call": 1 }))
            .expect("probe");
        assert_eq!(step["decision"]["decision"], "confirm_redirect", "credentials up front, as headless: {step}");
        assert_eq!(step["decision"]["to"], approved.as_str());
        let answer = json!({ "answer": "approve_redirect", "origin": approved });
        let step = app.invoke("wizard_answer", json!({ "answer": answer, "call": 2 })).expect("verify");
        assert_eq!(step["outcome"], "verified", "{step}");
        let verdict = app.invoke("autopilot_finish", json!({})).expect("autopilot_finish is granted");
        assert_eq!(verdict["passed"], true, "{verdict}");
        assert_eq!(verdict["round_trips"], 3, "as many as headless (max_round_trips = 3): {verdict}");
        assert_eq!(verdict["user_id"], "test@instance2.com");
        let line = verdict["line"].as_str().unwrap_or_default();
        assert!(line.starts_with("✓ S0: test@instance2.com is redirected to instance2 — connected as"), "{line}");

        // After the verdict the person is in control: the file's credentials no longer go along,
        // and a connection that ends otherwise fails the expectations, in words.
        let step = app
            .invoke("wizard_start", json!({ "address": address, "onEvent": "__CHANNEL__:2", "call": 3 }))
            .expect("probe");
        assert_eq!(step["decision"]["decision"], "needs_credentials", "the person logs in: {step}");
        let refusal = app.invoke("wizard_answer", json!({ "answer": { "answer": "decline" }, "call": 4 }));
        let code = refusal.expect_err("declined")["code"].clone();
        let verdict = app.invoke("autopilot_finish", json!({})).expect("verdict");
        assert_eq!(verdict["passed"], false, "{verdict}");
        assert_eq!(verdict["error_code"], code);
        let failure = verdict["failures"][0].as_str().unwrap_or_default();
        assert!(failure.starts_with("expected to connect, failed with"), "{verdict}");
        assert!(verdict["line"].as_str().is_some_and(|line| line.starts_with("✗ ")), "{verdict}");
    }

    #[test]
    fn without_a_script_there_is_nothing_to_play() {
        let app = app(false);
        assert_eq!(app.invoke("app_info", json!({})).expect("app_info")["script"], Value::Null);
        assert_eq!(app.invoke("autopilot_load", json!({})).expect("granted"), Value::Null, "no --script");
        let none = app.invoke("autopilot_finish", json!({})).expect_err("no verdict without a script");
        assert_eq!(none["code"], "not_found", "{none}");
    }
}
