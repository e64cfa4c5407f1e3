//! The desktop shell: Tauri commands that translate between the UI and the engine. Every
//! decision and rule lives in `homeport-engine`; this crate only starts things, keeps the
//! wizard of the open window, and maps results to the shapes in [`ipc`].

mod admin;
mod autopilot;
mod client;
mod demo;
pub mod ipc;
pub mod locale;
mod proxy;
mod script_check;
mod session;
mod trace_file;
mod window_size;

use homeport_engine::ops::{self, ReverifyError, ReverifyOptions};
use homeport_engine::settings::Settings;
use homeport_engine::{
    AccountStore, Answer, ConnectError, ErrorCode, ErrorReport, StoreError, Wizard, WizardEvent, WizardOptions,
};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, Runtime, State};

use crate::autopilot::Autopilot;
use crate::demo::Demo;
use crate::ipc::{
    error, AccountEntry, AccountList, AppInfo, AutopilotScript, AutopilotVerdict, ClientSetting, DemoInfo,
    WizardOutcome,
};
use crate::session::{CallId, Robot, WizardSession};
use crate::trace_file::TraceFileFormat;

/// Where the generated TypeScript lives (relative to the repository root).
pub const BINDINGS_PATH: &str = "ui/src/lib/bindings.ts";

pub struct AppState {
    demo_requested: bool,
    demo: Demo,
    session: WizardSession,
    autopilot: Autopilot,
    /// Raises the main window; set up with the app (commands are not generic over the runtime).
    bring_to_front: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>>,
    /// Ends the app with an exit code (`--exit-when-done`).
    exit: std::sync::OnceLock<std::sync::Arc<dyn Fn(i32) + Send + Sync>>,
    /// "Check now" on the page of a waiting Nextcloud Login Flow v2: every wizard of this window
    /// gets a copy (docs/protocols/nextcloud-login-flow.md).
    login_flow_check: homeport_engine::wizard::CheckNow,
    /// The administrators' configuration, read once at start (docs/administrators.md).
    admin: admin::Admin,
    /// Opens the native save dialog for a trace file; the chosen path (or `None`: cancelled) goes
    /// to the sender. Set up with the app, as `bring_to_front` is.
    save_dialog: std::sync::OnceLock<SaveDialog>,
}

type SaveDialog = Box<dyn Fn(TraceFileFormat, tokio::sync::oneshot::Sender<Option<std::path::PathBuf>>) + Send + Sync>;

impl AppState {
    pub fn new(demo_requested: bool) -> Self {
        AppState::with_script(demo_requested, None, false)
    }

    /// With a scenario to play visibly (`--script FILE`, `--exit-when-done`).
    pub fn with_script(
        demo_requested: bool,
        script: Option<homeport_scenario::Scenario>,
        exit_when_done: bool,
    ) -> Self {
        AppState {
            demo_requested,
            demo: Demo::default(),
            session: WizardSession::default(),
            autopilot: Autopilot::new(script, exit_when_done),
            bring_to_front: std::sync::OnceLock::new(),
            exit: std::sync::OnceLock::new(),
            login_flow_check: homeport_engine::wizard::CheckNow::new(),
            admin: admin::Admin::default(),
            save_dialog: std::sync::OnceLock::new(),
        }
    }

    /// With the administrators' configuration (the default: none, nothing preset or locked).
    pub fn with_admin(mut self, config: homeport_engine::admin_config::AdminConfig) -> Self {
        self.admin = admin::Admin::new(config);
        self
    }

    /// With the demo's lookup server settings from a demo file (`--demo-scenario FILE`; its people
    /// are installed for the process, docs/desktop.md#a-customers-demo).
    pub fn with_demo_scenario(mut self, scenario: homeport_lookup::Scenario) -> Self {
        self.demo = Demo::with_scenario(scenario);
        self
    }

    /// With a broken administrators' configuration: its error in the window, and every command
    /// that reaches a server refused with it (docs/administrators.md#a-broken-file).
    pub fn with_admin_error(mut self, report: ErrorReport) -> Self {
        self.admin = admin::Admin::broken(report);
        self
    }
}

#[tauri::command]
#[specta::specta]
fn app_info(state: State<'_, AppState>) -> AppInfo {
    let (admin, logo) = state.admin.view();
    AppInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        // `--demo` with the demo turned off by the organisation: the address page, as without it.
        demo_requested: state.demo_requested && admin.demo,
        script: state.autopilot.file().map(|path| path.display().to_string()),
        admin,
        logo,
        admin_error: state.admin.error(),
        language: locale::info(config_dir().as_deref()),
    }
}

