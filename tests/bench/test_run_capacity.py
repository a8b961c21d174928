"""`make bench`'s capacity inputs come from the shipped prod config, and the committed report's claim holds for it.

The last committed run's measurements (web origin per task) with today's config: if a config change broke
"inside every limit at 30,000 page views/s, first limit >= 60,000", this fails before the README says something
the report no longer shows.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bench import capacity
from bench.run import (
    GOALS,
    REPORTS,
    ROUTING_DECISION_MS,
    ROUTING_DECISION_SOURCE,
    TARGET_VIEWS,
    capacity_params,
    design_variants,
    region_concurrency,
)
from stage.config import load_stage
from tests.support.synth import ROOT


def _last_report() -> dict[str, Any]:
    reports = sorted((ROOT / "reports").glob("bench-*.json"), key=lambda path: path.name)
    assert reports, "no committed bench report"
    report: dict[str, Any] = json.loads(Path(reports[-1]).read_text())
    return report


def test_the_shipped_design_has_no_function_and_its_publisher_stays_inside_the_vpc() -> None:
    prod = load_stage("prod")
    params, sources = capacity_params()
    assert (params.edge_path, params.publish_via_cdn, params.origin_shield) == ("s3_origin_group", False, True)
    assert params.waf_rate_limit_per_5min == prod.edge.waf_rate_limit_per_5min
    assert "VPC origin" in sources["edge_path"] and "inside the VPC" in sources["publish_via_cdn"]
    # The compared function designs: the routing function's last measured decision (a committed report holds it),
    # and the region it would share.
    assert ROUTING_DECISION_SOURCE in sources["function_ms"]
    measured = json.loads((REPORTS / "edge-routing-2026-12-06.json").read_text())["measured"]["decision_p99_ms"]
    assert "reports/edge-routing-2026-12-06.json" in ROUTING_DECISION_SOURCE
    assert params.function_ms == ROUTING_DECISION_MS == pytest.approx(measured, abs=5e-5)
    home = region_concurrency("prod", prod.region)
    assert home == pytest.approx(prod.chat.throttle_rate_limit * 0.06 + prod.edge.publish_concurrency)


def test_the_designs_weighed_include_issue_11s_and_the_talks() -> None:
    params, _ = capacity_params()
    variants = design_variants(params)
    prod = load_stage("prod")
    shipped = variants[f"s3_origin_group, Origin Shield {prod.edge.origin_shield_region}"]
    assert shipped == params
    routed = variants["function_routes, Origin Shield eu-central-1"]  # issue 11's shipped design
    assert (routed.publish_via_cdn, routed.other_concurrency) == (True, 0)
    shared = variants[f"function_routes, Origin Shield {prod.region}"]
    assert shared.other_concurrency == region_concurrency("prod", prod.region) > 0
    reading = variants["function_reads_s3, Origin Shield eu-central-1"]
    assert reading.function_ms > 100  # S3's first byte and the round trip to the bucket's region
    assert {v.edge_path for v in variants.values()} == set(capacity.EDGE_PATHS)


def test_a_full_republish_is_never_rate_limited_and_issue_11s_was_at_any_audience() -> None:
    """Finding 8 on the committed measurements: the shipped publisher's fetches never reach the web ACL; issue
    11's publisher, fetching through the distribution at prod's pace, sent more per 5 minutes than its per-IP
    rate rule allows, whatever the page views."""
    report = _last_report()
    params, _ = capacity_params(report["origin"])
    shipped = capacity.evaluate(params)["scenarios"]["refresh"]
    assert shipped["detail"]["waf_publisher_requests_per_5min"] == 0
    assert "waf_rate_limit" not in shipped["utilization"]
    routed = design_variants(params)["function_routes, Origin Shield eu-central-1"]
    for views in (1_000.0, TARGET_VIEWS):
        refresh = capacity.evaluate(replace(routed, page_views_per_s=views))["scenarios"]["refresh"]
        assert refresh["detail"]["waf_publisher_requests_per_5min"] > load_stage("prod").edge.waf_rate_limit_per_5min
        assert "waf_rate_limit" in refresh["limits_exceeded"]


def test_the_shipped_config_holds_the_target_on_the_committed_measurements() -> None:
    report = _last_report()
    params, sources = capacity_params(report["origin"])
    assert sources["web_rps_per_task"].startswith("measured")
    result = capacity.evaluate(params)
    assert result["limits_exceeded"] == [], result["limits_exceeded"]
    point = capacity.breaking_point(params)
    assert point is None or point >= GOALS["capacity_headroom"] * TARGET_VIEWS, point
    # And the burst the publisher never makes (an unpaced `/*`) is still named as beyond S3's burst rate.
    assert "s3_burst" in result["scenarios"]["all_cold"]["limits_exceeded"]
    assert not capacity.evaluate(replace(params, page_views_per_s=point * 0.99 if point else 1e6))["limits_exceeded"]
