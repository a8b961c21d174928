"""The ratio goals measured once a run (synth, chat handler) are judged on the worst of the last runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import history, ratios, run


def _report(cold_request: float, synth: float = 3.5) -> dict[str, Any]:
    """The parts of a report the ratio goals read (every goal of it met but the synth's)."""
    return {
        "synth": {"ratio_app_to_trivial": synth, "ratio_app_to_trivial_no_validation": 7.0},
        "handler_warm": {"ratio_p50": 1.2},
        "handler_cold": {"handler_median_ms": 280.0, "ratio_handler_to_boto3": 1.2},
        "handler_cold_lambda": {
            "current": {
                "ratio_import_to_boto3": 1.2,
                "ratio_cold_request_to_floor": cold_request,
                "ratio_cold_request_to_floor_cpu": cold_request - 0.01,
            }
        },
        "handler_snapstart": {"cpu": {"ratio_restored_request_to_floor": 1.0}},
    }


def test_a_run_is_recorded_with_each_figure_it_measured() -> None:
    entry = ratios.entry(_report(1.21), "2026-12-07T12:00:00Z")
    assert entry["cold_request_lambda"] == 1.21  # the worse of wall and CPU
    assert set(entry) == {"at", "source", *ratios.FIGURES}
    without = _report(1.21)
    del without["handler_snapstart"]  # a run before SnapStart was measured
    assert "snapstart_cpu" not in ratios.entry(without, "x")


def test_a_goal_is_met_only_when_the_worst_of_the_last_runs_keeps_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """One run of 12 pairs measured 1.34x between runs of 1.2x: a good newest run does not hide it."""
    runs = [ratios.entry(_report(value), f"2026-12-07T1{i}:00:00Z") for i, value in enumerate((1.2, 1.34, 1.21))]
    newest = {**_report(1.21), "ratios_across_runs": ratios.across_runs(runs)}
    assert newest["ratios_across_runs"]["cold_request_lambda"] == [1.2, 1.34]
    assert ratios.worst(newest, "cold_request_lambda") == 1.34
    assert ratios.worst(_report(1.21), "cold_request_lambda") == 1.21  # no history yet: this run's own
    monkeypatch.setattr(run, "memory_met", lambda _: None)
    monkeypatch.setattr(run, "capacity_met", lambda _: None)
    monkeypatch.setattr(run, "headroom_met", lambda _: None)
    for report, met in ((newest, False), (_report(1.21), True)):
        goals = run.goals_met({**report, "origin": {}})
        assert goals["cold_request_lambda"] is met
        assert goals["handler_overhead"] is True and goals["synth_ratio"] is False
    assert ratios.shown(newest, "cold_request_lambda") == " (last 3 runs 1.20-1.34x, the worst decides)"
    assert ratios.shown(newest, "cold_import_ms", " ms") == " (last 3 runs 280-280 ms, the worst decides)"
    assert ratios.shown(_report(1.21), "cold_request_lambda") == ""


def test_a_remodelled_report_finds_its_own_run_by_its_figures(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "ratio-runs.json"
    monkeypatch.setattr(ratios, "HISTORY", path)
    for i, value in enumerate((1.2, 1.3, 1.25)):
        history.append(path, ratios.entry(_report(value), f"2026-12-07T1{i}:00:00Z"), keep=5)
    assert [r["at"] for r in ratios.up_to(_report(1.3))] == ["2026-12-07T10:00:00Z", "2026-12-07T11:00:00Z"]
    assert ratios.up_to(_report(1.9)) == []  # a run the history does not hold
    named = {**_report(1.9), "ratios_across_runs": {"runs": [{"at": "2026-12-07T10:00:00Z"}]}}
    assert [r["at"] for r in ratios.up_to(named)] == ["2026-12-07T10:00:00Z"]


def test_the_committed_report_shows_the_last_runs_of_the_recorded_history() -> None:
    (newest,) = sorted(Path(ratios.HISTORY).parent.glob("bench-*.json"))[-1:]
    report = json.loads(newest.read_text())
    recorded = history.read(ratios.HISTORY)
    assert recorded == sorted(recorded, key=lambda r: r["at"])
    assert report["ratios_across_runs"] == ratios.across_runs(ratios.up_to(report))
    assert report["ratios_across_runs"]["runs"][-1] == {**ratios.entry(report, ""), **recorded[-1]}
