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

/// The window's security settings, read from the files the app is built with: a strict CSP, no
/// remote content, and exactly the commands the UI calls.
mod audit {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    use serde_json::Value;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
    }

    fn read_json(path: &Path) -> Value {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
    }

    fn config() -> Value {
        read_json(&root().join("tauri.conf.json"))
    }

    fn capabilities() -> Vec<(PathBuf, Value)> {
        let dir = root().join("src-tauri/capabilities");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("src-tauri/capabilities")
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "at least one capability file");
        files.into_iter().map(|path| (path.clone(), read_json(&path))).collect()
    }

    /// Every UI source file (not the generated bindings, not the tests).
    fn ui_sources() -> Vec<(PathBuf, String)> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).expect("ui source folder").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|ext| ext == "svelte" || ext == "ts" || ext == "html") {
                    out.push(path);
                }
            }
        }
        let mut files = vec![root().join("ui/index.html")];
        walk(&root().join("ui/src"), &mut files);
        files
            .into_iter()
            .filter(|path| {
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                name != "bindings.ts" && !name.ends_with(".test.ts")
            })
            .map(|path| {
                let text = std::fs::read_to_string(&path).expect("read a UI source");
                (path, text)
            })
            .collect()
    }

    /// `default-src 'self'; img-src …` → directive → sources.
    fn csp_directives(csp: &str) -> Vec<(String, Vec<String>)> {
        csp.split(';')
            .map(str::trim)
            .filter(|directive| !directive.is_empty())
            .map(|directive| {
                let mut words = directive.split_whitespace().map(str::to_owned);
                let name = words.next().unwrap_or_default();
                (name, words.collect())
            })
            .collect()
    }

    /// Tauri's own IPC endpoints (`ipc:` on Linux and macOS, `http://ipc.localhost` on Windows):
    /// the only non-`'self'` origins the window may talk to.
    const TAURI_IPC: [&str; 2] = ["ipc:", "http://ipc.localhost"];

    #[test]
    fn the_csp_allows_only_the_apps_own_assets_data_images_and_ipc() {
        let config = config();
        let security = &config["app"]["security"];
        let csp = security["csp"].as_str().expect("tauri.conf.json sets a CSP (a string)");
        let directives = csp_directives(csp);
        let sources = |name: &str| directives.iter().find(|(n, _)| n == name).map(|(_, s)| s.clone());
        assert_eq!(sources("default-src"), Some(vec!["'self'".to_owned()]), "default-src 'self' only: {csp}");
        for (name, list) in &directives {
            for source in list {
                assert!(source != "'unsafe-eval'" && source != "'wasm-unsafe-eval'", "{name} allows eval: {csp}");
                assert!(!source.contains('*'), "{name} has a wildcard source {source}: {csp}");
                assert!(
                    !matches!(source.as_str(), "http:" | "https:" | "ws:" | "wss:" | "blob:" | "filesystem:"),
                    "{name} allows a whole scheme ({source}): {csp}"
                );
                if source.contains("://") || source.ends_with(':') && source != "data:" {
                    assert!(TAURI_IPC.contains(&source.as_str()), "{name} names a remote origin {source}: {csp}");
                }
                if source == "data:" {
                    assert_eq!(name, "img-src", "data: only for images (avatars): {csp}");
                }
            }
        }
        // Scripts fall back to default-src unless named; either way no inline script.
        for name in ["script-src", "script-src-elem", "script-src-attr"] {
            if let Some(list) = sources(name) {
                assert!(!list.iter().any(|s| s == "'unsafe-inline'"), "{name} allows inline scripts: {csp}");
            }
        }
        assert!(!csp.contains("unsafe-eval"), "no eval anywhere: {csp}");
        for key in ["dangerousDisableAssetCspModification", "dangerousRemoteDomainIpcAccess", "devCsp"] {
            assert!(security.get(key).is_none(), "tauri.conf.json sets {key}: {security}");
        }
        assert_ne!(config["app"]["withGlobalTauri"], true, "no global __TAURI__ for injected scripts");
    }

    #[test]
    fn the_window_never_loads_remote_content() {
        let config = config();
        // Every URL in the config: only its JSON schema's address (an editor hint, never loaded).
        fn urls(value: &Value, key: &str, out: &mut Vec<String>) {
            match value {
                // The CSP is checked on its own (Tauri's IPC origin is in it).
                Value::String(text) if text.contains("://") && key != "$schema" && key != "csp" => {
                    out.push(format!("{key}: {text}"))
                }
                Value::Array(items) => items.iter().for_each(|item| urls(item, key, out)),
                Value::Object(map) => map.iter().for_each(|(key, value)| urls(value, key, out)),
                _ => {}
            }
        }
        let mut found = Vec::new();
        urls(&config, "", &mut found);
        assert!(found.is_empty(), "tauri.conf.json names remote URLs: {found:?}");
        assert!(config["build"].get("devUrl").is_none(), "the window loads the built UI (ui/dist), no dev server");
        assert_eq!(config["build"]["frontendDist"], "ui/dist", "the app's own assets, embedded");
        for window in config["app"]["windows"].as_array().expect("windows") {
            assert!(window.get("url").is_none(), "a window with its own URL: {window}");
        }
        for (path, capability) in capabilities() {
            assert!(capability.get("remote").is_none(), "{} grants remote origins IPC access", path.display());
            assert_eq!(capability["windows"], serde_json::json!(["main"]), "{}: the main window only", path.display());
            assert!(capability.get("webviews").is_none(), "{}: no other webviews", path.display());
        }
        // Nor does the UI: no remote scripts, styles, images, frames or links.
        for (path, text) in ui_sources() {
            for pattern in
                ["src=\"http", "href=\"http", "src='http", "href='http", "<iframe", "window.open(", "@import"]
            {
                assert!(!text.contains(pattern), "{} contains {pattern:?}", path.display());
            }
        }
    }

    #[test]
    fn external_links_open_in_the_system_browser_through_the_shell() {
        // The only page outside the app, the login page, is opened by `wizard_answer` with the
        // opener plugin's function, from Rust: the window has no opener permission, and the UI
        // has no link to follow (checked above: no href="http…").
        let lib = std::fs::read_to_string(root().join("src-tauri/src/lib.rs")).expect("lib.rs");
        assert!(lib.contains("tauri_plugin_opener::open_url("), "the shell opens the login page in the browser");
        for (path, capability) in capabilities() {
            let permissions = capability["permissions"].as_array().expect("permissions");
            for permission in permissions {
                let name = permission.as_str().map(str::to_owned).unwrap_or_else(|| permission.to_string());
                assert!(!name.contains(':'), "{} grants a plugin permission ({name}): none needed", path.display());
            }
        }
    }

    #[test]
    fn each_granted_command_is_one_the_ui_calls_and_each_call_is_granted() {
        let mut called = BTreeSet::new();
        for (_, text) in ui_sources() {
            for (at, _) in text.match_indices("commands.") {
                let name: String =
                    text[at + "commands.".len()..].chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
                // wizardStart → wizard_start
                let snake: String = name
                    .chars()
                    .flat_map(|c| match c.is_ascii_uppercase() {
                        true => vec!['_', c.to_ascii_lowercase()],
                        false => vec![c],
                    })
                    .collect();
                if !snake.is_empty() {
                    called.insert(snake);
                }
            }
        }
        let mut granted = BTreeSet::new();
        for (path, capability) in capabilities() {
            for permission in capability["permissions"].as_array().expect("permissions") {
                let name = permission.as_str().expect("plain permission names");
                let command = name
                    .strip_prefix("allow-")
                    .unwrap_or_else(|| panic!("{}: {name} is not an allow-<command> permission", path.display()));
                granted.insert(command.replace('-', "_"));
            }
        }
        let expected: BTreeSet<String> = [
            "account_remove",
            "account_verify",
            "accounts_list",
            "app_info",
            "autopilot_finish",
            "autopilot_load",
            "autopilot_stop",
            "demo_start",
            "demo_stop",
            "proxy_get",
            "proxy_set",
            "ui_ready",
            "wizard_answer",
            "wizard_cancel",
            "wizard_save",
            "wizard_start",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        assert_eq!(called, expected, "the commands the UI calls (update this list with the capability)");
        assert_eq!(granted, called, "the capability grants exactly the commands the UI calls");
    }
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

    #[test]
    fn the_demos_self_signed_server_asks_to_trust_its_certificate_and_pins_exactly_that_one() {
        let app = app(false);
        let demo = app.invoke("demo_start", json!({})).expect("the demo starts");
        let server = demo["self_signed"]["central_url"].as_str().unwrap_or_default().to_owned();
        let sha256 = demo["self_signed"]["sha256"].as_str().unwrap_or_default().to_owned();
        assert!(server.starts_with("https://127.0.0.1:"), "S0 over https on loopback: {demo}");
        assert_eq!(sha256.len(), 95, "an SHA-256 fingerprint, AB:CD:…: {sha256}");

        let step = app
            .invoke("wizard_start", json!({ "address": server, "onEvent": "__CHANNEL__:1", "call": 1 }))
            .expect("probe");
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
        let step = app.invoke("wizard_answer", answer).expect("verified with the pinned certificate");
        assert_eq!(step["outcome"], "verified", "{step}");
        assert_eq!(step["verified"]["account"]["trusted_certificates"], json!([sha256]), "pinned for this account");

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

    /// Set in the child process of the keyring test.
    const KEYRING_CHILD: &str = "HOMEPORT_TEST_KEYRING_CHILD";
    /// The real session bus, for the child to reach once "the keyring is back".
    const REAL_BUS: &str = "HOMEPORT_TEST_REAL_BUS";

    /// The keyring is unreachable (the D-Bus session bus address points nowhere), as with no
    /// Secret Service running: Done says so, keeps the verified account, and "Try again" (the
    /// same `wizard_save`) stores it once the bus is there. Runs in a child process: the bus
    /// address is read from the environment, and other tests need the real one.
    #[test]
    fn a_missing_keyring_keeps_the_verified_account_until_try_again_saves_it() {
        if std::env::var_os(KEYRING_CHILD).is_none() {
            let scratch = tempfile::tempdir().expect("scratch");
            let output = std::process::Command::new(std::env::current_exe().expect("the test binary"))
                .args([
                    "--exact",
                    "tests::ipc::a_missing_keyring_keeps_the_verified_account_until_try_again_saves_it",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(KEYRING_CHILD, scratch.path())
                .env("HOMEPORT_CONFIG_DIR", scratch.path().join("config"))
                .env("DBUS_SESSION_BUS_ADDRESS", format!("unix:path={}", scratch.path().join("bus").display()))
                .env(REAL_BUS, std::env::var("DBUS_SESSION_BUS_ADDRESS").unwrap_or_default())
                // No X11 autolaunch of a bus either.
                .env_remove("DISPLAY")
                .output()
                .expect("run the child");
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success() && stdout.contains("1 passed"),
                "the child failed:\n{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
                assert!(stdout.contains("saved after Try again"), "the retry was checked: {stdout}");
            }
            return;
        }
        let scratch = std::path::PathBuf::from(std::env::var_os(KEYRING_CHILD).unwrap_or_default());
        let config = scratch.join("config");
        std::fs::create_dir_all(&config).expect("config dir");
        let app = app(false);

        // A proxy password needs the keyring: refused with its message, and nothing written.
        let change = json!({ "url": "http://127.0.0.1:3128", "user": "alice", "password": "proxy-secret" });
        let refused = app.invoke("proxy_set", json!({ "change": change })).expect_err("no keyring");
        assert_eq!(refused["code"], "keyring_unavailable", "{refused}");
        assert!(refused["message"].as_str().is_some_and(|m| m.contains("keyring")), "{refused}");
        assert!(!config.join("proxy.json").exists(), "no proxy saved without its password");
        // A saved proxy user whose password cannot be read stops the wizard with the keyring's words.
        let file = json!({ "version": 1, "url": "http://127.0.0.1:3128", "user": "alice" });
        std::fs::write(config.join("proxy.json"), file.to_string()).expect("a proxy.json");
        let central = app.invoke("demo_start", json!({})).expect("demo")["central_url"].clone();
        let stopped = app
            .invoke("wizard_start", json!({ "address": central, "onEvent": "__CHANNEL__:9", "call": 9 }))
            .expect_err("the proxy password is in the keyring");
        assert_eq!(stopped["code"], "keyring_unavailable", "{stopped}");
        // "None" works without a keyring.
        let none = app.invoke("proxy_set", json!({ "change": { "url": null, "user": null, "password": null } }));
        assert_eq!(none.expect("cleared without a keyring")["url"], Value::Null);
        assert!(!config.join("proxy.json").exists(), "the proxy is off");

        app.invoke("wizard_start", json!({ "address": central, "onEvent": "__CHANNEL__:1", "call": 1 }))
            .expect("probe");
        let credentials = json!({ "answer": "credentials", "user": "test@instance2.com", "password": "secret" });
        let step = app.invoke("wizard_answer", json!({ "answer": credentials, "call": 2 })).expect("login");
        let origin = step["decision"]["to"].clone();
        let answer = json!({ "answer": { "answer": "approve_redirect", "origin": origin }, "call": 3 });
        let verified = app.invoke("wizard_answer", answer).expect("verified");
        assert_eq!(verified["outcome"], "verified", "{verified}");
        assert_eq!(verified["verified"]["already_stored"], false, "a new account");

        let failed = app.invoke("wizard_save", json!({})).expect_err("no keyring");
        assert_eq!(failed["code"], "keyring_unavailable", "{failed}");
        assert!(failed["message"].as_str().is_some_and(|m| m.contains("keyring")), "{failed}");
        assert!(!config.join("accounts.json").exists(), "nothing stored without its password (never a file fallback)");
        let again = app.invoke("wizard_save", json!({})).expect_err("still no keyring");
        assert_eq!(again["code"], "keyring_unavailable", "the verified account was kept for Try again: {again}");

        // The list still shows what accounts.json holds, and names the keyring problem once.
        let file = json!({ "version": 1, "accounts": [verified["verified"]["account"]] });
        std::fs::write(config.join("accounts.json"), file.to_string()).expect("an accounts.json");
        let list = app.invoke("accounts_list", json!({})).expect("listed without the keyring");
        assert_eq!(list["keyring"]["code"], "keyring_unavailable", "{list}");
        assert_eq!(list["accounts"][0]["has_secret"], Value::Null, "unknown, not 'missing': {list}");
        std::fs::remove_file(config.join("accounts.json")).expect("remove");

        // The keyring is back: a bus at that address (forwarded to the real session bus).
        let real = std::env::var(REAL_BUS).unwrap_or_default();
        if real.is_empty() {
            eprintln!("no session bus to come back to: the retry's success is not checked");
            return;
        }
        forward_bus(&scratch.join("bus"), &real);
        let saved = app.invoke("wizard_save", json!({})).expect("Try again stores the same account");
        assert_eq!(saved["user_id"], "test@instance2.com", "{saved}");
        let list = app.invoke("accounts_list", json!({})).expect("listed");
        assert_eq!(list["keyring"], Value::Null, "{list}");
        assert_eq!(list["accounts"][0]["has_secret"], true, "the password is in the keyring now: {list}");
        // The same account again: the verified page says Done updates it instead of adding another.
        app.invoke("wizard_start", json!({ "address": central, "onEvent": "__CHANNEL__:1", "call": 11 }))
            .expect("probe");
        let credentials = json!({ "answer": "credentials", "user": "test@instance2.com", "password": "secret" });
        let step = app.invoke("wizard_answer", json!({ "answer": credentials, "call": 12 })).expect("login");
        let answer =
            json!({ "answer": { "answer": "approve_redirect", "origin": step["decision"]["to"] }, "call": 13 });
        let again = app.invoke("wizard_answer", answer).expect("verified again");
        assert_eq!(again["verified"]["already_stored"], true, "a duplicate is named before Done: {again}");
        let id = list["accounts"][0]["account"]["id"].clone();
        app.invoke("account_remove", json!({ "id": id })).expect("removed, with its keyring entry");
        println!("saved after Try again");
    }

    /// Serves `path` as a unix socket that forwards every connection to the D-Bus `address`.
    fn forward_bus(path: &std::path::Path, address: &str) {
        let target = address.split(',').next().unwrap_or_default().to_owned();
        let listener = std::os::unix::net::UnixListener::bind(path).expect("bind the bus socket");
        listener.set_nonblocking(true).expect("nonblocking");
        tauri::async_runtime::spawn(async move {
            let Ok(listener) = tokio::net::UnixListener::from_std(listener) else { return };
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                tokio::spawn(async move {
                    let upstream = if let Some(path) = target.strip_prefix("unix:path=") {
                        std::os::unix::net::UnixStream::connect(path)
                    } else if let Some(name) = target.strip_prefix("unix:abstract=") {
                        use std::os::linux::net::SocketAddrExt as _;
                        std::os::unix::net::SocketAddr::from_abstract_name(name)
                            .and_then(|addr| std::os::unix::net::UnixStream::connect_addr(&addr))
                    } else {
                        return;
                    };
                    let Ok(upstream) = upstream.and_then(|s| s.set_nonblocking(true).map(|()| s)) else { return };
                    let Ok(mut upstream) = tokio::net::UnixStream::from_std(upstream) else { return };
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                });
            }
        });
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

    /// The child runs with its own config dir (`HOMEPORT_CONFIG_DIR`, set before it starts) and
    /// without the environment's proxies.
    const PROXY_CHILD: &str = "HOMEPORT_TEST_PROXY_CHILD";
    const PROXY_USER: &str = "alice";
    const PROXY_PASSWORD: &str = "proxy-pass-desktop-9";

    /// tinyproxy on a free loopback port, asking for `PROXY_USER`/`PROXY_PASSWORD` and logging
    /// every request to `dir/tinyproxy.log`; killed when dropped.
    struct Tinyproxy {
        child: std::process::Child,
        port: u16,
        log: std::path::PathBuf,
    }

    impl Drop for Tinyproxy {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    impl Tinyproxy {
        fn start(dir: &std::path::Path) -> Tinyproxy {
            let port = free_port();
            let log = dir.join("tinyproxy.log");
            let config = dir.join("tinyproxy.conf");
            // No ConnectPort line: CONNECT to any port (the lookup server's are random).
            let text = format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 20\nLogLevel Info\nLogFile \"{}\"\nBasicAuth {PROXY_USER} {PROXY_PASSWORD}\n",
                log.display()
            );
            std::fs::write(&config, text).expect("write tinyproxy.conf");
            let program = std::env::var_os("PATH")
                .into_iter()
                .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
                .map(|dir| dir.join("tinyproxy"))
                .find(|path| path.is_file())
                .expect(
                    "tinyproxy is needed for the proxy test: ./dev.sh test installs it (apt-get install tinyproxy)",
                );
            // -d: in the foreground, so it is this test's child and dies with it.
            let child = std::process::Command::new(program)
                .arg("-d")
                .arg("-c")
                .arg(&config)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("tinyproxy starts");
            let proxy = Tinyproxy { child, port, log };
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(std::time::Instant::now() < deadline, "tinyproxy listens within 10 s: {}", proxy.log());
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            proxy
        }

        fn log(&self) -> String {
            std::fs::read_to_string(&self.log).unwrap_or_default()
        }
    }

    /// A loopback port nothing listens on (it was free a moment ago).
    fn free_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.local_addr().expect("addr").port()
    }

    #[test]
    fn a_saved_proxy_keeps_its_password_in_the_keyring_and_carries_every_wizard_request() {
        if std::env::var_os(PROXY_CHILD).is_none() {
            if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
                eprintln!("no session bus (run under dev.sh's scratch keyring): the saved proxy is not checked");
                return;
            }
            let scratch = tempfile::tempdir().expect("scratch");
            let mut command = std::process::Command::new(std::env::current_exe().expect("the test binary"));
            command
                .args([
                    "--exact",
                    "tests::ipc::a_saved_proxy_keeps_its_password_in_the_keyring_and_carries_every_wizard_request",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(PROXY_CHILD, scratch.path())
                .env("HOMEPORT_CONFIG_DIR", scratch.path().join("config"));
            for name in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
                command.env_remove(name);
            }
            let output = command.output().expect("run the child");
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success() && stdout.contains("1 passed") && stdout.contains("proxy checked"),
                "the child failed:\n{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            return;
        }
        let scratch = std::path::PathBuf::from(std::env::var_os(PROXY_CHILD).unwrap_or_default());
        let config = scratch.join("config");
        let proxy = Tinyproxy::start(&scratch);
        let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
        let app = app(false);
        assert_eq!(
            app.invoke("proxy_get", json!({})).expect("granted"),
            json!({ "url": null, "user": null, "has_password": false }),
            "nothing saved: the system's settings"
        );

        // Refused before anything is stored: credentials in the URL, a password without a user.
        let bad = app.invoke(
            "proxy_set",
            json!({ "change": { "url": "http://u:p@127.0.0.1:1", "user": null, "password": null } }),
        );
        assert_eq!(bad.expect_err("credentials in the URL")["code"], "bad_input");
        let bad = app.invoke("proxy_set", json!({ "change": { "url": proxy_url, "user": null, "password": "x" } }));
        assert_eq!(bad.expect_err("a password needs a user")["code"], "bad_input");
        assert!(!config.join("proxy.json").exists(), "nothing written for a refused setting");

        let change = json!({ "url": proxy_url, "user": PROXY_USER, "password": PROXY_PASSWORD });
        let saved = app.invoke("proxy_set", json!({ "change": change })).expect("saved");
        assert_eq!(saved, json!({ "url": proxy_url, "user": PROXY_USER, "has_password": true }));
        let file = std::fs::read_to_string(config.join("proxy.json")).expect("proxy.json beside accounts.json");
        assert!(file.contains(&proxy_url) && file.contains(PROXY_USER), "URL and user are in the file: {file}");
        assert!(!file.contains(PROXY_PASSWORD), "never the password: {file}");
        let entry = keyring::Entry::new(homeport_engine::store::KEYRING_SERVICE, crate::proxy::KEYRING_ENTRY)
            .expect("keyring entry");
        assert_eq!(entry.get_password().expect("the keyring holds it"), PROXY_PASSWORD);
        assert_eq!(app.invoke("proxy_get", json!({})).expect("read back"), saved);

        // The demo's servers are on loopback, which an environment proxy never gets: only the
        // saved proxy sends them there, and its log (with its Basic auth passed) is the witness.
        let central =
            app.invoke("demo_start", json!({})).expect("demo")["central_url"].as_str().expect("url").to_owned();
        let step = app
            .invoke("wizard_start", json!({ "address": central, "onEvent": "__CHANNEL__:1", "call": 1 }))
            .expect("probe through the proxy");
        assert_eq!(step["decision"]["decision"], "needs_credentials", "{step}");
        let credentials = json!({ "answer": "credentials", "user": "test@instance2.com", "password": "secret" });
        let step = app.invoke("wizard_answer", json!({ "answer": credentials, "call": 2 })).expect("login");
        let origin = step["decision"]["to"].clone();
        let answer = json!({ "answer": { "answer": "approve_redirect", "origin": origin }, "call": 3 });
        let verified = app.invoke("wizard_answer", answer).expect("verified");
        assert_eq!(verified["outcome"], "verified", "{verified}");
        let log = proxy.log();
        let instance = origin.as_str().expect("origin").trim_end_matches('/').to_owned();
        for server in [central.trim_end_matches('/'), instance.as_str()] {
            assert!(
                log.contains("Request (file descriptor") && log.contains(&format!("{server}/")),
                "the proxy forwarded the requests to {server}: {log}"
            );
        }
        assert!(log.contains("/status.php"), "status.php went through the proxy: {log}");

        // SOCKS5 with the same user and password (from the keyring): microsocks logs each
        // connection it makes for the wizard.
        let socks_log = scratch.join("microsocks.log");
        let socks_port = free_port();
        let mut socks = std::process::Command::new("microsocks")
            .args(["-i", "127.0.0.1", "-p", &socks_port.to_string(), "-u", PROXY_USER, "-P", PROXY_PASSWORD])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&socks_log).expect("log file"))
            .spawn()
            .expect("microsocks is needed for the proxy test (apt-get install microsocks)");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", socks_port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "microsocks listens within 10 s");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let socks_url = format!("socks5://127.0.0.1:{socks_port}");
        let change = json!({ "url": socks_url, "user": PROXY_USER, "password": null });
        app.invoke("proxy_set", json!({ "change": change })).expect("saved");
        let through_socks = app
            .invoke("wizard_start", json!({ "address": central, "onEvent": "__CHANNEL__:4", "call": 6 }))
            .map(|step| step["decision"]["decision"].clone());
        let _ = socks.kill();
        let _ = socks.wait();
        assert_eq!(through_socks.expect("probe through SOCKS5"), "needs_credentials");
        let log = std::fs::read_to_string(&socks_log).unwrap_or_default();
        let central_port = url::Url::parse(&central).expect("url").port().expect("port");
        assert!(log.contains(&format!("connected to 127.0.0.1:{central_port}")), "through microsocks: {log}");

        // A closed proxy port: the proxy's failure, not the server's (the password is kept).
        let closed = format!("http://127.0.0.1:{}", free_port());
        let change = json!({ "url": closed, "user": PROXY_USER, "password": null });
        let kept = app.invoke("proxy_set", json!({ "change": change })).expect("saved");
        assert_eq!(kept["has_password"], true, "an empty password field keeps the stored one: {kept}");
        let failed = app
            .invoke("wizard_start", json!({ "address": central, "onEvent": "__CHANNEL__:2", "call": 4 }))
            .expect_err("the proxy does not answer");
        assert_eq!(failed["code"], "unreachable", "{failed}");
        assert_eq!(failed["detail"]["reason"], "proxy", "named as the proxy's failure: {failed}");
        assert_eq!(failed["detail"]["proxy"], closed.as_str(), "{failed}");
        assert!(!failed.to_string().contains(PROXY_PASSWORD), "no password in the error: {failed}");

        // "None": the file and the keyring entry go; the system's settings apply again.
        let none = app.invoke("proxy_set", json!({ "change": { "url": null, "user": null, "password": null } }));
        assert_eq!(none.expect("cleared")["url"], Value::Null);
        assert!(!config.join("proxy.json").exists(), "the file is gone");
        assert!(matches!(entry.get_password(), Err(keyring::Error::NoEntry)), "the keyring entry is gone");
        let direct = app.invoke("wizard_start", json!({ "address": central, "onEvent": "__CHANNEL__:3", "call": 5 }));
        assert_eq!(direct.expect("direct again")["decision"]["decision"], "needs_credentials");
        app.invoke("demo_stop", json!({})).expect("the demo stops");
        println!("proxy checked");
    }
}
