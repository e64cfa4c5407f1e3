//! `homeport connect`: flags answer the wizard's decisions up front; a decision nobody answered
//! ends the run with the flag that would have answered it.

use std::io::{BufRead as _, IsTerminal as _};
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use homeport_engine::account::format_unix;
use homeport_engine::owncloud::initials;
use homeport_engine::{
    AccountStore, ConnectError, Connected, Credentials, Decision, Origin, Secret, Step, Wizard, WizardEvent,
    WizardOptions,
};

use crate::output::Failure;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BrowserMode {
    System,
    Print,
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
    /// Accept plain http to a host that is not this machine (the password travels readable).
    #[arg(long)]
    allow_plain_http: bool,
    /// How to open an OpenID Connect login page: `system` (the desktop's browser, via xdg-open
    /// or $BROWSER) or `print` (show the link; open it yourself). Homeport then waits for the
    /// browser to come back to it on 127.0.0.1.
    #[arg(long, value_enum, value_name = "HOW")]
    browser: Option<BrowserMode>,
    /// The instance to use when the server offers several for the account.
    #[arg(long, value_name = "URL")]
    instance: Option<String>,
    /// Verify only; do not store the account.
    #[arg(long)]
    no_store: bool,
    /// Print one JSON object (for scripts) instead of the story.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: ConnectArgs) -> Result<(), Failure> {
    let json = args.json;
    let started = Instant::now();
    let observer: Option<homeport_engine::Observer> = (!json).then(|| {
        Arc::new(|event: &WizardEvent| {
            if let WizardEvent::Step { detail, .. } = event {
                println!("  {detail} …");
            }
        }) as homeport_engine::Observer
    });
    let mut wizard = Wizard::new(&args.address, WizardOptions { observer, ..WizardOptions::default() })
        .map_err(|e| Failure::new(&e, json))?;
    for origin in &args.approve_redirect {
        let origin = Origin::parse(origin)
            .map_err(|e| Failure::bad_input(format!("--approve-redirect {origin:?}: {e}"), json))?;
        wizard.approve_origin(origin);
    }
    if args.allow_plain_http {
        wizard.allow_plain_http();
    }
    match (&args.user, args.password_stdin) {
        (Some(user), true) => wizard.set_credentials(Credentials::new(user, read_password(json)?)),
        (None, true) => return Err(Failure::bad_input("--password-stdin needs --user", json)),
        (Some(_), false) => {
            return Err(Failure::bad_input(
                "--user needs --password-stdin (Homeport never takes a password as an argument)",
                json,
            ))
        }
        (None, false) => {}
    }
    if !json {
        println!("Connecting to {} …", wizard.server());
    }
    let mut instance_offered = false;
    // Flags answer decisions; a decision no flag answers ends the run with the flag that would.
    let connected = loop {
        match wizard.next().await {
            Ok(Step::Connected(connected)) => break connected,
            Ok(Step::Decide(Decision::OpenBrowser { url, .. })) if args.browser.is_some() => {
                open_login_page(args.browser, &url, json);
            }
            Ok(Step::Decide(Decision::ChooseInstance { instances }))
                if args.instance.is_some() && !instance_offered =>
            {
                instance_offered = true;
                let wanted = args.instance.as_deref().unwrap_or_default().trim_end_matches('/');
                match instances.iter().find(|i| i.url.as_url().as_str().trim_end_matches('/') == wanted) {
                    Some(found) => wizard.choose_instance(found.url.clone()),
                    None => {
                        let decision = Decision::ChooseInstance { instances };
                        let hint = format!("--instance must be one of: {}", offered_instances(&decision));
                        return Err(Failure::new(&decision.declined(), json).with_hint(Some(hint)));
                    }
                }
            }
            Ok(Step::Decide(decision)) => {
                return Err(Failure::new(&decision.declined(), json).with_hint(Some(answer_hint(&decision))))
            }
            Err(error) => {
                let hint = error_hint(&error);
                return Err(Failure::new(&error, json).with_hint(hint));
            }
        }
    };
    let stored = if args.no_store {
        None
    } else {
        let store = AccountStore::open_default().map_err(|e| Failure::store(&e, json))?;
        let (account, secret) = (connected.account.clone(), connected.secret.clone());
        let saved = tokio::task::spawn_blocking(move || store.save(&account, &secret).map(|()| store))
            .await
            .map_err(|e| Failure::internal(format!("storing the account stopped: {e}"), json))?;
        Some(saved.map_err(|e| Failure::store(&e, json))?)
    };
    if json {
        print_json(&connected, stored.is_some());
    } else {
        print_story(&connected, stored.as_ref(), started);
    }
    Ok(())
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
        .map_err(|e| Failure::bad_input(format!("could not read the password from standard input: {e}"), json))?;
    let password = line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(&line);
    if password.is_empty() {
        return Err(Failure::bad_input("the password on standard input is empty", json));
    }
    Ok(Secret::new(password))
}

