"""A real PostgreSQL on 127.0.0.1 for the tests that need one (the web container's app, the app role set-up)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.servers import free_port


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    dbname: str
    user: str
    password: str

    def env(self, **changes: str) -> dict[str, str]:
        """The variables ECS fills from the Aurora secret, pointing at this server (TLS off locally)."""
        values = {
            "DB_HOST": self.host,
            "DB_PORT": str(self.port),
            "DB_NAME": self.dbname,
            "DB_USER": self.user,
            "DB_PASSWORD": self.password,
            "DB_SSLMODE": "disable",
        }
        return {**values, **changes}


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A throwaway PostgreSQL server with password (SCRAM) auth and a database `app`.

    The server refuses to run as root, so as root it runs as the `postgres` system user. Skips (with
    the reason) when no server binaries are installed: `apt-get install -y postgresql`.
    """
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries not found (install with: apt-get install -y postgresql)")
    as_user: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="web-app-pg-"))
    if os.geteuid() == 0:
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser; PostgreSQL refuses to run as root")
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(workdir, "postgres", "postgres")
    password = "local-test-password"
    pwfile = workdir / "pw"
    pwfile.write_text(password + "\n")
    if as_user:
        shutil.chown(pwfile, "postgres", "postgres")
    data, port = workdir / "data", free_port()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*as_user, *args], capture_output=True, text=True, check=False, timeout=60)

    init = run(initdb, "-D", str(data), "-U", "app", "--auth=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8")
    if init.returncode != 0:
        shutil.rmtree(workdir, ignore_errors=True)
        pytest.skip(f"initdb failed: {init.stderr.strip()[-300:]}")
    options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1"
    start = run(pg_ctl, "-D", str(data), "-o", options, "-l", str(workdir / "log"), "-w", "-t", "30", "start")
    if start.returncode != 0:
        log = (workdir / "log").read_text() if (workdir / "log").exists() else start.stderr
        shutil.rmtree(workdir, ignore_errors=True)
        pytest.skip(f"PostgreSQL did not start: {log.strip()[-300:]}")
    try:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=port, dbname="postgres", user="app", password=password, autocommit=True
        ) as conn:
            conn.execute("CREATE DATABASE app")
        yield Postgres(host="127.0.0.1", port=port, dbname="app", user="app", password=password)
    finally:
        run(pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(workdir, ignore_errors=True)
