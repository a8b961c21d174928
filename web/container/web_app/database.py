"""Database settings from the environment ECS fills from the Aurora secret, and the one query."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg

REQUIRED = ("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD")
# The Amazon RDS CA certificates (web/container/certs, copied here by the Dockerfile): with verify-full the
# server must present a certificate for DB_HOST that one of them signed (RDS User Guide, Using SSL/TLS to
# encrypt a connection to a DB instance or cluster; PostgreSQL, libpq SSL support: "verify-full").
RDS_CA_BUNDLE = "/app/certs/rds-ca-bundle.pem"


class MissingSettings(RuntimeError):
    """The task started without the database secrets (a task definition error, not a transient one)."""


@dataclass(frozen=True)
class DbSettings:
    host: str
    port: int
    dbname: str
    user: str
    password: str = ""
    sslmode: str = "verify-full"  # encrypted, to the server named DB_HOST only; local tests may relax it
    sslrootcert: str = RDS_CA_BUNDLE
    connect_timeout_s: int = 20  # a paused Aurora resumes in about 15 s while the connection waits

    def __repr__(self) -> str:  # never print the password
        return f"DbSettings(host={self.host!r}, port={self.port}, dbname={self.dbname!r}, user={self.user!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DbSettings:
        env = os.environ if env is None else env
        missing = [name for name in REQUIRED if not env.get(name)]
        if missing:
            raise MissingSettings(f"missing database settings: {', '.join(missing)}")
        return cls(
            host=env["DB_HOST"],
            port=int(env["DB_PORT"]),
            dbname=env["DB_NAME"],
            user=env["DB_USER"],
            password=env["DB_PASSWORD"],
            sslmode=env.get("DB_SSLMODE", cls.sslmode),
            sslrootcert=env.get("DB_SSLROOTCERT", cls.sslrootcert),
        )


def read_status(settings: DbSettings) -> dict[str, Any]:
    """One short-lived connection: server version, time, and whether this is the writer."""
    with (
        psycopg.connect(
            host=settings.host,
            port=settings.port,
            dbname=settings.dbname,
            user=settings.user,
            password=settings.password,
            sslmode=settings.sslmode,
            sslrootcert=settings.sslrootcert,
            connect_timeout=settings.connect_timeout_s,
            application_name="web_app",
        ) as conn,
        conn.cursor() as cur,
    ):
        cur.execute("SELECT current_setting('server_version'), now(), pg_is_in_recovery(), current_database()")
        row = cur.fetchone()
        assert row is not None
        version, now, in_recovery, database = row
    return {"server_version": version, "time": now.isoformat(), "writer": not in_recovery, "database": database}
