//! Generates the Tauri context (config, capabilities, command permissions) at compile time.
//! The build script runs at the repository root, where tauri.conf.json lives.

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(homeport_commands()));
    if let Err(error) = tauri_build::try_build(attributes) {
        panic!("tauri build step failed: {error:#}");
    }
}

/// Every command the UI may call; `capabilities/main.json` grants them to the main window only.
fn homeport_commands() -> &'static [&'static str] {
    &[
        "app_info",
        "language_set",
        "autopilot_load",
        "autopilot_stop",
        "autopilot_finish",
        "demo_start",
        "demo_stop",
        "wizard_start",
        "wizard_answer",
        "wizard_cancel",
        "login_flow_check_now",
        "wizard_save",
        "accounts_list",
        "account_remove",
        "account_verify",
        "account_manage",
        "ui_ready",
        "proxy_get",
        "proxy_set",
        "proxy_system",
        "trace_plantuml",
        "trace_save",
    ]
}
