"""`make bench`: run every benchmark side by side and write reports/bench-YYYY-MM-DD.{md,json} and PNGs.

Environment: BENCH_REPEAT (synth rounds, default 3, fewer when a loaded machine would overrun the budget),
BENCH_COLD_RUNS (fresh interpreters, default 12), BENCH_REQUESTS (warm requests, default 300),
BENCH_LATEST_REQUESTS (requests per "latest" path, default 100), BENCH_BASELINE_REV (the revision whose
lambda/chat_api is the cold-start "before", default the main of issue 13's start), BENCH_SKIP_TESTS=1
(skip the test-suite run).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from bench import capacity, chat_capacity, cost, edge, handler, plots, timing
from tests.support.synth import ROOT

REPORTS = ROOT / "reports"
TARGET_VIEWS = 30_000.0
GOALS = {
    "synth_ratio": 1.5,
    "test_ratio": 2.5,
    "handler_overhead": 1.3,
    "cold_import_ms": 300,
    "cold_import_ratio": 1.3,
    "edge_decision_p99_ms": edge.DECISION_P99_LIMIT_MS,
    "edge_package_bytes": edge.PACKAGE_LIMIT_BYTES,
}


def _int_env(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# lambda/chat_api before issue 13 (latest view, hot rooms, cold start): the "before" of the cold start.
BASELINE_REV = os.environ.get("BENCH_BASELINE_REV", "ddd8406")


def _prod_chat() -> Any:
    from stacks.config import load_stage

    return load_stage("prod").chat


def room_params() -> tuple[chat_capacity.RoomParams, dict[str, str]]:
    """The hot-room model at prod's config; what the config does not hold is assumed, and said so."""
    from stacks.chat.stream import STREAM_BATCHING_WINDOW_S

    chat = _prod_chat()
    params = chat_capacity.RoomParams(
        comments_per_s=float(chat.hot_room_comments_per_s),
        room_shards=chat.room_shards,
        batch_size=chat.stream_batch_size,
        batching_window_s=float(STREAM_BATCHING_WINDOW_S),
    )
    sources = {field: "assumed" for field in asdict(params)}
    sources.update(
        comments_per_s='load_stage("prod").chat.hot_room_comments_per_s',
        room_shards='load_stage("prod").chat.room_shards',
        batch_size='load_stage("prod").chat.stream_batch_size',
        batching_window_s="stacks/chat/stream.py STREAM_BATCHING_WINDOW_S",
        stream_shards="assumed: about one per table partition; 10,000 writes/s need at least 10",
    )
    return params, sources


def run_chat_capacity(outdir: Path, stamp: str) -> dict[str, Any]:
    params, sources = room_params()
    longest = chat_capacity.longest_one_unit_comment(params.name_chars, params.room_shards)
    cases = {
        "typical": params,
        "one_shard": replace(params, room_shards=1),
        f"comments_of_{longest}_chars": replace(params, comment_chars=longest),
        "longest_comments": replace(params, comment_chars=1_000, name_chars=64),
    }
    name = f"chat-room-utilization-{stamp}.png"
    plots.room_utilization(params, outdir / name, params.comments_per_s)
    return {
        "params": asdict(params),
        "sources": sources,
        "cases": {k: chat_capacity.evaluate(v) for k, v in cases.items()},
        "max_comments_per_s": {k: chat_capacity.max_comments_per_s(v) for k, v in cases.items()},
        "max_stream_shards": {k: chat_capacity.max_stream_shards(v) for k, v in cases.items()},
        "longest_one_unit_comment_chars": longest,
        "plot": name,
    }


def capacity_params(stage: str = "prod") -> tuple[capacity.CapacityParams, dict[str, str]]:
    """Model parameters: from the stage config where its sections exist, else the stated assumptions."""
    from stacks.config import load_stage

    config = load_stage(stage)
    params = capacity.CapacityParams(page_views_per_s=TARGET_VIEWS)
    sources = {field: "assumed" for field in asdict(params)}
    sources["page_views_per_s"] = "the issue's target"
    edge_cfg = getattr(config, "edge", None)
    if edge_cfg is not None and hasattr(edge_cfg, "default_ttl_s"):
        params = replace(params, ttl_s=float(edge_cfg.default_ttl_s))
        sources["ttl_s"] = f"load_stage({stage!r}).edge.default_ttl_s"
    web_cfg = getattr(config, "web", None)
    if web_cfg is not None and hasattr(web_cfg, "max_tasks") and hasattr(web_cfg, "requests_per_target"):
        params = replace(params, origin_capacity_rps=web_cfg.max_tasks * web_cfg.requests_per_target / 60)
        sources["origin_capacity_rps"] = (
            f"load_stage({stage!r}).web.max_tasks x requests_per_target / 60 (the scaling target at max tasks)"
        )
    return params, sources


