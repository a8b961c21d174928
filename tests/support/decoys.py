"""Failing stand-ins for a machine's `java` and PostgreSQL, first on PATH for the whole test run.

The harness starts DynamoDB Local and PostgreSQL from the project's pinned packages (tools/toolchain.py). With
these first on PATH, a server started any other way runs a decoy, which records its name and fails: the
servers every test uses are the proof, and no test starts extra ones to show it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

NAMES = ("java", "initdb", "pg_ctl", "postgres", "pg_ctlcluster")
ENV = "CDK_TEST_DECOYS"  # the folder, for the worker processes and the test that reads the record
_created: list[Path] = []  # by this process (not inherited): removed by remove()


def install() -> Path:
    """Create the decoys once per run (xdist workers inherit them) and put them first on PATH."""
    if folder := os.environ.get(ENV):
        return Path(folder)
    folder_path = Path(tempfile.mkdtemp(prefix="cdk-test-decoys-"))
    for name in NAMES:
        decoy = folder_path / name
        decoy.write_text(f'#!/bin/sh\necho {name} >> "{ran(folder_path)}"\nexit 1\n')
        decoy.chmod(0o755)
    _created.append(folder_path)
    os.environ[ENV] = str(folder_path)
    os.environ["PATH"] = f"{folder_path}{os.pathsep}{os.environ.get('PATH', '')}"
    return folder_path


def ran(folder: Path) -> Path:
    """Where each decoy that ran wrote its name."""
    return folder / "ran"


def remove() -> None:
    """The run is over: remove the folder this process created (its workers share it)."""
    for folder in _created:
        shutil.rmtree(folder, ignore_errors=True)
