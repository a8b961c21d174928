"""`make bench`: run every benchmark side by side and write reports/bench-YYYY-MM-DD.{md,json} and PNGs.

Environment: BENCH_REPEAT (synth rounds, default 3, fewer when a loaded machine would overrun the budget),
BENCH_COLD_RUNS (fresh interpreters, default 12), BENCH_LAMBDA_COLD_RUNS (the cold request as Lambda runs it: pairs
of fresh interpreters, default 24), BENCH_REQUESTS (warm requests, default 300),
BENCH_LATEST_REQUESTS (requests per "latest" path, default 100), BENCH_BASELINE_REV (the revision whose
chat/runtime/chat_api is the cold-start "before", default the main of issue 13's start), BENCH_SKIP_TESTS=1
(skip the test-suite run), BENCH_ORIGIN_STEP_S (seconds per load step of the origin test, default 8),
BENCH_SKIP_TUNE=1 (no memory tuning: the newest reports/tune-*.json of `make tune` is shown instead),
TUNE_ROUNDS (rounds per size, default 3). The origin's figure of each run is kept in reports/origin-runs.json;
the report shows the last three and the capacity model takes the lowest. The test suite's ratios of each run are
kept in reports/suite-runs.json, and the other ratio goals' figures (synth, chat handler) in
reports/ratio-runs.json: each such goal is met when the worst of the last three keeps it. The README's figures
are rewritten from the report.

`python -m bench.run --model reports/bench-DATE.json [cdk.out]` recomputes the capacity model (and, given a
synthesized app, the cost) from that run's measurements and today's config, in seconds.
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

from bench import capacity, chat_capacity, cost, handler, history, origin, ratios, readme, timing, tune
from tests.support.synth import ROOT, read_assembly

REPORTS = ROOT / "reports"
TARGET_VIEWS = 30_000.0
GOALS = {
    "synth_ratio": 1.5,
    "test_ratio": 2.5,
    "test_ratio_warm": 4.0,  # make test, run again on the test cache the first run left (issue 21)
    "test_fast_ratio": 1.5,  # make test-fast on that cache
    "handler_overhead": 1.3,
    "cold_import_ms": 300,
    "cold_import_ratio": 1.3,
    "capacity_headroom": 2.0,  # the first limit breaks at >= this many times the target
}


def _int_env(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# chat/runtime/chat_api before issue 13 (latest view, hot rooms, cold start): the "before" of the cold start.
BASELINE_REV = os.environ.get("BENCH_BASELINE_REV", "ddd8406")


def _prod_chat() -> Any:
    from stage.config import load_stage

    return load_stage("prod").chat


def room_params() -> tuple[chat_capacity.RoomParams, dict[str, str]]:
    """The hot-room model at prod's config; what the config does not hold is assumed, and said so."""
    from chat.stream import STREAM_BATCHING_WINDOW_S

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
        batching_window_s="chat/stream.py STREAM_BATCHING_WINDOW_S",
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
    from bench import plots  # matplotlib: loaded by what draws, not by every import of this module

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


