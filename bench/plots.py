"""PNG plots of the capacity model (matplotlib, no display)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from bench import chat_capacity
from bench.capacity import (
    HELD_SCENARIOS,
    QUOTAS,
    CapacityParams,
    allowed_environments,
    cold_fill_profile,
    environments,
    evaluate,
)

LABELS = {
    "cloudfront_requests": "CloudFront requests/s per distribution",
    "cloudfront_bandwidth": "CloudFront data transfer per distribution",
    "web_origin": "web origin (measured capacity x tasks)",
    "s3_burst": "S3 GET/s in a burst (partitions it has x 5,500)",
    "lambda_environments": "Lambda environments in the function's region",
}


def _save(fig: Any, ax: Any, path: Path) -> None:
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def utilization_vs_rate(
    base: CapacityParams, path: Path, target: float, breaking: float | None, first: tuple[str, str, float] | None
) -> None:
    """Each limit's highest share over the held scenarios, against the page-view rate."""
    rates = np.geomspace(3_000, 300_000, 40)
    results = [evaluate(replace(base, page_views_per_s=float(r))) for r in rates]
    fig, ax = plt.subplots(figsize=(8, 5))
    for key, label in LABELS.items():
        values = [max(r["scenarios"][n]["utilization"].get(key, 0.0) for n in HELD_SCENARIOS) for r in results]
        if any(values):
            ax.plot(rates, values, label=label)
    ax.axhline(1.0, color="black", linestyle="--", linewidth=1, label="limit")
    ax.axvline(target, color="grey", linestyle=":", label=f"{target:,.0f} page views/s")
    if breaking and first:
        ax.axvline(breaking, color="red", linestyle="-.", linewidth=1)
        ax.plot([breaking], [1.0], "o", color="red", label=f"first limit: {first[1]} ({first[0]}) at {breaking:,.0f}")
    ax.set(xscale="log", yscale="log", xlabel="page views/s", ylabel="share of limit (1 = at the limit)")
    path_note = (
        "no function on a fill"
        if base.edge_path == "s3_origin_group"
        else f"origin-request function {base.function_ms:.3g} ms"
    )
    ax.set_title(
        f"Shipped prod config: every limit, worst of {', '.join(HELD_SCENARIOS)}\n"
        f"(TTL {base.ttl_s:g} s, Origin Shield {'on' if base.origin_shield else 'off'}, {path_note}, "
        f"web origin {base.web_rps_per_task:.0f} req/s per task, measured)",
        fontsize=9,
    )
    _save(fig, ax, path)


def cold_fills(base: CapacityParams, path: Path) -> None:
    """After an unpaced `/*` (all caches cold at once): S3's GETs and the web origin (and, in a design with a
    function, its environments), each against its limit, second by second, at the target and twice it; and what
    a paced refresh batch takes."""
    function = base.edge_path != "s3_origin_group"
    fig, ax = plt.subplots(figsize=(8, 5))
    for rate, style in ((base.page_views_per_s, "-"), (2 * base.page_views_per_s, "--")):
        p = replace(base, page_views_per_s=rate)
        steady = evaluate(p)
        capacity = steady["s3_partitions_for_steady_load"] * QUOTAS["s3_get_per_partition_per_s"]
        starts, fills = cold_fill_profile(p, 0, horizon_s=60)
        fills = fills + p.miss_share * rate
        overflow = np.maximum(0.0, fills - capacity)
        if function:
            invocations = fills + steady["web_origin_rps"] + overflow
            needed = np.array([environments(p, float(i)) for i in invocations])
            warm = steady["lambda_environments_steady"]
            allowed = np.array([allowed_environments(p, warm, float(t)) for t in starts])
            ax.plot(starts, needed / allowed, style, color="tab:red", label=f"Lambda environments at {rate:,.0f}/s")
        running = p.web_rps_per_task * steady["web_tasks_running"]
        web = (steady["web_origin_rps"] + overflow) / running
        ax.plot(starts, web, style, color="tab:orange", label=f"web origin (tasks running) at {rate:,.0f}/s")
        ax.plot(starts, fills / capacity, style, color="tab:blue", label=f"S3 GET/s (its partitions) at {rate:,.0f}/s")
    refresh = evaluate(base)["scenarios"]["refresh"]["utilization"]
    key, what = ("lambda_environments", "Lambda") if function else ("web_origin", "web origin")
    paced = refresh[key]
    ax.axhline(paced, color="tab:green", linestyle=":", label=f"{what} during a paced refresh ({paced:.2f})")
    ax.axhline(1.0, color="black", linestyle="--", linewidth=1, label="limit")
    ax.set(yscale="log", xlabel="seconds after an unpaced /* invalidation", ylabel="share of the limit (1 = at it)")
    ax.set_title("Why a deploy-wide refresh is paced: the burst of an all-at-once `/*`", fontsize=9)
    _save(fig, ax, path)


