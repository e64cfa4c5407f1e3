#!/usr/bin/env bash
# One entry point on a fresh Debian machine (it installs what it needs):
#   ./dev.sh demo       the desktop app in demo mode, on the embedded lookup server
#   ./dev.sh test       the whole test suite, exactly as CI runs it (.ci/run calls this)
#   ./dev.sh bindings   regenerate ui/src/lib/bindings.ts from the Rust IPC types
#   ./dev.sh bench      start-up time and memory of the release app (figures in docs/benchmarks.md)
#   ./dev.sh bench-load whole S0 flows/s, and redirects/s under wrk beside nginx (figures in docs/benchmarks.md)
#   ./dev.sh fuzz [SECONDS] [TARGET…]  every parser under libFuzzer, SECONDS per target (docs/fuzzing.md; not in test)
set -euo pipefail
cd "$(dirname "$0")"

SYSTEM_PACKAGES=(
  build-essential pkg-config libssl-dev libdbus-1-dev ca-certificates curl file  # building
  python3 python3-venv                        # tests/import_cycles.py, tests/peers/browser-robot.py, Synapse's venv
  libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev libayatana-appindicator3-dev  # the desktop app
  librsvg2-dev libxdo-dev
  dbus dbus-x11 gnome-keyring libsecret-tools                                    # a real Secret Service
  xvfb xauth webkit2gtk-driver                                                   # a real window in tests
  xdotool                                     # the e2e test that types into GTK's save dialog
  xdg-utils                                   # xdg-open: "Continue in your browser" (honours $BROWSER)
  tinyproxy microsocks                        # real HTTP and SOCKS5 proxies for the --proxy tests
  openssl nginx-light                         # servers demanding client certificates (mutual TLS tests)
  owncloud-client-cmd                         # owncloudcmd, the real sync client that syncs a demo instance
  libglib2.0-bin gsettings-desktop-schemas    # gsettings and org.gnome.system.proxy: GNOME's proxy settings tests
  xdotool x11-apps desktop-file-utils man-db  # the .deb check: its window, a screenshot (xwd), menu entry, manual pages
)
TAURI_DRIVER_VERSION=2.1.0
SYNAPSE_VERSION=1.163.2
SCREENSHOTS=target/e2e-screenshots

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