fn answer_hint(decision: &Decision) -> String {
    match decision {
        Decision::ConfirmRedirect { from, to, .. } => format!(
            "{from} sends your login to {to}. Homeport sends your password there only if you approve: run again with --approve-redirect {to}"
        ),
        Decision::ConfirmPlainHttp { .. } => "use https://, or run again with --allow-plain-http if you trust this network".into(),
        Decision::NeedsCredentials { .. } => "pass --user NAME --password-stdin (the password on standard input)".into(),
        Decision::OpenBrowser { issuer, .. } => format!(
            "this server logs in with OpenID Connect at {issuer}, in the browser: run again with --browser system (or --browser print)"
        ),
        Decision::ChooseInstance { .. } => {
            format!("the account lives on several instances: run again with --instance URL, one of {}", offered_instances(decision))
        }
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
        let opener = std::env::var("BROWSER").unwrap_or_else(|_| "xdg-open".into());
        if let Err(e) = std::process::Command::new(&opener).arg(url).spawn() {
            eprintln!("  could not start {opener} ({e}); open the link yourself");
        }
    }
}

fn error_hint(error: &ConnectError) -> Option<String> {
    match error {
        ConnectError::AuthFailed { .. } => Some("check the user name and password and try again".into()),
        ConnectError::Unreachable { .. } | ConnectError::Timeout { .. } => {
            Some("check the address and your network connection; is the server running?".into())
        }
        ConnectError::OidcRequired { .. } => {
            Some("browser login (OpenID Connect) arrives in a later Homeport version".into())
        }
        _ => None,
    }
}

fn print_json(connected: &Connected, stored: bool) {
    let value = serde_json::json!({
        "status": "connected",
        "account": connected.account,
        "stored": stored,
        "server": { "product": connected.server.describe(), "status": connected.server },
        "redirects": connected.redirects,
        "avatar": connected.avatar.is_some(),
        "round_trips": connected.round_trips,
        "trace": connected.trace,
    });
    println!("{value}");
}

fn print_story(connected: &Connected, store: Option<&AccountStore>, started: Instant) {
    let account = &connected.account;
    println!();
    println!("✓ Connected: {} ({})", account.display_name, account.user_id);
    println!("  Server      {} at {}", connected.server.describe(), account.server_url);
    for hop in &connected.redirects {
        let kind = if hop.permanent {
            "permanent: Homeport connects there directly from now on"
        } else {
            "temporary: the server is asked again next time"
        };
        println!("  Redirected  {} to {} ({kind})", hop.status, hop.to);
    }
    println!("  Instance    {} — {} {}", account.instance_url, account.product, account.version);
    match &connected.avatar {
        Some(png) => println!("  Avatar      {} bytes", png.len()),
        None => println!("  Avatar      none set (shown as initials {})", initials(&account.display_name)),
    }
    match store {
        Some(store) => println!(
            "  Stored      account {} in {}; password in the system keyring",
            account.id,
            store.accounts_path().display()
        ),
        None => println!("  Not stored  (--no-store)"),
    }
    println!(
        "  Took        {} round trips, {} ms, verified {}",
        connected.round_trips,
        started.elapsed().as_millis(),
        format_unix(account.verified_at)
    );
}
