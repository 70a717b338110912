"""pytest plugin of the ``auth-mock-server`` wheel (entry point ``pytest11``).

Fixture ``cognito_mock`` (session scope): a local Cognito on a free port, with the demo pool
or the seed file given by ``--cognito-mock-seed`` / the ``cognito_mock_seed`` ini option.
While it runs the AWS SDKs (boto3) are pointed at it through
``AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`` and ``AWS_ENDPOINT_URL_COGNITO_IDENTITY``.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from . import CognitoMock


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cognito-mock", "auth-mock-server (a local Amazon Cognito)")
    group.addoption(
        "--cognito-mock-seed",
        dest="cognito_mock_seed",
        default=None,
        metavar="FILE",
        help="start the cognito_mock fixture's server with this seed file (TOML, or JSON) "
        "instead of the demo pool",
    )
    parser.addini(
        "cognito_mock_seed",
        "seed file of the cognito_mock fixture's server (relative to the rootdir)",
        type="string",
        default="",
    )


@pytest.fixture(scope="session")
def cognito_mock(pytestconfig: pytest.Config) -> Iterator[CognitoMock]:
    """A running local Cognito for the whole session; see ``auth_mock_server.CognitoMock``."""
    seed = pytestconfig.getoption("cognito_mock_seed")
    if not seed:
        ini = pytestconfig.getini("cognito_mock_seed")
        seed = str(pytestconfig.rootpath / ini) if ini else None
    mock = CognitoMock.start(seed=seed)
    mock.export_environment()
    try:
        yield mock
    finally:
        mock.stop()
