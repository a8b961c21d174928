"""Event-driven simulation of the cache tiers, to check the analytical model in bench/capacity.py.

Every page view is one event: a Poisson stream at the full rate, Zipf pages, a uniformly chosen edge
location (POP), which belongs to one regional edge cache (REC, by index). Each tier is a TTL cache that keeps
a page `ttl_s` from its own fetch (as the model assumes); fills are instantaneous. A share of the views asks
for URLs never published (each one new, so it misses every tier). Invocations count what an origin-request
function would run (issue 11's design, which the report compares): once per fill and once more when the
origin group fails over (a never-published URL, or a page the bucket does not hold, rank >= `pages_in_s3`);
the shipped design has no function, and its fills and failovers are the same. Seeded, so deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.capacity import zipf_weights


@dataclass(frozen=True)
class SimParams:
    page_views_per_s: float
    pages: int
    zipf_s: float
    ttl_s: float
    pops: int
    recs: int
    origin_shield: bool = True
    miss_share: float = 0.0
    pages_in_s3: int | None = None  # None: every page


def simulate(p: SimParams, *, warmup_s: float, measure_s: float, seed: int = 7) -> dict[str, Any]:
    """Counts per tier in [warmup_s, warmup_s + measure_s), and the time of every fill.

    Every cache starts empty at t=0: with warmup_s=0 that is the moment after a `/*` invalidation (or a new
    distribution taking all traffic); a warm-up of a few TTLs brings the tiers to steady state instead.
    """
    rng = np.random.default_rng(seed)
    total = warmup_s + measure_s
    n = int(rng.poisson(p.page_views_per_s * total))
    times = np.sort(rng.uniform(0.0, total, n))
    pages = rng.choice(p.pages, size=n, p=zipf_weights(p.pages, p.zipf_s))
    pops = rng.integers(0, p.pops, size=n)
    never_published = rng.random(n) < p.miss_share
    ttl, npages, recs = p.ttl_s, p.pages, p.recs
    in_s3 = npages if p.pages_in_s3 is None else p.pages_in_s3
    pop_cache: dict[int, float] = {}
    rec_cache: dict[int, float] = {}
    shield_cache: dict[int, float] = {}
    counts = {"views": 0, "rec_requests": 0, "rec_misses": 0, "fills": 0, "invocations": 0}
    fill_times: list[float] = []
    for t, page, pop, junk in zip(times.tolist(), pages.tolist(), pops.tolist(), never_published.tolist(), strict=True):
        measured = t >= warmup_s
        counts["views"] += measured
        if junk:  # a URL no cache has seen: a fill, S3's 403, the web origin
            counts["rec_requests"] += measured
            counts["rec_misses"] += measured
            counts["fills"] += measured
            counts["invocations"] += 2 * measured
            continue
        key = pop * npages + page
        if pop_cache.get(key, -1.0) > t:
            continue
        pop_cache[key] = t + ttl
        counts["rec_requests"] += measured
        key = (pop % recs) * npages + page
        if rec_cache.get(key, -1.0) > t:
            continue
        rec_cache[key] = t + ttl
        counts["rec_misses"] += measured
        if p.origin_shield:
            if shield_cache.get(page, -1.0) > t:
                continue
            shield_cache[page] = t + ttl
        counts["fills"] += measured
        counts["invocations"] += (2 if page >= in_s3 else 1) * measured
        fill_times.append(t)
    rates = {name: value / measure_s for name, value in counts.items()}
    return {"counts": counts, "rates": rates, "fill_times": np.array(fill_times)}


def check_against_model(seed: int = 7) -> dict[str, Any]:
    """The simulation beside the analytical model, at 30,000 page views/s: steady tiers and the cold burst.

    Steady state uses a short TTL (2 s) so that a few seconds of simulated time reach it; the cold burst uses
    the shipped parameters. Each figure: simulated, modelled, relative difference (simulated / model - 1).
    """
    from bench.capacity import CapacityParams, distinct_pages, evaluate, tier_rates

    rate = 30_000.0
    steady = SimParams(page_views_per_s=rate, pages=50_000, zipf_s=0.9, ttl_s=2, pops=100, recs=13)
    model = tier_rates(
        CapacityParams(page_views_per_s=rate, pages=steady.pages, zipf_s=steady.zipf_s, ttl_s=steady.ttl_s)
    )
    run = simulate(steady, warmup_s=6, measure_s=4, seed=seed)
    scale = rate / run["rates"]["views"]  # compare per page view: the Poisson count itself varies
    rows: dict[str, dict[str, float]] = {}
    simulated = {name: run["rates"][name] * scale for name in ("views", "rec_requests", "rec_misses", "fills")}
    modelled = {
        "views": rate,
        "rec_requests": float(model["to_rec"].sum()),
        "rec_misses": float(model["rec_misses"].sum()),
        "fills": float(model["fills"].sum()),
    }
    for name in ("rec_requests", "rec_misses", "fills"):
        rows[f"steady {name} /s"] = _row(simulated[name], modelled[name])
    # The function's invocations: a fill each, and a second one per failover (never-published URLs, pages not
    # in S3), with enough of both to show: 1% of views never published, a fifth of the pages not in S3.
    failing = SimParams(
        page_views_per_s=rate, pages=50_000, zipf_s=0.9, ttl_s=2, pops=100, recs=13, miss_share=0.01, pages_in_s3=10_000
    )
    sim = simulate(failing, warmup_s=6, measure_s=4, seed=seed)
    calls = evaluate(
        CapacityParams(
            page_views_per_s=rate, pages=failing.pages, zipf_s=0.9, ttl_s=2, miss_share=0.01, pages_in_s3=10_000
        )
    )["lambda_invocations_steady"]
    rows["steady function invocations /s"] = _row(sim["rates"]["invocations"] * rate / sim["rates"]["views"], calls)
    # What each tier absorbs: far more sensitive to the formula than what it passes on.
    for tier, (into, out) in {
        "edge locations": ("views", "rec_requests"),
        "regional caches": ("rec_requests", "rec_misses"),
        "Origin Shield": ("rec_misses", "fills"),
    }.items():
        rows[f"steady hits/s at the {tier}"] = _row(simulated[into] - simulated[out], modelled[into] - modelled[out])
    cold = SimParams(page_views_per_s=rate, pages=200_000, zipf_s=0.9, ttl_s=60, pops=100, recs=13)
    burst = simulate(cold, warmup_s=0, measure_s=2, seed=seed)
    views = tier_rates(CapacityParams(page_views_per_s=rate))["views"]
    for window in (0.5, 1.0, 2.0):  # what the function and S3 meet right after an unpaced `/*`
        simulated = float((burst["fill_times"] < window).sum())
        rows[f"fills in the first {window:g} s after /*"] = _row(simulated, distinct_pages(views, window))
    return {"rows": rows, "tolerance": SIMULATION_TOLERANCE, "seed": seed}


SIMULATION_TOLERANCE = 0.05  # largest seen: regional-cache hits, -3.9 % (the model takes the POP misses as Poisson)


def _row(simulated: float, modelled: float) -> dict[str, float]:
    return {"simulated": simulated, "model": modelled, "difference": simulated / modelled - 1}
