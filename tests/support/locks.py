"""Read pip-compile --generate-hashes lock files."""

from __future__ import annotations

import re
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def normal(name: str) -> str:
    """A distribution name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(lock: Path) -> dict[str, tuple[str, int]]:
    """Package -> (version, number of hashes) of a lock file."""
    packages: dict[str, tuple[str, int]] = {}
    current = None
    for line in lock.read_text().splitlines():
        pin = PIN.match(line)
        if pin:
            current = normal(pin[1])
            packages[current] = (pin[2], 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, count = packages[current]
            packages[current] = (version, count + 1)
        elif not line.startswith(" "):
            current = None
    return packages
