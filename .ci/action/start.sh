#!/usr/bin/env bash
# Step 2 of action.yml: starts auth-mock-server in the background, waits for /_mock/health,
# and exports what its banner prints (endpoint variables, region, dummy credentials, seeded
# ids) to the rest of the job, plus AUTH_MOCK_SERVER_PID and AUTH_MOCK_SERVER_LOG.
#   INPUT_SEED, INPUT_PORT (default 9229; 0 picks a free port), INPUT_HOST, INPUT_ARGS
# Uses RUNNER_TEMP, GITHUB_ENV and GITHUB_OUTPUT as GitHub Actions sets them.
set -euo pipefail

home="${RUNNER_TEMP:?RUNNER_TEMP is not set}/auth-mock-server"
mkdir -p "$home"
ready="$home/ready.json"
log="$home/server.log"
rm -f "$ready"

args=(--host "${INPUT_HOST:-127.0.0.1}" --port "${INPUT_PORT:-9229}" --ready-file "$ready")
if [ -n "${INPUT_SEED:-}" ]; then args+=(--seed "$INPUT_SEED"); fi
# INPUT_ARGS is split on whitespace on purpose: it holds flags.
# shellcheck disable=SC2206
if [ -n "${INPUT_ARGS:-}" ]; then args+=($INPUT_ARGS); fi

nohup auth-mock-server "${args[@]}" >"$log" 2>&1 &
pid=$!

for _ in $(seq 300); do
  [ -f "$ready" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "start.sh: auth-mock-server exited:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done
[ -f "$ready" ] || { echo "start.sh: auth-mock-server did not start in 30 s" >&2; cat "$log" >&2; exit 1; }

url=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["url"])' "$ready")
healthy=""
for _ in $(seq 100); do
  if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/_mock/health", timeout=2)' "$url" 2>/dev/null; then
    healthy=yes
    break
  fi
  sleep 0.1
done
[ -n "$healthy" ] || { echo "start.sh: $url/_mock/health did not answer in 10 s" >&2; cat "$log" >&2; exit 1; }

python3 - "$ready" "$pid" "$log" <<'PY'
import json, os, sys
ready, pid, log = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
env = dict(ready["environment"], AUTH_MOCK_SERVER_PID=pid, AUTH_MOCK_SERVER_LOG=log)
with open(os.environ["GITHUB_ENV"], "a") as out:
    for name, value in env.items():
        out.write(f"{name}={value}\n")
outputs = {
    "endpoint": ready["url"],
    "pid": pid,
    "user-pool-id": env.get("COGNITO_USER_POOL_ID", ""),
    "client-id": env.get("COGNITO_CLIENT_ID", ""),
    "identity-pool-id": env.get("COGNITO_IDENTITY_POOL_ID", ""),
}
with open(os.environ["GITHUB_OUTPUT"], "a") as out:
    for name, value in outputs.items():
        out.write(f"{name}={value}\n")
print(f"auth-mock-server (pid {pid}) answers at {ready['url']}; exported: {', '.join(env)}")
PY
