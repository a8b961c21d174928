"""make test's schedule: the tests that need one costly server form one work unit (one worker, one server)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any, cast

import pytest

from tests.support import scheduling


def _item(nodeid: str, fixtures: list[str], requests: tuple[str, ...] = ()) -> Any:
    marks = [pytest.mark.requests(*requests).mark] if requests else []
    return SimpleNamespace(
        nodeid=nodeid,
        fixturenames=fixtures,
        iter_markers=lambda name: [m for m in marks if m.name == name],
    )


def test_the_tests_that_need_a_server_are_one_scope_per_server_and_every_other_test_its_own() -> None:
    run_id = uuid.uuid4().hex
    items = [
        _item("a.py::uses", ["synth", scheduling.FIXTURE]),
        _item("a.py::other", ["synth"]),
        _item("b.py::marked", ["request"], requests=("prod_chat",)),
        _item("b.py::publisher", ["request"], requests=("publisher",)),
        _item("b.py::plain", []),
        _item("c.py::make", ["recorded", "moto", "tmp_path"]),
        _item("c.py::database", ["tls_postgres", "postgres"]),
        _item("c.py::roles", ["db_roles"]),
    ]
    try:
        scheduling.record_group(items, run_id)
        config = SimpleNamespace(getvalue=lambda name: {"tx": ["2*popen"]}[name])  # the controller's, of -n 2
        scheduler = scheduling.OneServerScheduling(cast(pytest.Config, config), None, run_id)
        scopes = {item.nodeid: scheduler._split_scope(item.nodeid) for item in items}
    finally:
        scheduling.remove(run_id)
    assert scopes == {
        "a.py::uses": scheduling.GROUP,
        "a.py::other": "a.py::other",
        "b.py::marked": scheduling.GROUP,
        "b.py::publisher": "publisher",
        "b.py::plain": "b.py::plain",
        "c.py::make": "moto-server",
        "c.py::database": "postgresql",
        "c.py::roles": "postgresql",
    }
