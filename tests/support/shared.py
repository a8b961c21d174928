"""Servers shared by every process of one pytest run (its xdist workers): started once, stopped at its end.

The first process that needs a server starts it under a lock and records where it listens; the others
read that. A server runs in a session of its own under tests/support/watchdog.py, so it outlives the worker
that started it and still stops with the run: the run's first process (the one pytest-xdist starts the
workers from, or the only one) stops every server at its end, and the watchdog stops it should that
process die first.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from tests.support.assemblies import run_id

OWNER_ENV = "CDK_TEST_RUN_OWNER"
WATCHDOG = Path(__file__).with_name("watchdog.py")  # by path: it runs from the server's own folder


def claim_run() -> None:
    """Called by every process of the run first thing; only the first one becomes the owner."""
    run_id()
    os.environ.setdefault(OWNER_ENV, str(os.getpid()))


def is_owner() -> bool:
    return os.environ.get(OWNER_ENV) == str(os.getpid())


def run_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"cdk-tests-{run_id()}"


def shared_server(name: str, launch: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """What `launch` returned for server `name` when the first process of the run called it (with a folder
    for the server's files); `launch` starts the server with `watched` and returns once it answers."""
    folder = run_dir()
    folder.mkdir(exist_ok=True)
    state = folder / f"{name}.json"
    with open(folder / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if state.exists():
            return dict(json.loads(state.read_text()))
        info = launch(folder)
        state.write_text(json.dumps(info))
        return info


def watched(command: list[str], log: IO[bytes], **options: Any) -> subprocess.Popen[bytes]:
    """Start `command` under the watchdog, in a session of its own; record the watchdog's pid as "pid"."""
    return subprocess.Popen(
        [sys.executable, str(WATCHDOG), os.environ[OWNER_ENV], "--", *command],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        **options,
    )


def stop_servers() -> None:
    """The owner, at the end of the run: stop every server it or its workers started, remove their files."""
    folder = run_dir()
    for state in folder.glob("*.json"):
        pid = int(json.loads(state.read_text())["pid"])
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)  # the watchdog and the server: one session, one group
        deadline = time.monotonic() + 15
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _running(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
    shutil.rmtree(folder, ignore_errors=True)


def _running(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):  # reap it if it is our child, else it is init's
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
