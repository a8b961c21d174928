"""Every make bench run's figures for the goals that are ratios (and the one time) measured in one run, beside the
suite's (bench/timing.py): reports/ratio-runs.json, newest last. A run's median moves between runs by more than
some goals' margin (the cold chat request: 1.07-1.34x over the 12-pair runs of 2026-12-07), so the report and the
README give the last three and a goal is met only when the worst of them keeps it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench import history
from tests.support.synth import ROOT

HISTORY = ROOT / "reports" / "ratio-runs.json"
KEEP = 20
SHOWN = 3


def cold_request(report: dict[str, Any]) -> float:
    """A cold chat request as Lambda runs it over the floor: the worse of wall and CPU time (medians of the runs)."""
    now = report["handler_cold_lambda"]["current"]
    return float(max(now["ratio_cold_request_to_floor"], now["ratio_cold_request_to_floor_cpu"]))


# Each figure's name in the history -> how a report holds it. Higher is worse for every one.
FIGURES: dict[str, Callable[[dict[str, Any]], float]] = {
    "synth": lambda r: float(r["synth"]["ratio_app_to_trivial"]),
    "synth_no_validation": lambda r: float(r["synth"]["ratio_app_to_trivial_no_validation"]),
    "handler_overhead": lambda r: float(r["handler_warm"]["ratio_p50"]),
    "cold_import_ms": lambda r: float(r["handler_cold"]["handler_median_ms"]),
    "cold_import": lambda r: float(r["handler_cold"]["ratio_handler_to_boto3"]),
    "cold_import_lambda": lambda r: float(r["handler_cold_lambda"]["current"]["ratio_import_to_boto3"]),
    "cold_request_lambda": cold_request,
    "snapstart_cpu": lambda r: float(r["handler_snapstart"]["cpu"]["ratio_restored_request_to_floor"]),
}


def entry(report: dict[str, Any], at: str) -> dict[str, Any]:
    """One run's figures for the history (a figure the run did not measure is left out)."""
    found: dict[str, Any] = {"at": at, "source": "make bench"}
    for name, figure in FIGURES.items():
        try:
            found[name] = figure(report)
        except (KeyError, TypeError):
            continue
    return found


def across_runs(runs: list[dict[str, Any]], count: int = SHOWN) -> dict[str, Any]:
    """The last `count` runs and, per figure all of them measured, their lowest and highest (the worst)."""
    return history.last_runs(runs, FIGURES, count)


def up_to(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The recorded runs up to a report's own (a remodelled report keeps the spread of its time): the newest it
    names, or else the recorded run with its very figures; none when neither is there."""
    recorded = history.read(HISTORY)
    named = report.get("ratios_across_runs", {}).get("runs", [])
    figures = {k: v for k, v in entry(report, "").items() if k in FIGURES}
    own = (
        named[-1]["at"]
        if named
        else next((run["at"] for run in reversed(recorded) if {k: run.get(k) for k in figures} == figures), None)
    )
    return [run for run in recorded if run["at"] <= own] if own is not None else []


def worst(report: dict[str, Any], name: str) -> float:
    """What a goal is judged on: the worst of the last runs, or this run's figure before the history existed."""
    spread = report.get("ratios_across_runs", {}).get(name)
    return float(spread[1]) if spread else FIGURES[name](report)


def shown(report: dict[str, Any], name: str, unit: str = "x", before: str = " (", after: str = ")") -> str:
    """ "(last 3 runs 1.19-1.22x, the worst decides)", or nothing before the history existed."""
    return history.spread_text(report.get("ratios_across_runs", {}), name, unit, before, after)
