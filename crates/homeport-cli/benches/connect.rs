//! Benchmark (not a test): `homeport connect` against `homeport mock --latency-ms 100`, both as
//! real processes over loopback. Prints wall time and round trips per run, and the median.
//! ownCloud Desktop 2.7 needs 11 sequential exchanges for the redirect
//! (docs/protocols/owncloud-redirect.md); Homeport needs 2. Then, per system (S0–S3, Matrix's
//! OAuth 2.0 API, Nextcloud), round trips, wall time and connection set-ups in process
//! ([`systems`], docs/benchmarks.md#round-trips).
//!
//! Run: `cargo bench -p homeport-cli --bench connect` (RUNS=n to change the count, default 5).

#[path = "connect/systems.rs"]
mod systems;

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Stdio};
use std::time::Instant;

const HOMEPORT: &str = env!("CARGO_BIN_EXE_homeport");
const LATENCY_MS: u64 = 100;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::var("RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(5).clamp(1, 50);
    let mut mock = Command::new(HOMEPORT)
        .args(["mock", "--listen", "127.0.0.1:0", "--latency-ms", &LATENCY_MS.to_string()])
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(mock.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
    let description: serde_json::Value = serde_json::from_str(&line)?;
    let central = description["central"].as_str().ok_or("no central URL")?.to_owned();
    let instance2 =
        description["instances"]["instance2"].as_str().ok_or("no instance2")?.trim_end_matches('/').to_owned();

    println!("connect test@instance2.com via {central} with {LATENCY_MS} ms latency per response, {runs} runs");
    let mut walls = Vec::new();
    for run in 1..=runs {
        let started = Instant::now();
        let mut child = Command::new(HOMEPORT)
            .args(["connect", &central, "--user", "test@instance2.com", "--password-stdin"])
            .args(["--approve-redirect", &instance2, "--no-store", "--json"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        child.stdin.take().ok_or("no stdin")?.write_all(b"secret\n")?;
        let output = child.wait_with_output()?;
        let wall = started.elapsed();
        let result: serde_json::Value = serde_json::from_slice(&output.stdout)?;
        if result["status"] != "connected" {
            return Err(format!("run {run} failed: {result}").into());
        }
        let exchanges = result["trace"].as_array().map_or(0, Vec::len);
        println!(
            "run {run}: wall {:>6.1} ms, round trips {}, exchanges {exchanges}",
            wall.as_secs_f64() * 1000.0,
            result["round_trips"]
        );
        walls.push(wall.as_secs_f64() * 1000.0);
    }
    walls.sort_by(f64::total_cmp);
    let median = walls[walls.len() / 2];
    println!(
        "median wall time {median:.1} ms = {:.2} × latency (seed 000 Desktop 2.7: 11 sequential exchanges ≈ {} ms)",
        median / LATENCY_MS as f64,
        11 * LATENCY_MS
    );
    let _ = mock.kill();
    let _ = mock.wait();
    systems::table(std::time::Duration::from_millis(LATENCY_MS), runs)
}
