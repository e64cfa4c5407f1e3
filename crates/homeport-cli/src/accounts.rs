//! `homeport accounts list|show|remove|verify`.

use clap::{Args, Subcommand};
use homeport_engine::account::format_unix;
use homeport_engine::account::AuthMethod;
use homeport_engine::ops::{self, ReverifyError, ReverifyOptions, Revocation, Revoked};
use homeport_engine::{Account, AccountStore, ConnectError, Decision, ErrorCode, Origin, StoreError, WizardOptions};

use crate::output::{Done, Failure};
use crate::words;

#[derive(Subcommand)]
pub enum AccountsCommand {
    /// Every stored account.
    List,
    /// One account in detail.
    Show(IdArgs),
    /// Remove an account and its secret from the keyring (its password, app password or tokens:
    /// a Nextcloud app password is deleted at its server first, a Matrix login is logged out or
    /// revoked there, an OpenID Connect login's refresh token revoked at its provider).
    Remove(IdArgs),
    /// Log in again with the stored secret and check the account at its instance (an OpenID
    /// Connect account refreshes its login; the new refresh token replaces the old one). At a
    /// terminal a password login whose stored password no longer works asks for the new one.
    Verify(VerifyArgs),
}

#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    account: IdArgs,
    /// Allow sending the stored login to this origin when the server now redirects there. After
    /// a permanent redirect (301/308) the account is stored with its new instance (and id).
    #[arg(long, value_name = "ORIGIN")]
    approve_redirect: Vec<String>,
    /// Give up on a request after SECS seconds (each HTTP exchange; default 30), as for connect.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: Option<u64>,
}

#[derive(Args)]
pub struct IdArgs {
    /// The account id, as `homeport accounts list` shows it.
    id: String,
}

pub async fn run(command: AccountsCommand, json: bool) -> Result<Done, Failure> {
    let store = AccountStore::open_default().map_err(|e| Failure::store(&e))?;
    if let AccountsCommand::Verify(args) = command {
        // A person at the terminal is asked for a password that no longer works; scripts get the error.
        let interactive = !json && crate::prompt::at_terminal();
        return verify(store, args, interactive).await;
    }
    if let AccountsCommand::Remove(IdArgs { id }) = command {
        return remove(store, &id).await;
    }
    // The keyring client is blocking D-Bus: keep it off the async workers.
    tokio::task::spawn_blocking(move || execute(&store, command))
        .await
        .map_err(|e| Failure::internal(format!("the accounts command stopped: {e}")))?
        .map_err(|e| Failure::store(&e))
}

fn execute(store: &AccountStore, command: AccountsCommand) -> Result<Done, StoreError> {
    Ok(match command {
        AccountsCommand::List => {
            let accounts = store.list()?;
            let mut text = String::new();
            if accounts.is_empty() {
                text.push_str(
                    "No accounts yet. Connect one with: homeport connect <address> (at a terminal it asks for the rest)\n",
                );
            } else {
                text.push_str(&table(&accounts));
            }
            Done::new(&accounts, text)
        }
        AccountsCommand::Show(IdArgs { id }) => {
            let account = store.get(&id)?;
            // The secret is not printed, only whether the keyring has it.
            let secret = match store.secret(&id) {
                Ok(_) => "present".to_owned(),
                Err(StoreError::SecretMissing { .. }) => "missing — connect again".to_owned(),
                Err(e) => return Err(e),
            };
            Done::new(&serde_json::json!({ "account": account, "secret": secret }), describe_account(&account, &secret))
        }
        // Verify talks to the network; run() handles it before coming here.
        AccountsCommand::Verify(_) => Done::nothing(),
        // Remove may talk to the network (a Nextcloud app password); run() handles it.
        AccountsCommand::Remove(_) => Done::nothing(),
    })
}

/// Removes the account (the engine ends a Nextcloud app password or a Matrix login at its server
/// first) and says what became of it there: one the server did not end still works there.
async fn remove(store: AccountStore, id: &str) -> Result<Done, Failure> {
    // The organisation's proxy carries the revocation requests too (docs/administrators.md);
    // removing is always allowed: it only ends what the account had.
    let admin = crate::admin::load()?;
    let http = homeport_engine::HttpConfig {
        proxy: admin.proxy(None, false).map_err(crate::admin::refused)?,
        ..Default::default()
    };
    let removed = ops::remove(&store, id, http).await.map_err(|e| Failure::store(&e))?;
    let account = &removed.account;
    let secret = words::secret(account);
    let mut text = format!(
        "Removed account {} ({} at {}) and its {secret} from the keyring.\n",
        account.id, account.user_id, account.instance_url
    );
    if let Some(revocation) = &removed.revocation {
        text.push_str(&revocation_words(revocation));
    }
    let app_password = removed.revocation.as_ref().filter(|r| revoked(r) == Revoked::AppPassword);
    let json =
        serde_json::json!({ "removed": account, "revocation": removed.revocation, "app_password": app_password });
    Ok(Done::new(&json, text))
}

