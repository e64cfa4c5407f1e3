//! One wizard run at a time, driven by the UI: start, answer decisions, cancel, save.
//! The wizard lives behind an async mutex; each step runs in its own task so Cancel can abort
//! it without waiting for the network.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use homeport_engine::owncloud::initials;
use homeport_engine::{
    Account, AccountStore, Answer, ConnectError, Connected, Decision, ErrorCode, ErrorReport, Secret, Step, Wizard,
};
use tokio::task::AbortHandle;

use crate::ipc::{error, RedirectStep, Verified, WizardOutcome};

#[derive(Default)]
pub struct WizardSession {
    wizard: Arc<tokio::sync::Mutex<Option<Wizard>>>,
    /// The question the UI is answering now (the login page of "Continue in browser"); the
    /// wizard checks the answers against its own copy.
    pending: Mutex<Option<Decision>>,
    /// Verified and waiting for "Done".
    verified: Mutex<Option<Connected>>,
    running: Mutex<Option<Running>>,
    /// Cancels that overtook their call: commands run concurrently, so the UI's Cancel may be
    /// handled before the step it cancels has started. That step is aborted as soon as it starts.
    early_cancels: Mutex<VecDeque<CallId>>,
    /// How the last connection ended, and the time its steps spent in the engine (not the time
    /// the person, or the autopilot, took to answer): what a script's expectations judge.
    ended: Mutex<(Option<Ended>, Duration)>,
}

/// How a connection ended, with the round trips it took.
#[derive(Clone, Debug)]
pub enum Ended {
    Connected(Box<Account>, u32),
    Failed(ErrorReport, u32),
}

/// The lookup server's login robot, standing in for the browser (autopilot with `auto-login`).
pub struct Robot {
    pub user: String,
    pub password: Secret,
}

/// The UI numbers its wizard calls, so that Cancel names the one it means.
pub type CallId = u32;

/// How many overtaking cancels are remembered (each is consumed by its call, or goes stale when
/// the call had already finished).
const EARLY_CANCELS_KEPT: usize = 8;

