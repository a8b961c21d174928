"""The web app's database role against a real PostgreSQL: what it may do, what it may not, and that the set-up
is safe to run again. The set-up runs as a database owner with CREATEROLE and no superuser, as Aurora's admin is.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import psycopg
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from db_roles.data_api import RESUMING, DataApi
from db_roles.handler import role_password
from db_roles.roles import AppRole, scram_sha256, statements
from tests.web.container.conftest import Postgres
from web_app.database import DbSettings, read_status

PASSWORD = "app-role-password-from-its-secret"


@dataclass(frozen=True)
class Database:
    """A database owned by a non-superuser role, and the app role set up in it."""

    server: Postgres
    name: str
    owner: str
    role: AppRole

    def connect(self, user: str, password: str, dbname: str | None = None) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=self.server.host,
            port=self.server.port,
            dbname=dbname or self.name,
            user=user,
            password=password,
            autocommit=True,
        )

    def as_owner(self) -> psycopg.Connection[Any]:
        return self.connect(self.owner, PASSWORD)

    def as_app(self) -> psycopg.Connection[Any]:
        return self.connect(self.role.name, PASSWORD)

    def set_up(self, password: str = PASSWORD) -> None:
        """What the custom resource does through the Data API: every statement in one transaction."""
        with psycopg.connect(
            host=self.server.host, port=self.server.port, dbname=self.name, user=self.owner, password=PASSWORD
        ) as conn:
            for sql in statements(self.role, scram_sha256(password)):
                conn.execute(sql)  # type: ignore[arg-type]


@pytest.fixture
def database(postgres: Postgres) -> Iterator[Database]:
    suffix = uuid.uuid4().hex[:8]
    owner, name = f"owner_{suffix}", f"app_{suffix}"
    role = AppRole(name=f"user_{suffix}", database=name, schema="app")
    with psycopg.connect(
        host=postgres.host,
        port=postgres.port,
        dbname="postgres",
        user=postgres.user,
        password=postgres.password,
        autocommit=True,
    ) as admin:
        # Like Aurora's master user: creates roles and databases, owns the app's database, is no superuser.
        admin.execute(f"CREATE ROLE {owner} LOGIN CREATEROLE CREATEDB PASSWORD '{PASSWORD}'")  # type: ignore[arg-type]
        admin.execute(f"CREATE DATABASE {name} OWNER {owner}")  # type: ignore[arg-type]
        db = Database(postgres, name, owner, role)
        db.set_up()
        try:
            yield db
        finally:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")  # type: ignore[arg-type]
            # The owner last: since PostgreSQL 16 a role that granted a membership (the clone's) cannot be
            # dropped while the membership exists.
            for leftover in admin.execute(
                "SELECT rolname FROM pg_roles WHERE rolname LIKE %s OR rolname LIKE %s ORDER BY rolname = %s",
                (f"%_{suffix}", f"%_{suffix}_%", owner),
            ).fetchall():
                admin.execute(f"DROP ROLE {leftover[0]}")  # type: ignore[arg-type]


def test_the_role_logs_in_with_the_password_its_verifier_was_made_from(database: Database) -> None:
    with database.as_app() as conn:
        assert conn.execute("SELECT current_user").fetchone() == (database.role.name,)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        database.connect(database.role.name, "not-the-password")


def test_the_web_app_reads_its_status_as_the_app_role(database: Database) -> None:
    server = database.server
    settings = DbSettings(
        host=server.host,
        port=server.port,
        dbname=database.name,
        user=database.role.name,
        password=PASSWORD,
        sslmode="disable",
    )
    status = read_status(settings)
    assert (status["database"], status["writer"]) == (database.name, True)


def test_the_role_reads_and_writes_tables_the_owner_creates_later(database: Database) -> None:
    with database.as_owner() as owner:  # a migration, after the role was set up
        owner.execute("CREATE TABLE items (id serial PRIMARY KEY, name text)")  # lands in schema app
        owner.execute("INSERT INTO items (name) VALUES ('seeded')")
    with database.as_app() as app:
        app.execute("INSERT INTO items (name) VALUES ('added')")  # the sequence too
        app.execute("UPDATE items SET name = 'changed' WHERE name = 'added'")
        assert [r[0] for r in app.execute("SELECT name FROM items ORDER BY id")] == ["seeded", "changed"]
        app.execute("DELETE FROM app.items WHERE name = 'changed'")
        assert app.execute("SELECT count(*) FROM items").fetchone() == (1,)


DENIED = [
    "CREATE TABLE mine (id int)",  # search_path puts this in schema app
    "CREATE TABLE public.mine (id int)",
    "CREATE TEMPORARY TABLE scratch (id int)",
    "CREATE SCHEMA mine",
    "DROP TABLE items",
    "ALTER TABLE items ADD COLUMN extra int",
    "TRUNCATE items",
    "CREATE INDEX ON items (name)",
    "SELECT secret FROM private.keys",
    "SELECT rolpassword FROM pg_authid",
    "CREATE ROLE intruder LOGIN",
    "CREATE DATABASE another",
]


def test_the_role_cannot_change_the_schema_or_reach_beyond_its_tables(database: Database) -> None:
    with database.as_owner() as owner:
        owner.execute("CREATE TABLE items (id serial PRIMARY KEY, name text)")
        owner.execute("CREATE SCHEMA private")
        owner.execute("CREATE TABLE private.keys (secret text)")
    with database.as_app() as app:
        for sql in DENIED:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute(sql)  # type: ignore[arg-type]
                pytest.fail(f"allowed: {sql}")
        # Passing its access on is not an error, PostgreSQL only warns: the table's grants stay as they were.
        before = app.execute("SELECT relacl::text FROM pg_class WHERE oid = 'app.items'::regclass").fetchone()
        app.execute("GRANT SELECT ON items TO PUBLIC")
        assert app.execute("SELECT relacl::text FROM pg_class WHERE oid = 'app.items'::regclass").fetchone() == before
        attributes = app.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls FROM pg_roles "
            "WHERE rolname = current_user"
        ).fetchone()
        assert attributes == (False, False, False, False, False)


def test_other_roles_cannot_even_connect_to_the_apps_database(database: Database) -> None:
    with database.as_owner() as owner:
        owner.execute(f"CREATE ROLE other_{database.owner} LOGIN PASSWORD '{PASSWORD}'")  # type: ignore[arg-type]
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        database.connect(f"other_{database.owner}", PASSWORD)


def test_running_the_set_up_again_keeps_the_password_rotation_set(database: Database) -> None:
    with database.as_app() as app:
        app.execute("ALTER ROLE CURRENT_USER PASSWORD 'rotated-password'")  # what single-user rotation does
    database.set_up()  # a later deploy: the same statements with the original secret's verifier
    database.connect(database.role.name, "rotated-password").close()
    with pytest.raises(psycopg.OperationalError):
        database.connect(database.role.name, PASSWORD)


def test_the_clone_that_multi_user_rotation_creates_has_the_same_access(database: Database) -> None:
    """Secrets Manager's multi-user function creates <user>_clone as the admin and grants it the user's role."""
    clone = f"{database.role.name}_clone"
    with database.as_owner() as owner:
        owner.execute(f"CREATE ROLE {clone} WITH LOGIN PASSWORD '{PASSWORD}'")  # type: ignore[arg-type]
        owner.execute(f"GRANT {database.role.name} TO {clone}")  # type: ignore[arg-type]
        owner.execute("CREATE TABLE items (id serial PRIMARY KEY, name text)")
    with database.connect(clone, PASSWORD) as conn:
        conn.execute("INSERT INTO items (name) VALUES ('from the clone')")  # unqualified: the database's path
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (1,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE mine (id int)")


# What a role may hold on a table or a sequence (MAINTAIN from PostgreSQL 17, which Aurora runs); the ones with a
# column form are read per column too, so a grant on one column counts.
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
COLUMN_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "REFERENCES")
SEQUENCE_PRIVILEGES = ("USAGE", "SELECT", "UPDATE")
DATA_ACCESS = {"SELECT", "INSERT", "UPDATE", "DELETE"}
SEQUENCE_ACCESS = {"USAGE", "SELECT"}
# A migration, run as the admin (the database's owner; the web app connects as the app role and runs no DDL).
MIGRATION = [
    "CREATE TABLE items (id serial PRIMARY KEY, name text)",
    "CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, item int REFERENCES items)",
    "CREATE SEQUENCE order_numbers",
    "CREATE VIEW named_items AS SELECT id, name FROM items",
]


def _privileges(conn: psycopg.Connection[Any], role: str, schema: str) -> dict[str, set[str]]:
    """What `role` may do on every table, view and sequence of `schema`, however it holds it: granted to it,
    to PUBLIC or to a role it belongs to, on the whole relation or on one column."""
    table_privileges = TABLE_PRIVILEGES + (("MAINTAIN",) if conn.info.server_version >= 170000 else ())
    found: dict[str, set[str]] = {}
    relations = conn.execute(
        "SELECT c.oid, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')",
        (schema,),
    ).fetchall()
    for oid, name, kind in relations:
        checks = (
            [("has_sequence_privilege", p) for p in SEQUENCE_PRIVILEGES]
            if kind == "S"
            else [
                ("has_any_column_privilege" if p in COLUMN_PRIVILEGES else "has_table_privilege", p)
                for p in table_privileges
            ]
        )
        found[name] = {
            privilege
            for function, privilege in checks
            if conn.execute(f"SELECT {function}(%s, %s::oid, %s)", (role, oid, privilege)).fetchone() == (True,)  # type: ignore[arg-type]
        }
    return found


def _expected(relations: dict[str, set[str]], sequences: set[str]) -> dict[str, set[str]]:
    return {name: SEQUENCE_ACCESS if name in sequences else DATA_ACCESS for name in relations}


def _sequences(conn: psycopg.Connection[Any], schema: str) -> set[str]:
    rows = conn.execute("SELECT sequencename FROM pg_sequences WHERE schemaname = %s", (schema,)).fetchall()
    return {row[0] for row in rows}


def test_running_the_set_up_again_leaves_existing_tables_with_data_access_only(database: Database) -> None:
    """A later deploy on a database whose tables exist takes back what was granted on them since, to the role
    or to PUBLIC, on a table or a column, and leaves exactly SELECT, INSERT, UPDATE, DELETE on every table and
    view, USAGE and SELECT on every sequence."""
    role, schema = database.role.name, database.role.schema
    with database.as_owner() as owner:
        for sql in MIGRATION:
            owner.execute(sql)  # type: ignore[arg-type]
        # Drift: an admin's hand-made grants, and a migration's.
        owner.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA {schema} TO {role}")  # type: ignore[arg-type]
        owner.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA {schema} TO {role}")  # type: ignore[arg-type]
        owner.execute("GRANT TRUNCATE, TRIGGER ON items TO PUBLIC")
        owner.execute(f"GRANT REFERENCES (name) ON items TO {role}")  # type: ignore[arg-type]
        assert _privileges(owner, role, schema)["items"] >= {"TRUNCATE", "REFERENCES", "TRIGGER"}  # the drift took
    database.set_up()
    with database.as_owner() as owner:
        found = _privileges(owner, role, schema)
        assert set(found) == {"items", "items_id_seq", "events", "events_id_seq", "order_numbers", "named_items"}
        assert found == _expected(found, _sequences(owner, schema))
    with database.as_app() as app, pytest.raises(psycopg.errors.InsufficientPrivilege):
        app.execute("TRUNCATE items")


def test_running_the_set_up_again_resets_what_later_tables_get_by_default(database: Database) -> None:
    """Default privileges widened since (for the schema or for all of the owner's new tables, to the role or to
    PUBLIC): after a later deploy, the tables and sequences the next migration creates get data access only."""
    role, schema = database.role.name, database.role.schema
    with database.as_owner() as owner:
        owner.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT ALL ON TABLES TO {role}")  # type: ignore[arg-type]
        owner.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT ALL ON SEQUENCES TO {role}")  # type: ignore[arg-type]
        owner.execute("ALTER DEFAULT PRIVILEGES GRANT TRUNCATE, TRIGGER ON TABLES TO PUBLIC")
        owner.execute(f"ALTER DEFAULT PRIVILEGES GRANT UPDATE ON SEQUENCES TO {role}")  # type: ignore[arg-type]
    database.set_up()
    with database.as_owner() as owner:
        for sql in MIGRATION:
            owner.execute(sql)  # type: ignore[arg-type]
        found = _privileges(owner, role, schema)
        assert len(found) == len(MIGRATION) + 2  # and the sequences of items and events
        assert found == _expected(found, _sequences(owner, schema))


def test_running_the_set_up_again_takes_back_the_schema_and_database_privileges_granted_since(
    database: Database,
) -> None:
    role, schema, name = database.role.name, database.role.schema, database.name
    with database.as_owner() as owner:
        owner.execute(f"GRANT CREATE ON SCHEMA {schema} TO {role}")  # type: ignore[arg-type]
        owner.execute(f"GRANT CREATE, TEMPORARY ON DATABASE {name} TO {role}")  # type: ignore[arg-type]
    database.set_up()
    with database.as_owner() as owner:
        held = owner.execute(
            "SELECT has_schema_privilege(%(r)s, %(s)s, 'USAGE'), has_schema_privilege(%(r)s, %(s)s, 'CREATE'), "
            "has_database_privilege(%(r)s, %(d)s, 'CONNECT'), has_database_privilege(%(r)s, %(d)s, 'CREATE'), "
            "has_database_privilege(%(r)s, %(d)s, 'TEMPORARY')",
            {"r": role, "s": schema, "d": name},
        ).fetchone()
    assert held == (True, False, True, False, False)


@pytest.mark.parametrize(
    ("field", "value"), [("name", "App-User"), ("database", "app; DROP"), ("schema", "")], ids=["name", "db", "schema"]
)
def test_identifiers_that_are_not_plain_lower_case_are_refused(field: str, value: str) -> None:
    fields = {"name": "app_user", "database": "app", "schema": "app", field: value}
    with pytest.raises(ValueError, match=f"^{field}: "):
        AppRole(**fields)


def test_only_a_scram_verifier_goes_into_the_statements() -> None:
    role = AppRole(name="app_user", database="app", schema="app")
    verifier = scram_sha256(PASSWORD)
    sql = "\n".join(statements(role, verifier))
    assert PASSWORD not in sql and verifier in sql
    with pytest.raises(ValueError, match="verifier"):
        statements(role, "plain-text-password")
    with pytest.raises(ValueError, match="password"):
        scram_sha256("pässword")


# The Data API adapter and the handler's secret read, against botocore's stubs of the real API shapes.

ARNS = {"resourceArn": "arn:aws:rds:eu-west-1:123456789012:cluster:c", "secretArn": "arn:aws:secretsmanager:s"}


def _api(client: Any, sleeps: list[float]) -> DataApi:
    return DataApi(
        client,
        cluster_arn=ARNS["resourceArn"],
        secret_arn=ARNS["secretArn"],
        database="app",
        attempts=3,
        wait_s=5,
        sleep=sleeps.append,
    )


def test_the_data_api_waits_for_a_paused_cluster_and_commits_once() -> None:
    client, sleeps = boto3.client("rds-data", region_name="eu-west-1"), []
    with Stubber(client) as stub:
        stub.add_client_error("begin_transaction", RESUMING, "resuming")
        stub.add_response("begin_transaction", {"transactionId": "tx"}, {**ARNS, "database": "app"})
        for sql in ("SELECT 1", "SELECT 2"):
            stub.add_response("execute_statement", {}, {**ARNS, "database": "app", "sql": sql, "transactionId": "tx"})
        stub.add_response("commit_transaction", {"transactionStatus": "committed"}, {**ARNS, "transactionId": "tx"})
        _api(client, sleeps).run(["SELECT 1", "SELECT 2"])
        stub.assert_no_pending_responses()
    assert sleeps == [5]


def test_a_failed_statement_rolls_everything_back() -> None:
    client, sleeps = boto3.client("rds-data", region_name="eu-west-1"), []
    with Stubber(client) as stub:
        stub.add_response("begin_transaction", {"transactionId": "tx"})
        stub.add_client_error("execute_statement", "BadRequestException", "permission denied")
        stub.add_response("rollback_transaction", {"transactionStatus": "rolled back"}, {**ARNS, "transactionId": "tx"})
        with pytest.raises(ClientError, match="permission denied"):
            _api(client, sleeps).run(["GRANT nothing"])
        stub.assert_no_pending_responses()
    assert sleeps == []


def test_the_password_comes_from_the_version_that_belongs_to_the_role() -> None:
    client = boto3.client("secretsmanager", region_name="eu-west-1")

    def version(user: str, password: str) -> dict[str, Any]:
        return {"SecretString": json.dumps({"username": user, "password": password})}

    with Stubber(client) as stub:
        stub.add_response("get_secret_value", version("app_user", "first"))
        assert role_password(client, "s", "app_user") == "first"
        # After a multi-user rotation the current version is the clone's; the role's is the previous one.
        stub.add_response("get_secret_value", version("app_user_clone", "second"))
        stub.add_response("get_secret_value", version("app_user", "first"))
        assert role_password(client, "s", "app_user") == "first"
        stub.add_response("get_secret_value", version("someone", "x"))
        stub.add_client_error("get_secret_value", "ResourceNotFoundException", "no previous version")
        with pytest.raises(ValueError, match="no version of the app secret"):
            role_password(client, "s", "app_user")
