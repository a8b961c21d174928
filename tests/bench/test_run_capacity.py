"""`make bench`'s capacity inputs come from the shipped prod config, and the committed report's claim holds for it.

The last committed run's measurements (web origin per task, the edge function's decision) with today's
config: if a config change broke "inside every limit at 30,000 page views/s, first limit >= 60,000", this
fails before the README says something the report no longer shows.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bench import capacity
from bench.run import GOALS, TARGET_VIEWS, capacity_params, design_variants, region_concurrency
from stacks.config import load_stage
from tests.support.synth import ROOT


def _last_report() -> dict[str, Any]:
    reports = sorted((ROOT / "reports").glob("bench-*.json"), key=lambda path: path.name)
    assert reports, "no committed bench report"
    report: dict[str, Any] = json.loads(Path(reports[-1]).read_text())
    return report


def test_the_function_runs_outside_the_region_the_chat_api_shares() -> None:
    prod = load_stage("prod")
    params, sources = capacity_params()
    assert params.edge_path == "function_routes" and params.origin_shield
    assert prod.edge.origin_shield_region != prod.region
    assert params.other_concurrency == 0 == region_concurrency("prod", prod.edge.origin_shield_region)
    # In the stage region the chat API at its throttle and the publisher would take their share.
    home = region_concurrency("prod", prod.region)
    assert home == pytest.approx(prod.chat.throttle_rate_limit * 0.06 + prod.edge.publish_concurrency)
    assert "NOT MEASURED" in sources["function_ms"]  # no run given: the assumed duration, and said so


def test_the_designs_weighed_include_the_stage_region_and_no_shield() -> None:
    params, _ = capacity_params()
    variants = design_variants(params)
    prod = load_stage("prod")
    shipped = variants[f"function_routes, Origin Shield {prod.edge.origin_shield_region}"]
    assert shipped == params
    shared = variants[f"function_routes, Origin Shield {prod.region}"]
    assert shared.other_concurrency == region_concurrency("prod", prod.region) > 0
    reading = variants[f"function_reads_s3, Origin Shield {prod.edge.origin_shield_region}"]
    assert reading.function_ms > 100  # S3's first byte and the round trip to the bucket's region
    assert {v.edge_path for v in variants.values()} == set(capacity.EDGE_PATHS)


def test_the_shipped_config_holds_the_target_on_the_committed_measurements() -> None:
    report = _last_report()
    params, sources = capacity_params(report["origin"], report.get("edge"))
    assert sources["web_rps_per_task"].startswith("measured")
    result = capacity.evaluate(params)
    assert result["limits_exceeded"] == [], result["limits_exceeded"]
    point = capacity.breaking_point(params)
    assert point is None or point >= GOALS["capacity_headroom"] * TARGET_VIEWS, point
    # And the burst the publisher never makes (an unpaced `/*`) is still named as beyond the function's limit.
    assert "lambda_environments" in result["scenarios"]["all_cold"]["limits_exceeded"]
    assert not capacity.evaluate(replace(params, page_views_per_s=point * 0.99 if point else 1e6))["limits_exceeded"]
