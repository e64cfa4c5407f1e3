//! `homeport accounts list|show|remove`.

use clap::{Args, Subcommand};
use homeport_engine::account::format_unix;
use homeport_engine::{Account, AccountStore, StoreError};

use crate::output::Failure;

#[derive(Subcommand)]
pub enum AccountsCommand {
    /// Every stored account.
    List(JsonFlag),
    /// One account in detail.
    Show(IdArgs),
    /// Remove an account and its password from the keyring.
    Remove(IdArgs),
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
    };
    let store = AccountStore::open_default().map_err(|e| Failure::store(&e, json))?;
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

fn print_account(a: &Account, secret: &str) {
    println!("{}  {} ({})", a.id, a.display_name, a.user_id);
    println!("  Kind            {:?}, {:?} login as {}", a.kind, a.auth_method, a.login_name);
    println!("  Entered         {}", a.entered_address);
    println!("  Server          {}", a.server_url);
    let redirect = if a.redirect_permanent { " (permanent redirect: used directly)" } else { "" };
    println!("  Instance        {}{redirect}", a.instance_url);
    println!("  Product         {} {}", a.product, a.version);
    println!("  Password        {secret} (system keyring, service \"homeport\")");
    println!("  Created         {}", format_unix(a.created_at));
    println!("  Verified        {}", format_unix(a.verified_at));
}
