"""make test's schedule: the tests that need one costly server form one work unit (one worker, one server)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from tests.support import assemblies, scheduling
from tests.support.synth import ROOT


def _item(nodeid: str, fixtures: list[str], requests: tuple[str, ...] = ()) -> Any:
    marks = [pytest.mark.requests(*requests).mark] if requests else []
    return SimpleNamespace(
        nodeid=nodeid,
        fixturenames=fixtures,
        iter_markers=lambda name: [m for m in marks if m.name == name],
    )


def _scheduler(run_id: str, cache: Path = Path("unused")) -> scheduling.OneServerScheduling:
    config = SimpleNamespace(getvalue=lambda name: {"tx": ["2*popen"]}[name])  # the controller's, of -n 2
    return scheduling.OneServerScheduling(cast(pytest.Config, config), None, run_id, cache)


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
        scheduling.record_group(items, run_id, set())
        scheduler = _scheduler(run_id)
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


def test_groups_go_out_first_then_tests_waiting_for_no_synth_then_the_rest_each_longest_first(tmp_path: Path) -> None:
    """So a cold run's builds synthesize while tests run, and a run ends on its quickest tests, both workers
    finishing together. A test the last run did not time goes first of its part."""
    run_id = uuid.uuid4().hex
    items = [
        _item("a.py::quick", ["synth"]),
        _item("a.py::make_diff", ["synth", "tmp_path"]),
        _item("b.py::chat", ["chat"]),
        _item("b.py::chat_again", ["chat"]),
        _item("b.py::config", []),
        _item("c.py::cli", []),
        _item("c.py::new", ["synth"]),
    ]
    waiting = {"a.py::quick", "a.py::make_diff", "b.py::chat", "b.py::chat_again", "c.py::new"}
    scheduling.record_durations(tmp_path, "gw0", {"a.py::quick": 0.01, "b.py::config": 0.02, "c.py::cli": 0.1})
    scheduling.record_durations(tmp_path, "gw1", {"a.py::make_diff": 2.1, "a.py::quick": 0.02})
    os.utime(tmp_path / "test-durations" / "gw0.json", (0, 0))  # gw0's is the older run's
    try:
        scheduling.record_group(items, run_id, waiting)
        scheduler = _scheduler(run_id, tmp_path)
        units: dict[str, dict[str, bool]] = {}
        for item in items:  # the controller's work queue: a scope's tests, in collection order
            units.setdefault(scheduler._split_scope(item.nodeid), {})[item.nodeid] = False
        recorded = scheduler._recorded()
    finally:
        scheduling.remove(run_id)
    assert set(recorded["waits_for_synth"]) == waiting
    seconds = scheduling.last_durations(tmp_path)
    assert seconds["a.py::quick"] == 0.02  # the newer file's
    assert [scope for scope, _ in scheduling.ordered(units, set(recorded["waits_for_synth"]), seconds)] == [
        scheduling.GROUP,
        "c.py::cli",
        "b.py::config",
        "c.py::new",
        "a.py::make_diff",
        "a.py::quick",
    ]


def test_only_the_tests_whose_assembly_is_not_built_yet_wait_for_a_synth(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold run sends the tests that need no synthesis first; on a warm cache every test goes by its time."""
    items = [_item("a.py::app", ["synth"]), _item("a.py::variants", ["variants"]), _item("b.py::plain", [])]
    (app,) = assemblies.recipes_for(["synth"])
    (variants,) = assemblies.recipes_for(["variants"])
    built: set[str] = set()
    monkeypatch.setattr(assemblies, "stale", lambda recipes: [r.name for r in recipes if r.name not in built])
    assert scheduling.waiting_for_synth(items) == {"a.py::app", "a.py::variants"}
    built.add(app.name)
    assert scheduling.waiting_for_synth(items) == {"a.py::variants"}
    built.add(variants.name)
    assert scheduling.waiting_for_synth(items) == set()


def test_the_controller_starts_its_workers_without_loading_the_cdk_boto3_or_psycopg() -> None:
    """Under xdist the controller imports the conftest and its plugins, then starts the workers: what it imports
    first delays every test (the CDK alone starts a Node process and costs it about half a second)."""
    probe = "import sys, tests.conftest, tests.support.function_fixtures; print(*sorted(sys.modules), sep=chr(10))"
    run = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = set(run.stdout.split())
    assert "tests.support.function_fixtures" in loaded
    assert not {"aws_cdk", "jsii", "cdk_nag", "boto3", "botocore", "psycopg"} & loaded
