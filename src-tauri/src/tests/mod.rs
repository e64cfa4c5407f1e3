//! The shell's own tests: generated bindings stay current, and the commands work through real
//! IPC on Tauri's mock runtime against a real lookup server on loopback. This module is the
//! harness ([`app`]: the real app on the mock runtime, [`MockApp::invoke`]: a command through IPC);
//! each file below is one area of the shell.

mod accounts;
mod admin;
mod audit;
mod autopilot;
mod bindings;
mod demo;
mod oidc;
mod proxy;
mod trace;
mod wizard;

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
