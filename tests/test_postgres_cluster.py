"""tests/support/postgres.py: initdb runs once per server binary; each server runs on a copy of that cluster."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
import pytest

from tests.support import postgres as support
from tests.support.postgres import Postgres, postgres_server
from tools import toolchain


def _tables(server: Postgres) -> set[str]:
    with psycopg.connect(**server.params()) as conn:  # type: ignore[arg-type]
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {name for (name,) in rows}


def test_servers_share_the_cluster_initdb_made_but_not_their_data(postgres: Postgres) -> None:
    with psycopg.connect(**postgres.params(), autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute("CREATE TABLE IF NOT EXISTS written_by_the_session_server (id int)")
    with postgres_server() as other:
        assert "written_by_the_session_server" not in _tables(other)
    assert "written_by_the_session_server" in _tables(postgres)
    # Both came from the cluster in the cache, which no server runs on.
    initdb = str(toolchain.postgres_bin("initdb"))
    template = support._initialized(initdb, lambda *args: pytest.fail(f"initdb ran again: {args}"))
    assert (template / "PG_VERSION").is_file() and not (template / "postmaster.pid").exists()


def test_initdb_runs_once_per_cache_and_a_failure_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDK_TEST_CACHE", str(tmp_path))
    calls: list[tuple[str, ...]] = []

    def fake_initdb(*args: str) -> subprocess.CompletedProcess[str]:
        calls.append(args)
        data = Path(args[args.index("-D") + 1])
        data.mkdir(mode=0o700)
        (data / "PG_VERSION").write_text("17\n")
        return subprocess.CompletedProcess(args, 0, "", "")

    initdb = str(toolchain.postgres_bin("initdb"))
    first = support._initialized(initdb, fake_initdb)
    assert support._initialized(initdb, fake_initdb) == first and len(calls) == 1
    assert first.is_relative_to(tmp_path) and (first / "PG_VERSION").read_text() == "17\n"
    assert [p.name for p in first.parent.iterdir()] == [first.name]  # nothing half-built left beside it

    monkeypatch.setenv("CDK_TEST_CACHE", str(tmp_path / "other"))
    failed = subprocess.CompletedProcess((), 1, "", "initdb: error: could not create directory")
    with pytest.raises(support.PostgresUnavailable, match="initdb failed: initdb: error"):
        support._initialized(initdb, lambda *args: failed)
    assert not any((tmp_path / "other" / "postgres").iterdir())
