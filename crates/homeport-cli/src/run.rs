//! `homeport run`: plays QA scenario files headless — one line per scenario, a summary, JUnit XML
//! for CI, the trace of every failing scenario as an artefact, and `--repeat/--concurrency` to
//! load-test a lookup server with whole wizard flows.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use homeport_engine::trace_export::{render, TraceFormat, TraceMeta};
use homeport_engine::{ErrorCode, ErrorReport};
use homeport_scenario::{check_all, junit, Checked, Outcome, Prepared, RunResult, Scenario, ScenarioError};

use crate::output::{say, Done, Failure};

#[derive(Args)]
pub struct RunArgs {
    /// Scenario files (TOML) or folders of them.
    #[arg(required = true, value_name = "FILE|DIR")]
    paths: Vec<PathBuf>,
    /// Write a JUnit XML report here (CI systems read it).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Play each scenario this many times (a load test against its lookup server).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    repeat: u32,
    /// How many plays run at once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=512))]
    concurrency: u32,
    /// Where failing scenarios leave their trace (HAR and Mermaid).
    #[arg(long, value_name = "DIR", default_value = "homeport-run-artifacts")]
    artifacts: PathBuf,
}

/// One scenario's plays, summed up.
struct Played {
    /// The first failing play, else the last one.
    representative: Outcome,
    plays: u32,
    failed: u32,
    /// Durations of all plays, sorted.
    durations: Vec<Duration>,
    wall: Duration,
}

pub async fn run(args: RunArgs, json: bool) -> Result<Done, Failure> {
    // Every file is checked before any plays (docs/scenarios.md#checked-before-anything-plays).
    let checked = check_all(&args.paths).await;
    if !checked.bad.is_empty() {
        return Err(not_run(&args, &checked, json));
    }
    let scenarios = checked.scenarios;
    if scenarios.is_empty() {
        return Err(Failure::bad_input("no scenario files (*.toml) found"));
    }
    let total_plays = scenarios.len() as u64 * u64::from(args.repeat);
    let progress = (total_plays > 1 && std::io::stderr().is_terminal() && !json).then(|| {
        let bar = indicatif::ProgressBar::new(total_plays);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:32} {pos}/{len} plays  {per_sec}  {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let started = Instant::now();
    let mut results = Vec::with_capacity(scenarios.len());
    for scenario in scenarios {
        if let Some(bar) = &progress {
            bar.set_message(scenario.name.clone());
        }
        let played = play(scenario, &args, progress.as_ref()).await.map_err(Failure::bad_input)?;
        if !json {
            let line = describe(&played);
            match &progress {
                Some(bar) => bar.println(line),
                None => say!("{line}\n"),
            }
        }
        if !played.representative.passed {
            write_artifact(&args.artifacts, &played.representative);
        }
        results.push(played);
    }
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let failed = results.iter().filter(|r| r.failed > 0).count();
    if let Some(path) = &args.junit {
        let outcomes: Vec<Outcome> = results.iter().map(|r| r.representative.clone()).collect();
        std::fs::write(path, junit::report("homeport", &outcomes))
            .map_err(|e| Failure::bad_input(format!("cannot write {}: {e}", path.display())))?;
    }
    let done = Done::new(
        &results_json(&results, started.elapsed()),
        format!(
            "\n{} scenarios: {} passed, {failed} failed in {:.1} s{}\n",
            results.len(),
            results.len() - failed,
            started.elapsed().as_secs_f64(),
            if failed > 0 {
                format!(" (traces of the failures in {})", args.artifacts.display())
            } else {
                String::new()
            }
        ),
    );
    if failed > 0 {
        return Err(Failure::expectations(format!("{failed} of {} scenarios failed", results.len()), done));
    }
    Ok(done)
}

/// The check found bad files: each problem on its own line (`file:line:column: message`), the
/// JUnit report with an `<error>` per bad file, nothing played, exit 2.
fn not_run(args: &RunArgs, checked: &Checked, json: bool) -> Failure {
    let problems: Vec<&ScenarioError> = checked.bad.iter().flat_map(|bad| &bad.problems).collect();
    if !json {
        for problem in &problems {
            eprintln!("{problem}");
        }
    }
    let message = format!(
        "{} of {} scenario files have problems{}; nothing was played",
        checked.bad.len(),
        checked.files(),
        if json { "" } else { " (above)" }
    );
    if let Some(path) = &args.junit {
        if let Err(e) = std::fs::write(path, junit::report_not_run("homeport", &checked.bad, &checked.scenarios)) {
            return Failure::bad_input(format!(
                "{message}, and the JUnit report could not be written to {}: {e}",
                path.display()
            ));
        }
    }
    let detail: Vec<serde_json::Value> = problems
        .iter()
        .map(|problem| {
            let (line, column, message) = match problem {
                ScenarioError::Invalid { line, column, message, .. } => (Some(*line), Some(*column), message.clone()),
                other => (None, None, other.to_string()),
            };
            serde_json::json!({ "file": problem.path(), "line": line, "column": column, "message": message })
        })
        .collect();
    let mut report = ErrorReport::new(ErrorCode::BadInput, message);
    report.detail = serde_json::json!({ "problems": detail });
    Failure::report(report)
}

async fn play(scenario: Scenario, args: &RunArgs, progress: Option<&indicatif::ProgressBar>) -> Result<Played, String> {
    let prepared = Arc::new(Prepared::start(scenario).await.map_err(|e| e.to_string())?);
    let started = Instant::now();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(args.concurrency as usize));
    let mut plays = tokio::task::JoinSet::new();
    for _ in 0..args.repeat {
        let permit = semaphore.clone().acquire_owned().await.map_err(|e| e.to_string())?;
        let prepared = prepared.clone();
        plays.spawn(async move {
            let outcome = prepared.play(prepared.wizard_options()).await;
            drop(permit);
            outcome
        });
    }
    let mut representative: Option<Outcome> = None;
    let (mut count, mut failed, mut durations) = (0, 0, Vec::with_capacity(args.repeat as usize));
    while let Some(joined) = plays.join_next().await {
        let outcome = joined.map_err(|e| format!("a play stopped: {e}"))?;
        count += 1;
        durations.push(outcome.duration);
        if let Some(bar) = progress {
            bar.inc(1);
        }
        let keep = match &representative {
            None => true,
            Some(kept) => kept.passed && !outcome.passed,
        };
        if !outcome.passed {
            failed += 1;
        }
        if keep {
            representative = Some(outcome);
        }
    }
    let wall = started.elapsed();
    if let Ok(prepared) = Arc::try_unwrap(prepared) {
        prepared.stop().await;
    }
    durations.sort();
    let representative = representative.ok_or("no play ran")?;
    Ok(Played { representative, plays: count, failed, durations, wall })
}

fn describe(played: &Played) -> String {
    let outcome = &played.representative;
    let mark = if played.failed == 0 { "✓" } else { "✗" };
    if played.plays == 1 {
        return outcome.line();
    }
    let mut line = format!(
        "{mark} {} — {}/{} plays passed, {:.0} flows/s, p50 {} ms, p99 {} ms",
        outcome.name,
        played.plays - played.failed,
        played.plays,
        f64::from(played.plays) / played.wall.as_secs_f64().max(f64::EPSILON),
        percentile(&played.durations, 50).as_millis(),
        percentile(&played.durations, 99).as_millis(),
    );
    if played.failed > 0 {
        for failure in &outcome.failures {
            line.push_str(&format!("\n    {failure}"));
        }
    }
    line
}

fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = (sorted.len() * percent).div_ceil(100).clamp(1, sorted.len()) - 1;
    sorted[index]
}

