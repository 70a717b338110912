"""A local Amazon Cognito for tests: the ``auth-mock-server`` binary, started and stopped
from Python.

``CognitoMock.start()`` runs the binary on a free loopback port and returns once it answers;
the pytest plugin (``auth_mock_server.pytest_plugin``) wraps it in the ``cognito_mock``
fixture.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Union

__all__ = ["CognitoMock", "CognitoMockError", "binary_path"]

#: Variables pointed at the server while it runs, whatever their previous value.
ENDPOINT_VARIABLES = (
    "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
    "AWS_ENDPOINT_URL_COGNITO_IDENTITY",
    "AWS_ENDPOINT_URL_S3",
)
#: Variables set only when the environment has none, so boto3 has a region and (dummy)
#: credentials to sign administrator calls with.
DEFAULT_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


class CognitoMockError(RuntimeError):
    """The server could not be found, started or reached."""


def binary_path() -> str:
    """The ``auth-mock-server`` executable: ``$AUTH_MOCK_SERVER_BINARY``, the one this wheel
    installed next to the running interpreter, or the first on ``PATH``."""
    explicit = os.environ.get("AUTH_MOCK_SERVER_BINARY")
    if explicit:
        return explicit
    name = "auth-mock-server.exe" if sys.platform == "win32" else "auth-mock-server"
    # The interpreter's scripts directory first: a venv's pytest runs without the venv on PATH.
    beside = Path(sysconfig.get_path("scripts")) / name
    if beside.is_file():
        return str(beside)
    found = shutil.which("auth-mock-server")
    if found:
        return found
    raise CognitoMockError(
        "auth-mock-server is not installed: `pip install auth-mock-server`, or set "
        "AUTH_MOCK_SERVER_BINARY to the binary's path"
    )


class CognitoMock:
    """A running ``auth-mock-server``.

    Use ``CognitoMock.start()`` (or the ``cognito_mock`` fixture) rather than the constructor.
    ``stop()`` ends it; it is also a context manager.
    """

    def __init__(self, process: subprocess.Popen, directory: tempfile.TemporaryDirectory,
                 ready: Mapping[str, Any], control_token: Optional[str] = None) -> None:
        self._process = process
        self._directory = directory
        self._ready = ready
        self._control_token = control_token
        self._saved_environment: Optional[Dict[str, Optional[str]]] = None

    @classmethod
    def start(cls, seed: Union[str, os.PathLike, None] = None, *, host: str = "127.0.0.1",
              timeout: float = 30.0, extra_args: tuple = (),
              control_token: Optional[str] = None) -> "CognitoMock":
        """Starts the server on a free port of ``host`` (with the demo pool, or ``seed``) and
        returns once ``/_mock/health`` answers. With ``control_token`` the server requires it
        on the test-control API (``--control-token``, passed in the environment so that it
        does not show in the process list), and this object sends it."""
        directory = tempfile.TemporaryDirectory(prefix="cognito-mock-")
        ready_file = Path(directory.name) / "ready.json"
        log_path = Path(directory.name) / "server.log"
        args = [binary_path(), "--host", host, "--port", "0", "--ready-file", str(ready_file)]
        if seed is not None:
            args += ["--seed", os.fspath(seed)]
        args += list(extra_args)
        environment = dict(os.environ)
        if control_token:
            environment["AUTH_MOCK_CONTROL_TOKEN"] = control_token
        with open(log_path, "wb") as log:
            process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, env=environment)
        deadline = time.monotonic() + timeout
        try:
            while not ready_file.exists():
                if process.poll() is not None:
                    raise CognitoMockError(
                        f"auth-mock-server exited with status {process.returncode}:\n"
                        + log_path.read_text(errors="replace"))
                if time.monotonic() > deadline:
                    raise CognitoMockError(f"auth-mock-server did not start within {timeout} s")
                time.sleep(0.02)
            mock = cls(process, directory, json.loads(ready_file.read_text()), control_token)
            while True:
                try:
                    if mock._request("GET", "/_mock/health").get("ok"):
                        return mock
                except (OSError, CognitoMockError):
                    pass
                if time.monotonic() > deadline:
                    raise CognitoMockError(f"auth-mock-server did not answer within {timeout} s")
                time.sleep(0.02)
        except BaseException:
            _stop(process)
            directory.cleanup()
            raise

    # What the server printed, machine-readably (its --ready-file).

    @property
    def endpoint(self) -> str:
        """The server's URL, e.g. ``http://127.0.0.1:40123``."""
        return self._ready["url"]

    @property
    def region(self) -> str:
        """The region of pools created by unsigned requests (``us-east-1`` by default)."""
        return self._ready["region"]

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self._process.pid

    @property
    def environment(self) -> Dict[str, str]:
        """The variables the server's banner exports (endpoints, region, dummy credentials,
        seeded ids)."""
        return dict(self._ready["environment"])

    @property
    def seeded(self) -> Dict[str, Any]:
        """Ids of what the seed created: ``{"pools": [...], "identity_pools": [...]}``."""
        return self._ready.get("seeded") or {"pools": [], "identity_pools": []}

    def _variable(self, name: str) -> Optional[str]:
        return self._ready["environment"].get(name)

    @property
    def user_pool_id(self) -> Optional[str]:
        """The first seeded user pool's id (``us-east-1_DemoPool1`` for the demo seed)."""
        return self._variable("COGNITO_USER_POOL_ID")

    @property
    def client_id(self) -> Optional[str]:
        """The first seeded pool's first app client id."""
        return self._variable("COGNITO_CLIENT_ID")

    @property
    def client_secret(self) -> Optional[str]:
        """That client's secret, if it has one."""
        return self._variable("COGNITO_CLIENT_SECRET")

    @property
    def username(self) -> Optional[str]:
        """The demo user's name (``None`` with a seed file: your seed knows its users)."""
        return self._variable("COGNITO_USERNAME")

    @property
    def password(self) -> Optional[str]:
        """The demo user's password (``None`` with a seed file)."""
        return self._variable("COGNITO_PASSWORD")

    @property
    def identity_pool_id(self) -> Optional[str]:
        """The first seeded identity pool's id."""
        return self._variable("COGNITO_IDENTITY_POOL_ID")

    # The test-control API.

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self._control_token:
            headers["Authorization"] = f"Bearer {self._control_token}"
        request = urllib.request.Request(self.endpoint + path, data=data, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            if error.code == 404 and "ResourceNotFoundException" in detail:
                return None
            raise CognitoMockError(f"{method} {path}: HTTP {error.code}: {detail}") from None

    def codes(self, username: str, user_pool_id: Optional[str] = None) -> Optional[Dict[str, str]]:
        """The last code the server "sent" to ``username`` (in ``user_pool_id``, by default the
        first seeded pool): ``{"code": "123456", "purpose": "signup"}``, or ``None``."""
        pool = user_pool_id or self.user_pool_id
        if pool is None:
            raise CognitoMockError("no user pool id given and none was seeded")
        quote = urllib.parse.quote
        return self._request("GET", f"/_mock/codes/{quote(pool, safe='')}/{quote(username, safe='')}")

    def reset(self) -> None:
        """Forgets every pool, user, token, fault and counter (seeded ones included) and
        resets the server clock, as ``POST /_mock/reset`` does."""
        self._request("POST", "/_mock/reset", {})

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Any other test-control call, e.g. ``control("POST", "/_mock/clock",
        {"advance_seconds": 3600})``; answers the decoded JSON."""
        return self._request(method, path, body)

    # Environment and lifetime.

    def export_environment(self) -> None:
        """Points the AWS SDKs at the server: sets the endpoint variables, and the region
        and dummy credentials where none are set. ``restore_environment()`` undoes it."""
        if self._saved_environment is not None:
            return
        names = ENDPOINT_VARIABLES + DEFAULT_VARIABLES
        self._saved_environment = {name: os.environ.get(name) for name in names}
        for name in ENDPOINT_VARIABLES:
            os.environ[name] = self.endpoint
        for name in DEFAULT_VARIABLES:
            value = self._variable(name)
            if value is not None:
                os.environ.setdefault(name, value)

    def restore_environment(self) -> None:
        """Puts back the variables ``export_environment()`` changed."""
        saved, self._saved_environment = self._saved_environment, None
        for name, value in (saved or {}).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def stop(self) -> None:
        """Stops the server (by its process id: Ctrl-C, then a kill after 10 s) and restores
        the environment."""
        self.restore_environment()
        _stop(self._process)
        self._directory.cleanup()

    def __enter__(self) -> "CognitoMock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"CognitoMock(endpoint={self.endpoint!r}, pid={self.pid})"


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    # Ctrl-C lets the server finish open requests and write its state file, if any.
    process.send_signal(signal.SIGINT if sys.platform != "win32" else signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
