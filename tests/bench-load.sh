#!/usr/bin/env bash
# Load figures for docs/benchmarks.md (issue 6), on loopback only, every loop bounded:
#  1. whole S0 wizard flows per second against the embedded lookup server (homeport run --repeat);
#  2. the lookup server's redirect answers per second under wrk (PROPFIND + Basic auth to the
#     central remote.php/webdav/), side by side with nginx doing the same redirect with a map on
#     $remote_user (one worker, and `worker_processes auto`), RUNS times (3) interleaved, with medians.
# Needs a release build (cargo build --release -p homeport-cli) and wrk + nginx (./dev.sh bench-load
# installs them). Prints figures; asserts nothing (timing goals are measured, not tested).
set -euo pipefail
cd "$(dirname "$0")/.."

HOMEPORT=${HOMEPORT:-target/release/homeport}
FLOWS=${FLOWS:-10000}
CONCURRENCY=${CONCURRENCY:-32}
WRK_SECONDS=${WRK_SECONDS:-10}
RUNS=${RUNS:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/homeport-bench.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

echo "== 1. S0 wizard flows against the embedded lookup server ($FLOWS flows, $CONCURRENCY at once)"
"$HOMEPORT" run tests/scenarios/s0-instance2.toml --repeat "$FLOWS" --concurrency "$CONCURRENCY" --json \
  >"$work/run.json" || true
python3 - "$work/run.json" <<'EOF'
import json, sys
result = json.load(open(sys.argv[1]))["scenarios"][0]
print(f"   {result['plays']} flows, {result['failed_plays']} failed, {result['flows_per_second']:.0f} flows/s, "
      f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms")
EOF

echo "== 2. Redirect answers under wrk -t1 -c64 -d${WRK_SECONDS}s (PROPFIND with Basic auth), $RUNS runs"
"$HOMEPORT" mock >"$work/mock.json" &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/mock.json" ] && break; sleep 0.1; done
central=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["central"])' "$work/mock.json")
instance2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["instances"]["instance2"])' "$work/mock.json")
cat >"$work/propfind.lua" <<'EOF'
wrk.method = "PROPFIND"
wrk.headers["Authorization"] = "Basic dGVzdEBpbnN0YW5jZTIuY29tOnNlY3JldA=="
wrk.headers["Depth"] = "0"
EOF

# nginx doing the same redirect with a map on $remote_user: one worker, and `worker_processes auto`.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
write_nginx_conf() { # dir worker_processes port
  mkdir -p "$1/logs"
  cat >"$1/nginx.conf" <<EOF
worker_processes $2;
daemon off;
error_log $1/logs/error.log warn;
pid $1/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  map \$remote_user \$instance {
    default "";
    "test@instance1.com" "http://127.0.0.1:1/";
    "test@instance2.com" "${instance2}";
    "test@instance3.com" "http://127.0.0.1:3/";
  }
  server {
    listen 127.0.0.1:$3;
    location /remote.php/webdav/ {
      if (\$instance = "") { return 401; }
      return 301 \${instance}remote.php/webdav/;
    }
  }
}
EOF
}
nginx_one_port=$(free_port)
write_nginx_conf "$work/nginx-one" 1 "$nginx_one_port"
nginx -p "$work/nginx-one" -c "$work/nginx-one/nginx.conf" &
pids+=($!)
nginx_auto_port=$(free_port)
write_nginx_conf "$work/nginx-auto" auto "$nginx_auto_port"
nginx -p "$work/nginx-auto" -c "$work/nginx-auto/nginx.conf" &
pids+=($!)
sleep 0.5

targets=(
  "lookup server|${central}remote.php/webdav/"
  "nginx 1 worker|http://127.0.0.1:${nginx_one_port}/remote.php/webdav/"
  "nginx auto ($(nproc) workers)|http://127.0.0.1:${nginx_auto_port}/remote.php/webdav/"
)
for target in "${targets[@]}"; do
  status=$(curl -s -o /dev/null -w '%{http_code}' -X PROPFIND -u 'test@instance2.com:secret' "${target#*|}")
  printf '   %-24s answers %s\n' "${target%%|*}" "$status"
done
# Interleaved runs, so a disturbance hits every row alike; medians at the end.
: >"$work/results.tsv"
for run in $(seq "$RUNS"); do
  for target in "${targets[@]}"; do
    name=${target%%|*}
    wrk -t1 -c64 -d"${WRK_SECONDS}s" --latency -s "$work/propfind.lua" "${target#*|}" >"$work/wrk.txt"
    requests=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
    errors=$(awk '/Non-2xx or 3xx/ {print $5}' "$work/wrk.txt")
    printf '   run %s  %-24s %s requests/s, p99 %s%s\n' "$run" "$name" "$requests" "$p99" "${errors:+, $errors non-3xx}"
    printf '%s\t%s\t%s\n' "$name" "$requests" "$p99" >>"$work/results.tsv"
  done
done
python3 - "$work/results.tsv" <<'EOF'
import statistics, sys
def ms(text):
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)
rows = {}
for line in open(sys.argv[1]):
    name, requests, p99 = line.rstrip("\n").split("\t")
    rows.setdefault(name, []).append((float(requests), ms(p99)))
print("   medians:")
for name, runs in rows.items():
    requests = statistics.median(r for r, _ in runs)
    p99 = statistics.median(p for _, p in runs)
    print(f"   {name:<24} {requests:>10,.0f} requests/s, p99 {p99:.2f} ms")
EOF
