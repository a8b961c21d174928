"""The run histories the origin measurement, the memory tuner and the suite timing keep in reports/."""

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


def test_a_remodelled_report_reads_the_runs_up_to_its_own(tmp_path: Path) -> None:
    path = tmp_path / "runs.json"
    assert history.up_to(path, "2026-12-07T12:00:00Z") == []  # no history yet
    for at in ("2026-12-07T10:00:00Z", "2026-12-07T12:00:00Z", "2026-12-07T14:00:00Z"):
        history.append(path, {"at": at}, keep=5)
    assert [run["at"] for run in history.up_to(path, "2026-12-07T12:00:00Z")] == [
        "2026-12-07T10:00:00Z",
        "2026-12-07T12:00:00Z",
    ]