ROOM_LABELS = {
    "index_partition_wcu": "room index partition, write units/s",
    "counter_item_wcu": "room counter item, write units/s",
    "view_item_wcu": "room view item, write units/s",
    "view_item_rcu": "room view item, read units/s",
}


def room_utilization(base: chat_capacity.RoomParams, path: Path, target: float) -> None:
    """Share of each per-partition limit against one room's comment rate, for one shard and for `base`'s."""
    rates = np.geomspace(100, 100_000, 40)
    fig, ax = plt.subplots(figsize=(8, 5))
    for shards, style in ((1, ":"), (base.room_shards, "-")):
        params = replace(base, room_shards=shards)
        results = [chat_capacity.evaluate(replace(params, comments_per_s=float(r))) for r in rates]
        for key, label in ROOM_LABELS.items():
            if shards == 1 and key.startswith("view"):
                continue  # the view does not depend on the shard count
            ax.plot(rates, [r["utilization"][key] for r in results], style, label=f"{label} ({shards} shard(s))")
    ax.axhline(1.0, color="black", linestyle="--", linewidth=1, label="partition limit")
    ax.axvline(target, color="grey", linestyle=":", label=f"{target:,.0f} comments/s")
    ax.set(xscale="log", yscale="log", xlabel="comments/s into one room", ylabel="share of the partition limit")
    ax.set_title(f"One hot room: {base.stream_shards} stream shards, batches of {base.batch_size}")
    _save(fig, ax, path)


def load_curve(steps: list[dict[str, Any]], path: Path, p99_bound_ms: float) -> None:
    """Throughput and p50/p99 per step of `make load`."""
    users = [s["users"] for s in steps]
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.plot(users, [s["p50_ms"] for s in steps], "o-", label="p50 latency (ms)")
    ax.plot(users, [s["p99_ms"] for s in steps], "s-", label="p99 latency (ms)")
    ax.axhline(p99_bound_ms, color="red", linestyle="--", linewidth=1, label=f"p99 bound {p99_bound_ms:g} ms")
    ax.set(xscale="log", yscale="log", xlabel="concurrent users (no think time)", ylabel="latency (ms)")
    right = ax.twinx()
    right.plot(users, [s["requests_per_s"] for s in steps], "d-", color="green", label="throughput (requests/s)")
    right.set_ylabel("requests/s")
    right.legend(loc="lower right", fontsize=8)
    ax.set_title("make load: step load")
    _save(fig, ax, path)


def memory_tuning(result: dict[str, Any], path: Path) -> None:
    """Per tuned function: warm p50/p99 and cold start against memory, and cost per million on the right axis;
    the size the rule picks and the one configured marked."""
    functions = list(result["functions"].values())
    columns = 2
    rows = max(1, -(-len(functions) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(12, 4.2 * rows), squeeze=False)
    for ax, function in zip(axes.flat, functions, strict=False):
        ok = [row for row in function["rows"] if row.get("warm_p99_ms") is not None]
        sizes = [row["memory_mb"] for row in ok]
        ax.plot(sizes, [row["warm_p50_ms"] for row in ok], "o-", label="warm p50 (ms)")
        ax.plot(sizes, [row["warm_p99_ms"] for row in ok], "s-", label="warm p99 (ms)")
        ax.plot(sizes, [row["cold_ms"] for row in ok], "^:", color="purple", label="cold start + first invocation (ms)")
        ax.set(xscale="log", yscale="log", xlabel="memory (MB)", ylabel="duration (ms)")
        ax.set_xticks(sizes, [str(s) for s in sizes], fontsize=7, rotation=45)
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        cost = ax.twinx()
        cost.plot(sizes, [row["cost_per_million"]["weighted"] for row in ok], "d--", color="green")
        cost.set_ylabel("USD per million invocations", color="green", fontsize=8)
        chosen, configured = function["choice"]["memory_mb"], function["configured_mb"]
        if chosen:
            ax.axvline(chosen, color="red", linestyle="-.", linewidth=1, label=f"rule picks {chosen} MB")
        ax.axvline(configured, color="grey", linestyle=":", linewidth=1, label=f"configured {configured} MB")
        ax.set_title(f"{function['key']} ({function['architecture']}): cost (green, right) and duration", fontsize=9)
        _save_axis(ax)
    for ax in list(axes.flat)[len(functions) :]:
        ax.axis("off")
    fig.suptitle(
        f"Memory per function, {result['rounds']} rounds per size, CPU in proportion to memory "
        f"(1 vCPU at 1,769 MB, this host: {result['host_cpus']})",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _save_axis(ax: Any) -> None:
    ax.legend(fontsize=7, loc="upper center")
    ax.grid(True, which="both", alpha=0.3)
