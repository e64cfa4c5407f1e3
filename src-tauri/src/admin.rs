//! The administrators' configuration as the desktop honours it (docs/administrators.md): read
//! once at start (a broken file is named with file, line and key, on standard error and in the
//! window, and nothing that reaches a server runs until it is fixed), the product name in the window title, the first page opening on the preset address
//! (read-only when locked, with the words saying who decided), no "Try the demo" when the demo
//! is off, the proxy page read-only when the proxy is locked. The shell enforces each of them
//! too: the page only shows what the commands would refuse anyway.

use base64::Engine as _;
use homeport_engine::admin_config::{AdminConfig, AdminView};
use homeport_engine::ErrorReport;

/// The configuration and what the window shows of it.
#[derive(Clone, Debug, Default)]
pub struct Admin {
    config: std::sync::Arc<AdminConfig>,
    /// The file could not be read or is broken: what it meant to lock is unknown, so every
    /// command that reaches a server (or changes a lockable setting) answers with this.
    broken: Option<ErrorReport>,
}

impl Admin {
    pub fn new(config: AdminConfig) -> Self {
        Admin { config: std::sync::Arc::new(config), broken: None }
    }

    pub fn broken(report: ErrorReport) -> Self {
        Admin { config: Default::default(), broken: Some(report) }
    }

    /// The configuration, unless the file is broken (then its error, file:line and key).
    pub fn config(&self) -> Result<std::sync::Arc<AdminConfig>, ErrorReport> {
        match &self.broken {
            Some(report) => Err(report.clone()),
            None => Ok(self.config.clone()),
        }
    }

    /// The broken file's error, for the window's error box at start.
    pub fn error(&self) -> Option<ErrorReport> {
        self.broken.clone()
    }

    /// The pages' view: the preset and locked keys, the words, the logo as a data URL.
    pub fn view(&self) -> (AdminView, Option<String>) {
        let mut view = self.config.view();
        // A broken file offers no demo either (the demo is refused like everything else).
        view.demo &= self.broken.is_none();
        (view, self.config.logo.as_deref().and_then(logo_data_url))
    }

    /// The window's title: the organisation's product name, else Homeport.
    pub fn title(&self) -> Option<&str> {
        self.config.product_name.as_deref()
    }

    /// The demo may start (`demo = false` refuses it, the `--demo` flag included).
    pub fn check_demo(&self) -> Result<(), ErrorReport> {
        if self.config()?.demo {
            return Ok(());
        }
        let mut report = ErrorReport::new(
            homeport_engine::ErrorCode::PolicyRefused,
            "Your organisation turned the demo off".to_owned(),
        );
        report.detail = serde_json::json!({ "reason": "admin_config", "key": "demo", "file": self.config.source });
        report.reason = Some(homeport_engine::ErrorReason::AdminConfig);
        Err(report)
    }
}

/// `data:image/…;base64,…` (the engine checked the size and the extension when it read the file).
fn logo_data_url(path: &std::path::Path) -> Option<String> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("homeport-desktop: the logo {} cannot be read: {e}", path.display());
            return None;
        }
    };
    let name = path.to_string_lossy().to_ascii_lowercase();
    let mime = if name.ends_with(".svg") {
        "image/svg+xml"
    } else if name.ends_with(".png") {
        "image/png"
    } else {
        "image/jpeg"
    };
    Some(format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes)))
}
