"""The origin benchmark's decisions that need no load run: capacity from CPU time per request under the task's
quota, and what it says when it cannot run. Synthetic inputs only."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench import origin


def test_the_utilization_keeps_an_mm1_queues_p99_at_the_target() -> None:
    """M/M/1: the response time is exponential with mean S / (1 - rho); at the utilization returned, its p99
    (S ln 100 / (1 - rho)) is exactly the target."""
    service, target = 0.010, 0.200
    rho = origin.mm1_utilization(service, target)
    assert rho == pytest.approx(1 - 0.010 * math.log(100) / 0.200)
    mean = service / (1 - rho)
    assert -mean * math.log(1 - 0.99) == pytest.approx(target)
    assert origin.mm1_utilization(0.5, 0.2) == 0.0  # a request slower than the target alone: no capacity


def test_capacity_is_that_utilization_of_the_cpu_bound_rate() -> None:
    found = origin.capacity_from_cpu(0.005, 0.5, target_ms=200)  # 5 ms of CPU, half a CPU
    assert found["cpu_bound_rps_per_task"] == pytest.approx(100)
    assert found["service_ms"] == pytest.approx(10)
    assert found["rps_per_task"] == pytest.approx(100 * (1 - 0.010 * math.log(100) / 0.2))


def test_more_cpu_per_request_or_a_smaller_quota_holds_fewer_requests() -> None:
    base = origin.capacity_from_cpu(0.005, 0.5)["rps_per_task"]
    assert origin.capacity_from_cpu(0.006, 0.5)["rps_per_task"] < base
    assert origin.capacity_from_cpu(0.005, 0.25)["rps_per_task"] < base / 2  # and its requests queue longer
    with pytest.raises(ValueError, match="positive"):
        origin.capacity_from_cpu(0.0, 0.5)


def _window(cpu_ms: float, p99: float, failures: int = 0, rate: float = 80) -> dict[str, float]:
    return {
        "offered_rps": rate,
        "cpu_seconds_per_request": cpu_ms / 1000,
        "database_cpu_seconds_per_request": 0.006,
        "p50_ms": p99 / 3,
        "p99_ms": p99,
        "failures": failures,
        "failure_ratio": failures / 1000,
    }


def test_the_median_window_counts_and_the_check_needs_every_window_within_the_target() -> None:
    windows = [_window(4.0, 120), _window(6.5, 150), _window(5.0, 190)]
    summary = origin.summarize(_window(5.5, 50, rate=20), windows, quota=0.5)
    assert summary["cpu_seconds_per_request"] == 0.005  # the median, not the mean (5.17 ms)
    assert summary["cpu_seconds_per_request_range"] == [0.004, 0.0065]
    assert summary["rps_per_task"] == origin.capacity_from_cpu(0.005, 0.5)["rps_per_task"]
    assert summary["checked_within_target"] is True
    assert origin.summarize(windows[0], [*windows, _window(5.0, 250)], quota=0.5)["checked_within_target"] is False
    assert origin.summarize(windows[0], [*windows, _window(5.0, 90, failures=5)], 0.5)["checked_within_target"] is False


def test_without_root_the_run_says_why_and_measures_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(origin.cgroups.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(origin, "LOCUST", tmp_path / "no-locust")  # root is what it says first (CI has no locust)
    result = origin.run(step_s=1)
    assert "root" in result["error"]
    assert "rps_per_task" not in result and "windows" not in result


def test_the_task_size_is_the_prod_task_definitions() -> None:
    from stage.config import load_stage

    web = load_stage("prod").web
    assert origin.task_size() == {
        "cpu_units": web.cpu,
        "memory_mib": web.memory_mib,
        "max_tasks": web.max_tasks,
        "min_tasks": web.min_tasks,
    }


def _run(rps: float, p50: float = 60, at: str = "t") -> dict[str, float | str]:
    return {"at": at, "rps_per_task": rps, "cpu_bound_rps_per_task": rps * 1.3, "checked_p50_ms": p50}


def test_the_history_keeps_the_newest_runs(tmp_path: Path) -> None:
    path = tmp_path / "origin-runs.json"
    for rps in (50, 60, 70, 80):
        history = origin.record_run(_run(rps), path, keep=3)
    assert [run["rps_per_task"] for run in history] == [60, 70, 80]
    assert json.loads(path.read_text()) == history


def test_the_spread_of_the_last_three_runs_is_highest_over_lowest() -> None:
    found = origin.across_runs([_run(200), _run(80), _run(100), _run(90)])
    assert [run["rps_per_task"] for run in found["runs"]] == [80, 100, 90]
    assert (found["min_rps"], found["median_rps"], found["max_rps"]) == (80, 90, 100)
    assert found["spread"] == pytest.approx(0.25)
    assert found["within_goal"] is True
    assert origin.across_runs([_run(80), _run(101)])["within_goal"] is False  # 26%
    assert origin.across_runs([_run(80), _run(90)])["within_goal"] is False  # two runs are not three


def _on_host(cpu_ms: float, reference_ms: float | None, quota: float = 0.5) -> dict[str, float | str]:
    """A run that measured `cpu_ms` per request on a host whose reference workload took `reference_ms`."""
    run = {"at": "t", "cpu_seconds_per_request": cpu_ms / 1000, "checked_p50_ms": 60.0}
    run |= {key: value for key, value in origin.capacity_from_cpu(cpu_ms / 1000, quota).items() if "rps" in key}
    return run | ({"host_reference_cpu_s": reference_ms / 1000} if reference_ms else {})


def test_runs_on_hosts_of_different_speeds_are_compared_on_the_newest_runs_host() -> None:
    """The same request on a host 30% slower costs 30% more CPU: as measured the capacities differ by far more
    than the goal, scaled to one host by the reference workload's times they agree."""
    slow, fast = _on_host(9.3, 83.0), _on_host(6.45, 57.6)
    found = origin.across_runs([slow, slow, fast])
    assert found["absolute_spread"] > 0.5
    assert found["on_newest_host_rps"] == pytest.approx([fast["rps_per_task"]] * 3, rel=0.01)
    assert found["spread"] == pytest.approx(0, abs=0.01) and found["within_goal"] is True
    # The model still takes the lowest figure as measured.
    assert found["min_rps"] == slow["rps_per_task"]
    # A request that really got costlier on the same host is not scaled away.
    costlier = origin.across_runs([fast, fast, _on_host(9.3, 57.6)])
    assert costlier["spread"] > 0.5 and costlier["within_goal"] is False


