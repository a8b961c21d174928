"""Session fixtures: the synthesized app and its variants (built once per set of inputs, in the background)."""

from __future__ import annotations

import contextlib
import gc
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
# pytest keeps each test module's rewritten code in __pycache__ (ignored by git) and reads it back next run; with
# PYTHONDONTWRITEBYTECODE set it never writes it, and every worker rewrites every module on every run (about
# 1.7 s of CPU each). This process only: the commands and functions the tests start keep the environment given.
sys.dont_write_bytecode = False
# Every <architecture>/runtime/<bundle> folder is importable as its package, as it is inside Lambda.
sys.path.insert(0, str(ROOT))
from shared.bundles import bundle_dirs  # noqa: E402 (stdlib only)

for bundle in bundle_dirs().values():
    if str(bundle) not in sys.path:
        sys.path.insert(0, str(bundle))
# The project's Node 22 first, as in the Makefile, so running pytest directly shows no Node banner either.
node_bin = ROOT / "node_modules" / ".bin"
if node_bin.is_dir() and not os.environ.get("PATH", "").startswith(str(node_bin)):
    os.environ["PATH"] = f"{node_bin}{os.pathsep}{os.environ.get('PATH', '')}"
# A deprecated CDK API used anywhere fails the synth (and so the suite).
os.environ.setdefault("JSII_DEPRECATED", "fail")

from tests.support import assemblies, decoys, scheduling  # noqa: E402
from tests.support.postgres import postgres  # noqa: E402, F401 (one server per session, for every folder)
from tests.support.servers import dynamodb_local  # noqa: E402
from tests.support.synth import Synthesized, synthesized  # noqa: E402

# Each function run as deployed, for the handler tests of every architecture (and the cross-function ones).
pytest_plugins = ["tests.support.function_fixtures"]

E2E = ROOT / "tests" / "e2e"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--e2e", action="store_true", help="run tests/e2e: start LocalStack, deploy, test over HTTP (make test-e2e)"
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """tests/e2e runs only when asked (--e2e, or named on the command line): it deploys to LocalStack."""
    if collection_path != E2E and E2E not in collection_path.parents:
        return None
    asked = config.getoption("--e2e") or any(
        Path(arg.split("::")[0]).resolve() == E2E or E2E in Path(arg.split("::")[0]).resolve().parents
        for arg in config.args
    )
    return None if asked else True


def pytest_configure(config: pytest.Config) -> None:
    assemblies.run_id()  # before pytest-xdist starts its workers: they inherit it and the decoys
    if not config.getoption("--e2e"):  # LocalStack finds its Java through its own folder, not PATH
        decoys.install()


# Each xdist worker starts the servers its tests need (session fixtures, one of each a worker); `make test`'s
# schedule (tests/support/scheduling.py) puts the tests of each costly server (DynamoDB Local among them) on one
# worker.
_builders: list[subprocess.Popen[bytes]] = []
_servers = contextlib.ExitStack()  # this process's DynamoDB Local, stopped at the end of its session
_dynamodb: list[str] = []
_dynamodb_lock = threading.Lock()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that wait for no synthesis first (an app not built yet for today's inputs): they run while the
    background builds synthesize it; then the long ones (marked slow), so that they do not start last, with one
    worker left to run them. On a warm cache no test waits, and make test's schedule orders them all by time."""
    waiting = scheduling.waiting_for_synth(items)
    items.sort(key=lambda item: (item.nodeid in waiting, item.get_closest_marker("slow") is None))
    if hasattr(config, "workerinput"):
        scheduling.record_group(items, assemblies.run_id(), waiting)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> scheduling.OneServerScheduling | None:
    """`--dist loadgroup` (make test): each server's group of tests on one worker; other modes as xdist has them."""
    if config.getvalue("dist") != "loadgroup":
        return None
    return scheduling.OneServerScheduling(config, log, assemblies.run_id(), assemblies.cache_root())


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the syntheses and servers the collected tests need, in the background, while the others run."""
    if session.config.option.collectonly:
        return
    gc.freeze()  # the modules and the collected tests stay to the end: no collection need walk them again
    fixtures = {name for item in session.items for name in item.fixturenames}
    _builders.extend(assemblies.prefetch(assemblies.recipes_for(fixtures)))
    # The JVM starts while the first tests run; under xdist each worker starts its own when its first test needs
    # it (every worker collects every test, and a JVM started for nothing costs seconds).
    if "dynamodb_endpoint" in fixtures and not hasattr(session.config, "workerinput"):
        threading.Thread(target=_quietly, args=(_dynamodb_local,), daemon=True).start()


def _quietly(start: Callable[[], object]) -> None:
    with contextlib.suppress(Exception):  # the fixture starts it again, and reports why it could not
        start()


def _dynamodb_local() -> str:
    with _dynamodb_lock:
        if not _dynamodb:
            _dynamodb.append(_servers.enter_context(dynamodb_local()))
        return _dynamodb[0]


_durations: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    worker = getattr(session.config, "workerinput", {}).get("workerid")
    if worker and session.config.getoption("loadgroup", False):  # for the next run's order (scheduling.ordered)
        scheduling.record_durations(assemblies.cache_root(), worker, _durations)
    with _dynamodb_lock:  # a start under way finishes first, so its server is stopped too
        _servers.close()
    for builder in _builders:  # usually long done: a test waited for its result
        try:
            builder.wait(timeout=300)
        except subprocess.TimeoutExpired:
            builder.kill()
            builder.wait()


def pytest_unconfigure(config: pytest.Config) -> None:
    """The run is over; what is left is the interpreter's exit, whose collections walk every object the session
    made (the templates, the CDK's proxies): over a second per xdist worker, which the run waits for. Frozen
    objects are ignored "in all the future collections" (https://docs.python.org/3/library/gc.html#gc.freeze)."""
    decoys.remove()
    if not hasattr(config, "workerinput"):
        scheduling.remove(assemblies.run_id())
    gc.freeze()


@pytest.fixture(scope="session")
def dynamodb_endpoint(request: pytest.FixtureRequest) -> str:
    """This worker's DynamoDB Local, in memory, for the session. Never one shared by two workers: DynamoDB Local's
    streams refuse a read (TrimmedDataAccessException) when another table's stream was written to after the
    reader's LATEST iterator was taken, so two workers' tables cannot share one."""
    scheduling.check_grouped(request, assemblies.run_id())
    return _dynamodb_local()


def _for_the_session(recipe: str) -> Synthesized:
    """A recipe's assembly, whose templates live for the session and are only read: out of the collector's way
    (gc.freeze: "ignored in all the future collections"), which otherwise walks them on every full collection."""
    found = synthesized(recipe)
    gc.freeze()
    return found


@pytest.fixture(scope="session")
def synth() -> Synthesized:
    """The app as `cdk synth` builds it: every stack of every stage."""
    return _for_the_session("app")


@pytest.fixture(scope="session")
def variants() -> Synthesized:
    """Stages with settings no shipped stage uses (tests/support/variants.py)."""
    return _for_the_session("variants")


@pytest.fixture(scope="session")
def canary() -> Synthesized:
    """A small app with constructs the quality gates must flag (tests/support/variants.py)."""
    return _for_the_session("canary")


@pytest.fixture(scope="session")
def test_apps() -> dict[str, Any]:
    """The rule tests' test apps and their findings, by module (tests/support/readiness.py)."""
    folder, facts = assemblies.assembly_folder("test_apps")
    return {**facts, "outdir": str(folder)}
