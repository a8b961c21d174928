"""Runs one test server as its child and stops it when told to (SIGTERM, SIGINT) or when the test run's
first process is gone, so a run that is killed leaves no server behind. Standard library only: it starts
in a few milliseconds.

    python tests/support/watchdog.py OWNER_PID -- COMMAND ...
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: watchdog.py OWNER_PID -- COMMAND ...", file=sys.stderr)
        return 2
    owner, command = int(argv[0]), argv[2:]
    child = subprocess.Popen(command)

    def stop(_signal: int = 0, _frame: FrameType | None = None) -> None:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while child.poll() is None:
        if not alive(owner):
            stop()
        time.sleep(0.5)
    return child.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
