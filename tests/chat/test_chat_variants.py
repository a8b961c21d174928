"""Chat settings overridden to values no stage uses ('tuned' in tests/support/variants.py) reach the template."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.synth import Synthesized, resources_of_type
from tests.support.variants import CHAT_TUNED, variant_config

KEY = "tuned/Chat"


@pytest.fixture(scope="module")
def template(variants: Synthesized) -> dict[str, Any]:
    return variants.templates[KEY]


def _function(template: dict[str, Any], handler: str) -> dict[str, Any]:
    (function,) = [
        f["Properties"]
        for f in resources_of_type(template, "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == handler
    ]
    return function


def test_the_variant_sets_every_setting_to_a_value_no_stage_uses() -> None:
    from stage.config import STAGES, load_stage

    tuned = variant_config("tuned").chat
    for dotted in CHAT_TUNED:
        field = dotted.removeprefix("chat.")
        assert all(getattr(load_stage(stage).chat, field) != getattr(tuned, field) for stage in STAGES), field


def test_api_function_memory_timeout_concurrency_and_idempotency_ttl(template: dict[str, Any]) -> None:
    config = variant_config("tuned").chat
    api = _function(template, "chat_api.handler.handler")
    assert api["MemorySize"] == config.lambda_memory_mb == 1536
    assert api["Timeout"] == config.lambda_timeout_s == 20
    assert api["ReservedConcurrentExecutions"] == config.reserved_concurrency == 50
    assert api["Environment"]["Variables"]["IDEMPOTENCY_TTL_S"] == str(config.idempotency_ttl_s) == "7200"


def test_stream_batch_size(template: dict[str, Any]) -> None:
    (mapping,) = resources_of_type(template, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["BatchSize"] == variant_config("tuned").chat.stream_batch_size == 25


def test_waf_rate_limit(template: dict[str, Any]) -> None:
    (acl,) = resources_of_type(template, "AWS::WAFv2::WebACL").values()
    (rate,) = [r for r in acl["Properties"]["Rules"] if "RateBasedStatement" in r["Statement"]]
    assert rate["Statement"]["RateBasedStatement"] == {"AggregateKeyType": "IP", "Limit": 500}
    assert variant_config("tuned").chat.waf_rate_limit_per_5min == 500


def test_p99_latency_alarm_threshold(template: dict[str, Any]) -> None:
    (alarm,) = [
        a["Properties"]
        for a in resources_of_type(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("ExtendedStatistic") == "p99"
    ]
    assert (alarm["MetricName"], alarm["Threshold"]) == ("Latency", variant_config("tuned").chat.alarm_latency_p99_ms)
    assert alarm["Threshold"] == 1500


def test_log_retention_of_every_log_group(template: dict[str, Any]) -> None:
    groups = resources_of_type(template, "AWS::Logs::LogGroup")
    assert len(groups) == 4  # the two functions', the API's access and its execution logs
    assert {g["Properties"]["RetentionInDays"] for g in groups.values()} == {90}
