//! At a terminal `homeport connect` asks, as ssh and git do (docs/cli.md#at-a-terminal-homeport-asks),
//! driven here through a pseudo-terminal (rexpect) as a person types: the password without echo, a
//! redirect approved and refused, an instance chosen by number, the browser opened on "Y", and
//! Ctrl-D or an empty answer taken as no. The terminal echoes what is typed (`stty echo`, as a
//! person's terminal does), so a password that shows up in the output was echoed.

use std::path::Path;
use std::process::Command;

use homeport_lookup::testing::browser_robot;
use homeport_lookup::Scenario;
use rexpect::session::PtySession;

use crate::{lookup, origin, HOMEPORT};

/// Generous: a hang fails the test instead of stalling it.
const TIMEOUT_MS: u64 = 30_000;

/// `homeport ARGS` on a pseudo-terminal that echoes, in a private config dir.
pub(crate) fn on_terminal(config: &Path, args: &[&str], envs: &[(&str, String)]) -> PtySession {
    let mut command = Command::new("sh");
    command
        .args(["-c", r#"stty echo && exec "$0" "$@""#, HOMEPORT])
        .args(args)
        .env("HOMEPORT_CONFIG_DIR", config)
        .env("HOMEPORT_SYSTEM_CONFIG", "")
        .envs(envs.iter().map(|(name, value)| (*name, value.as_str())));
    rexpect::session::spawn_command(command, Some(TIMEOUT_MS)).expect("homeport on a pseudo-terminal")
}

/// Waits for `needle` and returns everything up to it (the session's whole output is collected
/// by the caller from these).
pub(crate) fn expect(session: &mut PtySession, needle: &str, seen: &mut String) {
    match session.exp_string(needle) {
        Ok(before) => {
            seen.push_str(&before);
            seen.push_str(needle);
        }
        Err(e) => panic!("waited for {needle:?} ({e}); the terminal showed:\n{seen}"),
    }
}

/// The rest of the output and the exit status.
pub(crate) fn finish(mut session: PtySession, seen: &mut String) -> i32 {
    seen.push_str(&session.exp_eof().unwrap_or_default());
    match session.process().wait() {
        Ok(rexpect::process::WaitStatus::Exited(_, code)) => code,
        other => panic!("homeport ended by {other:?}:\n{seen}"),
    }
}

/// Runs the blocking terminal session beside the lookup server's runtime.
pub(crate) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work).await.expect("the terminal session ran")
}

#[tokio::test]
async fn the_password_is_asked_without_echo_and_a_redirect_is_approved_with_y() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let (central, instance2) = (server.central_url().to_string(), origin(&server, "instance2"));
    let dir = config.path().to_owned();
    let (code, seen) = blocking(move || {
        let mut seen = String::new();
        let mut session = on_terminal(&dir, &["connect", &central, "--user", "test@instance2.com", "--no-store"], &[]);
        expect(&mut session, &format!("Password for test@instance2.com at {central}: "), &mut seen);
        session.send_line("secret").expect("type");
        expect(&mut session, "yes sends your password (or token) there.", &mut seen);
        expect(&mut session, &format!("Send your login to {instance2}? [y/N] "), &mut seen);
        session.send_line("y").expect("type");
        expect(&mut session, "Connected: Test User Two", &mut seen);
        (finish(session, &mut seen), seen)
    })
    .await;
    assert_eq!(code, 0, "connected:\n{seen}");
    assert!(!seen.contains("secret"), "the password was not echoed:\n{seen}");
    assert!(
        seen.contains("[y/N] y"),
        "the terminal echoes an answer, so the password's absence means no echo:\n{seen}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_redirect_refused_with_n_or_an_empty_answer_and_ctrl_d_at_the_password_are_no() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let (central, instance2) = (server.central_url().to_string(), origin(&server, "instance2"));
    for answer in ["n", ""] {
        let (dir, central, instance2) = (config.path().to_owned(), central.clone(), instance2.clone());
        let (code, seen) = blocking(move || {
            let mut seen = String::new();
            let mut session =
                on_terminal(&dir, &["connect", &central, "--user", "test@instance2.com", "--no-store"], &[]);
            expect(&mut session, "Password for ", &mut seen);
            session.send_line("secret").expect("type");
            expect(&mut session, "[y/N] ", &mut seen);
            session.send_line(answer).expect("type");
            expect(&mut session, "hint: ", &mut seen);
            let hint_and_rest = {
                let mut rest = String::new();
                let code = finish(session, &mut rest);
                seen.push_str(&rest);
                code
            };
            assert!(seen.contains(&format!("--approve-redirect {instance2}")), "the hint a script gets:\n{seen}");
            (hint_and_rest, seen)
        })
        .await;
        assert_eq!(code, 7, "{answer:?} is no: the redirect is refused (policy_refused):\n{seen}");
    }
    let sent_there = server.requests().iter().filter(|r| r.server == "instance2" && r.has_authorization).count();
    assert_eq!(sent_there, 0, "no password went to instance2");

    let dir = config.path().to_owned();
    let (code, seen) = blocking(move || {
        let mut seen = String::new();
        let mut session = on_terminal(&dir, &["connect", &central, "--no-store"], &[]);
        expect(&mut session, "User name for ", &mut seen);
        session.send_line("test@instance2.com").expect("type");
        expect(&mut session, "Password for test@instance2.com", &mut seen);
        session.send_control('d').expect("Ctrl-D");
        (finish(session, &mut seen), seen)
    })
    .await;
    assert_eq!(code, 5, "Ctrl-D at the password: no password, credentials needed (auth_failed):\n{seen}");
    assert!(seen.contains("hint: pass --user NAME --password-stdin"), "{seen}");
    server.shutdown().await;
}