/// The language the person chose in the header (System, English, Deutsch): remembered for the
/// next start. The window already speaks it (docs/desktop.md#languages).
#[tauri::command]
#[specta::specta]
fn language_set(setting: locale::LanguageSetting) -> Result<(), ErrorReport> {
    let dir = config_dir().ok_or_else(|| error(ErrorCode::Internal, "no config folder to keep the language in"))?;
    locale::remember(&dir, setting)
        .map_err(|e| error(ErrorCode::Internal, format!("could not keep the language in {}: {e}", dir.display())))
}

/// Starts the `--script` scenario's lookup server and hands its resolved answers to the UI,
/// which plays them through its pages. None without `--script`.
#[tauri::command]
#[specta::specta]
async fn autopilot_load(state: State<'_, AppState>) -> Result<Option<AutopilotScript>, ErrorReport> {
    state.autopilot.load().await
}

/// The person took over (Stop or Escape): "Open the login page" opens a real browser again.
#[tauri::command]
#[specta::specta]
fn autopilot_stop(state: State<'_, AppState>) {
    state.autopilot.stop();
}

/// The UI has played the script to its end: judges how the connection ended against the
/// scenario's expectations. With `--exit-when-done` the verdict line goes to stdout and the app
/// exits shortly after (0: met, 12: not), as `homeport run` does.
#[tauri::command]
#[specta::specta]
async fn autopilot_finish(state: State<'_, AppState>) -> Result<AutopilotVerdict, ErrorReport> {
    let (ended, engine_time) = state.session.ended();
    let verdict = state.autopilot.verdict(ended, engine_time).await?;
    if verdict.exit_when_done {
        println!("{}", verdict.verdict);
        // As `homeport run`: 12 when an expectation was not met.
        let code = if verdict.verdict.passed { 0 } else { i32::from(homeport_scenario::EXIT_EXPECTATIONS_FAILED) };
        if let Some(exit) = state.exit.get() {
            let exit = exit.clone();
            tauri::async_runtime::spawn(async move {
                // The verdict stays on screen a moment (a recording shows it), then the app ends.
                tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
                exit(code);
            });
        }
    }
    Ok(verdict)
}

/// The UI calls this once the address page can take input (the startup benchmark waits for it).
#[tauri::command]
#[specta::specta]
fn ui_ready() {
    if std::env::var_os("HOMEPORT_REPORT_READY").is_some() {
        println!("homeport-desktop: ui ready");
    }
}

#[tauri::command]
#[specta::specta]
async fn demo_start(state: State<'_, AppState>) -> Result<DemoInfo, ErrorReport> {
    state.admin.check_demo()?;
    state.demo.start().await
}

#[tauri::command]
#[specta::specta]
async fn demo_stop(state: State<'_, AppState>) -> Result<(), ErrorReport> {
    state.session.cancel();
    state.demo.stop().await;
    Ok(())
}

/// Starts connecting `address`; every step and HTTP exchange is streamed to `on_event`. `call`
/// numbers the UI's calls, so that [`wizard_cancel`] names the one it means. `client`: the start
/// page's advanced settings, the identity provider client for this connection (its secret
/// crosses IPC as a [`homeport_engine::Secret`]; docs/desktop.md#advanced-identity-provider-client).
#[tauri::command]
#[specta::specta]
async fn wizard_start(
    state: State<'_, AppState>,
    address: String,
    on_event: Channel<WizardEvent>,
    call: CallId,
    client: Option<ClientSetting>,
) -> Result<WizardOutcome, ErrorReport> {
    // The organisation's configuration first: another server than it allows, or a client
    // setting it locked, is refused before anything is sent (docs/administrators.md).
    let admin = state.admin.config()?;
    admin.check_address(&address).map_err(|refusal| refusal.report())?;
    let person = client.map(client::client_setting).transpose()?.flatten();
    if person.is_some() {
        admin.client_profiles(person.clone()).map_err(|refusal| refusal.report())?;
    }
    let mut options = options_streaming_to(on_event, &state).await?;
    // The person's setting for this connection comes before a script's (and before what the
    // engine knows of the server product): docs/protocols/oidc-ocis.md#the-client.
    if let Some(client) = person {
        options.oidc_clients.profiles.insert(0, client);
    }
    let mut wizard = Wizard::new(&address, options).map_err(|e| e.report())?;
    state.autopilot.prepare(&mut wizard).await;
    state.session.start(call, wizard).await
}

