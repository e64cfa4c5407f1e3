#!/usr/bin/env bash
# The Debian package, as a person gets it (docs/desktop.md, "A Debian package"; docs/testing.md):
# build it with the Tauri CLI, look inside, install it with apt, run both faces from /usr/bin — the
# desktop's demo window under its own Xvfb, proven drawn — check that its Depends bring every
# library both programs load, remove it and check nothing is left. ./dev.sh test runs it after the
# Rust tests; it needs root or sudo (it installs and removes the package `homeport`).
#
#   tests/packaging/deb.sh            build, then check
#   tests/packaging/deb.sh --no-build check the .deb already in target/release/bundle/deb/
#   tests/packaging/deb.sh --static   only the configuration (seconds, no build, no root)
set -euo pipefail
cd "$(dirname "$0")/../.."

PACKAGE=homeport
BUNDLE_DIR=target/release/bundle/deb
SCREENSHOTS=target/e2e-screenshots
HERE=tests/packaging
# Generous bounds against hangs, not goals.
WINDOW_WAIT_SECONDS=90

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
fail() { printf 'deb.sh: %s\n' "$*" >&2; exit 1; }

# The configuration alone: one version for both faces and the package, a manual page for each
# program mapped into the package, every file the package takes either committed or built.
python3 - <<'EOF'
import json, os, re, subprocess, sys
config = json.load(open("tauri.conf.json"))
deb = config["bundle"]["linux"]["deb"]
problems = []
cargo = open("Cargo.toml").read()
versions = set(re.findall(r'(?m)^version = "([^"]+)"', cargo))
if versions != {config["version"]}:
    problems.append(f"tauri.conf.json's version {config['version']} is not Cargo.toml's {sorted(versions)}: "
                    "the package, homeport --version and homeport-desktop --version must agree")
committed = set(subprocess.run(["git", "ls-files"], capture_output=True, text=True, check=True).stdout.split())
for target, source in deb["files"].items():
    if source not in committed and not source.startswith("target/"):
        problems.append(f"files: {target} comes from {source}, neither committed nor built under target/")
for page in ("homeport.1", "homeport-desktop.1"):
    if f"docs/man/{page}" not in committed:
        problems.append(f"docs/man/{page} is missing")
    if deb["files"].get(f"/usr/share/man/man1/{page}.gz") != f"target/packaging/man/{page}.gz":
        problems.append(f"files: /usr/share/man/man1/{page}.gz is not mapped to target/packaging/man/{page}.gz")
if deb["files"].get("/usr/bin/homeport") != "target/release/homeport":
    problems.append("files: /usr/bin/homeport is not mapped to the release CLI, target/release/homeport")
template = deb.get("desktopTemplate", "")
if template not in committed:
    problems.append(f"desktopTemplate {template!r} is not a committed file")
else:
    text = open(template).read()
    for line in ("Exec={{exec}}", "Icon={{icon}}", "Name={{name}}", "Type=Application"):
        if line not in text.splitlines():
            problems.append(f"{template} lacks the line {line}")
hook = config["build"]["beforeBuildCommand"]
if "packaging/before-build.sh" not in hook or "cargo build --release --locked -p homeport-cli" not in open("packaging/before-build.sh").read():
    problems.append("beforeBuildCommand does not run packaging/before-build.sh, which builds the release CLI")
if problems:
    sys.exit("tauri.conf.json's package:\n  " + "\n  ".join(problems))
print(f"configuration: version {config['version']}, {len(deb['files'])} extra files, Depends {deb['depends']}")
EOF
[ "${1:-}" != --static ] || exit 0

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null && sudo -n true 2>/dev/null ||
    fail "installing the package needs root, or sudo without a password prompt (CI runs as root)"
  SUDO=(sudo)
fi
for tool in dpkg-deb apt-get xvfb-run xdotool xwd desktop-file-validate man python3 gzip; do
  command -v "$tool" >/dev/null ||
    fail "$tool is missing: run ./dev.sh test once (it installs dev.sh's SYSTEM_PACKAGES)"
done