/// The failing play's trace, for a bug report: `<dir>/<file stem>.har` (browsers' devtools open
/// it) and `<dir>/<file stem>.mmd` (a Mermaid sequence diagram), secrets redacted.
fn write_artifact(dir: &Path, outcome: &Outcome) {
    let stem = outcome.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "scenario".into());
    let meta =
        TraceMeta { address: &outcome.name, started: outcome.started, creator_version: env!("CARGO_PKG_VERSION") };
    let written = std::fs::create_dir_all(dir).and_then(|()| {
        for (format, extension) in [(TraceFormat::Har, "har"), (TraceFormat::Mermaid, "mmd")] {
            std::fs::write(dir.join(format!("{stem}.{extension}")), render(format, &outcome.trace, &meta))?;
        }
        Ok(())
    });
    if let Err(e) = written {
        eprintln!("warning: could not write the trace of {:?} to {}: {e}", outcome.name, dir.display());
    }
}

fn results_json(results: &[Played], elapsed: Duration) -> serde_json::Value {
    let scenarios: Vec<serde_json::Value> = results
        .iter()
        .map(|played| {
            let outcome = &played.representative;
            let result = match &outcome.result {
                RunResult::Connected(account) => serde_json::json!({ "status": "connected", "account": account }),
                RunResult::Failed(report) => serde_json::json!({ "status": "failed", "error": report }),
            };
            serde_json::json!({
                "name": outcome.name,
                "file": outcome.path,
                "passed": played.failed == 0,
                "plays": played.plays,
                "failed_plays": played.failed,
                // The English words, as the text output prints them.
                "failures": outcome.failures.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "round_trips": outcome.round_trips,
                "duration_ms": outcome.duration.as_millis() as u64,
                "p50_ms": percentile(&played.durations, 50).as_millis() as u64,
                "p99_ms": percentile(&played.durations, 99).as_millis() as u64,
                "flows_per_second": f64::from(played.plays) / played.wall.as_secs_f64().max(f64::EPSILON),
                "result": result,
            })
        })
        .collect();
    let failed = results.iter().filter(|r| r.failed > 0).count();
    serde_json::json!({
        "status": if failed == 0 { "passed" } else { "failed" },
        "scenarios": scenarios,
        "summary": { "total": results.len(), "passed": results.len() - failed, "failed": failed,
                     "seconds": elapsed.as_secs_f64() },
    })
}
