//! The administrators' configuration over IPC (docs/administrators.md): what the pages are told,
//! and what the commands refuse whatever the page shows.

use homeport_engine::admin_config::AdminConfig;

use super::*;

fn app_with(admin: &str) -> (MockApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("logo.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>").expect("logo");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, admin).expect("write the admin file");
    let config = AdminConfig::load_first(&[path]).expect("a valid admin file");
    let app = with_homeport(mock_builder(), AppState::new(true).with_admin(config))
        .build(tauri::generate_context!())
        .expect("the app builds");
    let window = WebviewWindowBuilder::new(&app, "main", Default::default()).build().expect("main window");
    (MockApp { _app: app, window }, dir)
}

const LOCKED: &str = r#"
product_name = "Acme Files"
logo = "logo.svg"
demo = false

[server]
address = "https://cloud.acme.example"
lock = true

[proxy]
url = "http://127.0.0.1:3128"
lock = true

[oidc]
lock = true
[[oidc.client]]
issuer = "https://idp.acme.example"
client_id = "acme-desktop"
"#;

#[test]
fn the_pages_are_told_what_is_preset_and_locked_with_the_words() {
    let (app, _dir) = app_with(LOCKED);
    let info = app.invoke("app_info", json!({})).expect("app_info");
    let admin = &info["admin"];
    assert_eq!(admin["product_name"], "Acme Files");
    assert_eq!(
        (admin["address"].as_str(), admin["address_locked"].as_bool()),
        (Some("https://cloud.acme.example"), Some(true))
    );
    assert_eq!(admin["decided_by_server"], "Your organisation set this server");
    assert_eq!(admin["demo"], false, "no Try the demo");
    assert_eq!(info["demo_requested"], false, "--demo does not open the demo when the organisation turned it off");
    assert_eq!((admin["proxy"].as_str(), admin["proxy_locked"].as_bool()), (Some("http://127.0.0.1:3128"), Some(true)));
    assert_eq!(admin["client_locked"], true);
    assert!(info["logo"].as_str().is_some_and(|l| l.starts_with("data:image/svg+xml;base64,")), "{info}");

    let none = app_info_without_a_file();
    assert_eq!(none["admin"]["source"], Value::Null);
    assert_eq!((none["admin"]["address_locked"].as_bool(), none["admin"]["demo"].as_bool()), (Some(false), Some(true)));
}

fn app_info_without_a_file() -> Value {
    app(false).invoke("app_info", json!({})).expect("app_info")
}

#[test]
fn the_commands_refuse_what_is_locked_whatever_the_page_shows() {
    let (app, dir) = app_with(LOCKED);
    let other =
        app.invoke("wizard_start", json!({ "address": "http://127.0.0.1:9/", "onEvent": "__CHANNEL__:1", "call": 1 }));
    let error = other.expect_err("another server is refused");
    assert_eq!(error["code"], "policy_refused", "{error}");
    let message = error["message"].as_str().expect("message");
    assert!(message.starts_with("Your organisation set this server (https://cloud.acme.example/)"), "{message}");
    assert!(message.contains(&dir.path().join("config.toml").display().to_string()), "names the file: {message}");

    let client = json!({ "client_id": "mine", "client_secret": null, "token_auth": null, "scopes": null,
        "prompt": null, "redirect_host": null, "redirect_port": null });
    let args =
        json!({ "address": "https://cloud.acme.example", "onEvent": "__CHANNEL__:2", "call": 2, "client": client });
    let error = app.invoke("wizard_start", args).expect_err("a locked client");
    assert!(
        error["message"].as_str().unwrap_or_default().starts_with("Your organisation set the identity provider client"),
        "{error}"
    );

    let change = json!({ "url": "http://127.0.0.1:8888", "user": null, "password": null });
    let error = app.invoke("proxy_set", json!({ "change": change })).expect_err("a locked proxy");
    assert_eq!(error["code"], "policy_refused");
    assert!(error["message"].as_str().unwrap_or_default().starts_with("Your organisation set this proxy"), "{error}");

    let error = app.invoke("demo_start", json!({})).expect_err("the demo is off");
    assert_eq!(
        (error["code"].as_str(), error["message"].as_str()),
        (Some("policy_refused"), Some("Your organisation turned the demo off"))
    );
}

#[test]
fn a_broken_file_is_shown_at_start_and_nothing_reaches_a_server_until_it_is_fixed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "[server]\naddress = \"https://cloud.acme.example\"\nlok = true\n").expect("write");
    let report = AdminConfig::load_first(std::slice::from_ref(&path)).expect_err("broken").report();
    let app = with_homeport(mock_builder(), AppState::new(false).with_admin_error(report))
        .build(tauri::generate_context!())
        .expect("the app builds");
    let window = WebviewWindowBuilder::new(&app, "main", Default::default()).build().expect("main window");
    let app = MockApp { _app: app, window };
    let info = app.invoke("app_info", json!({})).expect("app_info");
    let error = &info["admin_error"];
    let message = error["message"].as_str().expect("the error for the window");
    assert!(message.starts_with(&format!("{}:3:1: server.lok:", path.display())), "file:line: key: {message}");
    assert_eq!(info["admin"]["demo"], false, "no demo offered either");
    let start = json!({ "address": "http://127.0.0.1:9/", "onEvent": "__CHANNEL__:1", "call": 1 });
    let refused = app.invoke("wizard_start", start).expect_err("nothing is connected");
    assert_eq!((refused["code"].as_str(), refused["message"].as_str()), (Some("bad_input"), Some(message)));
    assert_eq!(app.invoke("demo_start", json!({})).expect_err("no demo")["message"], error["message"]);
    let change = json!({ "url": null, "user": null, "password": null });
    assert_eq!(app.invoke("proxy_set", json!({ "change": change })).expect_err("no proxy change")["code"], "bad_input");
}
