"""PNG plots of the capacity model (matplotlib, no display)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

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
