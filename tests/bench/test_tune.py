"""The memory tuner's logic on synthetic inputs: the cost arithmetic, the rule that picks a size, the invocation
mix, what makes a size fail; and one execution environment run as the tuner runs it (the handler tests' worker,
without a cgroup). No timing here: the figures live in `make tune` and `make bench`."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from bench import cgroups, tune
from bench.tune import Invocation, Rates

ARM = Rates(request=0.2e-6, gb_second=1.33334e-05, source="test")


def test_duration_is_billed_in_whole_milliseconds_rounded_up() -> None:
    assert [tune.billed_ms(ms) for ms in (0.02, 1.0, 1.0001, 2.5, 1000.0)] == [1, 1, 2, 3, 1000]


def test_an_invocation_costs_its_request_and_its_gb_seconds() -> None:
    # 1,024 MB for 100 ms: 0.1 GB-s.
    assert tune.invocation_cost(99.2, 1024, ARM) == pytest.approx(0.2e-6 + 0.1 * 1.33334e-05)
    # Half the memory for the same time costs half the duration part.
    assert tune.invocation_cost(99.2, 512, ARM) == pytest.approx(0.2e-6 + 0.05 * 1.33334e-05)


def test_cost_per_million_weights_cold_starts_by_the_stated_share() -> None:
    found = tune.weighted_cost_per_million([10.0, 10.0], [1000.0], 1024, ARM)
    warm = (0.2e-6 + 0.010 * 1.33334e-05) * 1e6
    cold = (0.2e-6 + 1.0 * 1.33334e-05) * 1e6
    assert found["warm"] == pytest.approx(warm)
    assert found["cold"] == pytest.approx(cold)
    assert found["weighted"] == pytest.approx((1 - tune.COLD_SHARE) * warm + tune.COLD_SHARE * cold)


def test_prices_come_from_the_table_by_architecture_and_edge() -> None:
    prices = {
        "prices": {
            "lambda_request_million": {"us-east-1": 0.2, "source": "requests"},
            "lambda_arm_gb_second": {"us-east-1": 1.0e-5, "eu-west-1": 1.1e-5, "source": "arm"},
            "lambda_x86_gb_second": {"us-east-1": 2.0e-5, "source": "x86"},
            "lambda_edge_request_million": {"us-east-1": 0.6, "source": "edge requests"},
            "lambda_edge_gb_second": {"us-east-1": 5.0e-5, "source": "edge"},
        }
    }

    def rates(function: tune.TunedFunction, arch: str, region: str) -> tuple[float, float]:
        found = tune.rates_for(function, arch, region, prices)
        return found.request, found.gb_second

    assert rates(tune.CHAT_API, "arm64", "eu-west-1") == pytest.approx((0.2e-6, 1.1e-5))
    assert rates(tune.CHAT_API, "x86_64", "eu-west-1") == pytest.approx((0.2e-6, 2.0e-5))
    edge_function = dataclasses.replace(tune.CHAT_API, key="an-edge-function", edge=True)  # none in the app today
    assert rates(edge_function, "x86_64", "eu-central-1") == pytest.approx((0.6e-6, 5.0e-5))


def _row(
    memory: int, p99: float, cost: float, *, ok: bool = True, rounds: tuple[float, float] | None = None
) -> dict[str, Any]:
    return {
        "memory_mb": memory,
        "ok": ok,
        "warm_p99_ms": p99,
        "warm_p99_range_ms": list(rounds or (p99, p99)),
        "cost_per_million": {"weighted": cost},
    }


def test_the_rule_picks_the_cheapest_size_whose_every_round_kept_the_budget() -> None:
    rows = [
        _row(128, 100, 0.30),
        _row(512, 40, 0.33, rounds=(35, 52)),  # pooled within 50 ms, one round over it
        _row(1024, 21, 0.40),
        _row(1769, 20, 0.45),
        _row(3008, 20.5, 0.60),
    ]
    choice = tune.choose(rows, budget_ms=50)
    assert choice["memory_mb"] == 1024  # 512 MB is cheaper, but missed the budget in a round
    assert choice["eligible"] == [1024, 1769, 3008]
    assert choice["rule"] == "budget" and choice["limit_ms"] == 50
    assert tune.choose(rows, budget_ms=60)["memory_mb"] == 512


def test_the_cheapest_wins_however_close_and_the_smaller_on_equal_cost() -> None:
    rows = [_row(1024, 17.5, 0.417), _row(1536, 17.0, 0.426), _row(1769, 17.7, 0.447)]
    assert tune.choose(rows, budget_ms=50)["memory_mb"] == 1024  # 2.2% cheaper, no band that calls it a tie
    rows = [_row(256, 300, 0.818), _row(512, 110, 0.805)]
    assert tune.choose(rows, budget_ms=1000)["memory_mb"] == 512
    assert tune.choose([_row(2048, 10, 0.5), _row(1024, 10, 0.5)], budget_ms=50)["memory_mb"] == 1024


def test_a_size_that_failed_is_never_picked_and_nothing_working_or_within_picks_nothing() -> None:
    rows = [_row(128, 5, 0.10, ok=False), _row(256, 6, 0.20)]
    assert tune.choose(rows, budget_ms=50)["memory_mb"] == 256
    assert tune.choose([_row(128, 5, 0.1, ok=False)], budget_ms=50)["memory_mb"] is None
    assert tune.choose(rows, budget_ms=5)["memory_mb"] is None


def test_each_function_has_a_budget_tied_to_what_it_serves() -> None:
    from bench.capacity import CapacityParams
    from chat.stream import STREAM_BATCHING_WINDOW_S

    assert tune.CHAT_STREAM.budget_ms == STREAM_BATCHING_WINDOW_S * 1000  # the window a batch must keep up with
    assert tune.PUBLISHER.budget_ms == CapacityParams().publish_fetch_s * 1000 / 2  # half a page's fetch
    assert tune.CHAT_API.budget_ms == 50
    assert all(f.budget_ms > 0 and f.budget_why for f in tune.FUNCTIONS)


def _run_record(picks: dict[str, int], at: str = "2026-12-06T20:00:00Z") -> dict[str, Any]:
    """A history entry in which `picks` are the only sizes within every budget."""
    functions = {
        key: {"rows": [_row(128, 10_000, 0.1), _row(size, 1, 0.5), _row(3008, 1, 0.9)]} for key, size in picks.items()
    }
    return {"at": at, "source": "test", "load_average_start": 0.5, "load_average_end": 0.7, "functions": functions}


def test_the_last_three_runs_agree_or_the_pick_is_no_measured_choice() -> None:
    keys = [f.key for f in tune.FUNCTIONS]
    same = {key: 1024 for key in keys}
    found = tune.across_runs([_run_record({**same, keys[0]: 512}), *[_run_record(same) for _ in range(3)]])
    assert found["stable"] is True and found["agreed"] == same  # only the last three count
    moved = tune.across_runs([_run_record(same), _run_record({**same, keys[0]: 512}), _run_record(same)])
    assert moved["stable"] is False and moved["agreed"][keys[0]] is None and moved["picks"][keys[0]][1] == 512
    assert tune.across_runs([_run_record(same), _run_record(same)])["stable"] is False  # two runs are not three


def test_memory_is_met_only_when_configured_at_the_pick_the_last_runs_agree_on() -> None:
    from bench.run import memory_met

    keys = [f.key for f in tune.FUNCTIONS]
    same = {key: 1024 for key in keys}

    def tuned(configured: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
        functions = {k: {"configured_mb": configured, "choice": {"memory_mb": 1024}} for k in keys}
        return {"functions": functions, "across_runs": tune.across_runs(runs)}

    assert memory_met(tuned(1024, [_run_record(same)] * 3)) is True
    assert memory_met(tuned(1536, [_run_record(same)] * 3)) is False
    assert memory_met(tuned(1024, [_run_record(same), _run_record({**same, keys[0]: 512}), _run_record(same)])) is False
    assert memory_met(tuned(1024, [_run_record(same)] * 2)) is False  # two runs are not three


def test_the_plan_holds_the_mix_in_every_window_and_starts_cold_with_the_main_kind() -> None:
    kinds = tune.plan_kinds((Invocation("read", 4, {}), Invocation("write", 1, {})), warm=200)  # relative weights
    assert kinds[0] == "read" and len(kinds) == 201
    warm = kinds[1:]
    assert warm.count("write") == 40
    assert all(warm[i : i + 5].count("write") == 1 for i in range(0, 200, 5))
    mix = (Invocation("page", 0.9, {}), Invocation("query", 0.05, {}), Invocation("failover", 0.05, {}))
    rare = tune.plan_kinds(mix, warm=500)[1:]
    assert (rare.count("page"), rare.count("query"), rare.count("failover")) == (450, 25, 25)


def _environment(
    init: float = 300, cold: float = 20, warm: list[float] | None = None, rss: float = 70
) -> dict[str, Any]:
    samples = warm if warm is not None else [5.0] * 99 + [50.0]
    return {
        "init_ms": init,
        "cold_invoke_ms": cold,
        "warm": [{"type": "read", "ms": ms, "cpu_ms": 1.0} for ms in samples],
        "max_rss_mib": rss,
        "error_lines": 0,
    }


def test_a_size_fails_on_init_over_ten_seconds_the_timeout_memory_or_an_error_logged() -> None:
    assert tune.summarize([_environment()], 512, ARM, timeout_s=10)["ok"] is True
    slow_init = tune.summarize([_environment(init=10_500)], 128, ARM, timeout_s=10)
    assert (slow_init["ok"], slow_init["error"]) == (False, "INIT over 10 s")
    timed_out = tune.summarize([_environment(warm=[5.0, 3_100.0])], 128, ARM, timeout_s=3)
    assert "over the 3 s timeout" in timed_out["error"]
    logged = tune.summarize([{**_environment(), "error_lines": 1}], 512, ARM, timeout_s=10)
    assert (logged["ok"], logged["error"]) == (False, "ERROR lines in its log")
    too_big = tune.summarize([_environment(rss=140)], 128, ARM, timeout_s=10)
    assert "resident memory over the size" in too_big["error"]
    crashed = tune.summarize([{"error": "killed: out of memory"}], 128, ARM, timeout_s=10)
    assert (crashed["ok"], crashed["error"]) == (False, "killed: out of memory")


def test_a_rows_percentiles_pool_the_rounds_and_keep_each_rounds_p99() -> None:
    rounds = [_environment(warm=[5.0] * 97 + [30.0, 40.0, 50.0]), _environment(warm=[6.0] * 100, init=500)]
    row = tune.summarize(rounds, 1024, ARM, timeout_s=10)
    assert row["warm_p50_ms"] == 6.0  # the 100th of 200 samples
    assert row["warm_p99_ms"] == 30.0  # the 198th
    assert row["warm_p99_range_ms"] == [6.0, 40.0]  # each round's 99th of 100
    assert row["cold_range_ms"] == [320.0, 520.0] and row["cold_ms"] == 420.0


@pytest.fixture(scope="module")
def publisher_backend(synth: Any) -> Any:
    from bench.tune_backends import publisher_backend

    with publisher_backend(synth, f"{tune.ASSEMBLY_STAGE}/{tune.PUBLISHER.stack}") as backend:
        yield backend


def _deployed(synth: Any, function: tune.TunedFunction) -> Any:
    from tests.support.lambda_environment import deployed_function

    return deployed_function(synth, f"{tune.ASSEMBLY_STAGE}/{function.stack}", function.handler)


def test_a_size_runs_as_the_handler_tests_run_the_function_with_the_size_as_its_memory(
    synth: Any, publisher_backend: Any
) -> None:
    """The tuner's execution environment is the handler tests' worker: the staged asset, the template's environment
    (its references resolved to the same stand-ins), Lambda's variables with the size under test, nothing else."""
    deployed = _deployed(synth, tune.PUBLISHER)
    worker = tune.environment_worker(deployed, publisher_backend, memory_mb=256, group=None)
    declared = deployed.properties["Environment"]["Variables"]
    assert worker.environment.template == {k: publisher_backend.resolver.resolve(v) for k, v in declared.items()}
    assert worker.environment.runtime["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert deployed.properties["MemorySize"] != 256
    assert set(worker.environment.transport) == {"AWS_ENDPOINT_URL_S3"}
    assert worker.function.task_root.name.startswith("asset.")
    group = {"cpu": Path("/sys/fs/cgroup/cpu/bench-lambda-256")}
    inside = tune.environment_worker(deployed, publisher_backend, memory_mb=256, group=group)
    assert inside._launch(["python"]) == cgroups.command_in(group, ["python"])


def test_an_environment_reports_its_cold_start_warm_invocations_and_peak_memory(
    synth: Any, publisher_backend: Any
) -> None:
    steps = [
        {"type": "fetch", "event": publisher_backend.event("fetch"), "trace": tune.trace_header(i)} for i in range(4)
    ]
    found = tune.run_environment(
        tune.PUBLISHER, _deployed(synth, tune.PUBLISHER), publisher_backend, steps, memory_mb=1024, group=None
    )
    assert found.get("error") is None, found
    assert found["init_ms"] >= found["import_ms"] > 0 and found["cold_invoke_ms"] > 0
    assert [w["type"] for w in found["warm"]] == ["fetch"] * 3
    assert all(w["ms"] > 0 and w["cpu_ms"] >= 0 for w in found["warm"])
    assert found["max_rss_mib"] > 10 and found["error_lines"] == 0


def test_an_environment_whose_answer_is_not_the_expected_one_fails_the_size(synth: Any, publisher_backend: Any) -> None:
    expecting_other = dataclasses.replace(tune.PUBLISHER, invocations=(Invocation("fetch", 1.0, {"result": "x"}),))
    steps = [{"type": "fetch", "event": publisher_backend.event("fetch"), "trace": tune.trace_header(0)}]
    found = tune.run_environment(
        expecting_other, _deployed(synth, tune.PUBLISHER), publisher_backend, steps, memory_mb=1024, group=None
    )
    assert found["error"].startswith("1 invocation(s) answered otherwise, first: fetch: {'path': ")


def test_error_lines_are_json_errors_and_tracebacks() -> None:
    from tests.support.lambda_worker import Invocation as Invoked

    logs = [
        json.dumps({"level": "INFO", "message": "ok"}),
        json.dumps({"level": "ERROR", "message": "boom"}),
        "Traceback (most recent call last):",
        '{"_aws": {"CloudWatchMetrics": []}}',
    ]
    assert len(Invoked(result=None, error=None, logs=logs, calls=[], duration_ms=1.0).error_lines()) == 2


def test_the_tuned_functions_are_the_python_functions_of_the_template_minus_those_said_not_to_be() -> None:
    """Every Python function of prod's templates is tuned or named in NOT_TUNED with its reason."""
    from shared.bundles import bundle_dirs

    handlers = {f.handler for f in tune.FUNCTIONS}
    bundles = set(bundle_dirs())
    tuned_bundles = {h.split(".", 1)[0] for h in handlers}
    assert tuned_bundles | {"db_roles"} == bundles
    assert len(tune.NOT_TUNED) == 1
    assert tune.SIZES[0] == 128 and tune.SIZES[-1] >= 3008 and 1769 in tune.SIZES


def test_each_function_is_configured_at_the_pick_its_newest_agreeing_runs_share(synth: Any) -> None:
    """reports/memory-runs.json (every full run's figures, from make tune and make bench; the reports of those dates
    hold the tables) is the decision record: every tuned function of the shipped prod template has the memory
    today's rule picks from the figures of the newest three consecutive runs that agree on that function (newer
    runs that disagree move nothing; make bench reports them as the goal missed)."""
    history = json.loads(tune.HISTORY.read_text())
    agreed = tune.last_agreed(history)
    for function in tune.FUNCTIONS:
        props = _deployed(synth, function).properties
        assert props["MemorySize"] == agreed.get(function.key), (function.key, tune.across_runs(history)["picks"])


def _tuned(configured: int, pick: int) -> dict[str, Any]:
    rows = [
        {**_row(size, p99, cost), "cost_per_million": {"weighted": cost}}
        for size, p99, cost in ((128, 0.1, 0.634), (256, 0.12, 0.633))
    ]
    return {"key": "origin-request", "configured_mb": configured, "choice": {"memory_mb": pick}, "rows": rows}


def test_a_configured_size_that_is_not_this_runs_pick_says_whose_pick_it_is_and_both_figures() -> None:
    from bench.tune_report import _differs

    tuned = {"functions": {"origin-request": _tuned(128, 256)}}
    tune.mark_decided(tuned, {"origin-request": 128})
    text = _differs(tuned["functions"]["origin-request"], tuned["decided_in"])
    assert "it is the pick the newest three runs in a row agree on (reports/memory-runs.json)" in text
    assert "the configured size's warm p99 was 0.10 ms at 0.634 USD per million, the pick's 0.12 ms at 0.633" in text
    undecided = _differs(_tuned(512, 256), None)
    assert "not yet changed to a measured pick" in undecided


def test_a_remodelled_report_takes_today_s_rule_and_the_runs_up_to_its_own(
    synth: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench import run

    keys = [f.key for f in tune.FUNCTIONS]
    same = {key: 1024 for key in keys}
    history = [_run_record(same, at=f"2026-12-06T2{i}:00:00Z") for i in range(4)]
    history.append(_run_record({**same, keys[0]: 512}, at="2026-12-06T23:30:00Z"))  # a run after the report's
    path = tmp_path / "memory-runs.json"
    path.write_text(json.dumps(history))
    monkeypatch.setattr(tune, "HISTORY", path)
    own = _run_record(same)["functions"]
    tuned = {
        "functions": {key: {"rows": own[key]["rows"], "choice": {"memory_mb": 3008}} for key in keys},
        "across_runs": {"runs": [{"at": "2026-12-06T23:00:00Z"}]},
    }
    found = run._rechoose(tuned, synth.outdir)
    assert {key: f["choice"]["memory_mb"] for key, f in found["functions"].items()} == same
    assert [r["at"][11:13] for r in found["across_runs"]["runs"]] == ["21", "22", "23"]
    assert found["across_runs"]["stable"] is True
    # Where each configured size comes from: the runs up to the report's own, not the later one that moved.
    assert found["decided_in"] == "memory-runs.json"
    assert {key: f["decided_mb"] for key, f in found["functions"].items()} == same


def test_the_configuration_follows_the_newest_three_runs_in_a_row_that_agree() -> None:
    def run(**sizes: int) -> dict[str, Any]:
        functions = {f.key: {"rows": [_row(sizes.get(f.key, 1024), 0.001, 1.0)]} for f in tune.FUNCTIONS}
        return {"at": "t", "source": "s", "load_average_start": 0, "load_average_end": 0, "functions": functions}

    steady, moved = run(), run(**{"chat-stream": 256})
    assert tune.last_agreed([steady, steady, steady, moved])["chat-stream"] == 1024
    assert tune.last_agreed([steady, moved, moved, moved])["chat-stream"] == 256
    assert "chat-stream" not in tune.last_agreed([steady, moved, steady, moved])
    # Per function: the stream's three runs in a row move it while the publisher's newest run disagrees.
    flipped = run(**{"chat-stream": 256, "publisher-fetch": 1536})
    agreed = tune.last_agreed([steady, steady, moved, moved, flipped])
    assert agreed == {"chat-api": 1024, "chat-stream": 256, "publisher-fetch": 1024}


def test_a_recorded_run_carries_the_last_runs_and_the_pick_each_configuration_keeps(tmp_path: Path) -> None:
    keys = [f.key for f in tune.FUNCTIONS]
    same = {key: 1024 for key in keys}
    path = tmp_path / "memory-runs.json"
    path.write_text(json.dumps([_run_record(same), _run_record(same), _run_record(same)]))
    moved = _run_record({**same, keys[0]: 512})
    result = {"load_average_start": [0.5], "functions": {k: {"rows": f["rows"]} for k, f in moved["functions"].items()}}
    tune.record(result, "test", path)
    assert len(json.loads(path.read_text())) == 4
    assert result["across_runs"]["picks"][keys[0]] == [1024, 1024, 512]
    # The newest run moved one function: its configuration keeps the pick three runs in a row agreed on.
    assert {key: f["decided_mb"] for key, f in result["functions"].items()} == same
