//! The demo over IPC: its servers, people and tenants, and its self-signed server.

use super::*;

#[test]
fn app_info_reports_the_demo_flag() {
    let answer = app(true).invoke("app_info", json!({})).expect("app_info is granted");
    assert_eq!(answer["demo_requested"], true, "--demo reaches the UI");
    assert_eq!(answer["version"], env!("CARGO_PKG_VERSION"));
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
    let step =
        app.invoke("wizard_start", json!({ "address": ocis, "onEvent": "__CHANNEL__:3", "call": 1 })).expect("probe");
    assert_eq!(step["decision"]["decision"], "open_browser", "{step}");
    assert_eq!(step["decision"]["issuer"], demo["idp_url"], "oCIS names the demo's IdP: {step}");

    // A tenant's address leads to the tenant's own identity zone only through the demo's
    // tenant profile (TENANT_HOST_PATTERN and the zones' issuer template).
    let url = tenant("tenant1")["url"].clone();
    let step =
        app.invoke("wizard_start", json!({ "address": url, "onEvent": "__CHANNEL__:4", "call": 1 })).expect("probe");
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
    let modes: Vec<Value> = matrix["portals"].as_array().expect("portals").iter().map(|p| p["mode"].clone()).collect();
    assert_eq!(modes, [json!("proxy"), json!("redirect")], "both portal modes, proxy first: {matrix}");
    let homeserver =
        |name: &str| matrix["homeservers"].as_array().and_then(|all| all.iter().find(|h| h["name"] == name)).cloned();
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
    let step =
        app.invoke("wizard_answer", json!({ "answer": { "answer": "use_browser_login" }, "call": 2 })).expect("SSO");
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
fn the_demos_self_signed_server_asks_to_trust_its_certificate_and_pins_exactly_that_one() {
    let app = app(false);
    let demo = app.invoke("demo_start", json!({})).expect("the demo starts");
    let server = demo["self_signed"]["central_url"].as_str().unwrap_or_default().to_owned();
    let sha256 = demo["self_signed"]["sha256"].as_str().unwrap_or_default().to_owned();
    assert!(server.starts_with("https://127.0.0.1:"), "S0 over https on loopback: {demo}");
    assert_eq!(sha256.len(), 95, "an SHA-256 fingerprint, AB:CD:…: {sha256}");

    let step =
        app.invoke("wizard_start", json!({ "address": server, "onEvent": "__CHANNEL__:1", "call": 1 })).expect("probe");
    let decision = &step["decision"];
    assert_eq!(decision["decision"], "trust_certificate", "not trusted by this computer: {step}");
    assert_eq!(decision["certificate"]["sha256"], sha256.as_str(), "the demo server's own certificate: {step}");
    assert!(decision["certificate"]["not_after"].as_str().is_some_and(|t| !t.is_empty()), "validity: {step}");

    // Another fingerprint than the one shown is not pinned; the question stays open.
    let other = "00:".repeat(31) + "00";
    let refused = app
        .invoke("wizard_answer", json!({ "answer": { "answer": "trust_certificate", "sha256": other }, "call": 2 }))
        .expect_err("only the certificate shown");
    assert_eq!(refused["code"], "policy_refused", "{refused}");

    let trust = json!({ "answer": "trust_certificate", "sha256": sha256.to_lowercase() });
    let step = app.invoke("wizard_answer", json!({ "answer": trust, "call": 3 })).expect("trusted");
    assert_eq!(step["decision"]["decision"], "needs_credentials", "then it connects: {step}");
    let credentials = json!({ "answer": "credentials", "user": "test@instance2.com", "password": "secret" });
    let step = app.invoke("wizard_answer", json!({ "answer": credentials, "call": 4 })).expect("login");
    assert_eq!(step["decision"]["decision"], "confirm_redirect", "{step}");
    let origin = step["decision"]["to"].clone();
    assert!(origin.as_str().is_some_and(|o| o.starts_with("https://")), "the instance over https too: {step}");
    let answer = json!({ "answer": { "answer": "approve_redirect", "origin": origin }, "call": 5 });
    let step = app.invoke("wizard_answer", answer).expect("the instance");
    // The instance presents the same certificate at another port: a pin holds at one host:port.
    assert_eq!(step["decision"]["decision"], "trust_certificate", "asked again at the instance: {step}");
    assert_eq!(step["decision"]["certificate"]["sha256"], sha256.as_str(), "the same certificate: {step}");
    let trust = json!({ "answer": "trust_certificate", "sha256": sha256 });
    let step = app.invoke("wizard_answer", json!({ "answer": trust, "call": 50 })).expect("verified, pinned");
    assert_eq!(step["outcome"], "verified", "{step}");
    let pins = step["verified"]["account"]["trusted_certificates"].as_array().cloned().unwrap_or_default();
    assert_eq!(pins.len(), 2, "pinned for this account at the server and the instance: {step}");
    assert!(pins.iter().all(|pin| pin["sha256"] == sha256.as_str()), "{step}");

    // Don't trust: the wizard ends with the certificate named, code tls.
    app.invoke("wizard_start", json!({ "address": server, "onEvent": "__CHANNEL__:2", "call": 6 })).expect("probe");
    let refusal =
        app.invoke("wizard_answer", json!({ "answer": { "answer": "decline" }, "call": 7 })).expect_err("declined");
    assert_eq!(refusal["code"], "tls", "{refusal}");
    assert_eq!(refusal["detail"]["reason"], "untrusted", "{refusal}");
    assert_eq!(refusal["detail"]["certificate"]["sha256"], sha256.as_str(), "{refusal}");

    // The demo's tenant profile is still the plain-http server's (the https one's tenants are not offered).
    let tenants = demo["tenants"].as_array().expect("tenants");
    let tenant1 = tenants.iter().find(|t| t["name"] == "tenant1").expect("tenant1")["url"].clone();
    let step = app
        .invoke("wizard_start", json!({ "address": tenant1, "onEvent": "__CHANNEL__:3", "call": 8 }))
        .expect("tenant probe");
    assert!(step["decision"]["issuer"].as_str().is_some_and(|i| i.starts_with("http://tenant1.auth.localhost:")));
    app.invoke("demo_stop", json!({})).expect("the demo stops");
    let stopped = app.invoke("wizard_start", json!({ "address": server, "onEvent": "__CHANNEL__:4", "call": 9 }));
    assert_eq!(stopped.expect_err("stopped")["code"], "unreachable", "Stop demo stops the https server too");
}

/// The demo from a demo file (`--demo-scenario`): the oCIS example's own instances, people and
/// tenants reach the demo page, and its tenant's address leads to that tenant's own zone.
#[test]
fn a_demo_file_brings_its_own_ocis_instances_people_and_tenants() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples/demo-ocis.toml");
    let demo = homeport_lookup::Demo::load(&path).expect("the example is valid");
    let state = AppState::new(true).with_demo_scenario(demo.scenario);
    let app = with_homeport(mock_builder(), state).build(tauri::generate_context!()).expect("the app builds");
    let window = WebviewWindowBuilder::new(&app, "main", Default::default()).build().expect("main window");
    let app = MockApp { _app: app, window };
    let demo = app.invoke("demo_start", json!({})).expect("the demo server starts");
    let logins: Vec<Value> =
        demo["oidc_people"].as_array().expect("people").iter().map(|p| p["login"].clone()).collect();
    assert_eq!(logins, [json!("greta"), json!("otto"), json!("paul")], "the file's people: {demo}");
    let greta = &demo["oidc_people"][0];
    let names: Vec<Value> =
        greta["instances"].as_array().expect("instances").iter().map(|i| i["name"].clone()).collect();
    assert_eq!(names, [json!("north"), json!("south")], "on the file's instances: {greta}");
    assert!(greta["instances"][1]["url"].as_str().is_some_and(|url| url.starts_with("http://127.0.0.1:")), "{greta}");
    let tenants: Vec<(Value, Value)> = demo["tenants"]
        .as_array()
        .expect("tenants")
        .iter()
        .map(|t| (t["name"].clone(), t["subscribed"].clone()))
        .collect();
    assert_eq!(tenants, [(json!("acme-berlin"), json!(true)), (json!("acme-trial"), json!(false))], "{demo}");
    let url = demo["tenants"][0]["url"].clone();
    let step =
        app.invoke("wizard_start", json!({ "address": url, "onEvent": "__CHANNEL__:5", "call": 1 })).expect("probe");
    let issuer = step["decision"]["issuer"].as_str().unwrap_or_default();
    assert!(issuer.starts_with("http://acme-berlin.auth.localhost:"), "the file's tenant's zone: {step}");
    app.invoke("demo_stop", json!({})).expect("the demo stops");
}
