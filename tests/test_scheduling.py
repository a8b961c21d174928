"""make test's schedule: the tests that need DynamoDB Local form one work unit (one worker, one server)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any, cast

import pytest

from tests.support import scheduling


def _item(nodeid: str, fixtures: list[str], mark: bool = False) -> Any:
    return SimpleNamespace(
        nodeid=nodeid,
        fixturenames=fixtures,
        get_closest_marker=lambda name: object() if mark and name == scheduling.MARK else None,
    )


def test_the_tests_that_need_the_server_are_one_scope_and_every_other_test_its_own() -> None:
    run_id = uuid.uuid4().hex
    items = [
        _item("a.py::uses", ["synth", scheduling.FIXTURE]),
        _item("a.py::other", ["synth"]),
        _item("b.py::marked", ["request"], mark=True),
        _item("b.py::plain", []),
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
        "b.py::plain": "b.py::plain",
    }