/// Answers the last decision. "Continue in browser" opens the login page in the system
/// browser from here (the window itself may not open URLs), waits for the login, then brings
/// the window back to the front: the person was in the browser.
#[tauri::command]
#[specta::specta]
async fn wizard_answer(state: State<'_, AppState>, answer: Answer, call: CallId) -> Result<WizardOutcome, ErrorReport> {
    let in_browser = matches!(answer, Answer::ContinueInBrowser);
    // A script with `browser = "auto-login"`: the lookup server's login robot logs in at the page.
    let robot = match in_browser {
        true => state.autopilot.robot().await.map(|(user, password)| Robot { user, password }),
        false => None,
    };
    if in_browser && robot.is_none() {
        if let Some(url) = state.session.login_page() {
            // The opener plugin's function, from Rust: the window gets no permission to open URLs.
            // If no browser starts, the page still shows the link to copy.
            if let Err(e) = tauri_plugin_opener::open_url(url, None::<&str>) {
                eprintln!("homeport-desktop: could not open the browser: {e}");
            }
        }
    }
    let outcome = state.session.answer(call, answer, robot).await;
    if in_browser {
        if let Some(bring_to_front) = state.bring_to_front.get() {
            bring_to_front();
        }
    }
    outcome
}

/// Raises and focuses the main window (after the login in the browser, however it ended).
fn bring_to_front<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        // A window manager may refuse focus stealing; the page is right all the same.
        let _ = window.unminimize();
        if let Err(e) = window.set_focus() {
            eprintln!("homeport-desktop: could not bring the window to the front: {e}");
        }
    }
}

/// Cancels the UI's call `call`: its running step, or the step as soon as it starts (this
/// command may overtake the one it cancels).
#[tauri::command]
#[specta::specta]
fn wizard_cancel(state: State<'_, AppState>, call: CallId) {
    state.session.cancel_call(call);
}

/// "Check now" while a Nextcloud Login Flow v2 waits: the next poll goes out at once instead of
/// after the interval (the person says they have granted access).
#[tauri::command]
#[specta::specta]
fn login_flow_check_now(state: State<'_, AppState>) {
    state.login_flow_check.check_now();
}

/// "Manage account": opens the stored Matrix account's `account_management_uri` (the page its
/// server named at the login) in the system browser. Only that stored page: the UI names the
/// account, never a URL.
#[tauri::command]
#[specta::specta]
async fn account_manage(id: String) -> Result<(), ErrorReport> {
    let store = blocking(|| AccountStore::open_default().map_err(|e| ConnectError::from(e).report())).await?;
    let account = blocking(move || store.get(&id).map_err(|e| ConnectError::from(e).report())).await?;
    let page = account.matrix.and_then(|matrix| matrix.account_management_uri).ok_or_else(|| {
        ConnectError::InvalidResponse {
            url: account.instance_url.to_string(),
            what: "stored account",
            reason: "its server named no account management page".into(),
        }
        .report()
    })?;
    homeport_scenario::open_system_browser(&page)
        .map_err(|reason| ConnectError::LoginRefused { reason: format!("the browser did not open: {reason}") }.report())
}

/// "Done": stores the verified account (password in the keyring).
#[tauri::command]
#[specta::specta]
async fn wizard_save(state: State<'_, AppState>) -> Result<homeport_engine::Account, ErrorReport> {
    state.session.save().await
}

/// The stored accounts, each with whether its secret is in the keyring. A locked or missing
/// keyring does not hide the list (accounts.json needs no keyring): it is named in
/// [`AccountList::keyring`] and the secrets are "unknown".
#[tauri::command]
#[specta::specta]
async fn accounts_list() -> Result<AccountList, ErrorReport> {
    with_store(|store| {
        let accounts = store.list()?;
        let mut keyring = None;
        let accounts = accounts
            .into_iter()
            .map(|account| {
                let has_secret = match keyring {
                    // One failed D-Bus call is enough: the others would wait and fail alike.
                    Some(_) => None,
                    None => match store.secret(&account.id) {
                        Ok(_) => Some(true),
                        Err(StoreError::SecretMissing { .. }) => Some(false),
                        Err(e) => {
                            keyring = Some(ConnectError::from(e).report());
                            None
                        }
                    },
                };
                AccountEntry::new(account, has_secret)
            })
            .collect();
        Ok(AccountList { accounts, keyring })
    })
    .await
}

