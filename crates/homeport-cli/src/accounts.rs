//! `homeport accounts list|show|remove|verify`.

use clap::{Args, Subcommand};
use homeport_engine::account::format_unix;
use homeport_engine::ops::{self, ReverifyError, ReverifyOptions};
use homeport_engine::{Account, AccountStore, Decision, ErrorCode, Origin, StoreError, WizardOptions};

use crate::output::Failure;

#[derive(Subcommand)]
pub enum AccountsCommand {
    /// Every stored account.
    List(JsonFlag),
    /// One account in detail.
    Show(IdArgs),
    /// Remove an account and its password from the keyring.
    Remove(IdArgs),
    /// Log in again with the stored secret and check the account at its instance (an OpenID
    /// Connect account refreshes its login; the new refresh token replaces the old one).
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
}

#[derive(Args)]
pub struct JsonFlag {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct IdArgs {
    /// The account id, as `homeport accounts list` shows it.
    id: String,
    #[command(flatten)]
    format: JsonFlag,
}

pub async fn run(command: AccountsCommand) -> Result<(), Failure> {
    let json = match &command {
        AccountsCommand::List(flag) => flag.json,
        AccountsCommand::Show(args) | AccountsCommand::Remove(args) => args.format.json,
        AccountsCommand::Verify(args) => args.account.format.json,
    };
    let store = AccountStore::open_default().map_err(|e| Failure::store(&e, json))?;
    if let AccountsCommand::Verify(args) = command {
        return verify(store, args, json).await;
    }
    // The keyring client is blocking D-Bus: keep it off the async workers.
    tokio::task::spawn_blocking(move || execute(&store, command))
        .await
        .map_err(|e| Failure::internal(format!("the accounts command stopped: {e}"), json))?
        .map_err(|e| Failure::store(&e, json))
}

fn execute(store: &AccountStore, command: AccountsCommand) -> Result<(), StoreError> {
    match command {
        AccountsCommand::List(JsonFlag { json }) => {
            let accounts = store.list()?;
            if json {
                println!("{}", serde_json::to_string(&accounts).unwrap_or_default());
            } else if accounts.is_empty() {
                println!(
                    "No accounts yet. Connect one with: homeport connect <address> --user <name> --password-stdin"
                );
            } else {
                println!("{:<16} {:<28} {:<34} VERIFIED", "ID", "USER", "INSTANCE");
                for a in &accounts {
                    println!(
                        "{:<16} {:<28} {:<34} {}",
                        a.id,
                        a.user_id,
                        a.instance_url.to_string(),
                        format_unix(a.verified_at)
                    );
                }
            }
        }
        AccountsCommand::Show(IdArgs { id, format }) => {
            let account = store.get(&id)?;
            // The secret is not printed, only whether the keyring has it.
            let secret = match store.secret(&id) {
                Ok(_) => "present".to_owned(),
                Err(StoreError::SecretMissing { .. }) => "missing — connect again".to_owned(),
                Err(e) => return Err(e),
            };
            if format.json {
                println!("{}", serde_json::json!({ "account": account, "secret": secret }));
            } else {
                print_account(&account, &secret);
            }
        }
        // Verify talks to the network; run() handles it before coming here.
        AccountsCommand::Verify(_) => {}
        AccountsCommand::Remove(IdArgs { id, format }) => {
            let account = store.remove(&id)?;
            if format.json {
                println!("{}", serde_json::json!({ "removed": account }));
            } else {
                println!(
                    "Removed account {} ({} at {}) and its password from the keyring.",
                    account.id, account.user_id, account.instance_url
                );
            }
        }
    }
    Ok(())
}

/// The address the account was added with, for a hint.
fn stored_address(error: &ReverifyError) -> &str {
    error.account().map(|account| account.entered_address.as_str()).unwrap_or_default()
}

/// Re-verifies a stored account and stores what the check found (and a rotated refresh token).
async fn verify(store: AccountStore, args: VerifyArgs, json: bool) -> Result<(), Failure> {
    let mut approve = Vec::new();
    for origin in &args.approve_redirect {
        let origin = Origin::parse(origin)
            .map_err(|e| Failure::bad_input(format!("--approve-redirect {origin:?}: {e}"), json))?;
        approve.push(origin);
    }
    let options = ReverifyOptions { wizard: WizardOptions::default(), approve };
    let verified = ops::reverify(&store, &args.account.id, options).await.map_err(|error| {
        let hint = match &error {
            ReverifyError::NeedsAttention { decision, .. } => match &**decision {
                Decision::ConfirmRedirect { from, to, status, permanent, .. } => {
                    let what = if *permanent {
                        "permanently: approving moves the account there"
                    } else {
                        "temporarily: the account keeps its stored instance"
                    };
                    Some(format!("{from} now sends the login to {to} ({status}, {what}); to allow it, run again with --approve-redirect {to}"))
                }
                _ => None,
            }
            .or_else(|| {
                Some(format!("remove the account and connect again: homeport connect {}", stored_address(&error)))
            }),
            ReverifyError::LoginEnded { .. } | ReverifyError::Connect { .. } if error.code() == ErrorCode::AuthFailed => {
                Some(format!(
                    "log in again: homeport connect {} (then remove the old account if it is listed twice)",
                    stored_address(&error)
                ))
            }
            _ => None,
        };
        Failure::report(error.report(), json).with_hint(hint)
    })?;
    let (account, stored) = (&verified.account, &verified.previous);
    if json {
        println!(
            "{}",
            serde_json::json!({
                "status": "verified",
                "account": account,
                "round_trips": verified.round_trips,
                "moved_from": verified.moved().then(|| serde_json::json!({
                    "id": stored.id,
                    "instance_url": stored.instance_url,
                })),
            })
        );
    } else {
        println!(
            "✓ Verified {} ({}) at {} in {} round trips",
            account.display_name, account.user_id, account.instance_url, verified.round_trips
        );
        if verified.moved() {
            println!(
                "  Moved       permanently from {}: stored with the new instance as account {} (was {})",
                stored.instance_url, account.id, stored.id
            );
        }
    }
    Ok(())
}

fn print_account(a: &Account, secret: &str) {
    println!("{}  {} ({})", a.id, a.display_name, a.user_id);
    println!("  Kind            {:?}, {:?} login as {}", a.kind, a.auth_method, a.login_name);
    println!("  Entered         {}", a.entered_address);
    println!("  Server          {}", a.server_url);
    let redirect = if a.redirect_permanent { " (permanent redirect: used directly)" } else { "" };
    println!("  Instance        {}{redirect}", a.instance_url);
    println!("  Product         {} {}", a.product, a.version);
    if let Some(oidc) = &a.oidc {
        println!("  Identity        {} (client {})", oidc.issuer, oidc.client_id);
    }
    if let Some(tenant) = &a.tenant {
        println!("  Tenant          {} (zone {})", tenant.tenant, tenant.zone_id);
        println!(
            "  Scopes          {}",
            if tenant.scopes.is_empty() { "none".to_owned() } else { tenant.scopes.join(", ") }
        );
    }
    if let Some(matrix) = &a.matrix {
        println!("  Device          {}", matrix.device_id);
    }
    let what = match (&a.oidc, &a.matrix) {
        (Some(_), _) => "Refresh token  ",
        (_, Some(_)) => "Tokens         ",
        _ => "Password       ",
    };
    println!("  {what} {secret} (system keyring, service \"homeport\")");
    println!("  Created         {}", format_unix(a.created_at));
    println!("  Verified        {}", format_unix(a.verified_at));
}