fn revoked(revocation: &Revocation) -> Revoked {
    match revocation {
        Revocation::Deleted { what, .. } | Revocation::Failed { what, .. } => *what,
    }
}

/// What became of the account's own credential at its server, in words.
fn revocation_words(revocation: &Revocation) -> String {
    let ended = |what: Revoked| -> (&'static str, &'static str) {
        match what {
            Revoked::AppPassword => {
                ("The app password was deleted", "Personal settings → Security → Devices & sessions")
            }
            Revoked::MatrixDevice => ("The device was logged out", "the Matrix client's Sessions settings"),
            Revoked::OauthTokens => ("The login was revoked (and its device logged out)", "the server's account page"),
            Revoked::OidcTokens => (
                "The login (its refresh token) was revoked at the identity provider",
                "the identity provider's account page (sessions or applications)",
            ),
        }
    };
    match revocation {
        Revocation::Deleted { server, what } => {
            format!("  {} at {server}: it no longer works anywhere.\n", ended(*what).0)
        }
        Revocation::Failed { server, what, reason } => {
            let (words, settings) = ended(*what);
            let words = words.replacen(" was ", " was NOT ", 1);
            format!(
                "  ! {words} at {server} ({reason}). It still works there: end it in {settings}. The account is removed here all the same.\n"
            )
        }
    }
}

/// What to do when a re-verify failed, for the account it was about.
fn verify_hint(error: &ReverifyError) -> Option<String> {
    let again = |why: &str| {
        error
            .account()
            .map(|account| format!("{why} (it replaces the stored account): {}", words::reconnect_command(account)))
    };
    match error {
        ReverifyError::NeedsAttention { decision, .. } => match &**decision {
            Decision::ConfirmRedirect { from, to, status, permanent, .. } => {
                let what = if *permanent {
                    "permanently: approving moves the account there"
                } else {
                    "temporarily: the account keeps its stored instance"
                };
                Some(format!("{from} now sends the login to {to} ({status}, {what}); to allow it, run again with --approve-redirect {to}"))
            }
            _ => again("connect it again"),
        },
        ReverifyError::Connect { error: ConnectError::Timeout { seconds, .. }, .. } => Some(format!(
            "the server took longer than {seconds} s to answer: is it running, and is the network slow? Give it longer with --timeout SECS"
        )),
        // A refused login, an expired or revoked one, one that wants the browser again: the same
        // login at the same instance is the same account, so connecting again replaces it.
        _ if error.code() == ErrorCode::AuthFailed => again("log in again"),
        _ => None,
    }
}

/// How often a terminal asks for a refused password, as connect does.
const PASSWORD_TRIES: u32 = 3;

/// The account of a password login (ownCloud's Basic) whose password the server refused: the one
/// failure a typed password can mend. Tokens, app passwords and browser logins connect again instead.
fn password_refused(error: &ReverifyError) -> Option<&Account> {
    match error {
        ReverifyError::Connect { account, error }
            if account.auth_method == AuthMethod::Basic && error.code() == ErrorCode::AuthFailed =>
        {
            Some(account)
        }
        _ => None,
    }
}

/// Re-verifies a stored account and stores what the check found (and a rotated refresh token).
async fn verify(store: AccountStore, args: VerifyArgs, interactive: bool) -> Result<Done, Failure> {
    let mut approve = Vec::new();
    for origin in &args.approve_redirect {
        let origin =
            Origin::parse(origin).map_err(|e| Failure::bad_input(format!("--approve-redirect {origin:?}: {e}")))?;
        approve.push(origin);
    }
    // The organisation's configuration applies to a stored account too: a server it no longer
    // allows is not contacted; its proxy and clients apply as for connect (docs/administrators.md).
    let admin = crate::admin::load()?;
    let stored = {
        let (store, id) = (store.clone(), args.account.id.clone());
        tokio::task::spawn_blocking(move || store.find(&id))
            .await
            .map_err(|e| Failure::internal(format!("the account store stopped unexpectedly: {e}")))?
            .map_err(|e| Failure::store(&e))?
    };
    if let Some(account) = &stored {
        admin.check_address(&account.entered_address).map_err(crate::admin::refused)?;
    }
    let mut wizard = WizardOptions::default();
    wizard.http.proxy = admin.proxy(None, false).map_err(crate::admin::refused)?;
    if let Some(seconds) = args.timeout {
        crate::connect::apply_timeout(&mut wizard.http, seconds);
    }
    wizard.oidc_clients.profiles = admin.client_profiles(None).map_err(crate::admin::refused)?;
    let options = ReverifyOptions { wizard, approve };
    let mut result = ops::reverify(&store, &args.account.id, options.clone()).await;
    // As connect does (and ssh): the password asked again, up to three times, without echo.
    let mut tries = 0;
    while let Err(error) = &result {
        let Some(account) = password_refused(error).filter(|_| interactive && tries < PASSWORD_TRIES) else { break };
        if tries > 0 {
            crate::prompt::tell(&format!("  {error}: try again.\n"));
        } else {
            crate::prompt::tell(&format!("  The stored password of {} no longer works.\n", account.login_name));
        }
        tries += 1;
        let question = format!("  Password for {} at {}: ", account.login_name, account.server_url);
        let Some(password) = crate::prompt::password(question).await else { break };
        result = ops::reverify_with_password(&store, &args.account.id, options.clone(), password).await;
    }
    let verified = result.map_err(|error| Failure::report(error.report()).with_hint(verify_hint(&error)))?;
    let (account, stored) = (&verified.account, &verified.previous);
    let json = serde_json::json!({
        "status": "verified",
        "account": account,
        "round_trips": verified.round_trips,
        "moved_from": verified.moved().then(|| serde_json::json!({
            "id": stored.id,
            "instance_url": stored.instance_url,
        })),
    });
    let mut text = format!(
        "✓ Verified {} ({}) at {} in {}\n",
        account.display_name,
        account.user_id,
        account.instance_url,
        words::round_trips(verified.round_trips)
    );
    if verified.moved() {
        text.push_str(&format!(
            "  Moved       permanently from {}: stored with the new instance as account {} (was {})\n",
            stored.instance_url, account.id, stored.id
        ));
    }
    Ok(Done::new(&json, text))
}

