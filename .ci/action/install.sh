#!/usr/bin/env bash
# Step 1 of action.yml: installs auth-mock-server and puts it on the job's PATH.
#   INPUT_INSTALL  pip (default) | cargo | wheel | none
#   INPUT_VERSION  a version, or empty for the newest
#   INPUT_WHEEL    the wheel file for INPUT_INSTALL=wheel
# Uses RUNNER_TEMP and GITHUB_PATH as GitHub Actions sets them.
set -euo pipefail

home="${RUNNER_TEMP:?RUNNER_TEMP is not set}/auth-mock-server"
mkdir -p "$home"
version="${INPUT_VERSION:-}"

case "${INPUT_INSTALL:-pip}" in
  pip|wheel)
    # A virtual environment of its own: the runner's Python may be externally managed.
    python3 -m venv "$home/venv"
    if [ "${INPUT_INSTALL:-pip}" = wheel ]; then
      package="${INPUT_WHEEL:?install: wheel needs the wheel input}"
    else
      package="auth-mock-server${version:+==$version}"
    fi
    "$home/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$package"
    bin="$home/venv/bin"
    ;;
  cargo)
    cargo install --locked --root "$home/cargo" auth-mock-server ${version:+--version "$version"}
    bin="$home/cargo/bin"
    ;;
  none)
    bin=""
    ;;
  *)
    echo "install.sh: unknown install method '${INPUT_INSTALL}' (pip, cargo, wheel or none)" >&2
    exit 2
    ;;
esac

if [ -n "$bin" ]; then
  echo "$bin" >>"${GITHUB_PATH:?GITHUB_PATH is not set}"
  export PATH="$bin:$PATH"
fi
echo "installed: $(auth-mock-server --version)"
