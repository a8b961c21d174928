"""PNG plots of the capacity model (matplotlib, no display)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from bench import chat_capacity
from bench.capacity import QUOTAS, CapacityParams, evaluate

LABELS = {
    "cloudfront_requests": "CloudFront requests/s per distribution",
    "lambda_concurrency": "Lambda@Edge concurrency, busiest region",
    "lambda_cold_burst": "Lambda@Edge burst after invalidation",
    "s3_get_per_prefix": "S3 GET/s per prefix",
    "origin": "web origin (steady)",
    "origin_cold": "web origin (after invalidation)",
}


def _save(fig: Any, ax: Any, path: Path) -> None:
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def utilization_vs_rate(base: CapacityParams, path: Path, target: float) -> None:
    rates = np.geomspace(1_000, 300_000, 40)
    results = [evaluate(replace(base, page_views_per_s=float(r))) for r in rates]
    fig, ax = plt.subplots(figsize=(8, 5))
    for key, label in LABELS.items():
        ax.plot(rates, [r["utilization"][key] for r in results], label=label)
    ax.axhline(1.0, color="black", linestyle="--", linewidth=1, label="limit")
    ax.axvline(target, color="grey", linestyle=":", label=f"{target:,.0f} page views/s")
    ax.set(xscale="log", yscale="log", xlabel="page views/s", ylabel="share of limit (1 = at the limit)")
    ax.set_title(f"Utilization of each limit (TTL {base.ttl_s:g} s, {base.prefilled_pages:,} pages in S3)")
    _save(fig, ax, path)


def rates_vs_ttl(base: CapacityParams, path: Path) -> None:
    ttls = np.geomspace(1, 86_400, 40)
    results = [evaluate(replace(base, ttl_s=float(t))) for t in ttls]
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.plot(ttls, [r["edge_invocations_per_s"] for r in results], label="Lambda@Edge invocations/s (= S3 GET/s)")
    ax.plot(ttls, [r["origin_requests_per_s"] for r in results], label="web origin requests/s")
    ax.plot(ttls, [r["cold_edge_invocations_per_s"] for r in results], label="invocations/s after invalidation")
    ax.axhline(QUOTAS["s3_get_per_prefix_per_s"], color="red", linestyle="--", linewidth=1, label="S3 GET/s per prefix")
    ax.axhline(base.origin_capacity_rps, color="purple", linestyle="--", linewidth=1, label="origin capacity")
    ax.set(xscale="log", yscale="log", xlabel="page TTL at POPs and RECs (s)", ylabel="requests/s")
    ax.set_title(f"{base.page_views_per_s:,.0f} page views/s, Zipf s={base.zipf_s}, {base.pages:,} pages")
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