def run_capacity(outdir: Path, stamp: str) -> dict[str, Any]:
    params, sources = capacity_params()
    at_target = capacity.evaluate(params)
    ttls = [5, 30, 60, 300, 900, 3_600, 86_400]
    prefills = [0, 20_000, 100_000, params.pages]
    prefixes = [1, 2, 4, 8, 16]
    safe = capacity.safe_config(params, ttls, prefills, prefixes)
    names = [f"capacity-utilization-{stamp}.png", f"capacity-ttl-{stamp}.png"]
    plots.utilization_vs_rate(params, outdir / names[0], TARGET_VIEWS)
    plots.rates_vs_ttl(params, outdir / names[1])
    return {
        "params": asdict(params),
        "sources": sources,
        "quotas": capacity.QUOTAS,
        "at_target": at_target,
        "breaking_point_page_views_per_s": capacity.breaking_point(params),
        "breaking_point_steady_only": capacity.breaking_point(params, steady_only=True),
        "ttl_sweep": {str(t): _brief(capacity.evaluate(replace(params, ttl_s=float(t)))) for t in ttls},
        "safe_config": asdict(safe) if safe else None,
        "safe_config_result": _brief(capacity.evaluate(safe)) if safe else None,
        "safe_config_breaking_point": capacity.breaking_point(safe) if safe else None,
        "safe_config_per_ttl": {str(t): _safe_row(capacity.safe_config(params, [t], prefills, prefixes)) for t in ttls},
        "plots": names,
    }