/// Removes the account and its keyring entry; a Nextcloud account's app password or a Matrix
/// login is ended at its server first (the engine's `ops::remove`): the answer says whether that
/// worked.
#[tauri::command]
#[specta::specta]
async fn account_remove(state: State<'_, AppState>, id: String) -> Result<Option<ops::Revocation>, ErrorReport> {
    let admin = state.admin.config()?;
    let proxy = blocking(move || proxy::load(&admin)).await?;
    let store = blocking(|| AccountStore::open_default().map_err(|e| ConnectError::from(e).report())).await?;
    let http = homeport_engine::HttpConfig { proxy, ..Default::default() };
    let removed = ops::remove(&store, &id, http).await.map_err(|e| ConnectError::from(e).report())?;
    Ok(removed.revocation)
}

/// Logs in again with the stored secret (password, or an OIDC account's refresh token) and
/// checks the instance still knows the account; the engine stores what it found (and the secret
/// the login ends with: an identity provider rotates refresh tokens).
#[tauri::command]
#[specta::specta]
async fn account_verify(
    state: State<'_, AppState>,
    id: String,
    on_event: Channel<WizardEvent>,
) -> Result<AccountEntry, ErrorReport> {
    let options = options_streaming_to(on_event, &state).await?;
    let store = AccountStore::open_default().map_err(|e| ConnectError::from(e).report())?;
    // A server the organisation no longer allows is not contacted (docs/administrators.md).
    if let Some(stored) = store.find(&id).map_err(|e| ConnectError::from(e).report())? {
        state.admin.config()?.check_address(&stored.entered_address).map_err(|refusal| refusal.report())?;
    }
    let options = ReverifyOptions { wizard: options, approve: Vec::new() };
    let verified = ops::reverify(&store, &id, options).await.map_err(|e| {
        let mut report = e.report();
        match &e {
            // The stored login is no longer accepted (auth_failed): the UI offers "Log in again".
            ReverifyError::LoginEnded { account } => {
                report.message = format!("The login of {} has ended; log in again.", account.display_name);
            }
            ReverifyError::NeedsAttention { refusal, .. } => {
                report.message = format!("The account needs attention: {refusal}. Remove it and connect again.");
            }
            _ => {}
        }
        report
    })?;
    Ok(AccountEntry::new(verified.account, Some(true)))
}

/// The options every wizard of this window gets: events go to the UI's live diagram, and while
/// the demo runs, its tenant profile (docs/protocols/tenant-by-host.md) lets a tenant's address
/// lead to its zone. While a script is loaded, its own options come first: trust for its lookup
/// server's certificate and its tenant profiles. The saved manual proxy (if any) carries every
/// request; its password comes from the keyring, so a locked keyring stops the start with its
/// message.
async fn options_streaming_to(on_event: Channel<WizardEvent>, state: &AppState) -> Result<WizardOptions, ErrorReport> {
    let admin = state.admin.config()?;
    let proxy = blocking(move || proxy::load(&admin)).await?;
    let script_options = state.autopilot.wizard_options().await;
    let remember_clients = script_options.is_none();
    let mut options = script_options.unwrap_or_default();
    options.http.proxy = proxy;
    options.observer = Some(std::sync::Arc::new(move |event: &WizardEvent| {
        // The window may be gone; the wizard goes on regardless.
        let _ = on_event.send(event.clone());
    }));
    options.tenant_profiles.extend(state.demo.tenant_profiles().await);
    options.login_flow_check = state.login_flow_check.clone();
    // The organisation's clients per issuer, after the person's and a script's.
    options.oidc_clients.profiles.extend(state.admin.config()?.oidc.clients.iter().cloned());
    // Clients identity providers registered for Homeport are reused, not registered anew on
    // every connect (the file beside accounts.json, secrets in the keyring: a blocking read). A
    // script remembers none, as headless: each play starts from what its file says.
    if remember_clients {
        let memory = blocking(|| {
            Settings::open_default()
                .map(|settings| settings.registered_clients())
                .map_err(|e| ConnectError::from(e).report())
        })
        .await?;
        options.oidc_clients.memory = Some(memory);
    }
    Ok(options)
}

/// The saved manual proxy ("Proxy…" on the address page): URL and user; whether the keyring
/// holds its password.
#[tauri::command]
#[specta::specta]
async fn proxy_get() -> Result<proxy::ProxySetting, ErrorReport> {
    blocking(proxy::get).await
}