# Assumptions the model needs that neither the config nor this machine can give, each with its source.
ASSUMED = {
    "pages": "assumed: the site's page count (a news site's live archive)",
    "zipf_s": "assumed: page popularity exponent; web request popularity is Zipf-like",
    "pops": "assumed: edge locations that serve the audience",
    "recs": "CloudFront's regional edge caches (13 at the time of writing; assumed unchanged)",
    "page_kb": "assumed: a page's size (the cost model's page_kb)",
    "miss_share": "assumed: share of page views for URLs never published (typos, scanners); each reaches the web "
    "origin, as no cache holds them, and is counted as an S3 miss that fails over (two function invocations in "
    "the designs with a function)",
    "busiest_region_share": "assumed: share of regional-cache traffic in the busiest region (function designs "
    "without Origin Shield only, where the function runs at the regional caches)",
    "burst_window_s": "the unit of the per-second quotas (S3 GET/s, Lambda requests/s per environment)",
}
# Figures for the designs the report compares against the shipped one.
S3_FIRST_BYTE_MS = 100.0  # S3 performance guidelines: small objects in roughly 100-200 ms (function_reads_s3 only)
RTT_MS = {"eu-central-1": 19.55, "us-east-1": 80.5}  # to the bucket's eu-west-1, from the table below
RTT_SOURCE = (
    "inter-region round trips to eu-west-1: eu-central-1 19.6 ms, us-east-1 80.5 ms (Sydney 309.6 ms), table "
    "'Latency Between AWS Global Regions' reproduced at "
    "https://acomputerscientistlearnsaws.blogspot.com/2017/04/aws-regions.html"
)
CUTOVER_RAMP_S = 600.0  # docs/edge-cache.md: move traffic to a new distribution over at least 10 minutes
# The routing function's decision p99 as bench/edge.py last measured it (kept in reports/edge-routing-2026-12-06.json,
# which no later bench run rewrites), before issue 20 removed the function: the compared function designs' duration.
ROUTING_DECISION_MS = 0.0358
ROUTING_DECISION_SOURCE = (
    "measured by bench/edge.py on 2026-12-06 (reports/edge-routing-2026-12-06.json): the routing function's "
    "decision p99, before issue 20 removed the function (VPC origins support no origin-facing Lambda@Edge)"
)


def region_concurrency(stage: str, region: str | None) -> float:
    """Concurrent executions this app's own functions take in `region` at their peak: in the stage region the
    chat API at its throttle (x the cost model's per-request time) and the publisher's fetches; elsewhere none.
    Without Origin Shield (region None) the function runs at every regional cache, the stage region's among them."""
    from stage.config import load_stage

    config = load_stage(stage)
    if region not in (None, config.region):
        return 0.0
    return config.chat.throttle_rate_limit * cost.Load().api_lambda_ms / 1000 + config.edge.publish_concurrency


def capacity_params(
    origin: dict[str, Any] | None = None, stage: str = "prod"
) -> tuple[capacity.CapacityParams, dict[str, str]]:
    """Model parameters: the stage config, the measured origin, and the labelled assumptions."""
    from edge.publisher import BATCH_PATHS
    from stage.config import load_stage

    config = load_stage(stage)
    edge_cfg, web_cfg = config.edge, config.web
    shield = edge_cfg.origin_shield_region
    params = capacity.CapacityParams(
        page_views_per_s=TARGET_VIEWS,
        ttl_s=float(edge_cfg.default_ttl_s),
        origin_shield=shield is not None,
        edge_path="s3_origin_group",
        publish_via_cdn=False,
        waf_rate_limit_per_5min=float(edge_cfg.waf_rate_limit_per_5min) if edge_cfg.waf_enabled else None,
        web_max_tasks=web_cfg.max_tasks,
        web_min_tasks=web_cfg.min_tasks,
        web_scale_rps_per_task=web_cfg.requests_per_target / 60,
        web_scale_cpu_share=web_cfg.cpu_target_percent / 100,
        publish_concurrency=edge_cfg.publish_concurrency,
        publish_batch_paths=BATCH_PATHS,
        function_ms=ROUTING_DECISION_MS,
        other_concurrency=region_concurrency(stage, shield),
        ramp_s=CUTOVER_RAMP_S,
    )
    params = replace(params, pages_in_s3=params.pages)
    where = f"load_stage({stage!r})"
    sources = {field: ASSUMED.get(field, "assumed") for field in asdict(params)}
    sources.update(
        page_views_per_s="the issue's target",
        ttl_s=f"{where}.edge.default_ttl_s (the default behaviour; shorter path TTLs only add S3 GETs)",
        origin_shield=f"{where}.edge.origin_shield_region = {shield}",
        edge_path="edge/distribution.py: an origin group (S3 through OAC, then the web service's VPC "
        "origin), no function on the page behaviours (VPC origins support no origin-facing Lambda@Edge)",
        publish_via_cdn="edge/publisher.py: the publisher fetches from the load balancer inside the VPC",
        waf_rate_limit_per_5min=f"{where}.edge.waf_rate_limit_per_5min (the web ACL's per-IP rate-based rule)",
        pages_in_s3=f"the publisher keeps every page it publishes ({where}.edge.cached_object_expiry_days = "
        f"{edge_cfg.cached_object_expiry_days}; 404/410 deletes a page)",
        web_max_tasks=f"{where}.web.max_tasks",
        web_min_tasks=f"{where}.web.min_tasks",
        web_scale_rps_per_task=f"{where}.web.requests_per_target / 60",
        web_scale_cpu_share=f"{where}.web.cpu_target_percent / 100",
        publish_concurrency=f"{where}.edge.publish_concurrency",
        publish_batch_paths="edge/publisher.py BATCH_PATHS: each batch is invalidated on its own",
        function_ms=f"no function in the shipped design; the compared function designs: {ROUTING_DECISION_SOURCE}",
        other_concurrency=f"compared function designs only: the app's functions in {shield or 'the stage region'} "
        "at their peak (none outside the stage region; in it the chat API at its throttle x the cost model's "
        "api_lambda_ms, and the publisher); assumed: nothing else of the account runs there",
        ramp_s="docs/edge-cache.md: the cut-over procedure for a new distribution",
    )
    return _with_origin(params, sources, origin_for_model(origin))


