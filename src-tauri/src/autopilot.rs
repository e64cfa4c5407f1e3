//! The GUI autopilot: `--script FILE` plays a QA scenario (the same file `homeport run` plays
//! headless) visibly in the window. The shell only prepares: it starts the scenario's lookup
//! server, resolves its answers and hands them to the UI ([`AutopilotScript`]); the UI types and
//! clicks through its pages with the normal commands. At the end the shell judges what the
//! session recorded against the scenario's expectations: a typed verdict the UI words in the window's
//! language; its English is the line `homeport run` prints (docs/desktop.md#the-autopilot).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use homeport_engine::{ErrorCode, ErrorReport, Secret, Wizard, WizardOptions};
use homeport_scenario::file::BrowserAnswer;
use homeport_scenario::{Prepared, RunResult, Scenario};

use crate::ipc::{error, AutopilotScript, AutopilotVerdict};
use crate::session::{Ended, Tally};

/// The scenario given with `--script`, once its lookup server runs.
pub struct Autopilot {
    scenario: Option<Scenario>,
    exit_when_done: bool,
    prepared: tokio::sync::Mutex<Option<Prepared>>,
    /// The UI is playing the script (not stopped, not finished): only then does the login robot
    /// stand in for the browser.
    active: AtomicBool,
}

impl Autopilot {
    pub fn new(scenario: Option<Scenario>, exit_when_done: bool) -> Self {
        Autopilot { scenario, exit_when_done, prepared: tokio::sync::Mutex::new(None), active: AtomicBool::new(false) }
    }

    pub fn file(&self) -> Option<PathBuf> {
        self.scenario.as_ref().map(|scenario| scenario.path.clone())
    }

    /// Starts the scenario's lookup server (once) and returns the script for the UI to play.
    pub async fn load(&self) -> Result<Option<AutopilotScript>, ErrorReport> {
        let Some(scenario) = &self.scenario else { return Ok(None) };
        let mut prepared = self.prepared.lock().await;
        if prepared.is_none() {
            let started =
                Prepared::start(scenario.clone()).await.map_err(|e| error(ErrorCode::BadInput, e.to_string()))?;
            *prepared = Some(started);
        }
        let Some(prepared) = prepared.as_ref() else { return Ok(None) };
        self.active.store(true, Ordering::SeqCst);
        Ok(Some(script_of(prepared, self.exit_when_done)))
    }

    /// The scenario's wizard options (trust for its lookup server's certificate, its tenant
    /// profiles), while a script is loaded.
    pub async fn wizard_options(&self) -> Option<WizardOptions> {
        self.prepared.lock().await.as_ref().map(Prepared::wizard_options)
    }

    /// Who the login robot logs in as, while the script plays and answers the browser with
    /// `auto-login`.
    pub async fn robot(&self) -> Option<(String, Secret)> {
        if !self.active.load(Ordering::SeqCst) {
            return None;
        }
        let prepared = self.prepared.lock().await;
        let answers = &prepared.as_ref()?.answers;
        if answers.browser != Some(BrowserAnswer::AutoLogin) {
            return None;
        }
        answers.credentials.as_ref().map(|credentials| (credentials.user.clone(), credentials.password.clone()))
    }

    /// What the file says before the first step, as `homeport run` does: credentials known up
    /// front go with the probe (`curl -u` style, one round trip less than the login form), and
    /// `auto-login` prefers the browser. Redirects, plain http and instances are still answered
    /// on their pages, visibly.
    pub async fn prepare(&self, wizard: &mut Wizard) {
        if !self.active.load(Ordering::SeqCst) {
            return;
        }
        let prepared = self.prepared.lock().await;
        let Some(answers) = prepared.as_ref().map(|prepared| &prepared.answers) else { return };
        if let Some(user) = &answers.login_hint {
            // The user meant, without a password: the browser login's hint, as headless.
            wizard.set_login_hint(user.clone());
        }
        if matches!(answers.browser, Some(BrowserAnswer::AutoLogin | BrowserAnswer::System)) {
            // The credentials are for the robot, or for a password form if the server asks.
            wizard.prefer_browser_login();
        } else if let Some(credentials) = &answers.credentials {
            // Sent with the first request, as `homeport run` does, so both take the same round
            // trips; approvals are not given up front: the person watching sees them clicked.
            wizard.set_credentials(credentials.clone());
        }
    }

    /// The person took over (Stop or Escape): the browser is a real one again.
    pub fn stop(&self) {
        self.active.store(false, Ordering::SeqCst);
    }

    /// Judges how the session ended against the scenario's expectations.
    pub async fn verdict(&self, ended: Option<Ended>, engine_time: Duration) -> Result<AutopilotVerdict, ErrorReport> {
        self.stop();
        let prepared = self.prepared.lock().await;
        let prepared =
            prepared.as_ref().ok_or_else(|| error(ErrorCode::NotFound, "No script is loaded (--script FILE)."))?;
        let (result, tally) = match ended {
            Some(Ended::Connected(account, tally)) => (RunResult::Connected(account), tally),
            Some(Ended::Failed(report, tally)) => (RunResult::Failed(report), tally),
            None => {
                let stopped = error(ErrorCode::Cancelled, "the script ended before the connection did");
                (RunResult::Failed(stopped), Tally::default())
            }
        };
        let round_trips = tally.round_trips;
        let failures = prepared.expect.check(&result, round_trips, &tally.exchanges, engine_time);
        let verdict = homeport_scenario::verdict(&prepared.scenario.name, &result, failures, round_trips, engine_time);
        Ok(AutopilotVerdict { verdict, exit_when_done: self.exit_when_done })
    }
}

fn script_of(prepared: &Prepared, exit_when_done: bool) -> AutopilotScript {
    let answers = &prepared.answers;
    AutopilotScript {
        name: prepared.scenario.name.clone(),
        description: prepared.scenario.description.clone(),
        file: prepared.scenario.path.display().to_string(),
        address: answers.address.clone(),
        user: answers.credentials.as_ref().map(|credentials| credentials.user.clone()),
        // The UI types it into the password field (shown as dots), as a person would.
        password: answers.credentials.as_ref().map(|credentials| credentials.password.expose().to_owned()),
        approve: answers.approve.iter().map(ToString::to_string).collect(),
        allow_plain_http: answers.allow_plain_http,
        auto_login: answers.browser == Some(BrowserAnswer::AutoLogin),
        system_browser: answers.browser == Some(BrowserAnswer::System),
        instance: answers.instance.clone(),
        approve_issuer: answers.approve_issuer.iter().map(ToString::to_string).collect(),
        continue_as: answers.continue_as.clone(),
        exit_when_done,
    }
}
