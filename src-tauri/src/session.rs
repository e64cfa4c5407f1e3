//! One wizard run at a time, driven by the UI: start, answer decisions, cancel, save.
//! Each connection is the engine's decision loop ([`homeport_engine::drive`]) in a task of its
//! own, whose answerer is the UI: a decision goes back to the command that is waiting for it,
//! the next `wizard_answer` hands the answer in. Cancel aborts the task without waiting for the
//! network (the wizard's state was mid-step: it is dropped).

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use homeport_engine::owncloud::initials;
use homeport_engine::{
    Account, AccountStore, Answer, Answerer, ConnectError, Connected, Decision, ErrorCode, ErrorReport, Exchange,
    Secret, Step, Trace, Wizard,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::ipc::{error, RedirectStep, Verified, WizardOutcome};

#[derive(Default)]
pub struct WizardSession {
    /// The connection in progress, waiting for an answer or running a step.
    run: Mutex<Option<Run>>,
    /// Numbers the runs, so that a late cancel or failure stops only its own.
    runs: std::sync::atomic::AtomicU64,
    /// The question the UI is answering now (the login page of "Continue in browser", and
    /// whether there is anything to decline); the wizard checks the answers against its own copy.
    pending: Mutex<Option<Decision>>,
    /// Verified and waiting for "Done".
    verified: Mutex<Option<Connected>>,
    /// The call whose step runs now.
    running: Mutex<Option<Running>>,
    /// Cancels that overtook their call: commands run concurrently, so the UI's Cancel may be
    /// handled before the step it cancels has started. That step is aborted as soon as it starts.
    early_cancels: Mutex<VecDeque<CallId>>,
    /// How the last connection ended, and the time its steps spent in the engine (not the time
    /// the person, or the autopilot, took to answer): what a script's expectations judge.
    ended: Mutex<(Option<Ended>, Duration)>,
}

/// How a connection ended, with the round trips it took and its exchanges.
#[derive(Clone, Debug)]
pub enum Ended {
    Connected(Box<Account>, Tally),
    Failed(ErrorReport, Tally),
}

/// The round trips and exchanges of a connection so far (a scenario's expectations check both).
#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub round_trips: u32,
    pub exchanges: Vec<Exchange>,
}

impl Tally {
    fn of(trace: &Trace) -> Tally {
        Tally { round_trips: trace.round_trips(), exchanges: trace.exchanges() }
    }
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
    run: u64,
}

/// A connection's decision loop: its task, and where the UI's answers go.
struct Run {
    id: u64,
    turns: mpsc::UnboundedSender<Turn>,
    task: JoinHandle<()>,
}

/// An answer from the UI, and where the step it leads to is reported.
struct Turn {
    answer: Answer,
    /// With "Continue in browser" and `auto-login`: the robot, and the login page it logs in at.
    robot: Option<(Robot, String)>,
    reply: oneshot::Sender<Reply>,
}

/// What the loop tells the waiting command.
enum Reply {
    /// The step the answer led to, and the round trips and exchanges so far.
    Stepped(Result<Step, ErrorReport>, Tally),
    /// The wizard refused the answer (not the certificate shown): nothing changed, the
    /// question stays open.
    Refused(ErrorReport),
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl WizardSession {
    /// Replaces whatever ran before (a new address starts over) and runs the first step.
    pub async fn start(&self, call: CallId, wizard: Wizard) -> Result<WizardOutcome, ErrorReport> {
        self.cancel();
        *lock(&self.verified) = None;
        *lock(&self.ended) = (None, Duration::ZERO);
        *lock(&self.pending) = None;
        let (turns, received) = mpsc::unbounded_channel();
        let (reply, replied) = oneshot::channel();
        let id = self.runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let task = tokio::spawn(drive_for_the_ui(wizard, received, reply));
        if let Some(previous) = lock(&self.run).replace(Run { id, turns, task }) {
            previous.task.abort();
        }
        self.step(call, id, replied).await
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
        let answer = match answer {
            Answer::Credentials { user, password } => {
                let user = user.trim().to_owned();
                if user.is_empty() {
                    return Err(error(ErrorCode::BadInput, "Enter your user name."));
                }
                Answer::Credentials { user, password }
            }
            // Nothing asked (the wizard finished, or failed with a wrong password): nothing to
            // decline, and the connection ends.
            Answer::Decline if lock(&self.pending).is_none() => {
                if let Some(run) = lock(&self.run).take() {
                    run.task.abort();
                }
                return Err(no_wizard());
            }
            other => other,
        };
        let robot = match (robot, self.login_page()) {
            (Some(robot), Some(url)) => Some((robot, url)),
            _ => None,
        };
        let (reply, replied) = oneshot::channel();
        let id = {
            let run = lock(&self.run);
            let run = run.as_ref().ok_or_else(no_wizard)?;
            run.turns.send(Turn { answer, robot, reply }).map_err(|_| no_wizard())?;
            run.id
        };
        self.step(call, id, replied).await
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
            self.abort(running.run);
        }
    }

    fn abort(&self, id: u64) {
        let mut run = lock(&self.run);
        if run.as_ref().is_some_and(|run| run.id == id) {
            if let Some(run) = run.take() {
                run.task.abort();
            }
        }
    }

