"""A measurement's run history: one JSON list per measurement in reports/, newest last, the newest kept."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
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


def last_runs(history: list[dict[str, Any]], names: Iterable[str], count: int) -> dict[str, Any]:
    """The last `count` runs and, per name every one of them holds, their lowest and highest (the worst)."""
    runs = history[-count:]
    spread: dict[str, Any] = {"runs": runs}
    for name in names:
        values = [run[name] for run in runs if name in run]
        if values and len(values) == len(runs):
            spread[name] = [min(values), max(values)]
    return spread


def spread_text(across: dict[str, Any], name: str, unit: str = "x", before: str = " (", after: str = ")") -> str:
    """ "(last 3 runs 4.11-4.71x, the worst decides)": the spread a goal is judged on; nothing without one."""
    if name not in across:
        return ""
    low, high = across[name]
    digits = 0 if unit == " ms" else 2
    return f"{before}last {len(across['runs'])} runs {low:.{digits}f}-{high:.{digits}f}{unit}, the worst decides{after}"


def stamp() -> str:
    """When a run ended, as the histories record it (UTC)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
