#!/usr/bin/env bash
# Builds and runs every fuzz target (docs/fuzzing.md); `./dev.sh fuzz [SECONDS] [TARGET…]` calls it.
#   SECONDS     per target (default 60)
#   FUZZ_RUNS   stop a target after this many executions instead (SECONDS is then an upper bound)
# Each target runs as one niced libFuzzer process (the machine's builds go first). Prints
# executions, executions per second and crashes per target; exits 1 when a target crashed (the
# input is in fuzz/artifacts/<target>/).
set -euo pipefail
cd "$(dirname "$0")"

CARGO_FUZZ_VERSION=0.13.2
SECONDS_PER_TARGET=${1:-60}
shift || true
# The build every run uses: release with debug assertions and overflow checks (an overflow is a
# crash), no sanitizer (the parsers are safe Rust; ASan would halve the executions per second).
FUZZ_FLAGS=(-O -a -s none)

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "cargo-fuzz needs the nightly toolchain: rustup toolchain install nightly --profile minimal" >&2
  exit 1
fi
if ! cargo install --list | grep -q "^cargo-fuzz v$CARGO_FUZZ_VERSION:"; then
  echo "==> Installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

mapfile -t TARGETS < <(if (($#)); then printf '%s\n' "$@"; else cargo +nightly fuzz list; fi)
echo "==> Building ${#TARGETS[@]} fuzz targets"
nice -n 19 cargo +nightly fuzz build "${FUZZ_FLAGS[@]}" >&2
# The built binaries are run directly: no rebuild between targets, whatever changes meanwhile.
BIN="target/$(rustc +nightly -vV | sed -n 's/^host: //p')/release"

limits=(-max_total_time="$SECONDS_PER_TARGET")
[ -n "${FUZZ_RUNS:-}" ] && limits+=(-runs="$FUZZ_RUNS")
mkdir -p target/logs
crashed=0
printf '%-18s %14s %10s  %s\n' target executions exec/s result
for target in "${TARGETS[@]}"; do
  # New inputs go to the first directory (not committed); the committed seeds are only read.
  mkdir -p "target/corpus/$target" "artifacts/$target"
  log="target/logs/$target.log"
  before=$(find "artifacts/$target" -type f | wc -l)
  status=0
  nice -n 19 "$BIN/$target" "target/corpus/$target" "corpus/$target" "${limits[@]}" \
    -artifact_prefix="artifacts/$target/" -print_final_stats=1 -timeout=10 >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  after=$(find "artifacts/$target" -type f | wc -l)
  if ((status != 0 || after > before)); then
    crashed=1
    result="CRASH (exit $status): $(grep -o 'artifacts/[^ ]*' "$log" | tail -1) — see fuzz/$log"
  else
    result="ok, 0 crashes"
  fi
  printf '%-18s %14s %10s  %s\n' "$target" "${execs:-?}" "${speed:-?}" "$result"
done
exit "$crashed"