def _with_origin(
    params: capacity.CapacityParams, sources: dict[str, str], model: dict[str, Any] | None
) -> tuple[capacity.CapacityParams, dict[str, str]]:
    """The measured origin in the model's parameters, with where each figure comes from."""
    if model:
        params = replace(
            params,
            web_rps_per_task=model["rps_per_task"],
            web_cpu_rps_per_task=model["cpu_bound_rps_per_task"],
            publish_fetch_s=model["publish_fetch_s"],
        )
        sources["web_rps_per_task"] = model["source"]
        sources["web_cpu_rps_per_task"] = (
            "measured (bench/origin.py): the task's CPU quota / its CPU time per request, in the run with the lowest "
            "capacity; what auto scaling's CPU target is a share of"
        )
        sources["publish_fetch_s"] = model["fetch_source"]
    else:
        sources["web_rps_per_task"] = "NOT MEASURED on this run (see the origin section): the model's default"
        sources["publish_fetch_s"] = "NOT MEASURED on this run: the model's default"
    return params, sources


def origin_for_model(measured: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the capacity model takes of the origin measurement: the worst of the runs the report shows (the lowest
    capacity, and the shortest fetch, which lets the publisher load the origin most), or None if not measured."""
    if not measured or not measured.get("rps_per_task"):
        return None
    if "steps" in measured:  # a report from before issue 21: the highest step within the target, one run
        top = max(
            (s for s in measured["steps"] if s["p99_ms"] <= measured["p99_target_ms"]), key=lambda s: s["achieved_rps"]
        )
        return {
            "rps_per_task": measured["rps_per_task"],
            "cpu_bound_rps_per_task": None,
            "publish_fetch_s": top["p50_ms"] / 1000,
            "source": "measured (bench/origin.py before issue 21): the highest wall-clock step within the p99 target",
            "fetch_source": "measured: p50 latency of the web origin at that rate",
        }
    runs = measured.get("across_runs") or {"runs": [origin.history_entry(measured)]}
    worst = min(runs["runs"], key=lambda run: run["rps_per_task"])
    fetch_ms = min(run["checked_p50_ms"] for run in runs["runs"])
    count = len(runs["runs"])
    return {
        "rps_per_task": worst["rps_per_task"],
        "cpu_bound_rps_per_task": worst["cpu_bound_rps_per_task"],
        "publish_fetch_s": fetch_ms / 1000,
        "source": f"measured (bench/origin.py): the lowest of the last {count} run(s) ({worst['at']}), CPU time per "
        f"request under one task's quota ({measured['task']['cpu_units']} CPU units / {measured['task']['memory_mib']} "
        f"MiB) at the M/M/1 utilization whose p99 stays within {measured['p99_target_ms']:g} ms",
        "fetch_source": f"measured: the shortest p50 of the web origin at its capacity over the last {count} run(s)",
    }


# Where issue 11 put Origin Shield for its routing function (out of the region the chat API's functions share).
FUNCTION_SHIELD_REGION = "eu-central-1"


def design_variants(params: capacity.CapacityParams, stage: str = "prod") -> dict[str, capacity.CapacityParams]:
    """The shipped design and the ones it was weighed against: the function designs with their publisher fetching
    through the distribution (as theirs did), each with where its function runs and for how long."""
    from stage.config import load_stage

    config = load_stage(stage)
    home, shipped = config.region, config.edge.origin_shield_region or config.region
    variants: dict[str, capacity.CapacityParams] = {}
    for path in capacity.EDGE_PATHS:
        function = path != "s3_origin_group"
        shields = (shipped, FUNCTION_SHIELD_REGION, home, None) if function else (shipped, None)
        for shield in dict.fromkeys(shields):
            reads = S3_FIRST_BYTE_MS + RTT_MS.get(shield or "us-east-1", 0.0) if path == "function_reads_s3" else 0.0
            where = f"Origin Shield {shield}" if shield else "no Origin Shield"
            variants[f"{path}, {where}"] = replace(
                params,
                edge_path=path,
                origin_shield=shield is not None,
                publish_via_cdn=function,
                function_ms=params.function_ms + reads,
                other_concurrency=region_concurrency(stage, shield),
            )
    return variants


def run_capacity(outdir: Path, stamp: str, origin: dict[str, Any] | None) -> dict[str, Any]:
    from bench import simulation

    params, sources = capacity_params(origin)
    at_target = capacity.evaluate(params)
    held = capacity.breaking_point(params)
    scenario_points = {name: capacity.breaking_point(params, scenarios=(name,)) for name in capacity.SCENARIOS}
    first = capacity.first_limit(capacity.evaluate(replace(params, page_views_per_s=held))) if held else None
    variants = {}
    for name, variant in design_variants(params).items():
        result = capacity.evaluate(variant)
        functions = variant.edge_path != "s3_origin_group"
        points = {n: capacity.breaking_point(variant, scenarios=(n,)) for n in capacity.SCENARIOS}
        variants[name] = {
            "edge_path": variant.edge_path,
            "function_ms": variant.function_ms if functions else None,
            "other_concurrency": variant.other_concurrency if functions else None,
            "breaks_at": points,
            "first_limits": {
                n: capacity.first_limit(capacity.evaluate(replace(variant, page_views_per_s=p)), (n,))[1]
                for n, p in points.items()
                if p
            },
            "lambda_breaks_at": {
                n: capacity.breaking_point(variant, scenarios=(n,), limits=("lambda_environments",))
                for n in capacity.SCENARIOS
            }
            if functions
            else None,
            "after_refresh": result["scenarios"]["refresh"]["detail"],
            "after_invalidation": result["scenarios"]["all_cold"]["detail"],
        }
    names = [f"capacity-utilization-{stamp}.png", f"capacity-cold-{stamp}.png"]
    from bench import plots  # as above

    plots.utilization_vs_rate(params, outdir / names[0], TARGET_VIEWS, held, first)
    plots.cold_fills(params, outdir / names[1])
    return {
        "params": asdict(params),
        "sources": sources,
        "quotas": capacity.QUOTAS,
        "quota_sources": capacity.QUOTA_SOURCES,
        "rtt_source": RTT_SOURCE,
        "s3_first_byte_ms": S3_FIRST_BYTE_MS,
        "at_target": at_target,
        "breaking_point_page_views_per_s": held,
        "first_limit": list(first) if first else None,
        "scenario_breaking_points": scenario_points,
        "ramp_needed_s_at_2x": capacity.ramp_needed(params, rate=2 * TARGET_VIEWS),
        # The share of page views that may miss S3 (reach the web origin) at twice the target, steady and refresh.
        "miss_share_limit_at_2x": {
            "steady": params.web_rps_per_task * params.web_max_tasks / (2 * TARGET_VIEWS),
            "refresh": (params.web_rps_per_task * params.web_max_tasks - at_target["publish_rps"]) / (2 * TARGET_VIEWS),
        },
        "variants": variants,
        "simulation": simulation.check_against_model(),
        "plots": names,
    }


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
            _tests(report, work)
        app_outdir = Path(report["synth"]["app_outdir"])
        synth = read_assembly(app_outdir)
        baseline = handler.baseline_bundle(BASELINE_REV, work / "baseline")
        cold_runs = _int_env("BENCH_COLD_RUNS", 12)
        # The goal's ratio is of two medians: twice the pairs, since one run's pairs range over about 0.5x.
        lambda_runs = _int_env("BENCH_LAMBDA_COLD_RUNS", 24)
        _step("handler_cold", lambda: handler.cold_import(cold_runs), report)
        _step("handler_cold_baseline", lambda: handler.cold_import(cold_runs, baseline) if baseline else None, report)
        _step(
            "handler_cold_lambda",
            lambda: {
                "baseline_rev": BASELINE_REV,
                "current": handler.lambda_cold(synth, lambda_runs),
                "baseline": handler.lambda_cold(synth, lambda_runs, baseline) if baseline else None,
            },
            report,
        )
        _step("handler_snapstart", lambda: handler.snapstart_emulated(synth, cold_runs // 2 or 1), report)
        _step("handler_warm", lambda: handler.warm_requests(synth, _int_env("BENCH_REQUESTS", 300)), report)
        report["ratios_across_runs"] = ratios.across_runs(
            history.append(ratios.HISTORY, ratios.entry(report, history.stamp()), ratios.KEEP)
        )
        prod_shards = _prod_chat().room_shards
        _step(
            "latest",
            lambda: handler.latest_reads(synth, _int_env("BENCH_LATEST_REQUESTS", 100), (1, prod_shards)),
            report,
        )
        _step("chat_capacity", lambda: run_chat_capacity(REPORTS, today), report)
        report["load"] = newest_load()
        _step("origin", lambda: run_origin(float(os.environ.get("BENCH_ORIGIN_STEP_S", "10"))), report)
        _step("capacity", lambda: run_capacity(REPORTS, today, report["origin"]), report)
        _step("cost", lambda: run_cost(app_outdir, _average_hit_ratio(report["origin"])), report)
        _tune(report, app_outdir, today)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report["machine"]["load_average_end"] = os.getloadavg()
    report["total_s"] = time.perf_counter() - started
    _write(report, today)


def _tests(report: dict[str, Any], work: Path) -> None:
    """The suite as `make test` and `make test-fast` run it, each as a ratio to one full synth."""
    _step("tests", timing.test_suite, report)
    # The suite's denominator brackets it: the last full synth before it and one right after it.
    before = report["synth"]["last_app_wall_s"]
    after = timing.synth_once("app", work / "app-after-tests")["wall_s"]
    tests, one_synth = report["tests"], (before + after) / 2
    tests.update(synth_before_s=before, synth_after_s=after, one_synth_s=one_synth)
    tests["ratio_to_one_synth"] = tests["wall_s"] / one_synth
    tests["ratio_warm_to_one_synth"] = tests["warm"]["wall_s"] / one_synth
    tests["ratio_fast_to_one_synth"] = tests["fast"]["wall_s"] / one_synth
    tests["at"] = history.stamp()
    entry = timing.suite_entry(tests, tests["at"], report["machine"]["load_average_start"][0])
    tests["across_runs"] = timing.suite_across_runs(
        history.append(timing.SUITE_HISTORY, entry, timing.SUITE_HISTORY_KEEP)
    )


def _write(report: dict[str, Any], today: str) -> None:
    """The report's JSON (first as measured, then with the goals), its Markdown, latest.md and the README."""
    (REPORTS / f"bench-{today}.json").write_text(
        json.dumps(report, indent=2, default=str) + "\n"
    )  # kept if below fails
    report["goals_met"] = goals_met(report)
    from bench.markdown import render

    (REPORTS / f"bench-{today}.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    text = render(report)
    (REPORTS / f"bench-{today}.md").write_text(text)
    (REPORTS / "latest.md").write_text(text)
    readme.update(report)
    print(f"wrote reports/bench-{today}.md and .json in {report['total_s']:.0f} s; README figures", file=sys.stderr)


def _tune(report: dict[str, Any], app_outdir: Path, today: str) -> None:
    """The memory tuner on this run's assembly, or (BENCH_SKIP_TUNE=1) the newest `make tune` report."""
    if os.environ.get("BENCH_SKIP_TUNE") == "1":
        report["tune"] = newest_tune()
        return
    rounds = _int_env("TUNE_ROUNDS", 3)
    _step("tune", lambda: tune.run(app_outdir, rounds, outdir=REPORTS, plot_name="memory-{date}.png"), report)
    report["tune"]["date"] = today
    tune.record(report["tune"], "make bench")


def run_origin(step_s: float) -> dict[str, Any]:
    """The origin measurement of this run, recorded in the history with the last runs beside it."""
    result = origin.run(step_s)
    if result.get("rps_per_task"):
        result["at"] = history.stamp()
        result["across_runs"] = origin.across_runs(origin.record_run(origin.history_entry(result)))
    return result


def newest_load() -> dict[str, Any] | None:
    """The newest `make load` report in brief (bench does not run it): its best step and its read-back check."""
    found = sorted(REPORTS.glob("load-*.json"))
    if not found:
        return None
    load = json.loads(found[-1].read_text())
    best = next(step for step in load["steps"] if step["name"] == load["best_step"])
    acknowledged = sum(room["acknowledged"] for room in load["checks"]["rooms"].values())
    return {"date": load["date"], "target": load["target"], "best": best, "acknowledged": acknowledged,
            "every_acknowledged_once": load["checks"]["every_acknowledged_once"]}  # fmt: skip


def newest_tune() -> dict[str, Any] | None:
    """The newest `make tune` report, for a bench run that does not tune (BENCH_SKIP_TUNE=1)."""
    found = sorted(REPORTS.glob("tune-*.json"))
    return {**json.loads(found[-1].read_text()), "from_file": found[-1].name} if found else None


def _average_hit_ratio(origin_run: dict[str, Any] | None) -> float:
    """The share of page views the caches answer at the cost model's average rate (its Load.edge_hit_ratio)."""
    params, _ = capacity_params(origin_run)
    avg_views = cost.Load().page_views / (730 * 3600)
    return float(capacity.evaluate(replace(params, page_views_per_s=avg_views))["overall_hit_ratio"])


def remodel(path: Path, app_outdir: Path | None = None) -> None:
    """`python -m bench.run --model reports/bench-DATE.json [cdk.out]`: the capacity model and goals again (and the
    cost and the memory rule's picks, given a synthesized app), from that run's measurements and today's config
    and rules (seconds instead of a full run; the measurements stay as they were)."""
    from bench.markdown import render

    report = json.loads(path.read_text())
    stamp = report["date"]
    report["capacity"] = run_capacity(REPORTS, stamp, report["origin"])
    tests = report.get("tests")
    recorded = history.up_to(timing.SUITE_HISTORY, tests["at"]) if tests and "at" in tests else []
    if recorded:  # the last runs up to its own
        tests["across_runs"] = timing.suite_across_runs(recorded)
    recorded_ratios = ratios.up_to(report)
    if recorded_ratios:
        report["ratios_across_runs"] = ratios.across_runs(recorded_ratios)
    if app_outdir is not None:
        report["cost"] = run_cost(app_outdir, _average_hit_ratio(report["origin"]))
        if report.get("tune") and not report["tune"].get("error"):
            report["tune"] = _rechoose(report["tune"], app_outdir)
    report["goals"] = GOALS
    report["goals_met"] = goals_met(report)
    report["remodelled"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    text = render(report)
    path.with_suffix(".md").write_text(text)
    (REPORTS / "latest.md").write_text(text)
    readme.update(report)
    print(f"remodelled {path}; README figures", file=sys.stderr)


def _rechoose(tuned: dict[str, Any], app_outdir: Path) -> dict[str, Any]:
    """A run's memory figures under today's rule and configuration, and the last runs up to its own."""
    tuned = tune.rechoose(tuned, app_outdir)
    own = tuned.get("across_runs", {}).get("runs", [])
    recorded = history.up_to(tune.HISTORY, own[-1]["at"]) if own else []
    if recorded:
        tuned["across_runs"] = tune.across_runs(recorded)
        tune.mark_decided(tuned, tune.last_agreed(recorded))
    return tuned


def _step(name: str, fn: Any, report: dict[str, Any]) -> None:
    print(f"bench: {name} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    report[name] = fn()
    report.setdefault("step_seconds", {})[name] = time.perf_counter() - start


def goals_met(report: dict[str, Any]) -> dict[str, bool | None]:
    tests = report.get("tests")
    return {
        "synth_ratio": ratios.worst(report, "synth") <= GOALS["synth_ratio"],
        "synth_ratio_no_validation": ratios.worst(report, "synth_no_validation") <= GOALS["synth_ratio"],
        "test_ratio": _suite_met(tests, "cold", GOALS["test_ratio"]),
        "test_ratio_warm": _suite_met(tests, "warm", GOALS["test_ratio_warm"]),
        "test_fast_ratio": _suite_met(tests, "fast", GOALS["test_fast_ratio"]),
        "handler_overhead": ratios.worst(report, "handler_overhead") <= GOALS["handler_overhead"],
        "cold_import": ratios.worst(report, "cold_import_ms") < GOALS["cold_import_ms"],
        "cold_import_ratio": ratios.worst(report, "cold_import") <= GOALS["cold_import_ratio"],
        "cold_import_ratio_lambda": ratios.worst(report, "cold_import_lambda") <= GOALS["cold_import_ratio"],
        "cold_request_lambda": ratios.worst(report, "cold_request_lambda") <= GOALS["cold_import_ratio"],
        "origin_measured": bool(report["origin"].get("rps_per_task")),
        "origin_spread": report["origin"]["across_runs"]["within_goal"]
        if report["origin"].get("across_runs")
        else None,
        "memory_by_measurement": memory_met(report.get("tune")),
        "capacity_at_target": capacity_met(report),
        "capacity_headroom": headroom_met(report),
    }


def _suite_met(tests: dict[str, Any] | None, ratio: str, goal: float) -> bool | None:
    """Met when the worst of the last runs (this one among them) keeps the goal; this run's alone before the
    history existed."""
    if not tests:
        return None
    worst = tests["across_runs"][ratio][1] if "across_runs" in tests else tests[timing.RATIO_KEYS[ratio]]
    return bool(worst <= goal)


def memory_met(tuned: dict[str, Any] | None) -> bool | None:
    """Every tuned function configured at the size the rule picks in this run and in each of the last runs (None:
    not tuned)."""
    if not tuned or tuned.get("error"):
        return None
    agreed = tuned.get("across_runs", {}).get("agreed", {})
    return bool(tuned.get("across_runs", {}).get("stable")) and all(
        f["choice"]["memory_mb"] == f["configured_mb"] == agreed.get(key) for key, f in tuned["functions"].items()
    )


def capacity_met(report: dict[str, Any]) -> bool | None:
    """Inside every limit of every held scenario at the target, on a measured origin (else not decided)."""
    if not report["origin"].get("rps_per_task"):
        return None
    return not report["capacity"]["at_target"]["limits_exceeded"]


def headroom_met(report: dict[str, Any]) -> bool | None:
    if not report["origin"].get("rps_per_task"):
        return None
    point = report["capacity"]["breaking_point_page_views_per_s"]
    return point is None or point >= GOALS["capacity_headroom"] * TARGET_VIEWS


if __name__ == "__main__":
    if sys.argv[1:2] == ["--model"]:
        remodel(Path(sys.argv[2]), Path(sys.argv[3]) if len(sys.argv) > 3 else None)
    else:
        main()