/// Saves the manual proxy (no URL: the system's settings again). The URL and user go to
/// proxy.json beside accounts.json, the password to the keyring only.
#[tauri::command]
#[specta::specta]
async fn proxy_set(state: State<'_, AppState>, change: proxy::ProxyChange) -> Result<proxy::ProxySetting, ErrorReport> {
    let admin = state.admin.config()?;
    blocking(move || proxy::set_unless_locked(&admin, change)).await
}

/// What "the system's proxy settings" are on this computer (the proxy page's first choice), as
/// data the page words in its language: environment variables, GNOME's settings, or none.
#[tauri::command]
#[specta::specta]
async fn proxy_system() -> Result<homeport_engine::proxy::SystemProxy, ErrorReport> {
    blocking(|| Ok(proxy::system())).await
}

/// "Copy as text": the events the sequence diagram drew, as PlantUML by the engine's one
/// renderer (the CLI's `--trace-format plantuml` too). The webview's copy is not trusted: the
/// renderer redacts it again.
#[tauri::command]
#[specta::specta]
fn trace_plantuml(events: Vec<WizardEvent>) -> String {
    homeport_engine::trace_export::to_plantuml_events(&events)
}

/// "Save…" beside "Copy as text": the trace as PlantUML, Mermaid or HAR, to the file the person
/// picks in the native save dialog (docs/desktop.md#saving-the-trace); its path, or `None` when
/// the dialog was cancelled. The webview's copy is rendered (and redacted again) by the engine.
#[tauri::command]
#[specta::specta]
async fn trace_save(
    state: State<'_, AppState>,
    events: Vec<WizardEvent>,
    format: TraceFileFormat,
) -> Result<Option<String>, ErrorReport> {
    let ask = state.save_dialog.get().ok_or_else(|| error(ErrorCode::Internal, "The save dialog is not set up."))?;
    let (chosen, path) = tokio::sync::oneshot::channel();
    ask(format, chosen);
    let Some(path) = path.await.ok().flatten() else { return Ok(None) };
    let text = trace_file::text(&events, format);
    blocking(move || trace_file::write(&path, &text)).await.map(|path| Some(path.display().to_string()))
}

/// Runs file and keyring work off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ErrorReport> + Send + 'static,
) -> Result<T, ErrorReport> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| error(ErrorCode::Internal, format!("the settings work stopped unexpectedly: {e}")))?
}

/// Keyring calls block (D-Bus): keep them off the async runtime.
async fn with_store<T: Send + 'static>(
    work: impl FnOnce(&AccountStore) -> Result<T, homeport_engine::StoreError> + Send + 'static,
) -> Result<T, ErrorReport> {
    tokio::task::spawn_blocking(move || {
        let store = AccountStore::open_default()?;
        work(&store)
    })
    .await
    .map_err(|e| error(ErrorCode::Internal, format!("the account store stopped unexpectedly: {e}")))?
    .map_err(|e| ConnectError::from(e).report())
}

/// The command list and its TypeScript bindings, in one place.
pub fn specta_builder<R: Runtime>() -> tauri_specta::Builder<R> {
    // Only JSON numbers in error details and Unix seconds are 64-bit here: exact as JS numbers.
    tauri_specta::Builder::<R>::new().dangerously_cast_bigints_to_number().disable_serde_phases().commands(
        tauri_specta::collect_commands![
            app_info,
            language_set,
            autopilot_load,
            autopilot_stop,
            autopilot_finish,
            ui_ready,
            demo_start,
            demo_stop,
            wizard_start,
            wizard_answer,
            wizard_cancel,
            login_flow_check_now,
            wizard_save,
            accounts_list,
            account_remove,
            account_verify,
            account_manage,
            proxy_get,
            proxy_set,
            proxy_system,
            trace_plantuml,
            trace_save,
        ],
    )
}

/// Writes the TypeScript bindings to `path`.
pub fn export_bindings(path: &std::path::Path) -> Result<(), String> {
    let typescript = specta_typescript::Typescript::default()
        .header("// Generated from the Rust shell by `./dev.sh bindings`; do not edit.\n");
    specta_builder::<tauri::Wry>().export(typescript, path).map_err(|e| e.to_string())
}

