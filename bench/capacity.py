"""Capacity model of the edge cache at a given page-view rate. Pure functions, explicit parameters.

The path of a page view: viewer -> CloudFront edge location (POP) -> regional edge cache (REC) ->
origin-request Lambda@Edge (runs at the REC) -> the S3 page cache (a page the publisher or an earlier
render put there) or, when S3 has no copy, the web origin (ALB -> Fargate).

Model (stated, so it can be checked and argued with):
- Page popularity is Zipf(s) over `pages` pages; requests are Poisson.
- Each cache tier is a TTL cache: a miss fetches the page and keeps it `ttl_s`; hits do not extend it.
  For a Poisson stream of rate r at one cache node, the miss rate is r / (1 + r * ttl) (one miss per
  renewal cycle of length ttl + 1/r). A tier of n nodes sharing traffic evenly sends n * (r/n) / (1 + r/n * ttl).
- POPs feed RECs evenly; the origin-request function runs once per REC miss (Lambda@Edge origin triggers
  run at the REC), and does one S3 GetObject. Pages the publisher has filled are served from S3;
  the rest go to the web origin.
- Lambda@Edge concurrency = invocations/s x duration (Little's law), per region (RECs are in different
  regions; the busiest region carries `busiest_region_share` of the REC traffic).
- Cold cache (after a deploy-wide invalidation): every (page, REC) pair misses once. The miss rate of the
  first `burst_window_s` seconds is compared with Lambda's burst scaling (1,000 environments per 10 s per
  function) and with the regional concurrency quota.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

# Documented quotas (AWS docs, to be re-checked at each report; see bench/prices.json for the date).
QUOTAS = {
    "lambda_concurrency_per_region": 1_000,  # default account quota per region, Lambda@Edge shares it
    "lambda_burst_envs_per_10s": 1_000,  # per function: +1,000 execution environments every 10 s
    "s3_get_per_prefix_per_s": 5_500,  # GET/HEAD per partitioned prefix
    "s3_put_per_prefix_per_s": 3_500,  # PUT/COPY/POST/DELETE per partitioned prefix
    "cloudfront_requests_per_s": 250_000,  # per distribution
}


@dataclass(frozen=True)
class CapacityParams:
    page_views_per_s: float = 30_000
    pages: int = 200_000
    zipf_s: float = 0.9
    ttl_s: float = 60  # POP and REC TTL of a page (CloudFront default TTL for pages)
    pops: int = 100  # edge locations that serve the audience
    recs: int = 13  # regional edge caches
    busiest_region_share: float = 0.3  # share of REC traffic in the busiest Lambda region
    prefilled_pages: int = 20_000  # most popular pages the publisher keeps in S3
    edge_duration_ms: float = 60  # decision + S3 GetObject round trip from the REC's region
    s3_prefixes: int = 1  # partitioned key prefixes the pages are spread over ("pages/" = 1)
    origin_capacity_rps: float = 400  # what the web service renders per second at its max task count
    burst_window_s: float = 10
    concurrency_quota: int = QUOTAS["lambda_concurrency_per_region"]


def zipf_weights(pages: int, s: float) -> np.ndarray:
    """Request probability of page rank 1..pages."""
    ranks = np.arange(1, pages + 1, dtype=float)
    weights = ranks**-s
    return weights / weights.sum()


def ttl_miss_rate(rate: np.ndarray, ttl_s: float, nodes: int) -> np.ndarray:
    """Miss rate (per page) leaving a tier of `nodes` TTL caches that share `rate` evenly."""
    per_node = rate / nodes
    return nodes * per_node / (1.0 + per_node * ttl_s)


def evaluate(p: CapacityParams) -> dict[str, Any]:
    """Every rate of the model for one parameter set, with each quota's utilization (1.0 = at the limit)."""
    weights = zipf_weights(p.pages, p.zipf_s)
    views = p.page_views_per_s * weights
    to_rec = ttl_miss_rate(views, p.ttl_s, p.pops)
    to_origin_tier = ttl_miss_rate(to_rec, p.ttl_s, p.recs)
    invocations = float(to_origin_tier.sum())
    in_s3 = np.arange(p.pages) < p.prefilled_pages
    s3_hits = float(to_origin_tier[in_s3].sum())
    origin_rps = invocations - s3_hits
    concurrency = invocations * p.edge_duration_ms / 1000
    busiest_concurrency = concurrency * p.busiest_region_share
    # Cold cache: distinct (page, REC) pairs requested within the burst window, all at once.
    per_rec = to_rec / p.recs
    cold_misses = p.recs * float((1.0 - np.exp(-per_rec * p.burst_window_s)).sum())
    # never below the steady state (a TTL shorter than the window already misses more often than that)
    cold_rate = max(cold_misses / p.burst_window_s, invocations)
    cold_concurrency = cold_rate * p.edge_duration_ms / 1000 * p.busiest_region_share
    cold_origin_rps = max(cold_rate * (1 - _share_prefilled(per_rec, in_s3, p.burst_window_s)), origin_rps)
    burst_limit = min(p.concurrency_quota, QUOTAS["lambda_burst_envs_per_10s"] * math.ceil(p.burst_window_s / 10))
    s3_get_per_prefix = invocations / p.s3_prefixes  # one GetObject per invocation
    result = {
        "params": asdict(p),
        "pop_hit_ratio": 1 - float(to_rec.sum()) / p.page_views_per_s,
        "overall_hit_ratio": 1 - invocations / p.page_views_per_s,
        "rec_requests_per_s": float(to_rec.sum()),
        "edge_invocations_per_s": invocations,
        "edge_concurrency_total": concurrency,
        "edge_concurrency_busiest_region": busiest_concurrency,
        "s3_get_per_prefix_per_s": s3_get_per_prefix,
        "origin_requests_per_s": origin_rps,
        "cold_edge_invocations_per_s": cold_rate,
        "cold_edge_concurrency_busiest_region": cold_concurrency,
        "cold_origin_requests_per_s": cold_origin_rps,
        "utilization": {
            "cloudfront_requests": p.page_views_per_s / QUOTAS["cloudfront_requests_per_s"],
            "lambda_concurrency": busiest_concurrency / p.concurrency_quota,
            "lambda_cold_burst": cold_concurrency / burst_limit,
            "s3_get_per_prefix": s3_get_per_prefix / QUOTAS["s3_get_per_prefix_per_s"],
            "origin": origin_rps / p.origin_capacity_rps,
            "origin_cold": cold_origin_rps / p.origin_capacity_rps,
        },
    }
    result["limits_exceeded"] = sorted(k for k, v in result["utilization"].items() if v > 1)
    return result


