"""The capacity model's formulas, scenarios, limits and searches (pure, fast; no timings)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bench.capacity import (
    HELD_SCENARIOS,
    QUOTA_SOURCES,
    QUOTAS,
    SCENARIOS,
    CapacityParams,
    allowed_environments,
    breaking_point,
    cold_fill_profile,
    cold_fill_rate,
    distinct_pages,
    environments,
    evaluate,
    first_limit,
    ramp_needed,
    rate_classes,
    tier_rates,
    ttl_miss_rate,
    zipf_weights,
)


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


def test_rate_classes_keep_the_sums_the_cold_burst_is_made_of() -> None:
    views = tier_rates(CapacityParams())["views"]
    rates, counts = rate_classes(views)
    assert counts.sum() == views.size and rates.size < views.size / 10
    assert (rates * counts).sum() == pytest.approx(views.sum())
    for t in (0.1, 1.0, 30.0):
        assert distinct_pages(rates, t, counts) == pytest.approx(distinct_pages(views, t), rel=1e-4)


def test_tiers_only_ever_reduce_the_rate_and_origin_shield_reduces_fills() -> None:
    rates = tier_rates(CapacityParams())
    assert rates["fills"].sum() <= rates["rec_misses"].sum() <= rates["to_rec"].sum() <= rates["views"].sum()
    without = tier_rates(CapacityParams(origin_shield=False))
    assert without["fills"].sum() == pytest.approx(without["rec_misses"].sum())
    assert rates["fills"].sum() < without["fills"].sum() / 3


def test_cold_burst_is_the_distinct_pages_of_the_first_window_and_a_ramp_lowers_it() -> None:
    p = CapacityParams()
    assert cold_fill_rate(p, 0) == pytest.approx(distinct_pages(tier_rates(p)["views"], 1.0), rel=1e-4)
    assert cold_fill_rate(p, 60) < cold_fill_rate(p, 0) / 2
    assert cold_fill_rate(p, 600) < cold_fill_rate(p, 60)
    # Without Origin Shield each regional cache fills on its own: more fills.
    assert cold_fill_rate(replace(p, origin_shield=False), 0) > cold_fill_rate(p, 0)


def test_scenarios_order_the_load_as_they_should() -> None:
    result = evaluate(CapacityParams())
    detail = {name: result["scenarios"][name]["detail"] for name in SCENARIOS}
    assert set(result["scenarios"]) == set(SCENARIOS)
    assert (
        detail["all_cold"]["fills_per_s"] > detail["new_distribution"]["fills_per_s"] > detail["steady"]["fills_per_s"]
    )
    assert detail["refresh"]["web_origin_rps"] == pytest.approx(
        detail["steady"]["web_origin_rps"] + result["publish_rps"]
    )
    # Only the cold scenarios meet S3's burst rate; the burst beyond it goes to the web origin.
    assert "s3_burst" in result["scenarios"]["all_cold"]["utilization"]
    assert "s3_burst" not in result["scenarios"]["steady"]["utilization"]
    overflow = detail["all_cold"]["fills_per_s"] - result["s3_partitions_for_steady_load"] * 5_500
    assert detail["all_cold"]["s3_overflow_to_web_per_s"] == pytest.approx(max(0.0, overflow))
    assert detail["all_cold"]["web_origin_rps"] == pytest.approx(detail["steady"]["web_origin_rps"] + overflow)


def test_limits_exceeded_names_the_utilization_over_one_in_held_scenarios_only() -> None:
    result = evaluate(CapacityParams(web_rps_per_task=1))
    assert "web_origin" in result["limits_exceeded"]
    for name in HELD_SCENARIOS:
        scenario = result["scenarios"][name]
        assert all(scenario["utilization"][k] > 1 for k in scenario["limits_exceeded"])
    # An unpaced `/*` is reported but not part of the held verdict.
    fine = evaluate(CapacityParams())
    assert fine["scenarios"]["all_cold"]["limits_exceeded"] and not fine["limits_exceeded"]


def test_no_function_means_no_lambda_limit_and_function_designs_have_one() -> None:
    assert (
        "lambda_environments"
        not in evaluate(CapacityParams(edge_path="s3_origin_group"))["scenarios"]["steady"]["utilization"]
    )
    for path in ("function_routes", "function_reads_s3"):
        result = evaluate(CapacityParams(edge_path=path, function_ms=100))
        cold = result["scenarios"]["all_cold"]
        # After `/*` at 30,000 page views/s the function needs more environments than the region allows ...
        assert cold["detail"]["lambda_environments_needed"] > cold["detail"]["lambda_environments_allowed"]
        assert "lambda_environments" in cold["limits_exceeded"]
        # ... and in the held scenarios it stays inside.
        assert "lambda_environments" not in result["limits_exceeded"]


def test_the_routing_function_runs_once_per_fill_and_again_per_failover() -> None:
    """Every fill leaves the last cache as an origin request; S3's 403 for a page it lacks (and every URL never
    published) fails over, and the function runs again for the web origin."""
    p = CapacityParams(pages_in_s3=150_000)
    result = evaluate(p)
    fills = tier_rates(p)["fills"]
    junk = p.miss_share * p.page_views_per_s
    failovers = float(fills[150_000:].sum()) + junk
    assert result["fills_per_s"] == pytest.approx(float(fills.sum()) + junk)
    assert result["web_origin_rps"] == pytest.approx(failovers)
    assert result["lambda_invocations_steady"] == pytest.approx(result["fills_per_s"] + failovers)
    assert result["scenarios"]["steady"]["detail"]["lambda_invocations_per_s"] == pytest.approx(
        result["lambda_invocations_steady"]
    )
    # A function that reads S3 itself forwards a miss to the web origin in the same invocation.
    reading = evaluate(replace(p, edge_path="function_reads_s3"))
    assert reading["lambda_invocations_steady"] == pytest.approx(reading["fills_per_s"])


def test_lambda_environments_follow_littles_law_or_ten_requests_each() -> None:
    slow = evaluate(CapacityParams(edge_path="function_reads_s3", function_ms=500))
    fast = evaluate(CapacityParams(function_ms=0.01))
    assert slow["lambda_environments_steady"] == pytest.approx(slow["lambda_invocations_steady"] * 0.5)
    assert fast["lambda_environments_steady"] == pytest.approx(fast["lambda_invocations_steady"] / 10)
    assert environments(CapacityParams(function_ms=100), 1_000) == pytest.approx(100)  # where the two meet
    # Without Origin Shield only the busiest region's share lands in one region.
    spread = evaluate(CapacityParams(function_ms=1, origin_shield=False))
    assert spread["lambda_environments_steady"] == pytest.approx(spread["lambda_invocations_steady"] * 0.3 / 10)


def test_the_region_is_shared_and_a_burst_grows_by_a_thousand_environments_per_ten_seconds() -> None:
    alone, shared = CapacityParams(), CapacityParams(other_concurrency=605)
    assert allowed_environments(alone, warm=0, t=None) == 1_000
    assert allowed_environments(shared, warm=0, t=None) == 395
    assert allowed_environments(CapacityParams(other_concurrency=0), warm=50, t=0) == 1_000  # the region binds
    raised = CapacityParams(region_concurrency=5_000)  # a quota increase: then the growth rate binds
    assert [allowed_environments(raised, warm=200, t=t) for t in (0, 9.9, 10, 35)] == [1_200, 1_200, 2_200, 4_200]
    # The chat API's share of the stage region is what breaks a new distribution there, not in its own region.
    assert evaluate(replace(shared, page_views_per_s=60_000))["scenarios"]["new_distribution"]["limits_exceeded"] == [
        "lambda_environments"
    ]
    assert not evaluate(replace(alone, page_views_per_s=60_000))["scenarios"]["new_distribution"]["limits_exceeded"]


def test_a_paced_refresh_adds_the_publishers_fetches_and_one_batch_at_once() -> None:
    """The function routes each signed fetch straight to the web origin: one invocation, no failover."""
    result = evaluate(CapacityParams())
    steady, refresh = (result["scenarios"][n]["detail"] for n in ("steady", "refresh"))
    publish = result["publish_rps"]
    assert refresh["fills_per_s"] == pytest.approx(steady["fills_per_s"] + publish + 100)
    assert refresh["lambda_invocations_per_s"] == pytest.approx(steady["lambda_invocations_per_s"] + publish + 100)
    assert refresh["lambda_margin_environments"] == pytest.approx(
        refresh["lambda_environments_allowed"] - refresh["lambda_environments_needed"]
    )
    bigger = evaluate(CapacityParams(publish_batch_paths=3_000))["scenarios"]["refresh"]["detail"]
    assert bigger["lambda_invocations_per_s"] == pytest.approx(refresh["lambda_invocations_per_s"] + 2_900)


def test_after_an_unpaced_invalidation_s3s_overflow_fails_over_and_runs_the_function_again() -> None:
    result = evaluate(CapacityParams())
    cold = result["scenarios"]["all_cold"]["detail"]
    overflow = cold["s3_overflow_to_web_per_s"]
    assert overflow > 0
    assert cold["lambda_invocations_per_s"] == pytest.approx(cold["fills_per_s"] + result["web_origin_rps"] + overflow)
    # The first seconds are throttled (503 to viewers), then the caches have filled.
    assert 1 <= cold["lambda_throttled_s"] < 30
    assert cold["lambda_environments_allowed"] == 1_000  # the region, not the 1,000-per-10 s growth, binds


def test_a_new_distribution_starts_with_no_environment_and_its_ramp_keeps_it_inside() -> None:
    p = CapacityParams(page_views_per_s=60_000)
    starts, fills = cold_fill_profile(p, p.ramp_s)
    assert starts[0] == 0 and fills[0] < fills.max() / 10  # the ramp starts small
    assert not evaluate(p)["scenarios"]["new_distribution"]["limits_exceeded"]
    at_once = evaluate(replace(p, ramp_s=0))["scenarios"]["new_distribution"]
    assert "lambda_environments" in at_once["limits_exceeded"]


def test_bursts_meet_the_tasks_auto_scaling_keeps_running() -> None:
    idle = evaluate(CapacityParams(miss_share=0.0, pages_in_s3=200_000))
    assert idle["web_tasks_running"] == 2  # min_tasks
    assert idle["scenarios"]["all_cold"]["detail"]["web_origin_capacity_rps"] == pytest.approx(2 * 80)
    assert idle["scenarios"]["steady"]["detail"]["web_origin_capacity_rps"] == pytest.approx(10 * 80)
    busy = evaluate(CapacityParams(miss_share=0.01))
    assert busy["web_tasks_running"] == 10  # max_tasks
    assert busy["scenarios"]["all_cold"]["detail"]["web_origin_capacity_rps"] == pytest.approx(10 * 80)


def test_breaking_point_is_where_a_limit_is_first_exceeded() -> None:
    base = CapacityParams()
    point = breaking_point(base)
    assert point is not None
    assert evaluate(replace(base, page_views_per_s=point))["limits_exceeded"]
    assert not evaluate(replace(base, page_views_per_s=point / 1.01))["limits_exceeded"]
    scenario, _limit, share = first_limit(evaluate(replace(base, page_views_per_s=point)))
    assert scenario in HELD_SCENARIOS and share > 1
    assert breaking_point(base, scenarios=("all_cold",)) < point


def test_ramp_needed_is_the_shortest_that_holds() -> None:
    base = CapacityParams()
    ramp = ramp_needed(base, rate=60_000)
    assert ramp is not None and ramp > 0

    def holds(seconds: float) -> bool:
        p = replace(base, page_views_per_s=60_000, ramp_s=seconds)
        return not evaluate(p)["scenarios"]["new_distribution"]["limits_exceeded"]

    assert holds(ramp) and not holds(ramp - 10)


def test_quotas_are_the_documented_defaults_and_each_names_its_source() -> None:
    assert QUOTAS["lambda_new_environments_per_10s"] == 1_000
    assert QUOTAS["lambda_concurrency_per_region"] == CapacityParams().region_concurrency == 1_000
    assert QUOTAS["lambda_rps_per_environment"] == 10
    assert QUOTAS["s3_get_per_partition_per_s"] == 5_500
    assert QUOTAS["cloudfront_requests_per_s"] == 250_000
    assert set(QUOTA_SOURCES) == set(QUOTAS)
    assert all("https://docs.aws.amazon.com/" in QUOTA_SOURCES[k] for k in QUOTAS)


def test_a_publisher_inside_the_vpc_adds_no_fill_and_meets_no_rate_rule() -> None:
    """Through the distribution, every fetch is a fill and is counted by the web ACL's per-IP rate rule (worst
    case: one Lambda address): 5 at a time of 100 ms each is 15,000 per 5 minutes against 10,000, at any
    audience. Inside the VPC it is neither."""
    through = CapacityParams(publish_concurrency=5, publish_fetch_s=0.1, waf_rate_limit_per_5min=10_000)
    for views in (1_000.0, 30_000.0):
        refresh = evaluate(replace(through, page_views_per_s=views))["scenarios"]["refresh"]
        assert refresh["detail"]["waf_publisher_requests_per_5min"] == pytest.approx(15_000)
        assert refresh["utilization"]["waf_rate_limit"] == pytest.approx(1.5)
        assert "waf_rate_limit" in refresh["limits_exceeded"]
    inside = replace(through, edge_path="s3_origin_group", publish_via_cdn=False)
    result = evaluate(inside)
    steady, refresh = result["scenarios"]["steady"], result["scenarios"]["refresh"]
    assert refresh["detail"]["waf_publisher_requests_per_5min"] == 0 and "waf_rate_limit" not in refresh["utilization"]
    assert refresh["detail"]["fills_per_s"] == pytest.approx(steady["detail"]["fills_per_s"] + 100)  # one batch
    assert refresh["detail"]["web_origin_rps"] == pytest.approx(steady["detail"]["web_origin_rps"] + 50)  # fetches
    assert "lambda_environments" not in refresh["utilization"]
