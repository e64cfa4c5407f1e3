//! `homeport connect`: flags answer the wizard's decisions up front; a decision nobody answered
//! ends the run with the flag that would have answered it.

use std::io::{BufRead as _, IsTerminal as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use clap::Args;
use homeport_engine::account::format_unix;
use homeport_engine::admin_config::AdminConfig;
use homeport_engine::oidc::InstanceLink;
use homeport_engine::oidc_client::ClientSettings;
use homeport_engine::owncloud::initials;
use homeport_engine::tenant::TenantProfile;
use homeport_engine::trace_export::{self, TraceFormat, TraceMeta};
use homeport_engine::wizard::Protocol;
use homeport_engine::{
    AccountStore, Answer, Answerer, ConnectError, Connected, Credentials, Decision, Origin, ProxySettings, SaveOutcome,
    Secret, ServerUrl, Settings, Step, Trace, Wizard, WizardEvent, WizardOptions,
};

use crate::client_cert;
use crate::oidc_flags::OidcFlags;
use crate::output::{Done, Failure};

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
    /// The login name.
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
        Arc::new(|event: &WizardEvent| {
            if let WizardEvent::Step { detail, .. } = event {
                println!("  {detail} …");
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
    // With auto-login the credentials are for the IdP's form; they go to the server only if it asks.
    let mut held_credentials = None;
    match (&args.user, args.password_stdin) {
        (Some(user), true) if auto_login => held_credentials = Some(Credentials::new(user, read_password(json)?)),
        (Some(user), true) => wizard.set_credentials(Credentials::new(user, read_password(json)?)),
        (None, true) => return Err(Failure::bad_input("--password-stdin needs --user")),
        // Logging in in the browser takes no password here: the user is the provider's hint.
        (Some(user), false) if matches!(args.browser, Some(BrowserMode::System | BrowserMode::Print)) => {
            wizard.set_login_hint(user)
        }
        (Some(_), false) => {
            return Err(Failure::bad_input(
                "--user needs --password-stdin (Homeport never takes a password as an argument)",
            ))
        }
        (None, false) => {}
    }
    if !json {
        println!("Connecting to {} …", wizard.server());
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
    };
    let connected = match homeport_engine::drive(&mut wizard, &mut answerer).await {
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
                (None, other) => error_hint(other),
            };
            return Err(Failure::new(&error).with_hint(hint));
        }
    };
    if let (Some(trace), Some((path, format, address))) = (unwritten.take(), trace_file) {
        write_trace(&trace, path, *format, address).map_err(Failure::internal)?;
        if !json {
            println!("  Trace written to {} ({})", path.display(), format.name());
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

/// The flags' answers to the decisions left after the up-front ones; a decision no flag answers
/// is declined, with the flag that would have answered it as the hint.
struct FlagAnswerer<'a> {
    args: &'a ConnectArgs,
    json: bool,
    auto_login: bool,
    /// With auto-login the credentials are for the IdP's form; they go to the server only if it asks.
    held: Option<Credentials>,
    instance_offered: bool,
    /// The login page the lookup server's login robot logs in at during the next step, and as whom.
    robot: Option<(String, Credentials)>,
    /// The run ends with this instead of the decision's refusal (a flag is missing or refused).
    failure: Option<Failure>,
    /// What to do about the declined decision, in words.
    hint: Option<String>,
}

impl FlagAnswerer<'_> {
    /// `--approve-issuer` names the provider's origin.
    fn issuer_approved(&self, issuer: &str) -> bool {
        let Ok(issuer) = url::Url::parse(issuer) else { return false };
        let wanted = Origin::of(&issuer);
        self.args.oidc.approve_issuer.iter().any(|origin| Origin::parse(origin).is_ok_and(|origin| origin == wanted))
    }
}

impl Answerer for FlagAnswerer<'_> {
    async fn answer(&mut self, decision: &Decision) -> Result<Answer, ConnectError> {
        let json = self.json;
        Ok(match decision {
            Decision::NeedsCredentials { .. } if self.held.is_some() => match self.held.take() {
                Some(credentials) => Answer::credentials(credentials),
                None => Answer::Decline,
            },
            Decision::OpenBrowser { issuer, issuer_elsewhere: true, .. } if !self.issuer_approved(issuer) => {
                self.hint = Some(answer_hint(decision));
                Answer::Decline
            }
            Decision::ConfirmUser { logged_in, .. }
                if self.args.oidc.continue_as.as_deref().is_some_and(|user| user.eq_ignore_ascii_case(logged_in)) =>
            {
                Answer::ContinueAsLoggedInUser
            }
            Decision::OpenBrowser { url, issuer, .. } if self.auto_login => {
                match auto_login_credentials(issuer, self.held.as_ref()) {
                    Ok(credentials) => {
                        if !json {
                            println!("  logging in at {issuer} as {} (auto-login) …", credentials.user);
                        }
                        self.robot = Some((url.clone(), credentials.clone()));
                        Answer::ContinueInBrowser
                    }
                    Err(failure) => {
                        self.failure = Some(failure);
                        Answer::Decline
                    }
                }
            }
            Decision::OpenBrowser { url, .. } if self.args.browser.is_some() => {
                open_login_page(self.args.browser, url, json);
                Answer::ContinueInBrowser
            }
            // Nextcloud's Login Flow v2 needs no way back to this computer: the link works in any
            // browser, on any device. A person at a terminal gets it printed (as --browser print)
            // and Homeport waits; a script says --browser (docs/cli.md).
            Decision::OpenBrowser { url, protocol: Protocol::Nextcloud, .. } if on_terminal() => {
                open_login_page(Some(BrowserMode::Print), url, json);
                Answer::ContinueInBrowser
            }
            // At a terminal with no flag for it, the node a Nextcloud login names is asked about
            // (y/N): with no flags at all, `homeport connect https://gss/` still ends on the node,
            // with the person's consent (docs/cli.md). A script is told the flag instead.
            Decision::ConfirmRedirect { from, to, protocol: Protocol::Nextcloud, .. } if !json && on_terminal() => {
                let question = format!("  {from} says your account lives on {to}. Send your login there? [y/N] ");
                if ask_yes_no(question).await {
                    Answer::ApproveRedirect { origin: to.clone() }
                } else {
                    self.hint = Some(answer_hint(decision));
                    Answer::Decline
                }
            }
            Decision::ChooseInstance { instances } if self.args.instance.is_some() && !self.instance_offered => {
                self.instance_offered = true;
                match InstanceLink::named(instances, self.args.instance.as_deref().unwrap_or_default()) {
                    Some(found) => Answer::ChooseInstance { instance: found.url.clone() },
                    None => {
                        self.hint = Some(format!("--instance must be one of: {}", offered_instances(decision)));
                        Answer::Decline
                    }
                }
            }
            // --trust-cert answers for every server presenting that certificate on the way; each
            // is pinned at its own host:port (docs/cli.md).
            Decision::TrustCertificate { certificate, .. }
                if trusted_by_flag(&self.args.trust_cert, &certificate.sha256) =>
            {
                Answer::TrustCertificate { sha256: certificate.sha256.clone() }
            }
            // --client-cert answers for every server of the account that asks (docs/cli.md).
            Decision::ClientCertificate { .. } if self.args.client_cert.is_some() => {
                match client_cert::answer(self.args.client_cert.as_deref()) {
                    Ok(answer) => answer,
                    Err(failure) => {
                        self.failure = Some(failure);
                        Answer::Decline
                    }
                }
            }
            decision => {
                self.hint = Some(answer_hint(decision));
                Answer::Decline
            }
        })
    }

    async fn step(&mut self, wizard: &mut Wizard) -> Result<Step, ConnectError> {
        match self.robot.take() {
            Some((url, credentials)) => {
                homeport_scenario::next_with_browser_robot(wizard, &url, &credentials.user, &credentials.password).await
            }
            None => wizard.next().await,
        }
    }
}

/// A person is at the terminal: both standard input and output are one.
fn on_terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// Asks `question` on the terminal; only `y` or `yes` is a yes.
async fn ask_yes_no(question: String) -> bool {
    let answer = tokio::task::spawn_blocking(move || {
        print!("{question}");
        let _ = std::io::Write::flush(&mut std::io::stdout());
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    })
    .await;
    matches!(answer, Ok(Ok(line)) if matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
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
    Ok(homeport_engine::HttpConfig { proxy, client_identity, ..Default::default() })
}

/// Whether one of the `--trust-cert` fingerprints is `shown` (any way of writing it).
fn trusted_by_flag(flags: &[String], shown: &str) -> bool {
    let shown = homeport_engine::certificate::parse_fingerprint(shown);
    shown.is_some() && flags.iter().any(|flag| homeport_engine::certificate::parse_fingerprint(flag) == shown)
}

fn read_password(json: bool) -> Result<Secret, Failure> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() && !json {
        eprint!("Password (input is shown; prefer piping it): ");
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

fn answer_hint(decision: &Decision) -> String {
    match decision {
        Decision::ConfirmRedirect { from, to, .. } => format!(
            "{from} sends your login to {to}. Homeport sends your password there only if you approve: run again with --approve-redirect {to}"
        ),
        Decision::ConfirmPlainHttp { url } => {
            let origin = url::Url::parse(url).map(|url| Origin::of(&url).to_string()).unwrap_or_else(|_| url.clone());
            format!("use https://, or run again with --allow-plain-http={origin} if you trust this network")
        }
        Decision::NeedsCredentials { .. } => "pass --user NAME --password-stdin (the password on standard input)".into(),
        Decision::OpenBrowser { issuer, server, issuer_elsewhere: true, .. } => format!(
            "{server} logs in at {issuer}, which is on another site: your password goes there, and its tokens then go to {server}. If you expected that, run again with --approve-issuer {}",
            url::Url::parse(issuer).map(|url| Origin::of(&url).to_string()).unwrap_or_else(|_| issuer.clone())
        ),
        Decision::ConfirmUser { typed, logged_in, .. } => format!(
            "the identity provider logged you in as {logged_in}, not {typed}: log out there (or use a private window) and run again, or run again with --continue-as {logged_in}"
        ),
        Decision::OpenBrowser { protocol: Protocol::Nextcloud, .. } => {
            "this Nextcloud server logs in in the browser (Login Flow v2): run again with --browser system (or --browser print), or --user NAME --password-stdin".into()
        }
        Decision::OpenBrowser { issuer, protocol: Protocol::MatrixOauth, .. } => format!(
            "this homeserver logs in in the browser, at {issuer}: run again with --browser system (or --browser print)"
        ),
        Decision::OpenBrowser { issuer, .. } => format!(
            "this server logs in with OpenID Connect at {issuer}, in the browser: run again with --browser system (or --browser print)"
        ),
        Decision::ChooseInstance { .. } => {
            format!("the account lives on several instances: run again with --instance URL, one of {}", offered_instances(decision))
        }
        Decision::ClientCertificate { server, issuers, .. } => client_cert::decision_hint(server, issuers),
        Decision::TrustCertificate { certificate, .. } => format!(
            "the certificate is issued to {} by {}, valid {} to {}. If its fingerprint is the one the server's administrator gave you, run again with --trust-cert {}",
            certificate.subject, certificate.issuer, certificate.not_before, certificate.not_after, certificate.sha256
        ),
    }
}

fn offered_instances(decision: &Decision) -> String {
    match decision {
        Decision::ChooseInstance { instances } => {
            instances.iter().map(|i| i.url.to_string()).collect::<Vec<_>>().join(", ")
        }
        _ => String::new(),
    }
}

/// Shows the login link (on stderr with --json, so stdout stays one object) and, for `system`,
/// hands it to the desktop's browser. The wizard then waits for the browser's answer.
fn open_login_page(mode: Option<BrowserMode>, url: &str, json: bool) {
    let line = format!("Log in in your browser: {url}");
    if json {
        eprintln!("{line}");
    } else {
        println!("  {line}");
    }
    if mode == Some(BrowserMode::System) {
        if let Err(reason) = homeport_scenario::open_system_browser(url) {
            eprintln!("  {reason}");
        }
    }
}

/// `--browser auto-login` needs the credentials, and logs in only at an identity provider on this
/// machine (the lookup server): it is a QA tool, not a way to send passwords to real sites.
fn auto_login_credentials<'c>(issuer: &str, credentials: Option<&'c Credentials>) -> Result<&'c Credentials, Failure> {
    let Some(credentials) = credentials else {
        return Err(Failure::bad_input("--browser auto-login needs --user NAME --password-stdin"));
    };
    let loopback =
        url::Url::parse(issuer).ok().and_then(|url| ServerUrl::from_url(url).ok()).is_some_and(|s| s.is_loopback());
    if !loopback {
        return Err(Failure::bad_input(
            format!("--browser auto-login only logs in at an identity provider on this machine (the lookup server), not at {issuer}: use --browser system or print"),
        ));
    }
    Ok(credentials)
}

fn error_hint(error: &ConnectError) -> Option<String> {
    match error {
        ConnectError::AuthFailed { .. } => Some("check the user name and password and try again".into()),
        ConnectError::ClientCertificate(_) | ConnectError::ClientCertificateRefused { .. } => {
            client_cert::error_hint(error)
        }
        ConnectError::ProxyFailed { .. } => Some(format!(
            "check --proxy (is the proxy running?), --proxy-user and {PROXY_PASSWORD_VAR}; without --proxy, Homeport uses HTTPS_PROXY/HTTP_PROXY/ALL_PROXY"
        )),
        ConnectError::Unreachable { .. } | ConnectError::Timeout { .. } => {
            Some("check the address and your network connection; is the server running?".into())
        }
        ConnectError::UnexpectedStatus { url, status: 404, .. } if url.ends_with("/.well-known/openid-configuration") => {
            Some("the server names no identity provider; if it serves tenants by host, pass --tenant-pattern and --tenant-issuer".into())
        }
        ConnectError::LoginExpired { .. } => {
            Some("log in again: homeport connect <address> --browser system (or print)".into())
        }
        ConnectError::BrowserLoginTimedOut { .. } => {
            Some("finish the login in the browser sooner, or use --browser print and open the link yourself".into())
        }
        _ => None,
    }
}

fn connected_json(connected: &Connected, stored: Option<SaveOutcome>) -> serde_json::Value {
    serde_json::json!({
        "status": "connected",
        "account": connected.account,
        "stored": stored.is_some(),
        // The same login at the same instance was already stored: its login was updated.
        "replaced": stored == Some(SaveOutcome::Replaced),
        "server": { "product": connected.server.describe(), "status": connected.server },
        "redirects": connected.redirects,
        "avatar": connected.avatar.is_some(),
        "round_trips": connected.round_trips,
        "trace": connected.trace,
    })
}

fn secret_name(account: &homeport_engine::Account) -> &'static str {
    match (&account.oidc, &account.matrix) {
        // Nextcloud: the app password the server made for Homeport, never the account password.
        _ if account.auth_method == homeport_engine::AuthMethod::AppPassword => "app password",
        (Some(oidc), _) if oidc.login_expires_at.is_some() => "access token",
        (Some(_), _) => "refresh token",
        (_, Some(_)) => "access and refresh tokens",
        _ => "password",
    }
}

