//! The wizard over IPC: a whole connection, a cancel that overtakes its call, refusals.

use super::*;

#[test]
fn the_wizard_runs_over_ipc_against_the_demo_server() {
    let app = app(false);
    let demo = app.invoke("demo_start", json!({})).expect("the demo server starts");
    let central = demo["central_url"].as_str().expect("central url").to_owned();
    assert!(central.starts_with("http://127.0.0.1:"), "loopback only: {central}");
    assert_eq!(demo["people"].as_array().map(Vec::len), Some(3), "the seed's three demo users");
    assert_eq!(app.invoke("demo_start", json!({})).expect("again")["central_url"], central, "started once");

    let channel = "__CHANNEL__:7";
    let step = app.invoke("wizard_start", json!({ "address": central, "onEvent": channel, "call": 1 })).expect("probe");
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

    let error = app.invoke("wizard_answer", json!({ "answer": { "answer": "decline" }, "call": 4 })).expect_err("done");
    assert_eq!(error["code"], "not_found", "a finished wizard takes no answers: {error}");
    app.invoke("demo_stop", json!({})).expect("the demo stops");
    let unreachable = app.invoke("wizard_start", json!({ "address": central, "onEvent": channel, "call": 1 }));
    assert_eq!(unreachable.expect_err("stopped")["code"], "unreachable", "stopping the demo stops the server");
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
    let cancelled = app.invoke("wizard_start", json!({ "address": central, "onEvent": "__CHANNEL__:5", "call": 7 }));
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
    let bad = app.invoke("wizard_start", json!({ "address": "not a server", "onEvent": "__CHANNEL__:1", "call": 1 }));
    assert_eq!(bad.expect_err("rejected")["code"], "bad_input");

    let central = app.invoke("demo_start", json!({})).expect("demo")["central_url"].clone();
    app.invoke("wizard_start", json!({ "address": central, "onEvent": "__CHANNEL__:2", "call": 1 })).expect("probe");
    let credentials = json!({ "answer": "credentials", "user": "test@instance1.com", "password": "secret" });
    let step = app.invoke("wizard_answer", json!({ "answer": credentials, "call": 2 })).expect("login");
    assert_eq!(step["decision"]["decision"], "confirm_redirect");
    let refusal = app.invoke("wizard_answer", json!({ "answer": { "answer": "decline" }, "call": 4 })).expect_err("no");
    assert_eq!(refusal["code"], "policy_refused", "{refusal}");
}