#[tokio::test]
async fn the_browser_opens_on_y_and_an_instance_is_chosen_by_number() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let ocis = server.ocis_url().to_string();
    let instance_b = server.ocis_instance_urls()["B"].to_string();
    let robot = browser_robot("marie", "radioactivity");
    let envs = robot.envs();
    let dir = config.path().to_owned();
    let (code, seen) = blocking(move || {
        let envs: Vec<(&str, String)> = envs.iter().map(|(name, value)| (*name, value.clone())).collect();
        let mut seen = String::new();
        let mut session = on_terminal(&dir, &["connect", &ocis, "--user", "marie", "--no-store"], &envs);
        expect(&mut session, "Open the browser to log in? [Y/n] ", &mut seen);
        session.send_line("").expect("Enter: the default, yes");
        expect(&mut session, "The account lives on several instances:", &mut seen);
        expect(&mut session, &format!("2) {instance_b}"), &mut seen);
        expect(&mut session, "Use which one? [1-2, empty for none] ", &mut seen);
        session.send_line("2").expect("type");
        expect(&mut session, "Connected: Marie Curie", &mut seen);
        (finish(session, &mut seen), seen)
    })
    .await;
    assert_eq!(code, 0, "connected:\n{seen}\nrobot: {}", robot.log());
    assert!(seen.contains(&format!("Instance    {}", server.ocis_instance_urls()["B"])), "on B:\n{seen}");
    server.shutdown().await;
}

#[tokio::test]
async fn json_on_a_terminal_asks_nothing() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let central = server.central_url().to_string();
    let dir = config.path().to_owned();
    let (code, seen) = blocking(move || {
        let mut seen = String::new();
        let session = on_terminal(&dir, &["connect", &central, "--json"], &[]);
        (finish(session, &mut seen), seen)
    })
    .await;
    assert_eq!(code, 5, "as a script: credentials needed, at once:\n{seen}");
    assert!(!seen.contains("Password for") && !seen.contains("User name for"), "no question:\n{seen}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_refused_password_is_asked_again_three_times_at_most() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let portal = server.matrix_portal_url();
    let alice = format!("@alice:{}:{}", portal.host_str().expect("host"), portal.port().expect("port"));
    for (typed, wanted) in [(&["wrong", "wonderland"][..], 0), (&["wrong", "wronger", "wrongest"][..], 5)] {
        let (dir, alice) = (config.path().to_owned(), alice.clone());
        let (code, seen) = blocking(move || {
            let mut seen = String::new();
            let mut session = on_terminal(&dir, &["connect", &alice, "--no-store"], &[]);
            for (n, password) in typed.iter().enumerate() {
                expect(&mut session, &format!("Password for {alice}"), &mut seen);
                session.send_line(password).expect("type");
                if n + 1 < typed.len() {
                    expect(&mut session, "try again.", &mut seen);
                }
            }
            (finish(session, &mut seen), seen)
        })
        .await;
        assert_eq!(code, wanted, "{typed:?}:\n{seen}");
        assert_eq!(seen.matches("Password for ").count(), typed.len(), "asked once per try:\n{seen}");
    }
    server.shutdown().await;
}