fn describe_account(a: &Account, secret: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "{}  {} ({})", a.id, a.display_name, a.user_id);
    let _ = writeln!(
        out,
        "  Kind            {}, {} as {}",
        words::product(a.kind),
        words::login(a.auth_method),
        a.login_name
    );
    let _ = writeln!(out, "  Entered         {}", a.entered_address);
    let _ = writeln!(out, "  Server          {}", a.server_url);
    let redirect = if a.redirect_permanent { " (permanent redirect: used directly)" } else { "" };
    let _ = writeln!(out, "  Instance        {}{redirect}", a.instance_url);
    let _ = writeln!(out, "  Product         {} {}", a.product, a.version);
    // One line per certificate, with every host:port it is pinned at (docs/cli.md#certificates).
    let mut pinned: Vec<(&str, Vec<&str>)> = Vec::new();
    for pin in &a.trusted_certificates {
        match pinned.iter_mut().find(|(sha256, _)| *sha256 == pin.sha256) {
            Some((_, at)) => at.push(&pin.authority),
            None => pinned.push((&pin.sha256, vec![&pin.authority])),
        }
    }
    for (sha256, at) in pinned {
        let _ = writeln!(
            out,
            "  Trusted cert    SHA-256 {sha256} at {} (pinned: another one there is refused)",
            at.join(", ")
        );
    }
    if let Some(certificate) = &a.client_certificate {
        let _ = writeln!(
            out,
            "  Certificate     {} (issued by {}), from {}; presented to {} (password in the keyring)",
            certificate.subject,
            certificate.issuer,
            certificate.file,
            certificate.servers.join(", ")
        );
    }
    if let Some(oidc) = &a.oidc {
        let _ = writeln!(out, "  Identity        {} (client {})", oidc.issuer, oidc.client_id);
        if let Some(words) = oidc.login_end_words(homeport_engine::account::now_unix()) {
            let _ = writeln!(out, "  Login           {words}");
        }
    }
    if let Some(tenant) = &a.tenant {
        let _ = writeln!(out, "  Tenant          {} (zone {})", tenant.tenant, tenant.zone_id);
        let _ = writeln!(
            out,
            "  Scopes          {}",
            if tenant.scopes.is_empty() { "none".to_owned() } else { tenant.scopes.join(", ") }
        );
    }
    if let Some(matrix) = &a.matrix {
        let _ = writeln!(out, "  Device          {}", matrix.device_id);
        if let Some(oauth) = &matrix.oauth {
            let _ = writeln!(out, "  Logged in at    {} (client {})", oauth.issuer, oauth.client_id);
        }
        if let Some(page) = &matrix.account_management_uri {
            let _ = writeln!(out, "  Manage account  {page}");
        }
    }
    let what = words::secret(a);
    let what = format!("{}{}", what[..1].to_uppercase(), &what[1..]);
    let _ = writeln!(out, "  {what:<15} {secret} (system keyring, service \"homeport\")");
    let _ = writeln!(out, "  Created         {}", format_unix(a.created_at));
    let _ = writeln!(out, "  Verified        {}", format_unix(a.verified_at));
    out
}

/// `accounts list`: one line per account, the columns as wide as their widest entry.
fn table(accounts: &[Account]) -> String {
    let rows: Vec<[String; 5]> = accounts
        .iter()
        .map(|a| {
            [
                a.id.clone(),
                a.user_id.clone(),
                words::product(a.kind).to_owned(),
                a.instance_url.to_string(),
                format_unix(a.verified_at),
            ]
        })
        .collect();
    let header = ["ID", "USER", "SERVER", "INSTANCE", "VERIFIED"].map(str::to_owned);
    let mut widths = [0; 5];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row.iter().zip(widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        text.push_str(cells.join("  ").trim_end());
        text.push('\n');
    }
    text
}
