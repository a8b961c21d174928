"""A measurement's run history: one JSON list per measurement in reports/, newest last, the newest kept."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any


def append(path: Path, entry: dict[str, Any], keep: int) -> list[dict[str, Any]]:
    """Append one run to the history file (the newest `keep` are kept); returns the history."""
    history: list[dict[str, Any]] = json.loads(path.read_text()) if path.exists() else []
    history = [*history, entry][-keep:]
    path.write_text(json.dumps(history, indent=2) + "\n")
    return history


def stamp() -> str:
    """When a run ended, as the histories record it (UTC)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
