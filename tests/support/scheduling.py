"""`make test`'s schedule: every test that needs DynamoDB Local runs on one xdist worker, the rest spread.

Each worker starts its own DynamoDB Local when its first test needs it (a JVM: about 5 s of CPU here, and it
cannot be shared, see `dynamodb_endpoint`), and its own instances of the functions those tests run. With the
tests on one worker, a run starts one. pytest-xdist's own `xdist_group` marker would say the same, but with
pytest 9.2 its loadgroup mode no longer sees the marks (https://github.com/pytest-dev/pytest-xdist/issues/1386);
this scheduler is that mode's, grouping by the fixture the tests request instead of a mark.

The controller does not collect: each worker writes the ids of the tests that request the fixture (the same in
every worker) to a file of the run, which the scheduler reads once every worker has collected.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

GROUP = "dynamodb-local"
FIXTURE = "dynamodb_endpoint"
MARK = "dynamodb_local"  # a test that requests the fixture through another, chosen at run time


def _record(run_id: str) -> Path:
    return Path(tempfile.gettempdir()) / f"cdk-tests-{run_id}-{GROUP}.json"


def record_group(items: Sequence[pytest.Item], run_id: str) -> None:
    """A worker's collection: the ids of the tests that request the fixture, for the controller's scheduler."""
    ids = sorted(item.nodeid for item in items if FIXTURE in item.fixturenames or item.get_closest_marker(MARK))
    path = _record(run_id)
    partial = path.with_name(f"{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(ids))
    partial.replace(path)  # atomic: two workers write the same list


def check_grouped(request: pytest.FixtureRequest, run_id: str) -> None:
    """On a worker of `make test`'s schedule, the test that starts the server must be one of the group: another
    would start a second one, on the other worker."""
    if not (hasattr(request.config, "workerinput") and request.config.getoption("loadgroup", False)):
        return
    # A session fixture's request names the session; pytest names the test it runs for in the environment.
    test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
    if test not in json.loads(_record(run_id).read_text()):
        pytest.fail(
            f"{test} starts DynamoDB Local but is not in its group: request `{FIXTURE}` "
            f"or mark it `{MARK}` (tests/support/scheduling.py)"
        )


def remove(run_id: str) -> None:
    _record(run_id).unlink(missing_ok=True)


class OneServerScheduling(LoadScopeScheduling):
    """xdist's load-scope schedule with one scope for the group and one per test for the others; scopes go out
    largest first (`--loadscope-reorder`, xdist's default), so the group starts with the run."""

    def __init__(self, config: pytest.Config, log: Any, run_id: str) -> None:
        super().__init__(config, log)
        self._run_id = run_id
        self._group: frozenset[str] | None = None

    def group(self) -> frozenset[str]:
        if self._group is None:
            try:
                self._group = frozenset(json.loads(_record(self._run_id).read_text()))
            except FileNotFoundError:  # no worker recorded one (a collection error): plain per-test scopes
                self._group = frozenset()
        return self._group

    def _split_scope(self, nodeid: str) -> str:
        return GROUP if nodeid in self.group() else nodeid