fn story(connected: &Connected, store: Option<&(AccountStore, SaveOutcome)>, started: Instant) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let account = &connected.account;
    let _ = writeln!(out);
    let _ = writeln!(out, "✓ Connected: {} ({})", account.display_name, account.user_id);
    let _ = writeln!(out, "  Server      {} at {}", connected.server.describe(), account.server_url);
    for hop in &connected.redirects {
        let kind = if hop.permanent {
            "permanent: Homeport connects there directly from now on"
        } else {
            "temporary: the server is asked again next time"
        };
        let _ = writeln!(out, "  Redirected  {} to {} ({kind})", hop.status, hop.to);
    }
    match &account.matrix {
        Some(matrix) => {
            if account.instance_url != account.server_url {
                let _ = writeln!(
                    out,
                    "  Portal      {} sent Homeport to the homeserver below (MSC1730)",
                    account.server_url
                );
            }
            let _ = writeln!(
                out,
                "  Homeserver  {} — Matrix {}, device {}",
                account.instance_url, account.version, matrix.device_id
            );
            if let Some(oauth) = &matrix.oauth {
                let _ =
                    writeln!(out, "  Logged in   at {} (Matrix OAuth 2.0, client {})", oauth.issuer, oauth.client_id);
            }
            if let Some(page) = &matrix.account_management_uri {
                let _ = writeln!(out, "  Account     {page} (devices, password: managed at the server)");
            }
        }
        None => {
            let _ = writeln!(out, "  Instance    {} — {} {}", account.instance_url, account.product, account.version);
        }
    }
    if let Some(oidc) = &account.oidc {
        let _ = writeln!(out, "  Identity    {} (OpenID Connect, client {})", oidc.issuer, oidc.client_id);
        if let Some(words) = oidc.login_end_words(homeport_engine::account::now_unix()) {
            let _ = writeln!(out, "  Login       {words}");
        }
    }
    if let Some(tenant) = &account.tenant {
        let _ = writeln!(out, "  Tenant      {} (identity zone {})", tenant.tenant, tenant.zone_id);
        let scopes = if tenant.scopes.is_empty() { "none".to_owned() } else { tenant.scopes.join(", ") };
        let _ = writeln!(out, "  Scopes      {scopes}");
    }
    let _ = match &connected.avatar {
        Some(png) => writeln!(out, "  Avatar      {} bytes", png.len()),
        None if account.matrix.is_some() => Ok(()),
        None => writeln!(out, "  Avatar      none set (shown as initials {})", initials(&account.display_name)),
    };
    let _ = match store {
        Some((_, SaveOutcome::Replaced)) => writeln!(
            out,
            "  Stored      already connected as account {}: updated its login (details and {}), no second account",
            account.id,
            secret_name(account)
        ),
        Some((store, SaveOutcome::Added)) => writeln!(
            out,
            "  Stored      account {} in {}; {} in the system keyring",
            account.id,
            store.accounts_path().display(),
            secret_name(account)
        ),
        None => writeln!(out, "  Not stored  (--no-store)"),
    };
    let _ = writeln!(
        out,
        "  Took        {} round trips, {} ms, verified {}",
        connected.round_trips,
        started.elapsed().as_millis(),
        format_unix(account.verified_at)
    );
    out
}
