#!/usr/bin/env bash
# One entry point on a fresh Debian machine (it installs what it needs):
#   ./dev.sh demo   connect a demo account through the embedded lookup server, and show it
#   ./dev.sh test   the whole test suite, exactly as CI runs it (.ci/run calls this)
set -euo pipefail
cd "$(dirname "$0")"

SYSTEM_PACKAGES=(
  build-essential pkg-config libssl-dev libdbus-1-dev ca-certificates curl  # building
  dbus gnome-keyring libsecret-tools                                        # a real Secret Service
)

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
  say "Building (first build takes a few minutes)"
  cargo build --workspace --locked
}

demo() {
  install_system_packages
  build
  with_scratch_keyring bash -c '
    set -euo pipefail
    homeport=target/debug/homeport
    exec 3< <("$homeport" mock --listen 127.0.0.1:0)
    mock_pid=$!
    trap "kill $mock_pid 2>/dev/null || true" EXIT
    read -r servers <&3
    central=$(sed -E "s/.*\"central\":\"([^\"]+)\".*/\1/" <<<"$servers")
    instance2=$(sed -E "s/.*\"instance2\":\"([^\"]+)\/\".*/\1/" <<<"$servers")
    printf "\nThe embedded lookup server runs: central %s, instance 2 %s\n\n" "$central" "$instance2"
    printf "$ homeport connect %s --user test@instance2.com --password-stdin --approve-redirect %s\n" "$central" "$instance2"
    printf secret | "$homeport" connect "$central" --user test@instance2.com --password-stdin --approve-redirect "$instance2"
    printf "\n$ homeport accounts list\n"
    "$homeport" accounts list
  '
}

run_tests() {
  install_system_packages
  say "Checking formatting and lints"
  cargo fmt --all --check
  cargo clippy --workspace --all-targets --locked -- -D warnings
  build
  local real_config="${XDG_CONFIG_HOME:-$HOME/.config}/homeport"
  local had_config=no
  [ -e "$real_config" ] && had_config=yes
  say "Running the tests (real loopback servers, real Secret Service)"
  with_scratch_keyring cargo test --workspace --locked
  if [ "$had_config" = no ] && [ -e "$real_config" ]; then
    echo "A test wrote to the real config folder $real_config: tests must stay hermetic." >&2
    exit 1
  fi
  say "Benchmark: connect against the lookup server with 100 ms latency (figures, not a test)"
  cargo bench -p homeport-cli --bench connect --profile dev --locked
}

case "${1:-}" in
  demo) demo ;;
  test) run_tests ;;
  *) echo "usage: ./dev.sh demo | ./dev.sh test" >&2; exit 2 ;;
esac
