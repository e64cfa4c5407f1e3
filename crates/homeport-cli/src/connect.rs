//! `homeport connect`: flags answer the wizard's decisions up front; a decision nobody answered
//! ends the run with the flag that would have answered it. The answers are in `answerer`, the
//! words for what to do next in `hints`, the story of a connected account in `story`.

mod answerer;
mod ask;
mod hints;
mod story;

use std::io::{BufRead as _, IsTerminal as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use clap::Args;
use homeport_engine::admin_config::AdminConfig;
use homeport_engine::oidc_client::ClientSettings;
use homeport_engine::tenant::TenantProfile;
use homeport_engine::trace_export::{self, TraceFormat, TraceMeta};
use homeport_engine::{
    AccountStore, ConnectError, Credentials, Origin, ProxySettings, Secret, Settings, Trace, Wizard, WizardEvent,
    WizardOptions,
};

use self::answerer::FlagAnswerer;
use self::hints::error_hint;
use self::story::{connected_json, story};
use crate::client_cert;
use crate::oidc_flags::OidcFlags;
use crate::output::{say, Done, Failure};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BrowserMode {
    /// The desktop's browser (xdg-open, or $BROWSER).
    System,
    /// Print the link; open it yourself.
    Print,
    /// Homeport submits the lookup server's login form itself with --user and the password on
    /// standard input (for QA and tests; refused for an IdP that is not on this machine).
    AutoLogin,
}

#[derive(Args)]
pub struct ConnectArgs {
    /// A server URL (https://cloud.example.com) or an account address (alice@example.com).
    address: String,
    /// The login name (default: the user the address names, alice@example.com). At a terminal
    /// Homeport asks for the password, without echo; a script passes --password-stdin.
    #[arg(long, short = 'u')]
    user: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
    /// Allow sending the credentials to this origin when the server redirects there
    /// (e.g. https://instance2.example.com). Repeat for several.
    #[arg(long, value_name = "ORIGIN")]
    approve_redirect: Vec<String>,
    /// Accept plain http to a host that is not this machine (the password travels readable):
    /// alone, to the server typed; `--allow-plain-http=ORIGIN` (e.g. http://files.example:8080),
    /// to that origin. Repeat for several; any other plain-http origin ends the run and is named.
    #[arg(long, value_name = "ORIGIN", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    allow_plain_http: Vec<String>,
    /// Trust the server certificate with this SHA-256 fingerprint (as Homeport shows it) for this
    /// account only, e.g. a self-signed one, at each server that presents it on the way (each
    /// host:port is pinned on its own). Repeat for several.
    #[arg(long, value_name = "SHA256")]
    trust_cert: Vec<String>,
    /// Present the client certificate (mutual TLS) in this PKCS#12 file (.p12/.pfx) to the server
    /// typed, and to another server of the account that asks for one; its password is read from
    /// the environment variable HOMEPORT_CLIENT_CERT_PASSWORD. Stored with the account (the file
    /// path in accounts.json, the password in the keyring).
    #[arg(long, value_name = "FILE")]
    client_cert: Option<PathBuf>,
    /// Send every request through this proxy: http://HOST:PORT (plain requests forwarded, https
    /// tunnelled) or socks5://HOST:PORT (socks5h:// to let the proxy resolve names). It replaces
    /// HTTP_PROXY/HTTPS_PROXY/ALL_PROXY and, unlike them, is used for servers on this machine too.
    /// Default: the organisation's preset proxy, if any; refused (exit 7) when it is locked.
    #[arg(long, value_name = "URL")]
    proxy: Option<String>,
    /// The proxy's user name; its password is read from the environment variable
    /// HOMEPORT_PROXY_PASSWORD (standard input is for the account's password).
    #[arg(long, value_name = "NAME", requires = "proxy")]
    proxy_user: Option<String>,
    /// How to open an OpenID Connect login page: `system` (the desktop's browser, via xdg-open
    /// or $BROWSER), `print` (show the link; open it yourself) or `auto-login` (Homeport fills in
    /// the lookup server's login form with --user and --password-stdin; loopback IdPs only).
    /// Homeport then waits for the browser to come back to it on 127.0.0.1.
    #[arg(long, value_enum, value_name = "HOW")]
    browser: Option<BrowserMode>,
    /// A multitenant application's TENANT_HOST_PATTERN: a regex with one capture group that takes
    /// the tenant from the host (e.g. '^(.*)\.approuter\.example\.com$'). Needs --tenant-issuer.
    #[arg(long, value_name = "REGEX", requires = "tenant_issuer")]
    tenant_pattern: Option<String>,
    /// The issuer of a tenant's identity zone, with {tenant} for the tenant
    /// (e.g. 'https://{tenant}.authentication.eu10.hana.ondemand.com'). Needs --tenant-pattern.
    #[arg(long, value_name = "URL", requires = "tenant_pattern")]
    tenant_issuer: Option<String>,
    #[command(flatten)]
    oidc: OidcFlags,
    /// Give up on a request after SECS seconds (each HTTP exchange, body included; default 30),
    /// as a scenario file's `timeout_secs`. Not the wait for a browser login.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: Option<u64>,
    /// The instance to use when the server offers several for the account.
    #[arg(long, value_name = "URL")]
    instance: Option<String>,
    /// Verify only; do not store the account.
    #[arg(long)]
    no_store: bool,
    /// Write every HTTP exchange to FILE, also when the connection fails (secrets redacted).
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// The trace file's format; by default from its extension: .mmd Mermaid, .puml PlantUML, else HAR.
    #[arg(long, value_enum, value_name = "FORMAT", requires = "trace")]
    trace_format: Option<TraceFormatArg>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TraceFormatArg {
    /// HTTP Archive 1.2 (browsers' devtools import it).
    Har,
    /// A Mermaid sequenceDiagram.
    Mermaid,
    /// A PlantUML sequence diagram.
    Plantuml,
}

/// Connects; with `--trace`, the trace is written on failure too (a bug report's attachment).
pub async fn run(args: ConnectArgs, json: bool) -> Result<Done, Failure> {
    let trace_file = args.trace.clone().map(|path| {
        let format = match args.trace_format {
            Some(TraceFormatArg::Har) => TraceFormat::Har,
            Some(TraceFormatArg::Mermaid) => TraceFormat::Mermaid,
            Some(TraceFormatArg::Plantuml) => TraceFormat::PlantUml,
            None => TraceFormat::for_path(&path),
        };
        (path, format, args.address.clone())
    });
    // Before the wizard exists (a malformed address) the trace is empty; it is taken once written.
    let mut unwritten = Some(Trace::default());
    let result = connect(args, json, &mut unwritten, trace_file.as_ref()).await;
    if let (Err(_), Some(trace), Some((path, format, address))) = (&result, unwritten, &trace_file) {
        // On stderr: with --json, stdout stays the one failure object.
        match write_trace(&trace, path, *format, address) {
            Ok(()) if !json => eprintln!("Trace written to {} ({})", path.display(), format.name()),
            Ok(()) => {}
            Err(e) => eprintln!("warning: {e}"),
        }
    }
    result
}

fn write_trace(trace: &Trace, path: &Path, format: TraceFormat, address: &str) -> Result<(), String> {
    let meta = TraceMeta {
        address,
        started: SystemTime::now() - trace.started().elapsed(),
        creator_version: env!("CARGO_PKG_VERSION"),
    };
    let text = trace_export::render(format, &trace.exchanges(), &meta);
    std::fs::write(path, text).map_err(|e| format!("could not write the trace to {}: {e}", path.display()))
}

async fn connect(
    args: ConnectArgs,
    json: bool,
    unwritten: &mut Option<Trace>,
    trace_file: Option<&(PathBuf, TraceFormat, String)>,
) -> Result<Done, Failure> {
    let started = Instant::now();
    let observer: Option<homeport_engine::Observer> = (!json).then(|| {
        // A decision answered on the way (a certificate trusted, at the server and again at its
        // instance) starts the check again with the same step: it is said once.
        let last = std::sync::Mutex::new(String::new());
        Arc::new(move |event: &WizardEvent| {
            if let WizardEvent::Step { detail, .. } = event {
                let mut last = last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if *last != *detail {
                    say!("  {detail} …\n");
                    detail.clone_into(&mut *last);
                }
            }
        }) as homeport_engine::Observer
    });
    let tenant_profiles = match (&args.tenant_pattern, &args.tenant_issuer) {
        (Some(pattern), Some(issuer)) => vec![TenantProfile::new("tenant", pattern, issuer)
            .map_err(|e| Failure::bad_input(format!("--tenant-pattern/--tenant-issuer: {e}")))?],
        _ => Vec::new(),
    };
    // The organisation's configuration first: a refused address or flag ends the run before
    // anything is sent (docs/administrators.md).
    let admin = crate::admin::load()?;
    admin.check_address(&args.address).map_err(crate::admin::refused)?;
    let oidc_clients = ClientSettings {
        profiles: admin.client_profiles(args.oidc.profile()?).map_err(crate::admin::refused)?,
        // Registered clients are kept with the accounts; --no-store keeps nothing.
        memory: if args.no_store {
            None
        } else {
            Some(Settings::open_default().map_err(|e| Failure::store(&e))?.registered_clients())
        },
    };
    let options = WizardOptions {
        observer,
        tenant_profiles,
        http: http_config(&args, &admin)?,
        oidc_clients,
        ..Default::default()
    };
    let mut wizard = Wizard::new(&args.address, options).map_err(|e| Failure::new(&e))?;
    *unwritten = Some(wizard.trace().clone());
    for origin in &args.approve_redirect {
        let origin =
            Origin::parse(origin).map_err(|e| Failure::bad_input(format!("--approve-redirect {origin:?}: {e}")))?;
        wizard.approve_origin(origin);
    }
    for origin in &args.allow_plain_http {
        let origin = match origin.as_str() {
            "" => Origin::of(wizard.server().as_url()),
            given => {
                Origin::parse(given).map_err(|e| Failure::bad_input(format!("--allow-plain-http={given}: {e}")))?
            }
        };
        wizard.allow_plain_http(origin);
    }
    if args.browser.is_some() {
        // Asking for a browser means: log in there (Matrix SSO) even where a password form exists.
        wizard.prefer_browser_login();
    }
    let auto_login = args.browser == Some(BrowserMode::AutoLogin);
    // A person at the terminal, no flag saying a script runs: ask what no flag answered.
    let interactive = !json && !args.password_stdin && crate::prompt::at_terminal();
    // With auto-login the credentials are for the IdP's form; they go to the server only if it asks.
    let mut held_credentials = None;
    // The password's user: --user, else the one the address names (bob@server, @bob:server,
    // https://bob@host/), as ssh and git take it (docs/cli.md).
    let user = args.user.clone().or_else(|| if args.password_stdin { wizard.login_hint() } else { None });
    match (&user, args.password_stdin) {
        (Some(user), true) if auto_login => held_credentials = Some(Credentials::new(user, read_password(json)?)),
        (Some(user), true) => wizard.set_credentials(Credentials::new(user, read_password(json)?)),
        (None, true) => {
            return Err(Failure::bad_input(
                "--password-stdin needs --user NAME, or an address that names the user (alice@example.com, @alice:example.org)",
            ))
        }
        // Logging in in the browser takes no password here: the user is the provider's hint.
        (Some(user), false) if matches!(args.browser, Some(BrowserMode::System | BrowserMode::Print)) => {
            wizard.set_login_hint(user)
        }
        // At a terminal the password is asked for when the server wants one (without echo).
        (Some(user), false) if interactive => wizard.set_login_hint(user),
        (Some(_), false) => {
            return Err(Failure::bad_input(
                "--user needs --password-stdin (Homeport never takes a password as an argument; at a terminal it asks for it)",
            ))
        }
        (None, false) => {}
    }
    if !json {
        say!("Connecting to {} …\n", wizard.server());
    }
    // Flags answer decisions; a decision no flag answers ends the run with the flag that would.
    let mut answerer = FlagAnswerer {
        args: &args,
        json,
        auto_login,
        held: held_credentials,
        instance_offered: false,
        robot: None,
        failure: None,
        hint: None,
        interactive,
        user: args.user.clone().or_else(|| wizard.login_hint()),
        passwords_asked: 0,
    };
    let connected = match drive_asking_again(&mut wizard, &mut answerer).await {
        Ok(connected) => connected,
        Err(error) => {
            if let Some(failure) = answerer.failure.take() {
                return Err(failure);
            }
            let hint = match (answerer.hint.take(), &error) {
                (Some(hint), _) => Some(hint),
                (None, ConnectError::BrowserLoginFailed { .. }) if auto_login => {
                    Some("check --user and the password on standard input".into())
                }
                (None, other) => error_hint(other, &args),
            };
            return Err(Failure::new(&error).with_hint(hint));
        }
    };
    if let (Some(trace), Some((path, format, address))) = (unwritten.take(), trace_file) {
        write_trace(&trace, path, *format, address).map_err(|e| {
            Failure::internal(e).with_hint(Some("check --trace FILE: its folder must exist and be writable".into()))
        })?;
        if !json {
            say!("  Trace written to {} ({})\n", path.display(), format.name());
        }
    }
    let stored = if args.no_store {
        None
    } else {
        let store = AccountStore::open_default().map_err(|e| Failure::store(&e))?;
        let (account, secret) = (connected.account.clone(), connected.secret.clone());
        let certificate_password = connected.client_certificate_password.clone();
        let saved = tokio::task::spawn_blocking(move || {
            store
                .save_with_certificate(&account, &secret, certificate_password.as_ref())
                .map(|outcome| (store, outcome))
        })
        .await
        .map_err(|e| Failure::internal(format!("storing the account stopped: {e}")))?;
        Some(saved.map_err(|e| Failure::store(&e))?)
    };
    let json = connected_json(&connected, stored.as_ref().map(|(_, outcome)| *outcome));
    Ok(Done::new(&json, story(&connected, stored.as_ref(), started)))
}

/// The environment variable `--proxy-user`'s password is read from.
const PROXY_PASSWORD_VAR: &str = "HOMEPORT_PROXY_PASSWORD";

/// `--trust-cert` fingerprints, checked, as the HTTP configuration's pins; `--proxy` (or the
/// organisation's preset proxy; a locked one refuses `--proxy`).
fn http_config(args: &ConnectArgs, admin: &AdminConfig) -> Result<homeport_engine::HttpConfig, Failure> {
    let proxy = match &args.proxy {
        None => None,
        Some(url) => {
            let password = match &args.proxy_user {
                None => None,
                Some(_) => match std::env::var(PROXY_PASSWORD_VAR) {
                    Ok(password) => Some(Secret::new(password)),
                    Err(_) => {
                        return Err(Failure::bad_input(format!(
                            "--proxy-user needs the proxy's password in the environment variable {PROXY_PASSWORD_VAR}"
                        )))
                    }
                },
            };
            let settings = ProxySettings::parse(url, args.proxy_user.clone(), password)
                .map_err(|reason| Failure::bad_input(format!("--proxy: {reason}")))?;
            Some(settings)
        }
    };
    let proxy = admin.proxy(proxy, true).map_err(crate::admin::refused)?;
    for fingerprint in &args.trust_cert {
        if homeport_engine::certificate::parse_fingerprint(fingerprint).is_none() {
            return Err(Failure::bad_input(format!(
                "--trust-cert {fingerprint:?} is not a SHA-256 fingerprint (64 hex digits, colons allowed)"
            )));
        }
    }
    let client_identity = args.client_cert.as_deref().map(client_cert::load).transpose()?;
    let mut config = homeport_engine::HttpConfig { proxy, client_identity, ..Default::default() };
    if let Some(seconds) = args.timeout {
        apply_timeout(&mut config, seconds);
    }
    Ok(config)
}

/// `--timeout SECS` as the bound of every exchange; setting up the connection never waits longer.
pub(crate) fn apply_timeout(config: &mut homeport_engine::HttpConfig, seconds: u64) {
    config.timeout = std::time::Duration::from_secs(seconds);
    config.connect_timeout = config.connect_timeout.min(config.timeout);
}

fn read_password(json: bool) -> Result<Secret, Failure> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        // Typed at a terminal: read as the prompt reads it, with the echo off (rpassword), so the
        // password never shows on the screen or in its scrollback.
        if !json {
            crate::prompt::tell("Password: ");
        }
        let password = rpassword::read_password()
            .map_err(|e| Failure::bad_input(format!("could not read the password from the terminal: {e}")))?;
        if password.is_empty() {
            return Err(Failure::bad_input("the password typed is empty"));
        }
        return Ok(Secret::new(password));
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::bad_input(format!("could not read the password from standard input: {e}")))?;
    let password = line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(&line);
    if password.is_empty() {
        return Err(Failure::bad_input("the password on standard input is empty"));
    }
    Ok(Secret::new(password))
}

/// [`homeport_engine::drive`]; a password typed at the terminal that the server refused is asked
/// again (the wizard asks for it after a refusal), as ssh does, up to [`ask::PASSWORD_TRIES`].
async fn drive_asking_again(
    wizard: &mut Wizard,
    answerer: &mut FlagAnswerer<'_>,
) -> Result<Box<homeport_engine::Connected>, ConnectError> {
    loop {
        match homeport_engine::drive(wizard, answerer).await {
            Err(error @ ConnectError::AuthFailed { .. })
                if answerer.interactive && (1..ask::PASSWORD_TRIES).contains(&answerer.passwords_asked) =>
            {
                crate::prompt::tell(&format!("  {error}: try again.\n"));
            }
            other => return other,
        }
    }
}