scratch=$(mktemp -d "${TMPDIR:-/tmp}/homeport-deb.XXXXXX")
installed_by_us=no
cleanup() {
  local status=$?
  if [ "$installed_by_us" = yes ]; then
    echo "deb.sh: removing the package after a failure" >&2
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get remove -y -q "$PACKAGE" >/dev/null || true
  fi
  rm -rf "$scratch"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

started=$SECONDS
if [ "${1:-}" != --no-build ]; then
  say "Building the .deb (tauri build --bundles deb: the UI, the release CLI and app)"
  rm -f "$BUNDLE_DIR"/*.deb
  [ -x ui/node_modules/.bin/tauri ] || fail "ui/node_modules/.bin/tauri is missing: npm ci --prefix ui"
  build_started=$SECONDS
  # niced: on a shared machine the others' debug builds go first.
  nice -n 10 ui/node_modules/.bin/tauri build --bundles deb --ci
  echo "Built in $((SECONDS - build_started)) s"
fi
debs=("$BUNDLE_DIR"/*.deb)
[ "${#debs[@]}" -eq 1 ] && [ -f "${debs[0]}" ] ||
  fail "expected exactly one .deb in $BUNDLE_DIR, found: ${debs[*]}"
deb=${debs[0]}
echo "$deb: $(du -k "$deb" | cut -f1) KiB"

say "Inside the .deb"
# The files map of tauri.conf.json: each source exists after the build, each lands in the package.
python3 - "$deb" <<'EOF'
import json, subprocess, sys, os
config = json.load(open("tauri.conf.json"))
files = config["bundle"]["linux"]["deb"]["files"]
listing = subprocess.run(["dpkg-deb", "-c", sys.argv[1]], capture_output=True, text=True, check=True).stdout
# "./usr/bin/x" (dpkg-deb's own archives) or "usr/bin/x" (Tauri's): the installed path either way.
inside = {"/" + line.split()[-1].removeprefix(".").lstrip("/") for line in listing.splitlines()}
bad = [f"{target} <- {source}: {'not built' if not os.path.isfile(source) else 'not in the package'}"
       for target, source in files.items() if not os.path.isfile(source) or target not in inside]
if bad:
    sys.exit("tauri.conf.json bundle.linux.deb.files:\n  " + "\n  ".join(bad))
print(f"files map: {len(files)} files, each built and in the package")
EOF
dpkg-deb -c "$deb" | awk '{print $1, $3, $6}'
control=$(dpkg-deb -f "$deb")
printf '%s\n' "$control"
[ "$(dpkg-deb -f "$deb" Package)" = "$PACKAGE" ] || fail "the package is not called $PACKAGE"
mkdir "$scratch/root"
dpkg-deb -x "$deb" "$scratch/root"
for page in homeport homeport-desktop; do
  file="$scratch/root/usr/share/man/man1/$page.1.gz"
  [ -f "$file" ] || fail "no manual page $page(1) in the package"
  gzip -t "$file" || fail "$page.1.gz is not gzip'd"
  # man's own warnings (groff: unknown macros, bad escapes) fail the check; so does an empty page.
  MANWIDTH=80 man --warnings -E UTF-8 -l "$file" >"$scratch/$page.txt" 2>"$scratch/$page.warnings" ||
    fail "man -l $page.1.gz failed: $(cat "$scratch/$page.warnings")"
  [ ! -s "$scratch/$page.warnings" ] || fail "man -l $page.1.gz warns: $(cat "$scratch/$page.warnings")"
  grep -q "^NAME" "$scratch/$page.txt" || fail "$page(1) renders without a NAME section"
done
# The manual pages stay true to --help: every command and option the help names is in the page.
python3 - "$scratch/root" <<'EOF'
import gzip, re, subprocess, sys
root = sys.argv[1]
missing = []
# The commands' own options are left to `homeport COMMAND --help`, which the page points to.
for program, *command in (["homeport"], ["homeport", "accounts"], ["homeport-desktop"]):
    help_text = subprocess.run([f"{root}/usr/bin/{program}", *command, "--help"], capture_output=True,
                               text=True, check=True, env={}).stdout
    # The page's source, not its rendering (which may hyphenate a long option at a line's end).
    page = gzip.open(f"{root}/usr/share/man/man1/{program}.1.gz", "rt").read()
    page = re.sub(r"\\f[BIRP]|\\&", "", page).replace("\\-", "-")
    words = set(re.findall(r"(?m)^\s+(-\w, )?(--[\w-]+)", help_text))
    words = {long for _short, long in words}
    commands = re.search(r"(?s)Commands:\n(.*?)\n\n", help_text)
    if commands:
        words |= {line.split()[0] for line in commands.group(1).splitlines() if line.startswith("  ") and
                  not line.startswith("   ")}
    missing += [f"{program}(1) does not name {word} of `{' '.join([program, *command])} --help` "
                f"(docs/man/{program}.1)" for word in sorted(words)
                if not re.search(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])", page)]
if missing:
    sys.exit("the manual pages are behind --help:\n  " + "\n  ".join(missing))
print("manual pages: every command and option of both --help pages is named")
EOF
desktop_file=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's#^\.##; s#^/*#/#' |
  grep '^/usr/share/applications/.*\.desktop$' | head -1)
[ -n "$desktop_file" ] || fail "no desktop entry under /usr/share/applications in the package"
desktop-file-validate "$scratch/root$desktop_file" || fail "desktop-file-validate rejects $desktop_file"
entry() { sed -n "s/^$1=//p" "$scratch/root$desktop_file"; }
[ "$(entry Exec)" = homeport-desktop ] || fail "the menu entry runs '$(entry Exec)', not homeport-desktop"
[ "$(entry Name)" = Homeport ] || fail "the menu entry is called '$(entry Name)', not Homeport"
[ -n "$(entry Comment)" ] && [ -n "$(entry Categories)" ] || fail "the menu entry lacks a Comment or Categories"
icon=$(entry Icon)
ls "$scratch/root/usr/share/icons/hicolor/"*/apps/"$icon.png" >/dev/null 2>&1 ||
  fail "the menu entry's icon $icon is not under /usr/share/icons/hicolor/*/apps/ in the package"
echo "menu entry $desktop_file: Name=$(entry Name), Icon=$icon, Categories=$(entry Categories)"

say "Installing it with apt (its Depends only: no Recommends)"
if dpkg-query -W -f='${db:Status-Abbrev}' "$PACKAGE" 2>/dev/null | grep -q '^ii'; then
  echo "deb.sh: $PACKAGE was installed before this check; it is replaced, and removed at the end" >&2
fi
installed_by_us=yes
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q --no-install-recommends "./$deb"
listed=$(dpkg -L "$PACKAGE")
for path in /usr/bin/homeport /usr/bin/homeport-desktop "$desktop_file" \
  /usr/share/man/man1/homeport.1.gz /usr/share/man/man1/homeport-desktop.1.gz; do
  grep -qx "$path" <<<"$listed" || fail "dpkg -L $PACKAGE does not list $path"
done
[ "$(command -v homeport)" = /usr/bin/homeport ] || fail "homeport on PATH is $(command -v homeport), not /usr/bin/homeport"

say "Both faces answer --version (the desktop without a display: before any window)"
version=$(dpkg-query -W -f='${Version}' "$PACKAGE")
cli_version=$(/usr/bin/homeport --version)
desktop_version=$(env -u DISPLAY -u WAYLAND_DISPLAY /usr/bin/homeport-desktop --version)
env -u DISPLAY -u WAYLAND_DISPLAY /usr/bin/homeport-desktop --help | grep -q -- --demo ||
  fail "homeport-desktop --help does not name --demo"
echo "$cli_version / $desktop_version / package $version"
[ "$cli_version" = "homeport $version" ] || fail "homeport --version says '$cli_version', the package is $version"
[ "$desktop_version" = "homeport-desktop $version" ] ||
  fail "homeport-desktop --version says '$desktop_version', the package is $version"

say "The installed app's demo window under its own Xvfb"
mkdir -p "$scratch/home" "$scratch/config" "$SCREENSHOTS"
mkdir -m 700 "$scratch/runtime"
# A fresh session: scratch HOME (WebKit's data goes there), config and runtime folders; its own
# D-Bus session; the app killed by the inner trap however the wait ends.
env -u DBUS_SESSION_BUS_ADDRESS HOME="$scratch/home" XDG_CONFIG_HOME="$scratch/config" \
  XDG_DATA_HOME="$scratch/home/.local/share" XDG_RUNTIME_DIR="$scratch/runtime" \
  HOMEPORT_CONFIG_DIR="$scratch/config/homeport" NO_AT_BRIDGE=1 \
  WAIT="$WINDOW_WAIT_SECONDS" DUMP="$scratch/window.xwd" PNG="$SCREENSHOTS/deb-demo.png" CHECK="$HERE/screenshot.py" \
  xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" dbus-run-session -- bash -c '
    set -u
    /usr/bin/homeport-desktop --demo >"$HOME/app.log" 2>&1 &
    app=$!
    trap "kill $app 2>/dev/null; wait $app 2>/dev/null" EXIT
    deadline=$((SECONDS + WAIT))
    window=""
    while [ $SECONDS -lt $deadline ]; do
      kill -0 $app 2>/dev/null || { echo "homeport-desktop --demo exited early:"; cat "$HOME/app.log"; exit 1; } >&2
      window=$(xdotool search --onlyvisible --name "^Homeport$" 2>/dev/null | head -1)
      if [ -n "$window" ] && xwd -silent -id "$window" >"$DUMP" 2>/dev/null && python3 "$CHECK" "$DUMP" "$PNG" >"$HOME/check" 2>&1; then
        echo "window $window \"$(xdotool getwindowname "$window")\", pid $(xdotool getwindowpid "$window" 2>/dev/null || echo ?): $(cat "$HOME/check")"
        exit 0
      fi
      sleep 0.5
    done
    { echo "no drawn window titled Homeport within $WAIT s (${window:+window $window: $(cat "$HOME/check" 2>/dev/null)})"; cat "$HOME/app.log"; } >&2
    exit 1' || fail "the installed desktop app did not draw its demo window"
echo "screenshot: $SCREENSHOTS/deb-demo.png"

say "Every library both programs load comes with the package's Depends"
python3 "$HERE/deps.py" "$PACKAGE" /usr/bin/homeport /usr/bin/homeport-desktop ||
  fail "the package's Depends miss libraries (above)"

say "Removing it"
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get remove -y -q "$PACKAGE"
installed_by_us=no
for path in /usr/bin/homeport* "$desktop_file"; do
  [ ! -e "$path" ] || fail "$path is still there after apt-get remove"
done
# Nothing of the installed app is left running (its binary is gone, so /proc shows it deleted).
for exe in /proc/[0-9]*/exe; do
  case "$(readlink "$exe" 2>/dev/null)" in
    /usr/bin/homeport*) fail "a process of the package is still running: ${exe%/exe} ($(readlink "$exe"))" ;;
  esac
done
echo "The .deb checks passed in $((SECONDS - started)) s"