    /// The UI's Cancel for its call `call`: stops that step, or the moment it starts.
    pub fn cancel_call(&self, call: CallId) {
        // Locked throughout (running, then early_cancels, as in `step`): a step that starts now
        // either is seen here or sees this cancel.
        let mut running = lock(&self.running);
        if running.as_ref().is_some_and(|running| running.call == call) {
            if let Some(running) = running.take() {
                self.abort(running.run);
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
            // The client certificate's password (if any) goes to the keyring beside the secret.
            let result = AccountStore::open_default().and_then(|store| {
                let certificate_password = connected.client_certificate_password.as_ref();
                store.save_with_certificate(&connected.account, &connected.secret, certificate_password)
            });
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

    /// Waits for the step of call `call` in run `id` and records how it ended.
    async fn step(
        &self,
        call: CallId,
        id: u64,
        replied: oneshot::Receiver<Reply>,
    ) -> Result<WizardOutcome, ErrorReport> {
        let started = Instant::now();
        {
            let mut running = lock(&self.running);
            *running = Some(Running { call, run: id });
            let mut early = lock(&self.early_cancels);
            if let Some(at) = early.iter().position(|&cancelled| cancelled == call) {
                early.remove(at);
                self.abort(id);
            }
        }
        let replied = replied.await;
        {
            let mut running = lock(&self.running);
            if running.as_ref().is_some_and(|running| running.call == call && running.run == id) {
                *running = None;
            }
        }
        let (result, tally) = match replied {
            Ok(Reply::Stepped(result, tally)) => (result, tally),
            Ok(Reply::Refused(report)) => return Err(report),
            // The loop is gone without an answer: aborted by Cancel, or it stopped.
            Err(_) => {
                let task = {
                    let mut run = lock(&self.run);
                    match run.as_ref().is_some_and(|run| run.id == id) {
                        true => run.take().map(|run| run.task),
                        false => None,
                    }
                };
                let stopped = match task {
                    Some(task) => task.await.err().filter(|e| !e.is_cancelled()),
                    None => None,
                };
                match stopped {
                    Some(e) => {
                        let stopped =
                            error(ErrorCode::Internal, format!("the connection step stopped unexpectedly: {e}"));
                        (Err(stopped), Tally::default())
                    }
                    None => (Err(error(ErrorCode::Cancelled, "Cancelled. Nothing was saved.")), Tally::default()),
                }
            }
        };
        {
            let mut ended = lock(&self.ended);
            ended.1 += started.elapsed();
            ended.0 = match &result {
                Ok(Step::Decide(_)) => None,
                Ok(Step::Connected(connected)) => Some(Ended::Connected(Box::new(connected.account.clone()), tally)),
                Err(report) => Some(Ended::Failed(report.clone(), tally)),
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

/// The engine's decision loop with the UI as its answerer. Only a wrong password can be
/// retried (the engine asks again): a disabled account or a rate limit shares the code, not the
/// retry; any other end finishes the task, and with it the connection.
async fn drive_for_the_ui(mut wizard: Wizard, turns: mpsc::UnboundedReceiver<Turn>, first: oneshot::Sender<Reply>) {
    let trace = wizard.trace().clone();
    let mut answerer = UiAnswerer { turns, reply: Some(first), robot: None, trace };
    loop {
        let result = homeport_engine::drive(&mut wizard, &mut answerer).await;
        let retry = matches!(&result, Err(ConnectError::AuthFailed { .. }));
        let Some(reply) = answerer.reply.take() else { return };
        let tally = Tally::of(wizard.trace());
        let _ = reply.send(Reply::Stepped(result.map(Step::Connected).map_err(|e| e.report()), tally));
        if !retry {
            return;
        }
        // The login form again, with the error: its answer goes to the wizard, then the loop
        // goes on where it stopped.
        loop {
            let Some(turn) = answerer.turns.recv().await else { return };
            match wizard.answer(turn.answer) {
                Ok(()) => {
                    answerer.reply = Some(turn.reply);
                    answerer.robot = turn.robot;
                    break;
                }
                Err(e) => {
                    let _ = turn.reply.send(Reply::Refused(e.report()));
                }
            }
        }
    }
}

/// The UI, answering the wizard's decisions: each decision goes to the command waiting for the
/// step, each answer comes with the next command.
struct UiAnswerer {
    turns: mpsc::UnboundedReceiver<Turn>,
    /// Where the step under way is reported.
    reply: Option<oneshot::Sender<Reply>>,
    robot: Option<(Robot, String)>,
    trace: Trace,
}

impl Answerer for UiAnswerer {
    async fn answer(&mut self, decision: &Decision) -> Result<Answer, ConnectError> {
        if let Some(reply) = self.reply.take() {
            let _ = reply.send(Reply::Stepped(Ok(Step::Decide(decision.clone())), Tally::of(&self.trace)));
        }
        // The session dropped the connection (a new one started): nothing answers any more.
        let Some(turn) = self.turns.recv().await else { return Err(ConnectError::Finished) };
        self.reply = Some(turn.reply);
        self.robot = turn.robot;
        Ok(turn.answer)
    }

    /// With `robot`, "Continue in browser" lets the lookup server's login robot log in at the
    /// login page while the wizard waits for the browser.
    async fn step(&mut self, wizard: &mut Wizard) -> Result<Step, ConnectError> {
        match self.robot.take() {
            Some((robot, url)) => {
                homeport_scenario::next_with_browser_robot(wizard, &url, &robot.user, &robot.password).await
            }
            None => wizard.next().await,
        }
    }

    fn refused(&mut self, error: ConnectError) -> Result<(), ConnectError> {
        if let Some(reply) = self.reply.take() {
            let _ = reply.send(Reply::Refused(error.report()));
        }
        Ok(())
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
