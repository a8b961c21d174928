"""The app role and what it may do: connect to its database, read and write the tables of its schema.

Nothing else: no DDL, no roles, no other schema, no temporary tables. The statements are idempotent (a
re-run ends in the same privileges, taking back whatever was granted to the role or to PUBLIC since) and carry
no cleartext password: the role is created with a SCRAM-SHA-256 verifier computed here, so server logs and
statement history never see the password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_B64 = r"[A-Za-z0-9+/]+={0,2}"
_VERIFIER = re.compile(rf"^SCRAM-SHA-256\$\d+:{_B64}\${_B64}:{_B64}$")
SCRAM_ITERATIONS = 4096  # PostgreSQL's default (scram_iterations)


@dataclass(frozen=True)
class AppRole:
    """The role `name` in `database`, with data access to the tables of `schema`."""

    name: str
    database: str
    schema: str

    def __post_init__(self) -> None:
        for field in ("name", "database", "schema"):
            value = getattr(self, field)
            if not _IDENTIFIER.match(value):
                raise ValueError(f"{field}: {value!r} is not a lower-case SQL identifier")


def scram_sha256(password: str, *, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS) -> str:
    """PostgreSQL's stored SCRAM-SHA-256 verifier for `password` (RFC 5802/7677), as CREATE ROLE accepts it."""
    if not password or not password.isascii() or not password.isprintable():
        # SASLprep is the identity only for printable ASCII; the generated secrets are exactly that.
        raise ValueError("password: must be non-empty printable ASCII")
    salt = salt if salt is not None else os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def statements(role: AppRole, verifier: str) -> list[str]:
    """The SQL that creates `role` (if missing) and sets exactly its privileges, run by the database's owner."""
    if not _VERIFIER.match(verifier):
        raise ValueError("verifier: not a SCRAM-SHA-256 verifier")
    name, database, schema = role.name, role.database, role.schema
    return [
        # Created once, with its password; a re-run keeps the password rotation has set since.
        f"DO $create$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{name}') THEN "
        f"CREATE ROLE {name} LOGIN PASSWORD '{verifier}'; END IF; END $create$",
        # Each REVOKE takes back what was granted since (by hand, by a migration): the GRANT after it is all
        # there is. In one transaction, so the role never goes without its data access.
        # Nobody connects (or makes temporary tables) by default; the app role may connect.
        f"REVOKE ALL ON DATABASE {database} FROM PUBLIC, {name}",
        f"GRANT CONNECT ON DATABASE {database} TO {name}",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",  # PostgreSQL 15+ already does; older engines did not
        f"CREATE SCHEMA IF NOT EXISTS {schema}",
        f"REVOKE ALL ON SCHEMA {schema} FROM PUBLIC, {name}",
        f"GRANT USAGE ON SCHEMA {schema} TO {name}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM PUBLIC, {name}",  # column grants too
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {name}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM PUBLIC, {name}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {name}",
        # Tables and sequences the owner (the migrations) creates later get the same grants, and only those:
        # "Default privileges that are specified per-schema are added to whatever the global default
        # privileges are" (https://www.postgresql.org/docs/17/sql-alterdefaultprivileges.html), so both are reset.
        f"ALTER DEFAULT PRIVILEGES REVOKE ALL ON TABLES FROM PUBLIC, {name}",
        f"ALTER DEFAULT PRIVILEGES REVOKE ALL ON SEQUENCES FROM PUBLIC, {name}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON TABLES FROM PUBLIC, {name}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {name}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON SEQUENCES FROM PUBLIC, {name}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {name}",
        # For every role, so the clone that multi-user rotation creates (a member of this role) finds it too.
        f"ALTER DATABASE {database} SET search_path = {schema}, public",
    ]


def fingerprint(role: AppRole) -> str:
    """Changes whenever the statements would (for the custom resource to re-apply them on deploy)."""
    text = "\n".join(statements(role, scram_sha256("x", salt=b"\0" * 16, iterations=1)))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
