"""The database-role custom resource's function as deployed: its asset, packages, template environment and
role, sent the provider framework's events with the template's properties, through a Data API in front of a
real PostgreSQL."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.db_roles_backend import DbRolesBackend


def test_create_makes_the_app_role_that_signs_in_with_its_secret_and_reads_its_schema(db_roles: DbRolesBackend) -> None:
    invocation = db_roles.worker.invoke(db_roles.event("Create"))
    props = db_roles.properties
    assert invocation.result == {"PhysicalResourceId": f"{props['Database']}/{props['Role']}"}
    assert set(invocation.operations()) >= {
        "GetSecretValue",
        "BeginTransaction",
        "ExecuteStatement",
        "CommitTransaction",
    }
    with db_roles.connect_as(props["AppSecretArn"]) as app:
        assert app.execute("SELECT current_user").fetchone() == (props["Role"],)
        assert app.execute("SHOW search_path").fetchone() == (f"{props['Schema']}, public",)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute("CREATE TABLE mine (id int)")


def test_update_applies_again_and_delete_leaves_the_role(db_roles: DbRolesBackend) -> None:
    physical = f"{db_roles.properties['Database']}/{db_roles.properties['Role']}"
    assert db_roles.worker.invoke(db_roles.event("Update", PhysicalResourceId=physical)).result == {
        "PhysicalResourceId": physical
    }
    deleted = db_roles.worker.invoke(db_roles.event("Delete", PhysicalResourceId=physical))
    assert deleted.result == {"PhysicalResourceId": physical} and deleted.calls == []
    with db_roles.connect_as(db_roles.properties["AppSecretArn"]) as app:
        assert app.execute("SELECT 1").fetchone() == (1,)
