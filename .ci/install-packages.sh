#!/usr/bin/env bash
# Packages the tests need on a clean machine; .ci/run calls this when it is executable.
set -euo pipefail

# auth-mock-server: pycognito is the independent SRP client its tests sign in with
# (AUTH_REQUIRE_ALL_TESTS=1 turns its absence into a failure).
python3 -m pip install --quiet --disable-pip-version-check pycognito==2024.5.1

# auth-mock-server: amazon-cognito-identity-js, the JavaScript client its tests also sign in
# with (SRP, refresh, GetUser), installed globally; the test finds it through `npm root -g`.
if ! command -v npm >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq nodejs npm
fi
npm install --global --silent --no-audit --no-fund amazon-cognito-identity-js@6.3.21

# `cargo xtask bench-server` drives JSON POST load with wrk.
if ! command -v wrk >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq wrk
fi

# auth-mock-server: the hosted-UI browser test drives headless Chromium through chromedriver
# (AUTH_REQUIRE_ALL_TESTS=1 turns their absence into a failure).
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver
fi
