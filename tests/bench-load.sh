#!/usr/bin/env bash
# Load figures for README.md (issue 6), on loopback only, every loop bounded:
#  1. whole S0 wizard flows per second against the embedded lookup server (homeport run --repeat);
#  2. the lookup server's redirect answers per second under wrk (PROPFIND + Basic auth to the
#     central remote.php/webdav/), side by side with nginx doing the same redirect with a map on
#     $remote_user.
# Needs a release build (cargo build --release -p homeport-cli) and wrk + nginx (./dev.sh bench-load
# installs them). Prints figures; asserts nothing (timing goals are measured, not tested).
set -euo pipefail
cd "$(dirname "$0")/.."

HOMEPORT=${HOMEPORT:-target/release/homeport}
FLOWS=${FLOWS:-10000}
CONCURRENCY=${CONCURRENCY:-32}
WRK_SECONDS=${WRK_SECONDS:-10}
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

echo "== 2. Redirect answers under wrk -t1 -c64 -d${WRK_SECONDS}s (PROPFIND with Basic auth)"
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

nginx_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/nginx/logs"
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
error_log $work/nginx/logs/error.log warn;
pid $work/nginx/nginx.pid;
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
    listen 127.0.0.1:${nginx_port};
    location /remote.php/webdav/ {
      if (\$instance = "") { return 401; }
      return 301 \${instance}remote.php/webdav/;
    }
  }
}
EOF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
pids+=($!)
sleep 0.5
for target in "lookup server|${central}remote.php/webdav/" "nginx 1 worker|http://127.0.0.1:${nginx_port}/remote.php/webdav/"; do
  name=${target%%|*}
  url=${target#*|}
  status=$(curl -s -o /dev/null -w '%{http_code}' -X PROPFIND -u 'test@instance2.com:secret' "$url")
  printf '   %-16s answers %s; ' "$name" "$status"
  wrk -t1 -c64 -d"${WRK_SECONDS}s" --latency -s "$work/propfind.lua" "$url" >"$work/wrk.txt"
  requests=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
  errors=$(awk '/Non-2xx or 3xx/ {print $5}' "$work/wrk.txt")
  echo "${requests} requests/s, p99 ${p99}${errors:+, $errors non-3xx}"
done
