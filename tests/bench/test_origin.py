"""The origin benchmark's decisions that need no load run: where capacity is read, and when it cannot run."""

from __future__ import annotations

import pytest

from bench import origin


def _step(rate: float, p99: float, failures: int = 0) -> dict[str, float]:
    return {"achieved_rps": rate, "p99_ms": p99, "failures": failures, "failure_ratio": failures / 1_000}


def test_capacity_is_the_highest_rate_within_the_latency_target_and_failure_bound() -> None:
    steps = [_step(20, 50), _step(40, 150), _step(60, origin.P99_TARGET_MS + 1), _step(80, 120, failures=5)]
    assert origin.capacity_of(steps) == 40
    assert origin.capacity_of([_step(20, 900)]) == 0.0


def test_without_root_the_run_says_why_and_measures_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(origin.os, "geteuid", lambda: 1000)
    result = origin.run(step_s=1)
    assert "root" in result["error"]
    assert "rps_per_task" not in result and "steps" not in result


def test_the_task_size_is_the_prod_task_definitions() -> None:
    from stacks.config import load_stage

    web = load_stage("prod").web
    assert origin.task_size() == {
        "cpu_units": web.cpu,
        "memory_mib": web.memory_mib,
        "max_tasks": web.max_tasks,
        "min_tasks": web.min_tasks,
    }
