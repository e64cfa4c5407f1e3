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
    // Every answer was given up front, so a decision here is one nobody answered: decline it.
    let connected = match wizard.next().await {
        Ok(Step::Connected(connected)) => connected,
        Ok(Step::Decide(decision)) => {
            return Err(Failure::new(&decision.declined(), json).with_hint(Some(answer_hint(&decision))))
        }
        Err(error) => {
            let hint = error_hint(&error);
            return Err(Failure::new(&error, json).with_hint(hint));
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
            "this server logs in with OpenID Connect at {issuer}, in the browser; use the desktop app for now (the CLI's --browser option is not there yet)"
        ),
        Decision::ChooseInstance { instances } => format!(
            "the account lives on several instances ({}); use the desktop app to choose one",
            instances.iter().map(|i| i.url.to_string()).collect::<Vec<_>>().join(", ")
        ),
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