def _share_prefilled(per_rec: np.ndarray, in_s3: np.ndarray, window: float) -> float:
    first = 1.0 - np.exp(-per_rec * window)
    total = float(first.sum())
    return float(first[in_s3].sum()) / total if total else 1.0


def sweep(base: CapacityParams, field: str, values: list[float]) -> list[dict[str, Any]]:
    """evaluate() for each value of one parameter."""
    kind = type(getattr(base, field))
    return [evaluate(replace(base, **{field: kind(v)})) for v in values]


def breaking_point(base: CapacityParams, *, high: float = 1_000_000, steady_only: bool = False) -> float | None:
    """The lowest page-view rate at which some limit is exceeded (bisection), None if none below `high`."""

    def broken(rate: float) -> bool:
        exceeded = evaluate(replace(base, page_views_per_s=rate))["limits_exceeded"]
        if steady_only:
            exceeded = [k for k in exceeded if "cold" not in k]
        return bool(exceeded)

    low = 1.0
    if broken(low):
        return low
    if not broken(high):
        return None
    for _ in range(40):
        mid = math.sqrt(low * high)
        if broken(mid):
            high = mid
        else:
            low = mid
        if high / low < 1.01:
            break
    return high


def safe_config(
    base: CapacityParams, ttls: list[float], prefills: list[int], prefixes: list[int]
) -> CapacityParams | None:
    """The first (smallest TTL, then fewest prefilled pages, then fewest prefixes) config inside every limit."""
    for ttl in sorted(ttls):
        for prefill in sorted(prefills):
            for prefix in sorted(prefixes):
                candidate = replace(base, ttl_s=ttl, prefilled_pages=prefill, s3_prefixes=prefix)
                if not evaluate(candidate)["limits_exceeded"]:
                    return candidate
    return None