install_system_packages() {
  local missing=() package
  for package in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  if ((${#missing[@]})); then
    say "Installing system packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
  if ! command -v cargo >/dev/null; then
    echo "Rust is needed: install it with rustup (https://rustup.rs), then run this again." >&2
    exit 1
  fi
  if ! command -v npm >/dev/null; then
    say "Installing Node.js and npm (the UI is built with Vite)"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends nodejs npm
  fi
  if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
    echo "Node.js 20 or newer is needed to build the UI (found $(node --version))." >&2
    exit 1
  fi
}

# wrk and nginx for the load figures (./dev.sh bench-load); not needed by the tests.
install_load_tools() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  command -v wrk >/dev/null && command -v nginx >/dev/null && return
  say "Installing wrk and nginx (load benchmark)"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends wrk nginx-light
}

install_tauri_driver() {
  if ! cargo install --list | grep -q "^tauri-driver v$TAURI_DRIVER_VERSION:"; then
    say "Installing tauri-driver $TAURI_DRIVER_VERSION (WebDriver for the app's window)"
    cargo install tauri-driver --version "$TAURI_DRIVER_VERSION" --locked
  fi
}

# The UI's dependencies come from the committed lockfile; reinstalled only when it changed.
build_ui() {
  if [ ! -f ui/node_modules/.package-lock.json ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
    say "Installing the UI's packages (npm ci)"
    npm ci --prefix ui --no-audit --no-fund
  fi
  say "Building the UI"
  npm run --prefix ui build
}

# The real OpenID Provider the tests start (node-oidc-provider) and the accessibility engine the e2e tests
# inject into the window (axe-core), each pinned by its lockfile under tests/peers/ (docs/testing.md);
# reinstalled only when the lockfile changed.
install_peers() {
  local peer
  for peer in tests/peers/oidc-provider tests/peers/axe; do
    if [ ! -f $peer/node_modules/.package-lock.json ] || [ $peer/package-lock.json -nt $peer/node_modules/.package-lock.json ]; then
      say "Installing the test peers' packages (npm ci: $peer)"
      npm ci --prefix $peer --no-audit --no-fund
    fi
  done
  # A real Matrix homeserver (Synapse, pinned) in a virtual environment under target/.
  local venv=target/peers/synapse
  if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('matrix-synapse') != '$SYNAPSE_VERSION')" 2>/dev/null; then
    say "Installing Synapse $SYNAPSE_VERSION (a real Matrix homeserver for the tests)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "matrix-synapse==$SYNAPSE_VERSION"
  fi
}

# Runs "$@" in a private D-Bus session with a fresh, unlocked gnome-keyring and scratch HOME and
# XDG folders, so tests use the real Secret Service and never touch the person's own keyring or
# config. Cargo and rustup keep their real homes.
with_scratch_keyring() {
  export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
  local scratch
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/homeport-session.XXXXXX")
  mkdir -p "$scratch/home" "$scratch/config" "$scratch/data"
  mkdir -m 700 "$scratch/runtime"
  # A desktop's X server authorises through the real home's cookie file.
  if [ -z "${XAUTHORITY:-}" ] && [ -f "$HOME/.Xauthority" ]; then export XAUTHORITY="$HOME/.Xauthority"; fi
  local status=0
  env -u DBUS_SESSION_BUS_ADDRESS HOME="$scratch/home" XDG_RUNTIME_DIR="$scratch/runtime" \
    XDG_CONFIG_HOME="$scratch/config" XDG_DATA_HOME="$scratch/data" NO_AT_BRIDGE=1 \
    dbus-run-session -- bash -c '
      eval "$(printf homeport-scratch | gnome-keyring-daemon --unlock --components=secrets)"
      export GNOME_KEYRING_CONTROL
      "$@"' with_scratch_keyring "$@" || status=$?
  rm -rf "$scratch"
  return "$status"
}

build() {
  build_ui
  say "Building (first build takes a few minutes)"
  cargo build --workspace --locked
}

XVFB=(xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp")

demo() {
  install_system_packages
  build
  if [ -z "${DISPLAY:-}" ]; then
    echo "No display here (DISPLAY is not set): run ./dev.sh demo on a desktop, or see README.md for a headless run." >&2
    exit 1
  fi
  say "Starting Homeport in demo mode (accounts go to a scratch keyring, not yours)"
  HOMEPORT_CONFIG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/homeport-demo.XXXXXX")" \
    with_scratch_keyring target/debug/homeport-desktop --demo
}

run_tests() {
  install_system_packages
  install_tauri_driver
  build_ui
  install_peers
  say "UI: type check and unit tests"
  npm run --prefix ui check
  npm test --prefix ui
  say "Checking formatting and lints"
  cargo fmt --all --check
  cargo clippy --workspace --all-targets --locked -- -D warnings
  say "Checking that no two source files import each other (ARCHITECTURE.md's one-way arrows)"
  python3 tests/import_cycles.py crates/*/src src-tauri/src
  say "Checking the Debian package's configuration (tauri.conf.json, docs/man/, packaging/)"
  tests/packaging/deb.sh --static
  say "Building (first build takes a few minutes)"
  cargo build --workspace --locked
  local real_config="${XDG_CONFIG_HOME:-$HOME/.config}/homeport"
  local had_config=no
  [ -e "$real_config" ] && had_config=yes
  say "Running the tests (real loopback servers, real Secret Service, the app in a real window)"
  rm -rf "$SCREENSHOTS"
  with_scratch_keyring "${XVFB[@]}" cargo test --workspace --locked --no-fail-fast
  say "The Debian package: built, installed with apt, both faces run, removed (tests/packaging/deb.sh)"
  tests/packaging/deb.sh
  echo "Screenshots of the end-to-end tests' last pages (and the installed app's demo window): $SCREENSHOTS/"
  if [ "$had_config" = no ] && [ -e "$real_config" ]; then
    echo "A test wrote to the real config folder $real_config: tests must stay hermetic." >&2
    exit 1
  fi
  say "Benchmark: connect against the lookup server with 100 ms latency (figures, not a test)"
  cargo bench -p homeport-cli --bench connect --profile dev --locked
}

bindings() {
  say "Regenerating ui/src/lib/bindings.ts from the Rust IPC types"
  HOMEPORT_WRITE_BINDINGS=1 cargo test --lib --locked typescript_bindings_are_up_to_date
}

case "${1:-}" in
  demo) demo ;;
  test) run_tests ;;
  bindings) bindings ;;
  bench) install_system_packages; build_ui; exec tests/bench-startup.sh ;;
  bench-load) install_system_packages; install_load_tools
    cargo build --release -p homeport-cli --locked
    with_scratch_keyring tests/bench-load.sh ;;
  fuzz) shift; exec fuzz/run.sh "$@" ;;
  *) echo "usage: ./dev.sh demo | test | bindings | bench | bench-load | fuzz [SECONDS] [TARGET…]" >&2; exit 2 ;;
esac
