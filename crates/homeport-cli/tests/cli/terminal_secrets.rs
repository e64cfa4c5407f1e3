//! Passwords at a terminal beyond connect's questions (docs/cli.md#at-a-terminal-homeport-asks):
//! `--password-stdin` typed at a terminal is read without echo, and `accounts verify` asks for a
//! password login's new password when the stored one no longer works (a script gets the error).
//! The pseudo-terminal echoes (`stty echo`), so a password in the output was echoed.

use std::net::SocketAddr;
use std::path::Path;

use homeport_lookup::{Demo, LookupServer, Scenario};

use crate::terminal::{blocking, expect, finish, on_terminal};
use crate::{code, homeport, json, lookup, origin};

#[tokio::test]
async fn password_stdin_typed_at_a_terminal_is_not_echoed() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let (central, instance2) = (server.central_url().to_string(), origin(&server, "instance2"));
    let dir = config.path().to_owned();
    let (code, seen) = blocking(move || {
        let mut seen = String::new();
        let args = [
            "connect",
            &central,
            "--user",
            "test@instance2.com",
            "--password-stdin",
            "--approve-redirect",
            &instance2,
            "--no-store",
        ];
        let mut session = on_terminal(&dir, &args, &[]);
        expect(&mut session, "Password", &mut seen);
        session.send_line("secret").expect("type");
        expect(&mut session, "Connected: Test User Two", &mut seen);
        (finish(session, &mut seen), seen)
    })
    .await;
    assert_eq!(code, 0, "connected:\n{seen}");
    assert!(!seen.contains("secret"), "the password typed for --password-stdin was echoed:\n{seen}");
    server.shutdown().await;
}

/// The new password of the demo's `test@instance2.com`: the second server's demo file has it.
const NEW_PASSWORD: &str = "n3w-pa55word";
const WRONG_PASSWORD: &str = "wr0ng-pa55word";

/// The built-in demo's instance2 person with [`NEW_PASSWORD`], as a demo file.
fn password_changed() -> Scenario {
    let text = format!(
        "[owncloud]\npassword = \"{NEW_PASSWORD}\"\n[[owncloud.instances]]\nname = \"instance2\"\ndomain = \"instance2.com\"\n\
         [[owncloud.people]]\nlogin = \"test@instance2.com\"\ndisplay_name = \"Test User Two\"\ninstance = \"instance2\"\n"
    );
    let demo = Demo::parse(Path::new("changed.toml"), &text).expect("a valid demo file");
    Scenario { path_instances: true, ..demo.scenario }
}

#[tokio::test]
async fn accounts_verify_at_a_terminal_asks_for_a_password_that_no_longer_works() {
    // The path layout keeps the instance under the central origin, so a second server on the same
    // port is the same account's server — with the password changed.
    let before = lookup(Scenario { path_instances: true, ..Scenario::default() }).await;
    let central = before.central_url().clone();
    let config = tempfile::tempdir().expect("temp");
    let stored = homeport(
        config.path(),
        &["connect", central.as_str(), "--user", "test@instance2.com", "--password-stdin", "--json"],
        Some("secret"),
    )
    .await;
    assert_eq!(code(&stored), 0, "stored: {}", String::from_utf8_lossy(&stored.stdout));
    let id = json(&stored)["account"]["id"].as_str().expect("an id").to_owned();
    before.shutdown().await;
    let port = central.port().expect("a port");
    let after = LookupServer::start(SocketAddr::from(([127, 0, 0, 1], port)), password_changed())
        .await
        .expect("the second server takes the first one's port");

    let script = homeport(config.path(), &["accounts", "verify", &id], None).await;
    let said = String::from_utf8_lossy(&script.stderr);
    assert_eq!(code(&script), 5, "a script gets the refusal (auth_failed): {said}");
    assert!(!said.contains("Password for"), "and is asked nothing: {said}");

    let dir = config.path().to_owned();
    let verify_id = id.clone();
    let (exit, seen) = blocking(move || {
        let mut seen = String::new();
        let mut session = on_terminal(&dir, &["accounts", "verify", &verify_id], &[]);
        expect(&mut session, "The stored password of test@instance2.com no longer works.", &mut seen);
        expect(&mut session, &format!("Password for test@instance2.com at {central}: "), &mut seen);
        session.send_line(WRONG_PASSWORD).expect("type");
        expect(&mut session, "try again.", &mut seen);
        expect(&mut session, "Password for test@instance2.com", &mut seen);
        session.send_line(NEW_PASSWORD).expect("type");
        expect(&mut session, "Verified Test User Two", &mut seen);
        (finish(session, &mut seen), seen)
    })
    .await;
    assert_eq!(exit, 0, "verified with the new password:\n{seen}");
    assert!(!seen.contains(NEW_PASSWORD) && !seen.contains(WRONG_PASSWORD), "a password was echoed:\n{seen}");

    let again = homeport(config.path(), &["accounts", "verify", &id], None).await;
    assert_eq!(code(&again), 0, "the new password was stored: {}", String::from_utf8_lossy(&again.stderr));
    after.shutdown().await;
}
