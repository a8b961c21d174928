"""`make test`'s schedule: the tests that share a costly server run on one xdist worker, the rest spread.

Each worker starts a session's or module's server when its first test needs it: DynamoDB Local (a JVM: about
5 s of CPU here, and it cannot be shared, see `dynamodb_endpoint`), moto's server for the make-target tests
(its backends load on first use), PostgreSQL (initdb, then the server), the cache publisher's worker and fake
S3. With a group's tests on one worker, a run starts one of each. pytest-xdist's own `xdist_group` marker would
say the same, but with pytest 9.2 its loadgroup mode no longer sees the marks
(https://github.com/pytest-dev/pytest-xdist/issues/1386); this scheduler is that mode's, grouping by the
fixtures the tests request instead of a mark.

The controller does not collect: each worker writes each test's group (the same in every worker) to a file of
the run, which the scheduler reads once every worker has collected.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

from tests.support import assemblies

GROUP = "dynamodb-local"
FIXTURE = "dynamodb_endpoint"
MARK = "requests"  # `@pytest.mark.requests("publisher")`: a fixture the test requests at run time
# group -> the fixtures whose tests it holds (a test requesting several: the first group listed)
GROUPS: dict[str, tuple[str, ...]] = {
    GROUP: (FIXTURE, "chat", "prod_chat"),
    "moto-server": ("moto",),
    "postgresql": ("postgres", "tls_postgres", "db_roles"),
    "publisher": ("publisher", "prod_publisher", "https_publisher"),
}


def _record(run_id: str) -> Path:
    return Path(tempfile.gettempdir()) / f"cdk-tests-{run_id}-groups.json"


def group_of(item: pytest.Item) -> str | None:
    names = set(item.fixturenames).union(*(mark.args for mark in item.iter_markers(MARK)))
    return next((group for group, fixtures in GROUPS.items() if names.intersection(fixtures)), None)


def waiting_for_synth(items: Sequence[pytest.Item]) -> set[str]:
    """The tests that need an assembly not built yet for today's inputs: none on a warm cache."""
    wanted = {item.nodeid: {r.name for r in assemblies.recipes_for(item.fixturenames)} for item in items}
    unbuilt = set(assemblies.stale(assemblies.RECIPES[name] for name in set().union(*wanted.values())))
    return {nodeid for nodeid, names in wanted.items() if names & unbuilt}


def record_group(items: Sequence[pytest.Item], run_id: str, waiting: set[str]) -> None:
    """A worker's collection: each grouped test's group, and the tests that wait for a synthesis (`waiting`,
    from waiting_for_synth: in a cold run), for the controller's scheduler."""
    record = {
        "groups": {item.nodeid: group for item in items if (group := group_of(item))},
        "waits_for_synth": sorted(waiting),
    }
    path = _record(run_id)
    partial = path.with_name(f"{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(record, sort_keys=True))
    partial.replace(path)  # atomic: two workers write the same list


def _durations_folder(cache: Path) -> Path:
    return cache / "test-durations"


def record_durations(cache: Path, worker: str, seconds: dict[str, float]) -> None:
    """A worker's tests and how long each took (setup, call and teardown), for the next run's order."""
    folder = _durations_folder(cache)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{worker}.{os.getpid()}"
    partial.write_text(json.dumps(seconds, sort_keys=True))
    partial.replace(folder / f"{worker}.json")


def last_durations(cache: Path) -> dict[str, float]:
    """Each test's duration in the last run that ran it (none before a first run in this cache)."""
    found: dict[str, float] = {}
    for path in sorted(_durations_folder(cache).glob("*.json"), key=lambda p: p.stat().st_mtime):
        with contextlib.suppress(ValueError, OSError):  # a file being replaced: that worker's tests wait a run
            found.update(json.loads(path.read_text()))
    return found


def ordered(
    units: dict[str, dict[str, bool]], waits_for_synth: set[str], seconds: dict[str, float]
) -> list[tuple[str, dict[str, bool]]]:
    """The order scopes go out in: the groups (largest first, as xdist sorts them); then the other tests, those
    that wait for no synthesis first (they run while a cold run's builds synthesize what the others need; on a
    warm cache none waits), each part longest first by the last run (a test not timed yet first), so a run ends
    on tests of milliseconds and both workers finish together (a 2-second command test sent last kept one
    worker busy while the other waited)."""
    return sorted(
        units.items(),
        key=lambda unit: (unit[0] not in GROUPS, unit[0] in waits_for_synth, -seconds.get(unit[0], math.inf)),
    )


def check_grouped(request: pytest.FixtureRequest, run_id: str) -> None:
    """On a worker of `make test`'s schedule, the test that starts DynamoDB Local must be one of its group:
    another would start a second one, on the other worker."""
    if not (hasattr(request.config, "workerinput") and request.config.getoption("loadgroup", False)):
        return
    # A session fixture's request names the session; pytest names the test it runs for in the environment.
    test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
    if json.loads(_record(run_id).read_text())["groups"].get(test) != GROUP:
        pytest.fail(
            f"{test} starts DynamoDB Local but is not in its group: request `{FIXTURE}` "
            f"or mark it `{MARK}('{FIXTURE}')` (tests/support/scheduling.py)"
        )


def remove(run_id: str) -> None:
    _record(run_id).unlink(missing_ok=True)


class OneServerScheduling(LoadScopeScheduling):
    """xdist's load-scope schedule with one scope per group and one per test for the others; scopes go out
    largest first (`--loadscope-reorder`, xdist's default), so the groups start with the run."""

    def __init__(self, config: pytest.Config, log: Any, run_id: str, cache: Path) -> None:
        super().__init__(config, log)
        self._run_id = run_id
        self._cache = cache
        self._collected: dict[str, Any] | None = None

    def _recorded(self) -> dict[str, Any]:
        if self._collected is None:
            try:
                self._collected = json.loads(_record(self._run_id).read_text())
            except FileNotFoundError:  # no worker recorded one (a collection error): plain per-test scopes
                self._collected = {"groups": {}, "waits_for_synth": []}
        return self._collected

    def _split_scope(self, nodeid: str) -> str:
        return str(self._recorded()["groups"].get(nodeid, nodeid))

    def schedule(self) -> None:
        initial = self.collection is None
        super().schedule()  # the first units went out: each worker's largest group
        if initial and self.workqueue:
            units = ordered(dict(self.workqueue), set(self._recorded()["waits_for_synth"]), last_durations(self._cache))
            self.workqueue.clear()
            self.workqueue.update(units)
