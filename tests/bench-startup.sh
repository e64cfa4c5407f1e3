#!/usr/bin/env bash
# Start-up benchmark of the release desktop app under Xvfb (figures, not a test):
#   - time from exec to the interactive address page (the UI calls `ui_ready` once its field
#     can take input; the app prints a line when HOMEPORT_REPORT_READY is set),
#   - memory with the address page open: PSS summed over the app and all its processes
#     (WebKit's web and network processes), read from /proc/<pid>/smaps_rollup.
# Each configuration runs RUNS times (default 5); the median is printed.
# Usage: ./dev.sh bench   (or tests/bench-startup.sh with the UI already built)
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
app=target/release/homeport-desktop

# Runs inside Xvfb and a private D-Bus session; prints "<ready ms> <pss kB>" per run.
measure() {
  local scratch fifo pid line start ready pss
  scratch=$(mktemp -d)
  fifo="$scratch/out"
  mkfifo "$fifo"
  start=$(date +%s%N)
  HOME="$scratch" HOMEPORT_CONFIG_DIR="$scratch/config" HOMEPORT_REPORT_READY=1 NO_AT_BRIDGE=1 \
    "$app" >"$fifo" 2>/dev/null &
  pid=$!
  ready=""
  while IFS= read -r -t 30 line; do
    if [[ "$line" == *"ui ready"* ]]; then
      ready=$(( ($(date +%s%N) - start) / 1000000 ))
      break
    fi
  done <"$fifo"
  if [ -z "$ready" ]; then
    echo "the app did not report a ready address page within 30 s" >&2
    kill "$pid" 2>/dev/null || true
    return 1
  fi
  sleep 2  # let the page settle before reading memory
  pss=0
  for p in $pid $(descendants "$pid"); do
    [ -r "/proc/$p/smaps_rollup" ] || continue
    pss=$(( pss + $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup") ))
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$scratch"
  echo "$ready $pss"
}

descendants() {
  local child
  for child in $(ps -o pid= --ppid "$1"); do
    echo "$child"
    descendants "$child"
  done
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

report() {
  local label=$1 results=$2
  printf '%-42s start to address page: median %4s ms (runs: %s)   memory PSS: median %4s MB\n' "$label" \
    "$(cut -d' ' -f1 <<<"$results" | median)" "$(cut -d' ' -f1 <<<"$results" | paste -sd' ')" \
    "$(( $(cut -d' ' -f2 <<<"$results" | median) / 1024 ))"
}

if [ "${1:-}" != --inside ]; then
  printf '==> Building the release app\n'
  cargo build --release --locked --bin homeport-desktop
  printf '==> Measuring %s runs each under Xvfb\n' "$RUNS"
  exec xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" dbus-run-session -- "$0" --inside
fi

default=""
disabled=""
for _ in $(seq "$RUNS"); do
  default+="$(measure)"$'\n'
  disabled+="$(WEBKIT_DISABLE_COMPOSITING_MODE=1 measure)"$'\n'
done
report "homeport-desktop (release)" "${default%$'\n'}"
report "  with WEBKIT_DISABLE_COMPOSITING_MODE=1" "${disabled%$'\n'}"
