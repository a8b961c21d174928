"""make bench times the suite exactly as `make test` and `make test-fast` run it."""

from __future__ import annotations

import json
import re
import shlex

import pytest

from bench import run, timing
from bench.markdown import suite_runs
from bench.timing import FAST_ARGS, SUITE_ARGS
from tests.support.synth import ROOT


@pytest.mark.parametrize(("target", "args"), [("test", SUITE_ARGS), ("test-fast", FAST_ARGS)])
def test_the_benchmark_runs_the_suite_as_the_make_target_does(target: str, args: tuple[str, ...]) -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(rf"^{re.escape(target)}: .*\n\t(.+)$", makefile, re.MULTILINE)
    assert recipe is not None
    assert shlex.split(recipe[1]) == ["pytest", *args]


def _tests(warm: float) -> dict[str, object]:
    return {
        "ratio_to_one_synth": 8.0,
        "ratio_warm_to_one_synth": warm,
        "ratio_fast_to_one_synth": 0.5,
        "warm": {"wall_s": warm * 8.5},
        "one_synth_s": 8.5,
    }


def test_a_suite_goal_is_met_only_when_the_worst_of_the_last_runs_keeps_it() -> None:
    """A warm run moves with the host by more than the goal's margin: one quick run among slow ones meets nothing."""
    history = [
        timing.suite_entry(_tests(warm), f"2026-12-07T1{i}:00:00Z", 1.0) for i, warm in enumerate((4.7, 4.3, 3.9))
    ]
    newest = {**_tests(3.9), "across_runs": timing.suite_across_runs(history)}
    assert newest["across_runs"]["warm"] == [3.9, 4.7]
    assert run._suite_met(newest, "warm", 4.0) is False
    assert run._suite_met(newest, "fast", 1.5) is True
    assert run._suite_met({**_tests(3.9)}, "warm", 4.0) is True  # no history yet
    assert suite_runs(newest, "warm") == " (last 3 runs 3.90-4.70x, the worst decides)"
    assert suite_runs(_tests(3.9), "warm") == ""


def test_the_recorded_history_holds_each_runs_three_ratios_in_time_order() -> None:
    history = json.loads(timing.SUITE_HISTORY.read_text())
    assert history == sorted(history, key=lambda run: run["at"])
    assert all(set(timing.RATIOS) <= set(run) and run["warm"] > 0 for run in history)
