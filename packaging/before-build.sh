#!/bin/sh
# tauri.conf.json's beforeBuildCommand (`tauri build` runs it before building the app, from ui/):
# the UI, and what `bundle.linux.deb.files` puts in the package beside the app — the release
# `homeport` command line and the gzip'd manual pages (docs/desktop.md, "A Debian package").
set -eu
cd "$(dirname "$0")/.."
npm run --prefix ui build
# Always the release CLI, whatever profile `tauri build` builds the app with: the .deb's files map
# names target/release/homeport.
cargo build --release --locked -p homeport-cli
mkdir -p target/packaging/man
for page in docs/man/*.1; do
  # -n: no name or time stamp inside, so the same page makes the same bytes.
  gzip -9 -n -c "$page" >"target/packaging/man/$(basename "$page").gz"
done
