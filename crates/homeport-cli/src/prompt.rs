//! Asking a person at a terminal, as ssh and git do (docs/cli.md#at-a-terminal-homeport-asks):
//! only when standard input and standard error are terminals, and neither `--json` nor
//! `--password-stdin` says a script is running. Questions go to standard error (standard output
//! stays the story, for a pipe); answers are read from standard input, a password from the
//! terminal with its echo off (rpassword). An empty answer or Ctrl-D is "no".

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use homeport_engine::Secret;

/// A person can be asked: both standard input and standard error are terminals.
pub fn at_terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Says `text` (whole lines) on standard error, where the questions go.
pub fn tell(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}

/// `question` (ending in `[y/N] ` or `[Y/n] `) answered yes: `y`/`yes`, or an empty line when
/// yes is the default. Ctrl-D (no answer at all) is always no.
pub async fn yes(question: String, default_yes: bool) -> bool {
    match line(question).await {
        None => false,
        Some(answer) => match answer.to_ascii_lowercase().as_str() {
            "" => default_yes,
            "y" | "yes" => true,
            _ => false,
        },
    }
}

/// One line typed after `question`, trimmed; None at the end of input (Ctrl-D).
pub async fn line(question: String) -> Option<String> {
    tokio::task::spawn_blocking(move || {
        tell(&question);
        let mut answer = String::new();
        match std::io::stdin().lock().read_line(&mut answer) {
            Ok(0) | Err(_) => {
                // Ctrl-D leaves the cursor after the question.
                tell("\n");
                None
            }
            Ok(_) => Some(answer.trim().to_owned()),
        }
    })
    .await
    .ok()
    .flatten()
}

/// A password typed after `question`, not echoed (it may be empty); None when input ended.
pub async fn password(question: String) -> Option<Secret> {
    tokio::task::spawn_blocking(move || rpassword::prompt_password(question).ok()).await.ok().flatten().map(Secret::new)
}