def _with_database(
    cpu_ms: float, database_ms: float | None, reference_ms: float | None = 57.0
) -> dict[str, float | str]:
    run = _on_host(cpu_ms, reference_ms)
    return run | ({"database_cpu_seconds_per_request": database_ms / 1000} if database_ms else {})


def test_the_database_s_cpu_per_request_in_the_same_windows_is_the_reference_when_every_run_has_it() -> None:
    """Runs of 2026-12-07 on one host: the reference workload's fastest run stayed at 56.8-57.2 ms while the
    task's CPU per request went 6.92, 6.41, 5.38 ms, and the database's (the same work per request, in the same
    windows) 5.53, 5.10, 4.24 ms: by the database they agree, by the reference workload they do not."""
    runs = [_with_database(6.92, 5.53, 57.2), _with_database(6.41, 5.10, 57.2), _with_database(5.38, 4.24, 56.8)]
    found = origin.across_runs(runs)
    assert found["basis"] == "database"
    assert found["absolute_spread"] > 0.25
    assert found["spread"] < 0.02 and found["within_goal"] is True
    assert found["min_rps"] == runs[0]["rps_per_task"]  # the model still takes the lowest as measured
    # A task that got costlier while the database did not is not scaled away.
    costlier = origin.across_runs([runs[2], runs[2], _with_database(6.92, 4.24, 56.8)])
    assert costlier["spread"] > 0.25 and costlier["within_goal"] is False
    # A run without the database's figure: the reference workload's times compare them.
    mixed = origin.across_runs([_with_database(6.92, None, 57.2), *runs[1:]])
    assert mixed["basis"] == "host reference" and mixed["within_goal"] is False


def test_a_run_records_the_database_s_cpu_per_request() -> None:
    result = {
        "rps_per_task": 70.0,
        "cpu_bound_rps_per_task": 93.0,
        "cpu_seconds_per_request": 0.0054,
        "database_cpu_seconds_per_request": 0.0042,
        "checked_rps": 52.0,
        "checked_p50_ms": 47.0,
        "checked_p99_ms": 120.0,
        "checked_within_target": True,
        "load_average_start": [1.3, 1.0, 1.0],
    }
    assert origin.history_entry(result)["database_cpu_seconds_per_request"] == 0.0042


def test_without_every_runs_host_speed_the_spread_is_as_measured() -> None:
    found = origin.across_runs([_on_host(9.3, None), _on_host(6.45, 83.0), _on_host(6.45, 57.6)])
    assert found["on_newest_host_rps"] is None and found["basis"] is None
    assert found["spread"] == found["absolute_spread"] > 0.5 and found["within_goal"] is False


def test_the_host_reference_is_the_fastest_of_its_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([0.0, 0.09, 1.0, 1.06, 2.0, 2.2])  # three runs of 90, 60 and 200 ms of CPU
    monkeypatch.setattr(origin.time, "process_time", lambda: next(clock))
    monkeypatch.setattr(origin, "reference_workload", lambda: None)
    assert origin.host_reference_cpu_s(3) == pytest.approx(0.06)


def test_the_capacity_model_takes_the_worst_of_the_runs_shown() -> None:
    """The lowest capacity, and the shortest fetch of those runs: the publisher then loads the origin most."""
    from bench.run import origin_for_model

    measured = {
        "rps_per_task": 95.0,
        "task": {"cpu_units": 512, "memory_mib": 1024},
        "p99_target_ms": 200.0,
        "across_runs": origin.across_runs([_run(95, p50=70), _run(80, p50=90, at="worst"), _run(99, p50=50)]),
    }
    model = origin_for_model(measured)
    assert model is not None
    assert (model["rps_per_task"], model["cpu_bound_rps_per_task"]) == (80, 80 * 1.3)
    assert model["publish_fetch_s"] == 0.050
    assert "lowest of the last 3" in model["source"] and "worst" in model["source"]
    assert origin_for_model({"error": "needs root"}) is None


def test_a_locust_run_in_which_no_request_finished_has_no_percentiles() -> None:
    """locust writes "N/A" for them (a 2-second warm-up on a busy host); the bench reads None, not a crash."""
    columns = {"Request Count": "0", "Failure Count": "0", "Requests/s": "0.0", "50%": "N/A", "99%": "N/A"}
    empty = origin.stats_of({**columns, "100%": "N/A"})
    assert (empty["requests"], empty["p50_ms"], empty["p99_ms"], empty["max_ms"]) == (0, None, None, None)
    served = origin.stats_of(
        {**columns, "Request Count": "40", "Requests/s": "20.0", "50%": "4", "99%": "9", "100%": "12"}
    )
    assert (served["requests"], served["achieved_rps"], served["p50_ms"], served["p99_ms"]) == (40, 20.0, 4.0, 9.0)
