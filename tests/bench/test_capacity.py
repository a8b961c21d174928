"""The capacity model's formulas, limits and searches (pure, fast; no timings)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bench.capacity import QUOTAS, CapacityParams, breaking_point, evaluate, safe_config, ttl_miss_rate, zipf_weights


def test_zipf_weights_sum_to_one_and_decrease() -> None:
    weights = zipf_weights(1_000, 0.9)
    assert weights.sum() == pytest.approx(1.0)
    assert np.all(np.diff(weights) < 0)


def test_ttl_miss_rate_limits() -> None:
    rate = np.array([0.001, 1.0, 1_000.0])
    assert ttl_miss_rate(rate, 0, nodes=1) == pytest.approx(rate)  # no caching: every request misses
    assert ttl_miss_rate(rate, 60, nodes=1)[2] == pytest.approx(1 / 60, rel=1e-3)  # hot page: one miss per TTL
    # More nodes sharing the traffic: each sees less of it, so more misses in total.
    assert ttl_miss_rate(rate, 60, nodes=10)[1] > ttl_miss_rate(rate, 60, nodes=1)[1]


def test_ttl_miss_rate_matches_an_event_simulation() -> None:
    """One TTL cache fed Poisson requests: simulated misses agree with r / (1 + r * ttl)."""
    rng = np.random.default_rng(7)
    rate, ttl, requests = 2.0, 3.0, 40_000
    arrivals = np.cumsum(rng.exponential(1 / rate, requests))
    misses, expires = 0, -1.0
    for t in arrivals:
        if t >= expires:
            misses += 1
            expires = t + ttl
    simulated = misses / arrivals[-1]
    assert simulated == pytest.approx(float(ttl_miss_rate(np.array([rate]), ttl, 1)[0]), rel=0.03)


def test_rates_are_consistent() -> None:
    result = evaluate(CapacityParams())
    assert 0 < result["overall_hit_ratio"] < 1
    assert result["edge_invocations_per_s"] <= result["rec_requests_per_s"] <= 30_000
    assert result["origin_requests_per_s"] <= result["edge_invocations_per_s"]
    assert result["s3_get_per_prefix_per_s"] == pytest.approx(result["edge_invocations_per_s"])
    assert result["edge_concurrency_total"] == pytest.approx(result["edge_invocations_per_s"] * 0.06)


def test_longer_ttl_and_prefill_reduce_load() -> None:
    short, long_ = evaluate(CapacityParams(ttl_s=5)), evaluate(CapacityParams(ttl_s=3_600))
    assert long_["edge_invocations_per_s"] < short["edge_invocations_per_s"]
    everything = evaluate(CapacityParams(prefilled_pages=CapacityParams().pages))
    assert everything["origin_requests_per_s"] == pytest.approx(0)


def test_prefixes_divide_s3_rate() -> None:
    one, four = evaluate(CapacityParams(s3_prefixes=1)), evaluate(CapacityParams(s3_prefixes=4))
    assert four["s3_get_per_prefix_per_s"] == pytest.approx(one["s3_get_per_prefix_per_s"] / 4)


def test_limits_exceeded_names_the_utilization_over_one() -> None:
    result = evaluate(CapacityParams(origin_capacity_rps=1))
    assert "origin" in result["limits_exceeded"]
    assert all(result["utilization"][k] > 1 for k in result["limits_exceeded"])


def test_breaking_point_is_where_a_limit_is_first_exceeded() -> None:
    base = CapacityParams()
    point = breaking_point(base)
    assert point is not None
    assert evaluate(replace(base, page_views_per_s=point))["limits_exceeded"]
    assert not evaluate(replace(base, page_views_per_s=point / 1.05))["limits_exceeded"]


def test_safe_config_is_inside_every_limit() -> None:
    base = CapacityParams()
    found = safe_config(base, ttls=[60, 300, 3_600], prefills=[base.pages], prefixes=[1, 4])
    assert found is not None
    assert evaluate(found)["limits_exceeded"] == []
    assert safe_config(replace(base, origin_capacity_rps=1e-9), [60], [0], [1]) is None


def test_quotas_are_the_documented_defaults() -> None:
    assert QUOTAS["lambda_burst_envs_per_10s"] == 1_000
    assert QUOTAS["s3_get_per_prefix_per_s"] == 5_500


def test_after_invalidation_is_never_below_steady_state() -> None:
    for ttl in (1, 60, 3_600):
        result = evaluate(CapacityParams(ttl_s=ttl))
        assert result["cold_edge_invocations_per_s"] >= result["edge_invocations_per_s"]
        assert result["cold_origin_requests_per_s"] >= result["origin_requests_per_s"]
