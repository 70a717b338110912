#!/usr/bin/env bash
# Packages the tests need on a clean machine; .ci/run calls this when it is executable.
set -euo pipefail

# auth-mock-server: pycognito is the independent SRP client its tests sign in with
# (AUTH_REQUIRE_ALL_TESTS=1 turns its absence into a failure).
python3 -m pip install --quiet --disable-pip-version-check pycognito==2024.5.1

# `cargo xtask bench-server` drives JSON POST load with wrk.
if ! command -v wrk >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq wrk
fi