struct Running {
    call: CallId,
    step: AbortHandle,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl WizardSession {
    /// Replaces whatever ran before (a new address starts over) and runs the first step.
    pub async fn start(&self, call: CallId, wizard: Wizard) -> Result<WizardOutcome, ErrorReport> {
        self.cancel();
        *self.wizard.lock().await = Some(wizard);
        *lock(&self.verified) = None;
        *lock(&self.ended) = (None, Duration::ZERO);
        self.step(call, None).await
    }

    /// How the last connection ended (None while it waits for an answer) and its engine time.
    pub fn ended(&self) -> (Option<Ended>, Duration) {
        lock(&self.ended).clone()
    }

    /// Answers the pending decision and runs the next step; with `robot`, "Continue in browser"
    /// lets the lookup server's login robot log in at the login page.
    pub async fn answer(
        &self,
        call: CallId,
        answer: Answer,
        robot: Option<Robot>,
    ) -> Result<WizardOutcome, ErrorReport> {
        {
            let mut guard = self.wizard.lock().await;
            let wizard = guard.as_mut().ok_or_else(no_wizard)?;
            let answer = match answer {
                Answer::Credentials { user, password } => {
                    let user = user.trim().to_owned();
                    if user.is_empty() {
                        return Err(error(ErrorCode::BadInput, "Enter your user name."));
                    }
                    Answer::Credentials { user, password }
                }
                Answer::Decline => {
                    let round_trips = wizard.trace().round_trips();
                    // The decision's refusal; without one (the wizard finished) there is nothing to decline.
                    let refusal = wizard.pending().is_some().then(|| wizard.answer(Answer::Decline));
                    let refusal = refusal.and_then(Result::err).map(|e| e.report());
                    *guard = None;
                    lock(&self.pending).take();
                    if let Some(refusal) = &refusal {
                        lock(&self.ended).0 = Some(Ended::Failed(refusal.clone(), round_trips));
                    }
                    return Err(refusal.unwrap_or_else(no_wizard));
                }
                other => other,
            };
            // Checked against the decision it answers (only the certificate shown is trusted).
            wizard.answer(answer).map_err(|e| e.report())?;
        }
        let robot = match (robot, self.login_page()) {
            (Some(robot), Some(url)) => Some((robot, url)),
            _ => None,
        };
        self.step(call, robot).await
    }

    /// The login page of the pending [`Decision::OpenBrowser`], if that is the question.
    pub fn login_page(&self) -> Option<String> {
        match &*lock(&self.pending) {
            Some(Decision::OpenBrowser { url, .. }) => Some(url.clone()),
            _ => None,
        }
    }

    /// Stops the running step, if any. The wizard is dropped: its state was mid-step.
    pub fn cancel(&self) {
        if let Some(running) = lock(&self.running).take() {
            running.step.abort();
        }
    }

    /// The UI's Cancel for its call `call`: stops that step, or the moment it starts.
    pub fn cancel_call(&self, call: CallId) {
        // Locked throughout (running, then early_cancels, as in `step`): a step that starts now
        // either is seen here or sees this cancel.
        let mut running = lock(&self.running);
        if running.as_ref().is_some_and(|running| running.call == call) {
            if let Some(running) = running.take() {
                running.step.abort();
            }
            return;
        }
        let mut early = lock(&self.early_cancels);
        if early.len() == EARLY_CANCELS_KEPT {
            early.pop_front();
        }
        early.push_back(call);
    }

    /// Stores the verified account: details in accounts.json, the password in the keyring. When
    /// that fails (a locked or missing keyring), the verified account is kept: "Try again" saves
    /// it once the keyring is back, without connecting again.
    pub async fn save(&self) -> Result<Account, ErrorReport> {
        let connected = lock(&self.verified)
            .take()
            .ok_or_else(|| error(ErrorCode::NotFound, "There is no verified account to save; connect one first."))?;
        let (connected, result) = tokio::task::spawn_blocking(move || {
            let result =
                AccountStore::open_default().and_then(|store| store.save(&connected.account, &connected.secret));
            (connected, result)
        })
        .await
        .map_err(|e| error(ErrorCode::Internal, format!("saving stopped unexpectedly: {e}")))?;
        match result {
            Ok(_) => Ok(connected.account),
            Err(e) => {
                // Unless a new connection has started meanwhile, this one waits for "Try again".
                let mut verified = lock(&self.verified);
                if verified.is_none() {
                    *verified = Some(connected);
                }
                Err(ConnectError::from(e).report())
            }
        }
    }

    async fn step(&self, call: CallId, robot: Option<(Robot, String)>) -> Result<WizardOutcome, ErrorReport> {
        let wizard = self.wizard.clone();
        let started = Instant::now();
        let task = tokio::spawn(async move {
            let mut guard = wizard.lock().await;
            let Some(wizard) = guard.as_mut() else { return (Err(no_wizard()), 0) };
            let result = match robot {
                Some((robot, url)) => {
                    homeport_scenario::next_with_browser_robot(wizard, &url, &robot.user, &robot.password).await
                }
                None => wizard.next().await,
            };
            let round_trips = wizard.trace().round_trips();
            if matches!(&result, Err(e) if !matches!(e, ConnectError::AuthFailed { .. })) {
                // Finished with an error: only a wrong password can be retried (the engine asks
                // again). A disabled account or a rate limit shares the code, not the retry.
                *guard = None;
            }
            (result.map_err(|e| e.report()), round_trips)
        });
        {
            let mut running = lock(&self.running);
            *running = Some(Running { call, step: task.abort_handle() });
            let mut early = lock(&self.early_cancels);
            if let Some(at) = early.iter().position(|&cancelled| cancelled == call) {
                early.remove(at);
                task.abort();
            }
        }
        let (result, round_trips) = match task.await {
            Ok(result) => result,
            Err(e) if e.is_cancelled() => {
                *self.wizard.lock().await = None;
                (Err(error(ErrorCode::Cancelled, "Cancelled. Nothing was saved.")), 0)
            }
            Err(e) => (Err(error(ErrorCode::Internal, format!("the connection step stopped unexpectedly: {e}"))), 0),
        };
        {
            let mut ended = lock(&self.ended);
            ended.1 += started.elapsed();
            ended.0 = match &result {
                Ok(Step::Decide(_)) => None,
                Ok(Step::Connected(connected)) => {
                    Some(Ended::Connected(Box::new(connected.account.clone()), round_trips))
                }
                Err(report) => Some(Ended::Failed(report.clone(), round_trips)),
            };
        }
        *lock(&self.pending) = None;
        match result? {
            Step::Decide(decision) => {
                *lock(&self.pending) = Some(decision.clone());
                Ok(WizardOutcome::Decide { decision })
            }
            Step::Connected(connected) => {
                let verified = Box::new(verified_view(&connected));
                *lock(&self.verified) = Some(*connected);
                Ok(WizardOutcome::Verified { verified })
            }
        }
    }
}

fn no_wizard() -> ErrorReport {
    error(ErrorCode::NotFound, "No connection is in progress; start again from the address.")
}

pub fn verified_view(connected: &Connected) -> Verified {
    Verified {
        account: connected.account.clone(),
        avatar: connected
            .avatar
            .as_ref()
            .map(|png| format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png))),
        initials: initials(&connected.account.display_name),
        redirects: connected
            .redirects
            .iter()
            .map(|hop| RedirectStep {
                from: hop.from.to_string(),
                to: hop.to.to_string(),
                status: hop.status,
                permanent: hop.permanent,
            })
            .collect(),
        round_trips: connected.round_trips,
        // accounts.json only (no keyring): a small local read.
        already_stored: AccountStore::open_default()
            .and_then(|store| store.find(&connected.account.id))
            .is_ok_and(|found| found.is_some()),
    }
}
