//! The window's security settings, read from the files the app is built with: a strict CSP, no
//! remote content, and exactly the commands the UI calls.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::app;

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
        for pattern in ["src=\"http", "href=\"http", "src='http", "href='http", "<iframe", "window.open(", "@import"] {
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
        "account_manage",
        "account_remove",
        "account_verify",
        "accounts_list",
        "app_info",
        "autopilot_finish",
        "autopilot_load",
        "autopilot_stop",
        "demo_start",
        "demo_stop",
        "language_set",
        "login_flow_check_now",
        "proxy_get",
        "proxy_set",
        "proxy_system",
        "trace_plantuml",
        "trace_save",
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
