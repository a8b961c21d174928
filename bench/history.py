"""A measurement's run history: one JSON list per measurement in reports/, newest last, the newest kept."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any


def read(path: Path) -> list[dict[str, Any]]:
    """The recorded runs, oldest first (none before the first)."""
    return json.loads(path.read_text()) if path.exists() else []  # type: ignore[no-any-return]


def up_to(path: Path, at: str) -> list[dict[str, Any]]:
    """The runs recorded up to `at` (a remodelled report's own run and those before it)."""
    return [run for run in read(path) if run["at"] <= at]


def append(path: Path, entry: dict[str, Any], keep: int) -> list[dict[str, Any]]:
    """Append one run to the history file (the newest `keep` are kept); returns the history."""
    history = [*read(path), entry][-keep:]
    path.write_text(json.dumps(history, indent=2) + "\n")
    return history


def stamp() -> str:
    """When a run ended, as the histories record it (UTC)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