def _safe_row(found: capacity.CapacityParams | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {
        "prefilled_pages": found.prefilled_pages,
        "s3_prefixes": found.s3_prefixes,
        "breaks_at_page_views_per_s": capacity.breaking_point(found),
        **_brief(capacity.evaluate(found)),
    }


def _brief(result: dict[str, Any]) -> dict[str, Any]:
    keys = ("overall_hit_ratio", "edge_invocations_per_s", "edge_concurrency_busiest_region")
    keys += ("s3_get_per_prefix_per_s", "origin_requests_per_s", "cold_edge_invocations_per_s", "limits_exceeded")
    return {k: result[k] for k in keys}


def run_cost(app_outdir: Path, hit_ratio: float) -> dict[str, Any]:
    prices = cost.load_prices()
    load = cost.Load(edge_hit_ratio=hit_ratio)
    stages: dict[str, Any] = {}
    for manifest in sorted(app_outdir.glob("assembly-*/manifest.json")):
        stage = manifest.parent.name.removeprefix("assembly-")
        artifacts = json.loads(manifest.read_text())["artifacts"]
        stacks = {}
        for artifact in artifacts.values():
            if artifact["type"] != "aws:cloudformation:stack":
                continue
            template = json.loads((manifest.parent / artifact["properties"]["templateFile"]).read_text())
            region = artifact["environment"].rsplit("/", 1)[-1]
            items = cost.stack_cost(template, region, prices, load)
            stacks[artifact.get("displayName", artifact["properties"]["templateFile"])] = {
                "region": region,
                "items": items,
                "total": cost.total(items),
            }
        stages[stage] = {
            "stacks": stacks,
            "idle": sum(s["total"]["idle"] for s in stacks.values()),
            "load": sum(s["total"]["load"] for s in stacks.values()),
        }
    return {"prices_as_of": prices["as_of"], "prices_status": prices["status"], "load": asdict(load), "stages": stages}


def main() -> None:
    started = time.perf_counter()
    today = dt.datetime.now(dt.UTC).date().isoformat()
    REPORTS.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-", dir=os.environ.get("TMPDIR")))
    report: dict[str, Any] = {
        "date": today,
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_start": os.getloadavg(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "goals": GOALS,
    }
    try:
        _step("synth", lambda: timing.synth(work, _int_env("BENCH_REPEAT", 3)), report)
        if os.environ.get("BENCH_SKIP_TESTS") != "1":
            _step("tests", timing.test_suite, report)
            # The suite's denominator brackets it: the last full synth before it and one right after it.
            before = report["synth"]["last_app_wall_s"]
            after = timing.synth_once("app", work / "app-after-tests")["wall_s"]
            tests, one_synth = report["tests"], (before + after) / 2
            tests.update(synth_before_s=before, synth_after_s=after, one_synth_s=one_synth)
            tests["ratio_to_one_synth"] = tests["wall_s"] / one_synth
            tests["ratio_without_slow_marked"] = (tests["wall_s"] - tests["slow_marked_call_s"]) / one_synth
        app_outdir = Path(report["synth"]["app_outdir"])
        template = handler.chat_template(app_outdir)
        baseline = handler.baseline_bundle(BASELINE_REV, work / "baseline")
        cold_runs = _int_env("BENCH_COLD_RUNS", 12)
        _step("handler_cold", lambda: handler.cold_import(cold_runs), report)
        _step("handler_cold_baseline", lambda: handler.cold_import(cold_runs, baseline) if baseline else None, report)
        _step(
            "handler_cold_lambda",
            lambda: {
                "baseline_rev": BASELINE_REV,
                "current": handler.lambda_cold(template, cold_runs),
                "baseline": handler.lambda_cold(template, cold_runs, baseline) if baseline else None,
            },
            report,
        )
        _step("handler_warm", lambda: handler.warm_requests(template, _int_env("BENCH_REQUESTS", 300)), report)
        prod_shards = _prod_chat().room_shards
        _step(
            "latest",
            lambda: handler.latest_reads(template, _int_env("BENCH_LATEST_REQUESTS", 100), (1, prod_shards)),
            report,
        )
        _step("chat_capacity", lambda: run_chat_capacity(REPORTS, today), report)
        _step("edge", lambda: edge.run(_int_env("BENCH_REQUESTS", 300)), report)
        _step("capacity", lambda: run_capacity(REPORTS, today), report)
        avg_views = cost.Load().page_views / (730 * 3600)
        params, _ = capacity_params()
        hit = capacity.evaluate(replace(params, page_views_per_s=avg_views))["overall_hit_ratio"]
        _step("cost", lambda: run_cost(app_outdir, hit), report)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report["machine"]["load_average_end"] = os.getloadavg()
    report["total_s"] = time.perf_counter() - started
    (REPORTS / f"bench-{today}.json").write_text(
        json.dumps(report, indent=2, default=str) + "\n"
    )  # kept if below fails
    report["goals_met"] = goals_met(report)
    from bench.markdown import render

    (REPORTS / f"bench-{today}.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    text = render(report)
    (REPORTS / f"bench-{today}.md").write_text(text)
    (REPORTS / "latest.md").write_text(text)
    print(f"wrote reports/bench-{today}.md and .json in {report['total_s']:.0f} s", file=sys.stderr)


def _step(name: str, fn: Any, report: dict[str, Any]) -> None:
    print(f"bench: {name} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    report[name] = fn()
    report.setdefault("step_seconds", {})[name] = time.perf_counter() - start


def goals_met(report: dict[str, Any]) -> dict[str, bool | None]:
    edge_result = report["edge"]
    tests = report.get("tests")
    return {
        "synth_ratio": report["synth"]["ratio_app_to_trivial"] <= GOALS["synth_ratio"],
        "synth_ratio_no_validation": report["synth"]["ratio_app_to_trivial_no_validation"] <= GOALS["synth_ratio"],
        "test_ratio": tests["ratio_to_one_synth"] <= GOALS["test_ratio"] if tests else None,
        "test_ratio_without_slow": tests.get("ratio_without_slow_marked", 1e9) <= GOALS["test_ratio"]
        if tests
        else None,
        "handler_overhead": report["handler_warm"]["ratio_p50"] <= GOALS["handler_overhead"],
        "cold_import": report["handler_cold"]["handler_median_ms"] < GOALS["cold_import_ms"],
        "cold_import_ratio": report["handler_cold"]["ratio_handler_to_boto3"] <= GOALS["cold_import_ratio"],
        "cold_import_ratio_lambda": report["handler_cold_lambda"]["current"]["ratio_import_to_boto3"]
        <= GOALS["cold_import_ratio"],
        "edge_decision": edge_result["decision_p99_under_5ms"],
        "edge_package": edge_result["package_under_1mb"],
        "capacity_at_target": not report["capacity"]["at_target"]["limits_exceeded"],
        "capacity_safe_config_found": report["capacity"]["safe_config"] is not None,
    }


if __name__ == "__main__":
    main()
