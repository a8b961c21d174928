"""Capacity model of the edge cache at a given page-view rate. Pure functions, explicit parameters.

A page view goes viewer -> CloudFront edge location (POP) -> regional edge cache (REC) -> Origin Shield (one
cache, when enabled) -> a fill. What a fill does depends on the edge path:

- `s3_origin_group` (shipped, issue 20): the page behaviours' origin is an origin group, the S3 bucket (OAC)
  then the web origin (a VPC origin) on 403/5xx, and no function: VPC origins support no origin-facing
  Lambda@Edge trigger. The publisher fetches inside the VPC (`publish_via_cdn=False`): its fetches load the
  web origin but are no CloudFront fills and meet no web ACL.
- `function_routes` (issue 11's design; the parameters' defaults): the same origin group, and an
  origin-request Lambda@Edge function on every fill that sends what S3 can never serve straight to the web
  origin and the rest on to S3, which CloudFront reads. It reads nothing itself. It runs again when S3 fails
  over (a page not in S3, a 503 Slow Down). The publisher's signed fetch went through CloudFront
  (`publish_via_cdn=True`) and the function sent it to the web origin: one invocation, no S3 read; and it
  passed the web ACL, whose per-IP rate-based rule counted it.
- `function_reads_s3`: the function reads the page from S3 and generates the response, or forwards to the
  web origin (the design before issue 11, and the talk's).

Model (stated, so it can be checked and argued with; bench/simulation.py checks it):
- Page popularity is Zipf(s) over `pages` pages; requests are Poisson.
- Each tier is a TTL cache: a miss fetches the page and keeps it `ttl_s`. For a Poisson stream of rate r
  at one node the miss rate is r / (1 + r * ttl); a tier of n nodes sharing traffic evenly sends
  n * (r/n) / (1 + r/n * ttl). Fills are instantaneous (requests during a fill are not counted twice).
- Origin Shield is one more tier of one node. With it, origin-facing Lambda@Edge functions run in the Origin
  Shield region (CloudFront Developer Guide, Using Origin Shield: "Origin Shield and Lambda@Edge"), so every
  invocation lands in that region, and both origins of a group have their own shield there ("Origin Shield and
  origin groups"), so a failover's second invocation does too. Without it, the function runs at the RECs.
- The function runs once per request that leaves the last cache (an origin request) and once more when the
  origin group fails over (CloudFront Developer Guide, "Use origin failover with Lambda@Edge functions").
  Every URL never published is counted as such a failover (an upper bound: the ones the function sends
  straight to the web origin cost one invocation and no S3 read).
- Cold caches: after an unpaced `/*` invalidation (or a new distribution taking all traffic at once) the
  first request of a page anywhere makes one fill at the shield: fills in the first t seconds are the
  distinct pages requested, sum(1 - exp(-lambda_i t)). With a ramp (traffic moved over `ramp_s`) the
  rates grow linearly. S3 serves a burst only from the partitions it already has for its steady load
  (scaling is gradual; 503 Slow Down meanwhile, which fails over to the web origin), at 5,500 GET/s each.
- Lambda: execution environments = max(invocations / 10, invocations x duration) (each environment serves at
  most 10 requests/s; Little's law); the region's 1,000 concurrent executions are shared with every other
  function of the account there; a function scales by at most 1,000 new environments per 10 s from what it
  runs. A throttled Lambda@Edge function answers the viewer 503; nothing falls back.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from typing import Any, Literal

import numpy as np

EdgePath = Literal["function_routes", "s3_origin_group", "function_reads_s3"]
EDGE_PATHS: tuple[EdgePath, ...] = ("function_routes", "s3_origin_group", "function_reads_s3")

# Documented quotas and rates (default values). Each entry: value, then where it is written.
QUOTAS: dict[str, int] = {
    "cloudfront_requests_per_s": 250_000,
    "cloudfront_gbps": 150,
    "s3_get_per_partition_per_s": 5_500,
    "lambda_concurrency_per_region": 1_000,
    "lambda_rps_per_environment": 10,
    "lambda_new_environments_per_10s": 1_000,
}
QUOTA_SOURCES: dict[str, str] = {
    "cloudfront_requests_per_s": "CloudFront Developer Guide, Quotas: requests per second per distribution "
    "(https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html)",
    "cloudfront_gbps": "CloudFront Developer Guide, Quotas: data transfer rate per distribution "
    "(https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html)",
    "s3_get_per_partition_per_s": "S3 User Guide, Best practices design patterns: optimizing Amazon S3 performance "
    "(https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html): at least 5,500 GET/HEAD "
    "per second per partitioned prefix; as the rate grows S3 scales gradually, with 503 Slow Down meanwhile "
    "(CloudFront Developer Guide, HTTP 503 status code (Service Unavailable), "
    "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/http-503-service-unavailable.html)",
    "lambda_concurrency_per_region": "Lambda Developer Guide, Lambda quotas "
    "(https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html): 1,000 concurrent executions per "
    "Region, shared by all functions of the account there; the CloudFront quotas page lists the same 1,000 for "
    "Lambda@Edge, counted in the Region where the function runs",
    "lambda_rps_per_environment": "Lambda Developer Guide, Lambda quotas "
    "(https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html): each instance of an execution "
    "environment can serve up to 10 requests per second",
    "lambda_new_environments_per_10s": "Lambda Developer Guide, Lambda scaling behavior "
    "(https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html): 1,000 execution environments every "
    "10 seconds per function and Region; Lambda@Edge has no reserved or provisioned concurrency (CloudFront "
    "Developer Guide, Restrictions on Lambda@Edge)",
}

SCENARIOS = ("steady", "new_pops", "refresh", "new_distribution", "all_cold")
WAF_WINDOW_S = 300  # a rate-based rule's evaluation window (AWS WAF API Reference, RateBasedStatement: default 300)
# The scenarios the shipped config is claimed to hold; `all_cold` (an unpaced `/*`) is reported beside them.
HELD_SCENARIOS = ("steady", "new_pops", "refresh", "new_distribution")
SCENARIO_TITLES = {
    "steady": "steady state",
    "new_pops": "cold edge locations (new POPs; regional caches and Origin Shield warm)",
    "refresh": "deploy-wide invalidation by the publisher (every page republished, each batch invalidated)",
    "new_distribution": "new distribution (and, in a function design, function), traffic moved to it over the ramp",
    "all_cold": "unpaced `/*` invalidation, or a new distribution taking all traffic at once",
}


@dataclass(frozen=True)
class CapacityParams:
    page_views_per_s: float = 30_000
    pages: int = 200_000
    zipf_s: float = 0.9
    ttl_s: float = 60  # page TTL at every tier
    pops: int = 100  # edge locations that serve the audience
    recs: int = 13  # regional edge caches
    origin_shield: bool = True
    edge_path: EdgePath = "function_routes"
    page_kb: float = 50
    pages_in_s3: int = 200_000  # most popular pages the publisher keeps in S3
    miss_share: float = 0.005  # share of views for URLs never published (typos, scanners): each reaches the web
    web_rps_per_task: float = 80  # measured: bench/origin.py (at its latency target)
    web_cpu_rps_per_task: float | None = None  # at 100% of its CPU (what its CPU target is a share of); None: the above
    web_max_tasks: int = 10
    web_min_tasks: int = 2
    web_scale_rps_per_task: float = 500 / 60  # the service's request-count scaling target; bursts meet what it runs
    web_scale_cpu_share: float = 0.6  # its CPU target, as a share of a task's capacity
    publish_concurrency: int = 5
    publish_fetch_s: float = 0.1  # one page fetch from the web origin under load (measured p50)
    publish_batch_paths: int = 100  # paths per invalidation: a batch's pages are filled again together
    publish_via_cdn: bool = True  # the publisher fetches through the distribution (and its web ACL), not the VPC
    waf_rate_limit_per_5min: float | None = None  # the web ACL's per-IP rate-based limit; None: no web ACL
    function_ms: float = 0.05  # the function's duration: decision (+ S3 round trip for function_reads_s3)
    busiest_region_share: float = 0.3  # of REC traffic, when functions run at the RECs (no Origin Shield)
    region_concurrency: int = QUOTAS["lambda_concurrency_per_region"]  # the account's, in the function's region
    other_concurrency: float = 0  # the account's other functions in the function's region, at their peak
    burst_window_s: float = 1.0  # averaging window for burst rates (quotas are per second)
    ramp_s: float = 600  # new distribution: seconds over which traffic moves to it


@lru_cache(maxsize=8)
def zipf_weights(pages: int, s: float) -> np.ndarray:
    """Request probability of page rank 1..pages (read-only: one array per catalogue, shared by every call; a
    breaking point's bisection evaluates the same catalogue dozens of times)."""
    ranks = np.arange(1, pages + 1, dtype=float)
    weights = ranks**-s
    weights /= weights.sum()
    weights.flags.writeable = False
    return weights


def ttl_miss_rate(rate: np.ndarray, ttl_s: float, nodes: int) -> np.ndarray:
    """Miss rate (per page) leaving a tier of `nodes` TTL caches that share `rate` evenly."""
    per_node = rate / nodes
    return np.asarray(nodes * per_node / (1.0 + per_node * ttl_s))


def tier_rates(p: CapacityParams) -> dict[str, np.ndarray]:
    """Per-page request rates into each tier in steady state."""
    views = p.page_views_per_s * zipf_weights(p.pages, p.zipf_s)
    to_rec = ttl_miss_rate(views, p.ttl_s, p.pops)
    rec_misses = ttl_miss_rate(to_rec, p.ttl_s, p.recs)
    fills = ttl_miss_rate(rec_misses, p.ttl_s, 1) if p.origin_shield else rec_misses
    return {"views": views, "to_rec": to_rec, "rec_misses": rec_misses, "fills": fills}


def distinct_pages(rates: np.ndarray, t: float, counts: np.ndarray | None = None) -> float:
    """Expected distinct pages requested in the first t seconds of Poisson streams (the cold fills)."""
    seen = 1.0 - np.exp(-rates * t)
    return float((seen * counts).sum() if counts is not None else seen.sum())


def rate_classes(rates: np.ndarray, exact: int = 2_000, ratio: float = 1.002) -> tuple[np.ndarray, np.ndarray]:
    """Pages grouped into classes of nearly equal rate (decreasing `rates`): (mean rate, page count) per class.

    The cold-cache sums run over these instead of every page: the first `exact` pages stay single, the tail
    is cut where the rate falls by `ratio`; the error this adds is far below the model's own.
    """
    head, tail = rates[:exact], rates[exact:]
    if tail.size == 0:
        return head, np.ones_like(head)
    edges = np.searchsorted(-tail, -tail[0] / ratio ** np.arange(1, 100_000))
    edges = np.unique(np.concatenate(([0], edges[edges < tail.size], [tail.size])))
    sums = np.add.reduceat(tail, edges[:-1])
    counts = np.diff(edges).astype(float)
    return np.concatenate((head, sums / counts)), np.concatenate((np.ones_like(head), counts))


@lru_cache(maxsize=8)
def _share_classes(pages: int, s: float) -> tuple[np.ndarray, np.ndarray]:
    """rate_classes of the catalogue's page shares: the classes of its page views at any rate (the rate scales
    every class alike)."""
    shares, counts = rate_classes(zipf_weights(pages, s))
    shares.flags.writeable = counts.flags.writeable = False
    return shares, counts


def cold_fill_profile(
    p: CapacityParams, ramp_s: float, horizon_s: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(window starts, fills/s in each `burst_window_s` window) after all caches went cold, traffic ramped over ramp_s.

    The first request of a page at the filling tier makes the one fill; with Origin Shield that tier is
    the shield, without it each regional cache fills on its own (the same share of traffic each).
    """
    shares, counts = _share_classes(p.pages, p.zipf_s)
    nodes = 1 if p.origin_shield else p.recs
    rates = p.page_views_per_s * shares / nodes
    window = p.burst_window_s
    end = horizon_s if horizon_s is not None else ramp_s + 5 * window
    starts = np.linspace(0, end, 241)

    total = counts.sum()

    def seen(t: np.ndarray) -> np.ndarray:  # distinct pages by each t, traffic ramped linearly to full at ramp_s
        exposure = t if ramp_s <= 0 else np.where(t <= ramp_s, t * t / (2 * ramp_s), t - ramp_s / 2)
        unseen = np.multiply.outer(exposure, -rates)
        np.exp(unseen, out=unseen)  # in place: the grid is times x rate classes, the model's largest array
        return np.asarray(total - unseen @ counts)

    return starts, nodes * (seen(starts + window) - seen(starts)) / window


def cold_fill_rate(p: CapacityParams, ramp_s: float) -> float:
    """Peak fill rate (averaged over `burst_window_s`) after all caches went cold, traffic ramped over ramp_s."""
    return float(np.max(cold_fill_profile(p, ramp_s)[1]))


def _running_tasks(p: CapacityParams, web_rps: float) -> int:
    """Tasks auto scaling keeps for the steady web load: the larger of its two targets' counts, within min..max."""
    by_requests = web_rps / p.web_scale_rps_per_task
    by_cpu = web_rps / (p.web_scale_cpu_share * (p.web_cpu_rps_per_task or p.web_rps_per_task))
    return int(min(p.web_max_tasks, max(p.web_min_tasks, math.ceil(max(by_requests, by_cpu)))))


def environments(p: CapacityParams, invocations: float) -> float:
    """Execution environments the invocations need in the function's busiest region."""
    busiest = invocations * (1.0 if p.origin_shield else p.busiest_region_share)
    return max(busiest * p.function_ms / 1000, busiest / QUOTAS["lambda_rps_per_environment"])


def allowed_environments(p: CapacityParams, warm: float, t: float | None) -> float:
    """What the region lets the function run: the account's concurrency left by its other functions, and in a
    burst at `t` seconds (None: steady) what it can have scaled to by then from the `warm` ones it ran."""
    available = p.region_concurrency - p.other_concurrency
    if t is None:
        return available
    grown = warm + QUOTAS["lambda_new_environments_per_10s"] * (1 + math.floor(t / 10))
    return min(available, grown)


@dataclass(frozen=True)
class _Steady:
    """The steady-state rates every scenario starts from."""

    p: CapacityParams
    fill_rate: float  # requests leaving the last cache (all go to S3 first)
    web: float  # of them, those the web origin answers
    failovers: float  # of them, those the function sees a second time
    s3_burst_capacity: float
    web_max: float
    web_running: float
    warm: float  # execution environments the function runs for the steady load
    edge: dict[str, float]


def _scenario(
    base: _Steady,
    fills_now: np.ndarray | float,
    *,
    extra_web: float = 0.0,
    cold_since: np.ndarray | None = None,
    warm_now: float = 0.0,
) -> dict[str, Any]:
    """One scenario's limits. `fills_now`: one rate, or one per window from `cold_since` (seconds since cold)."""
    p, cold = base.p, cold_since is not None
    profile = np.atleast_1d(np.asarray(fills_now, dtype=float))
    util = dict(base.edge)
    web_capacity = base.web_running if cold else base.web_max  # a burst is over before auto scaling adds a task
    overflow = np.maximum(0.0, profile - base.s3_burst_capacity) if cold else np.zeros_like(profile)
    web_load = base.web + extra_web + overflow  # S3's 503 Slow Down fails over to the web origin
    detail: dict[str, float] = {"fills_per_s": float(profile.max())}
    if cold:
        util["s3_burst"] = float(profile.max()) / base.s3_burst_capacity
        detail["s3_overflow_to_web_per_s"] = float(overflow.max())
    util["web_origin"] = float(web_load.max()) / web_capacity
    detail["web_origin_rps"] = float(web_load.max())
    detail["web_origin_capacity_rps"] = web_capacity
    if p.edge_path != "s3_origin_group":
        again = base.failovers + overflow if p.edge_path == "function_routes" else 0.0
        util["lambda_environments"] = _lambda(p, profile + again, cold_since, warm_now, detail)
    exceeded = sorted(k for k, v in util.items() if v > 1)
    return {"utilization": util, "detail": detail, "limits_exceeded": exceeded}


def _lambda(
    p: CapacityParams, invocations: np.ndarray, cold_since: np.ndarray | None, warm: float, detail: dict[str, float]
) -> float:
    """The function's share of what its region allows, at the worst moment; its figures go into `detail`."""
    needed = np.array([environments(p, float(i)) for i in invocations])
    times = [None] if cold_since is None else [float(t) for t in cold_since]
    allowed = np.array([allowed_environments(p, warm, t) for t in times])
    worst = int(np.argmax(needed / allowed))
    detail["lambda_invocations_per_s"] = float(invocations[worst])
    detail["lambda_environments_needed"] = float(needed[worst])
    detail["lambda_environments_allowed"] = float(allowed[worst])
    detail["lambda_margin_environments"] = float(allowed[worst] - needed[worst])
    if cold_since is not None:
        over = cold_since[needed > allowed]
        detail["lambda_throttled_s"] = float(over.max() + p.burst_window_s) if over.size else 0.0
    return float(needed[worst] / allowed[worst])


def _refresh(base: _Steady, fills: float, publish_rps: float) -> dict[str, Any]:
    """A deploy-wide refresh: the publisher's fetches on top of the steady load. Through CloudFront, they pass the
    web ACL, whose per-IP rate-based rule counts them (worst case: every fetch from one Lambda address); inside
    the VPC they meet no web ACL."""
    p = base.p
    result = _scenario(base, fills, extra_web=publish_rps, warm_now=base.warm)
    counted = publish_rps * WAF_WINDOW_S if p.publish_via_cdn else 0.0
    result["detail"]["waf_publisher_requests_per_5min"] = counted
    if p.waf_rate_limit_per_5min and p.publish_via_cdn:
        result["utilization"]["waf_rate_limit"] = counted / p.waf_rate_limit_per_5min
        result["limits_exceeded"] = sorted(k for k, v in result["utilization"].items() if v > 1)
    return result


def _scenarios(base: _Steady, *, fill_rate: float, junk: float, publish_rps: float) -> dict[str, dict[str, Any]]:
    """Each scenario's rates and limit utilizations, from the steady state."""
    p = base.p
    # Each republished page is fetched from the web origin (through CloudFront, where the function routes the
    # publisher's signed fetch there: one invocation, no failover; or inside the VPC: no fill at all), and once
    # its batch is invalidated, filled again from S3: a batch's pages at once, at worst in one window.
    batch_burst = min(p.publish_batch_paths, p.pages) / p.burst_window_s
    publish_fills = publish_rps if p.publish_via_cdn else 0.0
    # A new distribution: the first fills of the ramp on top of the steady refills (conservative: refills counted
    # at the full rate), with a new function that has no environment yet.
    ramp_starts, ramped = cold_fill_profile(p, p.ramp_s)
    cold_starts, burst = cold_fill_profile(p, 0, horizon_s=120)
    scenarios = {
        "steady": _scenario(base, fill_rate),
        "new_pops": _scenario(base, fill_rate),  # POP fills are served by warm RECs: nothing behind them changes
        "refresh": _refresh(base, fill_rate + publish_fills + batch_burst, publish_rps),
        "new_distribution": _scenario(base, ramped + fill_rate, cold_since=ramp_starts),
        # No refill within the first TTL; the function scales from what it ran.
        "all_cold": _scenario(base, burst + junk, cold_since=cold_starts, warm_now=base.warm),
    }
    return scenarios


def evaluate(p: CapacityParams) -> dict[str, Any]:
    """Every rate of the model for one parameter set, and each limit's utilization (1.0 = at the limit) per scenario."""
    rates = tier_rates(p)
    fills = rates["fills"]
    in_s3 = np.arange(p.pages) < p.pages_in_s3
    junk = p.miss_share * p.page_views_per_s  # never cached usefully: every one is a fill and reaches the web
    fill_rate = float(fills.sum()) + junk
    web_steady = float(fills[~in_s3].sum()) + junk
    # Every fill asks S3 first (through the function, or by the function); S3's 403 sends the web origin's
    # share on, and the routing function runs a second time for each of those.
    failovers = web_steady if p.edge_path == "function_routes" else 0.0
    partitions = max(1, math.ceil(fill_rate / QUOTAS["s3_get_per_partition_per_s"]))
    running = _running_tasks(p, web_steady)
    publish_rps = p.publish_concurrency / p.publish_fetch_s
    gbps = p.page_views_per_s * p.page_kb * 8 / 1e6
    functions = p.edge_path != "s3_origin_group"
    base = _Steady(
        p=p,
        fill_rate=fill_rate,
        web=web_steady,
        failovers=failovers,
        s3_burst_capacity=partitions * QUOTAS["s3_get_per_partition_per_s"],
        web_max=p.web_rps_per_task * p.web_max_tasks,
        web_running=p.web_rps_per_task * running,
        warm=environments(p, fill_rate + failovers) if functions else 0.0,
        edge={
            "cloudfront_requests": p.page_views_per_s / QUOTAS["cloudfront_requests_per_s"],
            "cloudfront_bandwidth": gbps / QUOTAS["cloudfront_gbps"],
        },
    )
    scenarios = _scenarios(base, fill_rate=fill_rate, junk=junk, publish_rps=publish_rps)
    return {
        "params": asdict(p),
        "pop_hit_ratio": 1 - float(rates["to_rec"].sum()) / p.page_views_per_s,
        "overall_hit_ratio": 1 - fill_rate / p.page_views_per_s,
        "rec_requests_per_s": float(rates["to_rec"].sum()),
        "fills_per_s": fill_rate,
        "s3_get_per_s": fill_rate,
        "s3_partitions_for_steady_load": partitions,
        "web_origin_rps": web_steady,
        "web_tasks_running": running,
        "publish_rps": publish_rps,
        "gbps": gbps,
        "lambda_invocations_steady": fill_rate + failovers if functions else 0.0,
        "lambda_environments_steady": base.warm,
        "scenarios": scenarios,
        "limits_exceeded": sorted({k for n in HELD_SCENARIOS for k in scenarios[n]["limits_exceeded"]}),
    }


def first_limit(result: dict[str, Any], scenarios: tuple[str, ...] = HELD_SCENARIOS) -> tuple[str, str, float]:
    """(scenario, limit, utilization) of the most used limit over the given scenarios."""
    used = [(n, limit, v) for n in scenarios for limit, v in result["scenarios"][n]["utilization"].items()]
    return max(used, key=lambda item: item[2])


def breaking_point(
    base: CapacityParams,
    *,
    scenarios: tuple[str, ...] = HELD_SCENARIOS,
    limits: tuple[str, ...] | None = None,
    high: float = 1_000_000,
) -> float | None:
    """The lowest page-view rate at which a limit (of `limits`, default any) of one of `scenarios` is exceeded.

    Bisection on the rate; None when nothing breaks below `high`.
    """

    def broken(rate: float) -> bool:
        found = evaluate(replace(base, page_views_per_s=rate))["scenarios"]
        exceeded = [k for name in scenarios for k in found[name]["limits_exceeded"]]
        return any(limits is None or k in limits for k in exceeded)

    low = 100.0
    if broken(low):
        return low
    if not broken(high):
        return None
    while high / low > 1.005:
        mid = math.sqrt(low * high)
        if broken(mid):
            high = mid
        else:
            low = mid
    return high


def ramp_needed(base: CapacityParams, *, rate: float, longest_s: float = 7_200) -> float | None:
    """The shortest traffic ramp (s) over which a new distribution at `rate` stays inside every limit."""

    def holds(ramp: float) -> bool:
        p = replace(base, page_views_per_s=rate, ramp_s=ramp)
        return not evaluate(p)["scenarios"]["new_distribution"]["limits_exceeded"]

    if not holds(longest_s):
        return None
    low, high = 0.0, longest_s
    if holds(low):
        return 0.0
    while high - low > 5:
        mid = (low + high) / 2
        low, high = (low, mid) if holds(mid) else (mid, high)
    return high
