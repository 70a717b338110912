#!/usr/bin/env bash
# Runs the CI recipes of docs/src/using-in-ci.md that no other script runs, so they cannot drift:
#
# - the GitLab CI job's `script` lines, taken from the guide's ```yaml block and run in one
#   bash, as GitLab runs them; the `pip install` line installs the wheel .ci/python-wheel.sh
#   built (into a virtual environment of its own), and the final `pytest` line is replaced by
#   a boto3 InitiateAuth of the demo user through the exported variables;
# - the Node example (examples/node: `npm ci`, then vitest with its globalSetup) against
#   the binary of `cargo build -p auth-mock-server`, when npm is installed.
#
# The pytest and GitHub Actions recipes are run by .ci/python-wheel.sh and .ci/action.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-target}
wheel=$(echo "$target"/ci-python/wheels/auth_mock_server-*.whl)
[ -f "$wheel" ] || { echo "guide-recipes.sh: run .ci/python-wheel.sh first (no wheel in $target/ci-python/wheels)" >&2; exit 1; }
wheel="$(cd "$(dirname "$wheel")" && pwd)/$(basename "$wheel")"  # the job runs elsewhere

work=$(mktemp -d "${TMPDIR:-/tmp}/guide-recipes.XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill -INT "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work" /tmp/cognito.json /tmp/cognito.log  # the recipe's files
}
trap cleanup EXIT

echo "== GitLab CI recipe"
python3 - docs/src/using-in-ci.md "$work/job.sh" "$wheel" <<'PY'
import re, shlex, sys
guide, out, wheel = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(guide).read()
section = text.split("## GitLab CI", 1)[1]
block = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
# The block's `script` list, one line each (no YAML library needed for this shape).
lines = [m.group(1) for m in re.finditer(r"^    - (.*)$", block, re.M)]
assert lines[0].startswith("pip install auth-mock-server"), lines[0]
assert lines[-1].startswith("pytest"), lines[-1]
lines[0] = ("python3 -m venv venv && . venv/bin/activate && "
            f"pip install --quiet --disable-pip-version-check {shlex.quote(wheel)} boto3==1.35.99")
lines[-1] = ("python3 -c 'import boto3, os; r = boto3.client(\"cognito-idp\").initiate_auth("
             "ClientId=os.environ[\"COGNITO_CLIENT_ID\"], AuthFlow=\"USER_PASSWORD_AUTH\", "
             "AuthParameters={\"USERNAME\": \"demo\", \"PASSWORD\": \"Passw0rd!\"}); "
             "print(\"signed in through\", os.environ[\"AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER\"], "
             "r[\"AuthenticationResult\"][\"TokenType\"])'")
with open(out, "w") as f:
    f.write("set -eo pipefail\n")  # what GitLab's bash runs a script with
    f.write("\n".join(lines) + "\n")
    f.write('echo "$!" > server.pid\n')
PY
rm -f /tmp/cognito.json
(cd "$work" && bash job.sh)
server_pid=$(cat "$work/server.pid")
kill -INT "$server_pid"
server_pid=""

echo "== Node example (vitest globalSetup)"
if command -v npm >/dev/null; then
  cargo build -p auth-mock-server
  binary=$(cd "$target/debug" && pwd)/auth-mock-server
  (cd examples/node && npm ci --no-audit --no-fund && AUTH_MOCK_SERVER_BINARY="$binary" npx vitest run)
elif [ "${AUTH_REQUIRE_ALL_TESTS:-}" = 1 ]; then
  echo "guide-recipes.sh: npm is not installed" >&2
  exit 1
else
  echo "npm is not installed: the Node example was not run"
fi
