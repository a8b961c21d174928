"""Fixtures for the container apps: importable like inside their image, and a real PostgreSQL on 127.0.0.1."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.support.postgres import Postgres, PostgresUnavailable, postgres_server

__all__ = ["WEB_APP_ROOT", "Postgres", "postgres"]

ROOT = Path(__file__).resolve().parents[2]
WEB_APP_ROOT = ROOT / "containers" / "web"
if str(WEB_APP_ROOT) not in sys.path:
    sys.path.insert(0, str(WEB_APP_ROOT))


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A throwaway PostgreSQL server with password (SCRAM) auth and a database `app` (TLS off locally).

    Skips (with the reason) when the server cannot run here, e.g. no binaries: `apt-get install -y postgresql`.
    """
    with ExitStack() as stack:
        try:
            running = stack.enter_context(postgres_server())
        except PostgresUnavailable as error:
            pytest.skip(str(error))
        yield running
