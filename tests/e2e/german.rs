//! The window in German: the ownCloud demo from the address to the verified account and the
//! accounts page under `LANG=de_DE.UTF-8` (the system's language, read by the shell, not the
//! webview), `<html lang="de">`, German words on every page, the axe audit on each, and the
//! language switched back to English in the header without a restart, remembered in the config
//! folder (docs/desktop.md#languages); and the autopilot's verdict with its failures and a refused
//! connection in the diagram, worded in German from their typed data (docs/translating.md).

use thirtyfour::prelude::*;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owncloud_demo_in_german_from_the_address_to_the_accounts() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let envs = [("LANG", "de_DE.UTF-8".to_owned())];
    let app = App::launch_with_envs(&["--demo"], &envs).await.expect("the app starts under tauri-driver");
    let outcome = german_flow(&app).await;
    app.finish("german-owncloud-demo", outcome).await;
}

async fn html_lang(app: &App) -> WebDriverResult<String> {
    let lang = app.driver.execute("return document.documentElement.lang;", Vec::new()).await?;
    Ok(lang.json().as_str().unwrap_or_default().to_owned())
}

/// Waits until `css`'s visible text is `expected` (a page's words are redrawn, not reloaded).
async fn text_becomes(
    app: &App,
    css: &str,
    expected: &str,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let text = app.text(css).await?;
        if text == expected || std::time::Instant::now() > deadline {
            return Ok(text);
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn german_flow(app: &App) -> TestResult {
    // The address page: the shell read LANG and the window speaks German from the first frame.
    let title = text_becomes(app, "#address-title", "Konto verbinden").await?;
    assert_eq!(title, "Konto verbinden", "the address page's heading in German");
    assert_eq!(html_lang(app).await?, "de", "<html lang> follows the language (screen readers, axe)");
    let banner = app.text("#demo-banner").await?;
    assert!(banner.contains("Demo-Modus") && banner.contains("Nichts verlässt diesen Computer"), "{banner}");
    assert_eq!(app.text("#connect").await?, "Weiter", "the address page's button");
    assert_eq!(app.text("#nav-accounts").await?, "Konten", "the header's tab");
    let setting = app.value("#language").await?;
    assert_eq!(setting, "system", "the language follows the system until the person chooses");
    let trace = app.text("#trace .summary").await?;
    assert!(trace.contains("Jede Anfrage, die Homeport sendet"), "the empty diagram explains itself: {trace}");
    app.snapshot("german-0-address").await?;

    // The login page.
    app.click("#connect").await?;
    assert_eq!(text_becomes(app, "#login-title", "Anmelden").await?, "Anmelden");
    let server = app.text("#server-info").await?;
    assert!(server.contains("ownCloud") && server.contains("bereit"), "the server check in German: {server}");
    assert_eq!(app.text("label[for='username']").await?, "Benutzername");
    app.type_into("#username", "test@instance2.com").await?;
    app.type_into("#password", "not-the-password").await?;
    app.snapshot("german-1-login").await?;
    app.keys(Key::Enter).await?;

    // The redirect question (the central server routes by name alone; the instance checks the
    // password).
    let question = app.text("#redirect-to").await?;
    assert!(question.starts_with("Sie werden zu ") && question.contains("Zugangsdaten dorthin senden?"), "{question}");
    let approve = app.text("#approve-redirect").await?;
    assert!(approve.starts_with("Zugangsdaten an ") && approve.ends_with(" senden"), "the button: {approve}");
    assert_eq!(app.text("#decline-redirect").await?, "Nicht senden");
    let round = app.text("#trace .round").await?;
    assert_eq!(round.to_lowercase(), "runde 1", "the diagram's rounds in German");
    app.snapshot("german-2-redirect").await?;
    app.click("#approve-redirect").await?;

    // A wrong password: the error's words come from the catalogue by its code and reason, with
    // the engine's names (the server, the user) filled in — not the engine's English sentence.
    let error = app.text("#error[data-code='auth_failed'][data-reason='wrong_password']").await?;
    assert!(error.contains("Die Anmeldung hat nicht geklappt"), "the title in German: {error}");
    assert!(
        error.contains("hat den Benutzernamen oder das Passwort für test@instance2.com nicht angenommen"),
        "what happened, in German, naming the user: {error}"
    );
    assert!(!error.contains("did not accept"), "not the engine's English: {error}");
    app.wait_for("#page-login").await?;
    app.snapshot("german-2-wrong-password").await?;
    app.type_into("#password", "secret" + Key::Enter).await?;

    // Verified: the facts' names, the plural of the round trips, the diagram's summary.
    assert_eq!(text_becomes(app, "#verified-title", "Konto überprüft").await?, "Konto überprüft");
    assert_eq!(app.text("#verified-name").await?, "Test User Two", "the server's own name for the account");
    let took = app.text("#verified-round-trips").await?;
    assert!(took.ends_with(" Runden") || took == "1 Runde", "a count in German with its plural: {took}");
    let summary = app.text("#trace .summary").await?;
    assert!(summary.contains(" Anfragen in ") && summary.contains(" Runde"), "the diagram's summary: {summary}");
    let facts = app.text("#page-verified dl").await?;
    assert!(facts.contains("Instanz") && facts.contains("Eingegeben") && facts.contains("Weiterleitung"), "{facts}");
    assert_eq!(app.text("#done").await?, "Fertig");
    // The steps' details in the diagram: from the engine's typed step (its kind, the user, the
    // server), in German — not the engine's English prose.
    let mut notes = Vec::new();
    for note in app.driver.find_all(By::Css(".trace-note")).await? {
        notes.push(note.text().await?);
    }
    assert!(
        notes.iter().any(|n| n.contains("Anmeldung — Anmeldung als test@instance2.com")),
        "the login step's detail in German, with the user: {notes:?}"
    );
    assert!(notes.iter().any(|n| n.contains("das Konto wird bei http")), "the verify step in German: {notes:?}");
    assert!(
        !notes.iter().any(|n| n.contains("logging in") || n.contains("verifying") || n.contains("checking")),
        "no English step detail: {notes:?}"
    );
    app.snapshot("german-3-verified").await?;

    // Done: the accounts page.
    app.click("#done").await?;
    let entry = app.wait_for("li.account").await?;
    assert_eq!(app.text("#accounts-title").await?, "Konten");
    let notice = app.text(".notice").await?;
    assert_eq!(notice, "Test User Two ist verbunden.", "the notice in German");
    let listed = entry.text().await?;
    assert!(
        listed.contains("Überprüft") && listed.contains("Erneut prüfen") && listed.contains("Entfernen"),
        "{listed}"
    );
    let remove = entry.find(By::Css(".remove-account")).await?.attr("aria-label").await?.unwrap_or_default();
    assert_eq!(remove, "Test User Two entfernen", "the button's accessible name in German, with what it shows");
    app.snapshot("german-4-accounts").await?;

    // English from the header, at once and without a restart; remembered for the next start.
    let script = "const s = document.getElementById('language'); s.value = arguments[0]; \
                  s.dispatchEvent(new Event('change', { bubbles: true }));";
    app.driver.execute(script, vec![serde_json::json!("en")]).await?;
    assert_eq!(text_becomes(app, "#accounts-title", "Accounts").await?, "Accounts", "redrawn in English");
    assert_eq!(html_lang(app).await?, "en");
    assert!(app.text("li.account").await?.contains("Re-verify"), "the list in English too");
    let saved = app.config.path().join("language.json");
    let deadline = std::time::Instant::now() + WAIT;
    while !saved.exists() && std::time::Instant::now() < deadline {
        tokio::time::sleep(POLL).await;
    }
    let text = std::fs::read_to_string(&saved).map_err(|e| format!("{}: {e}", saved.display()))?;
    assert_eq!(text, r#"{"language":"en"}"#, "the choice is kept in the config folder");
    app.driver.execute(script, vec![serde_json::json!("de")]).await?;
    assert_eq!(text_becomes(app, "#accounts-title", "Konten").await?, "Konten", "and back to German");

    // Remove (in German), so the scratch keyring is left as found.
    app.click(".remove-account").await?;
    assert_eq!(text_becomes(app, "#remove-title", "Test User Two entfernen?").await?, "Test User Two entfernen?");
    app.click("#confirm-remove").await?;
    assert_eq!(text_becomes(app, "#no-accounts p", "Noch keine Konten.").await?, "Noch keine Konten.");
    app.snapshot("german-5-removed").await?;
    Ok(())
}

/// The autopilot in German: a script whose server does not listen. The verdict, each unmet
/// expectation and the diagram's refused connection are German words from their typed data; the
/// engine's raw OS text is the exchange's detail, marked as English.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_autopilot_verdict_and_a_refused_connection_read_in_german() {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let folder = tempfile::tempdir().expect("a scratch folder");
    let path = folder.path().join("refused.toml");
    let port = free_port().expect("a loopback port nobody listens on");
    let file = format!(
        "name = \"nothing listens there\"\n[connect]\naddress = \"http://127.0.0.1:{port}/\"\n\
         [expect]\nstatus = \"connected\"\nmax_round_trips = 0\n"
    );
    std::fs::write(&path, file).expect("the scenario file");
    let envs = [("LANG", "de_DE.UTF-8".to_owned())];
    let script = path.display().to_string();
    let app = App::launch_with_envs(&["--script", &script], &envs).await.expect("the app starts under tauri-driver");
    let outcome = german_verdict(&app).await;
    app.finish("german-autopilot-verdict", outcome).await;
}

async fn german_verdict(app: &App) -> TestResult {
    let verdict = app
        .driver
        .query(By::Css("#autopilot-verdict"))
        .ignore_errors(true)
        .wait(std::time::Duration::from_secs(60), POLL)
        .and_displayed()
        .first()
        .await?;
    assert_eq!(verdict.attr("data-passed").await?.as_deref(), Some("false"), "nothing listens: not met");
    assert_eq!(verdict.find(By::Css("strong")).await?.text().await?, "Erwartungen nicht erfüllt");
    let line = app.text(".verdict-line").await?;
    assert!(line.starts_with("✗ nothing listens there — fehlgeschlagen: "), "the verdict in German: {line}");
    assert!(line.contains("(unreachable); 1 Runde, "), "the code as it is, the round trip counted in German: {line}");
    assert!(!line.contains("could not reach") && !line.contains("failed:"), "not homeport run's English: {line}");
    let mut failures = Vec::new();
    for item in app.driver.find_all(By::Css(".autopilot-failure")).await? {
        failures.push((item.attr("data-kind").await?.unwrap_or_default(), item.text().await?));
    }
    let kinds: Vec<&str> = failures.iter().map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(kinds, ["expected_to_connect", "round_trips"], "one failure per unmet expectation: {failures:?}");
    assert!(
        failures[0].1.starts_with("Verbindung erwartet, fehlgeschlagen mit unreachable: "),
        "the status expectation in German: {failures:?}"
    );
    assert_eq!(failures[1].1, "1 Runde gebraucht, höchstens 0 erwartet", "the round trips, with their plural");
    assert!(!failures.iter().any(|(_, text)| text.contains("expected")), "no English failure: {failures:?}");

    // The diagram: each refused request's row says so in German, not in the engine's English.
    let rows = app.driver.find_all(By::Css(".trace-row")).await?;
    assert!(!rows.is_empty(), "the probe's requests are drawn");
    for row in &rows {
        let label = row.attr("aria-label").await?.unwrap_or_default();
        assert!(label.ends_with("→ Verbindung abgelehnt"), "the row's failure in German: {label}");
        assert!(!label.contains("os error"), "the raw text is the detail, not the row: {label}");
    }
    app.snapshot("german-autopilot-verdict").await?;
    app.click_settled(&rows[0]).await?;
    let kind = app.text("#trace-detail-failure .failure-kind").await?;
    assert_eq!(kind, "Verbindung abgelehnt", "the exchange's detail names the kind in German");
    let failure = app.text("#trace-detail-failure").await?;
    assert!(
        failure.starts_with("Verbindung abgelehnt — could not reach http://127.0.0.1:"),
        "kind, then raw: {failure}"
    );
    let raw = app.wait_for("#trace-detail-failure .raw-error").await?;
    assert_eq!(raw.attr("lang").await?.as_deref(), Some("en"), "the raw text is marked as English");
    assert!(raw.text().await?.contains("Connection refused (os error 111)"), "the OS's own words, kept as detail");
    app.snapshot("german-autopilot-trace-detail").await?;
    Ok(())
}
