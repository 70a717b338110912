#!/usr/bin/env bash
# Runs action.yml's steps (.ci/action/*.sh) as a GitHub Actions runner would: a fresh
# RUNNER_TEMP, GITHUB_PATH, GITHUB_ENV and GITHUB_OUTPUT files, the inputs as INPUT_*
# variables, the wheel .ci/python-wheel.sh built. Then checks what a later step of the job
# would see: the server on PATH, the exported variables, a Cognito call through them.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-target}
runner=$(mktemp -d "${TMPDIR:-/tmp}/auth-action.XXXXXX")
cleanup() {
  if [ -n "${AUTH_MOCK_SERVER_PID:-}" ]; then kill -INT "$AUTH_MOCK_SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$runner"
}
trap cleanup EXIT
export RUNNER_TEMP="$runner/temp" GITHUB_PATH="$runner/path" GITHUB_ENV="$runner/env" \
  GITHUB_OUTPUT="$runner/output"
mkdir -p "$RUNNER_TEMP"
touch "$GITHUB_PATH" "$GITHUB_ENV" "$GITHUB_OUTPUT"

# Every `run:` of action.yml is one of the scripts run here.
grep -q 'run: bash "$GITHUB_ACTION_PATH/.ci/action/install.sh"' action.yml
grep -q 'run: bash "$GITHUB_ACTION_PATH/.ci/action/start.sh"' action.yml
[ "$(grep -c '^ *run:' action.yml)" = 2 ]

cat >"$runner/seed.toml" <<'TOML'
[[pools]]
name = "action"
id = "us-east-1_ActionPool1"

[[pools.clients]]
name = "web"
id = "actionclient00000000000001"

[[pools.users]]
username = "ada"
password = "Ada-Passw0rd!"

[[identity_pools]]
name = "action-identities"
allow_unauthenticated = true
user_pools = [{ pool = "action", client = "web" }]
TOML

INPUT_INSTALL=wheel INPUT_WHEEL=$(echo "$target"/ci-python/wheels/auth_mock_server-*.whl) \
  bash .ci/action/install.sh
PATH="$(cat "$GITHUB_PATH"):$PATH"
INPUT_SEED="$runner/seed.toml" INPUT_PORT=0 INPUT_HOST=127.0.0.1 INPUT_ARGS="--region eu-west-1" \
  bash .ci/action/start.sh

# A later step: the job's environment has the variables.
set -a
# shellcheck source=/dev/null
. "$GITHUB_ENV"
set +a
cat "$GITHUB_OUTPUT"
grep -q '^user-pool-id=us-east-1_ActionPool1$' "$GITHUB_OUTPUT"
grep -q '^identity-pool-id=.' "$GITHUB_OUTPUT"
[ "$AWS_DEFAULT_REGION" = eu-west-1 ]
[ "$AWS_ENDPOINT_URL_COGNITO_IDENTITY" = "$AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER" ]
command -v auth-mock-server
python3 - <<'PY'
import json, os, urllib.request

def call(endpoint, target, body):
    request = urllib.request.Request(endpoint, data=json.dumps(body).encode(), headers={
        "X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)

auth = call(os.environ["AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"],
            "AWSCognitoIdentityProviderService.InitiateAuth",
            {"ClientId": os.environ["COGNITO_CLIENT_ID"], "AuthFlow": "USER_PASSWORD_AUTH",
             "AuthParameters": {"USERNAME": "ada", "PASSWORD": "Ada-Passw0rd!"}})
assert "IdToken" in auth["AuthenticationResult"], auth
identity = call(os.environ["AWS_ENDPOINT_URL_COGNITO_IDENTITY"], "AWSCognitoIdentityService.GetId",
                {"IdentityPoolId": os.environ["COGNITO_IDENTITY_POOL_ID"]})
assert identity["IdentityId"].startswith("eu-west-1:"), identity  # --region reached the server
print("through the exported variables: a sign-in and a guest identity", identity["IdentityId"])
PY
