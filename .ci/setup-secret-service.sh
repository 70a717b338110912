# Starts what auth-storage's real keyring tests need: a D-Bus session bus and an unlocked
# gnome-keyring Secret Service, installing both first if they are missing (Debian or
# Ubuntu; root, or sudo).
#
# Source it, do not run it (`. .ci/setup-secret-service.sh`, as .ci/run does): it starts
# both daemons and exports DBUS_SESSION_BUS_ADDRESS (and XDG_RUNTIME_DIR if unset) for the
# commands that follow, and stops the daemons when the shell exits (unless the shell has
# an EXIT trap of its own; then call auth_secret_service_stop yourself).
#
# If they cannot be started, it says why and carries on: the real keyring tests then fail
# under AUTH_REQUIRE_ALL_TESTS=1 with the reason, as they should. The keyring lives in a
# fresh temporary directory with a throw-away password: nothing touches the user's own.
# Safe under `set -euo pipefail`.

auth_secret_service_start() {
    if ! command -v gnome-keyring-daemon >/dev/null 2>&1 \
        || ! command -v dbus-daemon >/dev/null 2>&1 \
        || ! command -v dbus-send >/dev/null 2>&1; then
        if ! command -v apt-get >/dev/null 2>&1; then
            echo "setup-secret-service: gnome-keyring and dbus are missing and apt-get is not available" >&2
            return 1
        fi
        local sudo=""
        if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
        echo "setup-secret-service: installing gnome-keyring and dbus" >&2
        $sudo apt-get update -qq >&2 \
            && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
                gnome-keyring dbus >&2 \
            || { echo "setup-secret-service: apt-get install failed" >&2; return 1; }
    fi

    local base
    base=$(mktemp -d "${TMPDIR:-/tmp}/auth-secret-service.XXXXXX") || return 1
    if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
        export XDG_RUNTIME_DIR="$base/run"
        mkdir -m 700 "$XDG_RUNTIME_DIR" || return 1
    fi

    local bus
    bus=$(dbus-daemon --session --fork --print-address=1 --print-pid=1) \
        || { echo "setup-secret-service: dbus-daemon did not start" >&2; return 1; }
    export DBUS_SESSION_BUS_ADDRESS="${bus%%$'\n'*}"
    AUTH_SECRET_SERVICE_DBUS_PID="${bus##*$'\n'}"

    # --unlock reads the password on stdin and creates (and unlocks) the login keyring,
    # which becomes the default collection the keyring crate writes to. It runs in the
    # foreground as a background job, not with --daemonize: that way its process id is
    # known, and in our trials the daemonized one twice left the bus in the middle of the
    # tests (the foreground one never did).
    printf '%s' "auth-ci-throwaway-password" \
        | XDG_DATA_HOME="$base/data" gnome-keyring-daemon --unlock --components=secrets --foreground \
            >"$base/gnome-keyring.log" 2>&1 &
    AUTH_SECRET_SERVICE_KEYRING_PID=$!

    local attempt
    for attempt in $(seq 100); do
        if dbus-send --session --print-reply --dest=org.freedesktop.DBus / \
            org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null \
            | grep -q "boolean true"; then
            echo "setup-secret-service: Secret Service ready on $DBUS_SESSION_BUS_ADDRESS" \
                "(gnome-keyring log: $base/gnome-keyring.log)" >&2
            return 0
        fi
        if ! kill -0 "$AUTH_SECRET_SERVICE_KEYRING_PID" 2>/dev/null; then
            echo "setup-secret-service: gnome-keyring-daemon exited:" >&2
            cat "$base/gnome-keyring.log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "setup-secret-service: gnome-keyring never registered org.freedesktop.secrets" >&2
    return 1
}

# Stops the two daemons started above (by their process ids, nothing else).
auth_secret_service_stop() {
    if [ -n "${AUTH_SECRET_SERVICE_KEYRING_PID:-}" ]; then
        kill "$AUTH_SECRET_SERVICE_KEYRING_PID" 2>/dev/null || true
    fi
    if [ -n "${AUTH_SECRET_SERVICE_DBUS_PID:-}" ]; then
        kill "$AUTH_SECRET_SERVICE_DBUS_PID" 2>/dev/null || true
    fi
    unset AUTH_SECRET_SERVICE_KEYRING_PID AUTH_SECRET_SERVICE_DBUS_PID
}

if auth_secret_service_start; then
    if [ -z "$(trap -p EXIT)" ]; then
        trap auth_secret_service_stop EXIT
    fi
else
    echo "setup-secret-service: WARNING: no Secret Service is running; the real keyring" \
        "tests of auth-storage will fail under AUTH_REQUIRE_ALL_TESTS=1" >&2
fi