/// Adds Homeport's state and commands to a builder: the real one, or Tauri's mock in tests.
pub fn with_homeport<R: Runtime>(builder: tauri::Builder<R>, state: AppState) -> tauri::Builder<R> {
    let commands = specta_builder::<R>();
    builder
        .plugin(tauri_plugin_dialog::init())
        .manage(state)
        .invoke_handler(commands.invoke_handler())
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::CloseRequested { .. } = event {
                if let (Some(size), Some(dir)) = (window_size::current(window), config_dir()) {
                    let _ = window_size::remember(&dir, size);
                }
            }
        })
        .setup(|app| {
            if let Some(window) = app.get_webview_window("main") {
                window_size::fit(&window, config_dir().as_deref());
            }
            let handle = app.handle().clone();
            let state = app.state::<AppState>();
            let _ = state.bring_to_front.set(Box::new(move || bring_to_front(&handle)));
            let handle = app.handle().clone();
            let _ = state.exit.set(std::sync::Arc::new(move |code| handle.exit(code)));
            let handle = app.handle().clone();
            let _ = state.save_dialog.set(Box::new(move |format, chosen| {
                use tauri_plugin_dialog::DialogExt as _;
                let (name, extensions) = format.filter();
                let mut dialog = handle.dialog().file().set_file_name(format.file_name()).add_filter(name, extensions);
                if let Some(window) = handle.get_webview_window("main") {
                    dialog = dialog.set_parent(&window);
                }
                dialog.save_file(move |path| {
                    let _ = chosen.send(path.and_then(|path| path.into_path().ok()));
                });
            }));
            // The organisation's product name in the title bar (and the taskbar); the page's header too.
            if let (Some(title), Some(window)) = (state.admin.title(), app.get_webview_window("main")) {
                if let Err(e) = window.set_title(title) {
                    eprintln!("homeport-desktop: could not set the window title: {e}");
                }
            }
            Ok(())
        })
}

/// The folder accounts.json lives in (the window's size is kept beside it).
fn config_dir() -> Option<std::path::PathBuf> {
    AccountStore::open_default().ok().map(|store| store.dir().to_path_buf())
}

/// The desktop app's arguments, parsed as the CLI parses its own (clap): a usage error exits
/// with 2, `--help` and `--version` print and exit with 0.
#[derive(clap::Parser)]
#[command(name = "homeport-desktop", version, about = "Homeport: connect an account from one address.")]
struct Arguments {
    /// Open in demo mode: start the embedded lookup server and offer its demo accounts.
    #[arg(long)]
    demo: bool,
    /// Play a QA scenario (the file `homeport run` plays) visibly: the autopilot types and clicks
    /// through the pages; Stop or Escape hands over to you.
    #[arg(long, value_name = "FILE")]
    script: Option<std::path::PathBuf>,
    /// With --script: print the verdict line and exit, 0 when the expectations were met, 12 when not.
    #[arg(long, requires = "script")]
    exit_when_done: bool,
    /// The demo from a demo file (the one `homeport mock --scenario` takes): a customer's own
    /// people, ownCloud and oCIS instances, tenants, product names and faults; the demo page lists them.
    #[arg(long, value_name = "FILE")]
    demo_scenario: Option<std::path::PathBuf>,
}

pub fn run() {
    let arguments = <Arguments as clap::Parser>::parse();
    let (demo_requested, exit_when_done) = (arguments.demo, arguments.exit_when_done);
    // Checked before the window shows its first page, as `homeport run` checks before playing:
    // every problem (a typo, a `${…}` the lookup server lacks) is named with file, line and column.
    let script = match arguments.script.as_deref() {
        None => None,
        Some(file) => match tauri::async_runtime::block_on(script_check::check(file)) {
            Ok(scenario) => Some(scenario),
            Err(problems) => {
                for problem in problems {
                    eprintln!("homeport-desktop: {problem}");
                }
                std::process::exit(2);
            }
        },
    };
    // The administrators' configuration: a broken file is named with file, line and key (here and
    // in the window), and nothing reaches a server until it is fixed (docs/administrators.md).
    let mut state = AppState::with_script(demo_requested, script, exit_when_done);
    if let Some(file) = arguments.demo_scenario.as_deref() {
        // Read before the window opens, as a script is: a mistake is named with file, line and column.
        match homeport_lookup::Demo::load(file).map(|demo| demo.scenario) {
            Ok(scenario) => state = state.with_demo_scenario(scenario),
            Err(e) => {
                eprintln!("homeport-desktop: {e}");
                std::process::exit(2);
            }
        }
    }
    let state = match homeport_engine::admin_config::AdminConfig::load() {
        Ok(admin) => state.with_admin(admin),
        Err(e) => {
            eprintln!("homeport-desktop: {e}");
            state.with_admin_error(e.report())
        }
    };
    if let Err(e) = with_homeport(tauri::Builder::default(), state).run(tauri::generate_context!()) {
        eprintln!("homeport-desktop: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests;
