//! `homeport`: the command-line shell over the engine. It only translates: flags answer the
//! wizard's decisions, errors become `{code, message, detail}` and an exit code per class.

mod accounts;
mod admin;
mod client_cert;
mod connect;
mod fallback_hint;
mod mock;
mod oidc_flags;
mod output;
mod prompt;
mod run;
mod words;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::output::{Done, Failure};

#[derive(Parser)]
#[command(
    name = "homeport",
    version,
    about = "Connect an account from one address: finds the server that holds it, logs in, verifies and stores it.",
    // The CLI stays English (scripts match its words); the desktop app speaks English and German.
    after_help = "Homeport's command line speaks English only; the desktop app (homeport-desktop) also speaks German."
)]
struct Cli {
    /// Print one JSON object (for scripts) instead of text; errors too, as
    /// {"status":"failed","error":{code,message,detail,hint}}. Accepted before or after the command.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Connect an account: probe the server, log in, follow it to the instance, verify, store.
    Connect(Box<connect::ConnectArgs>),
    /// List, show, verify (log in again and check) or remove stored accounts.
    #[command(subcommand)]
    Accounts(accounts::AccountsCommand),
    /// Run the embedded lookup server (a mock of the servers Homeport talks to) until stopped.
    Mock(mock::MockArgs),
    /// Play QA scenario files (TOML) headless: lines, a summary, JUnit XML, load tests.
    Run(run::RunArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The lookup server is loopback I/O: beside a load generator on the other core a second worker
    // only adds task switches (measured under wrk: ~121,000 → ~146,000 redirects/s with one).
    // Wizard flows (connect, run --concurrency) use both cores.
    let workers = if matches!(cli.command, Command::Mock(_)) { 1 } else { 2 };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: could not start: {e}");
            return ExitCode::from(output::EXIT_INTERNAL);
        }
    };
    let json = cli.json;
    let result: Result<Done, Failure> = runtime.block_on(async {
        match cli.command {
            Command::Connect(args) => connect::run(*args, json).await,
            Command::Accounts(command) => accounts::run(command, json).await,
            Command::Mock(args) => mock::run(args).await,
            Command::Run(args) => run::run(args, json).await,
        }
    });
    // The one place output is rendered: the outcome, or the failure, as text or JSON.
    match result {
        Ok(done) => {
            done.print(json);
            ExitCode::SUCCESS
        }
        Err(failure) => failure.exit(json),
    }
}
