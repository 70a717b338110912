#!/usr/bin/env bash
# Proves the crates can be published: `cargo package` of every publishable crate (cargo
# orders them by their dependencies, auth-srp and auth-core first, and builds each from its
# packaged sources, with the not yet published ones served from a temporary local registry),
# then `cargo install` of auth-mock-server from its .crate file into a temporary root, and
# the installed binary must answer /_mock/health.
#
# The install is a debug build into the same target directory as the packaging checks, so it
# reuses what they built (about 20 s instead of minutes for a release build); what it proves,
# that the packaged sources build and install, does not depend on the profile.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d "${TMPDIR:-/tmp}/auth-package.XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# --allow-dirty: the .crate files are thrown away; a developer may run this before committing.
cargo package --workspace --exclude xtask --locked --allow-dirty

# The packaged auth-mock-server names its workspace dependencies by version only; they are
# not on crates.io yet, so they come from their own packaged sources.
patches=()
for crate in "$target"/package/*.crate; do
  tar -xzf "$crate" -C "$work"
done
for dependency in $(sed -n '/^\[dependencies\]/,/^\[/s/^\(auth-[a-z-]*\) *=.*/\1/p' auth-mock-server/Cargo.toml); do
  source_dir=$(echo "$work/$dependency"-[0-9]*)
  patches+=(--config "patch.crates-io.$dependency.path=\"$source_dir\"")
done
server_dir=$(echo "$work"/auth-mock-server-[0-9]*)
cargo install --path "$server_dir" --root "$work/root" --debug --locked \
  --target-dir "$target" "${patches[@]}"

ready="$work/ready.json"
"$work/root/bin/auth-mock-server" --port 0 --ready-file "$ready" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 300); do
  [ -f "$ready" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
url=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["url"])' "$ready")
health=$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1] + "/_mock/health", timeout=10).read().decode())' "$url")
echo "installed auth-mock-server answers $url/_mock/health: $health"
[ "$health" = '{"ok":true}' ]
