#!/usr/bin/env bash
# Builds the auth-mock-server wheel with maturin (the release binary plus the pytest plugin),
# installs it into a fresh virtual environment with pytest, boto3 and pycognito, and runs
# python/tests against it: the `cognito_mock` fixture, boto3 through the endpoint
# variables, pycognito's SRP sign-in, a seed file.
#
# Leaves the wheel in $target/ci-python/wheels for .ci/action.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-target}
root="$target/ci-python"
rm -rf "$root/test-venv" "$root/wheels"

# maturin lives in a build environment of its own, kept between runs.
if [ ! -x "$root/build-venv/bin/maturin" ]; then
  python3 -m venv "$root/build-venv"
  "$root/build-venv/bin/python" -m pip install --quiet --disable-pip-version-check "maturin>=1.5,<2"
fi
(cd python && "../$root/build-venv/bin/maturin" build --release --locked --out "../$root/wheels")
wheel=$(echo "$root"/wheels/auth_mock_server-*.whl)

# A fresh environment, as a user's project would have.
python3 -m venv "$root/test-venv"
"$root/test-venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "$wheel" pytest==8.3.4 boto3==1.35.99 pycognito==2024.5.1
"$root/test-venv/bin/python" -m pytest -q -p no:cacheprovider python/tests
