"""The run histories the origin measurement and the memory tuner keep in reports/."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bench import history


def test_a_history_keeps_the_newest_runs_in_order(tmp_path: Path) -> None:
    path = tmp_path / "runs.json"
    for i in range(5):
        kept = history.append(path, {"at": str(i)}, keep=3)
    assert [run["at"] for run in kept] == ["2", "3", "4"] == [r["at"] for r in json.loads(path.read_text())]


def test_a_run_is_stamped_in_utc_to_the_second() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", history.stamp())
