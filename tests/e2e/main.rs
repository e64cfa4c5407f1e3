//! End to end in a real window: the built `homeport-desktop` in WebKitGTK under Xvfb, driven over
//! WebDriver (tauri-driver in front of WebKitWebDriver), storing into the real Secret Service.
//!
//! `./dev.sh test` provides the display (xvfb-run), the D-Bus session with an unlocked
//! gnome-keyring, and installs tauri-driver; each test starts its own tauri-driver and app with
//! a private config folder. Every test leaves a screenshot of its last page in
//! `target/e2e-screenshots/` (kept by CI as an artifact), also when it fails.

mod accessibility;
mod harness;

mod admin;
mod autopilot;
mod certificates;
mod client_certificates;
mod demo_file;
mod german;
mod keyboard;
mod matrix;
mod matrix_oauth;
mod nextcloud;
mod oidc;
mod oidc_user;
mod owncloud;
mod proxy;
mod real_idp;
mod script_check;
mod small_screen;
mod tenant;
mod trace_file;
