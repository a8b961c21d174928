"""Every stage config rule, each asserting that the message names the field."""

from __future__ import annotations

import pytest

from shared.policies import RETENTION_BY_DAYS
from stage.config import LOG_RETENTION_DAYS, STAGES, ConfigError, load_stage, stage_overrides
from tests.support.config import assert_rejected


@pytest.mark.parametrize("name", sorted(STAGES))
def test_every_stage_is_valid(name: str) -> None:
    assert load_stage(name).name == name


def test_unknown_stage_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"Unknown stage 'qa'; known stages: prod, sandbox"):
        load_stage("qa")


def test_sandbox_is_disposable_and_prod_keeps_data() -> None:
    sandbox, prod = load_stage("sandbox"), load_stage("prod")
    assert (sandbox.removal, sandbox.deletion_protection) == ("destroy", False)
    assert prod.removal in ("retain", "snapshot") and prod.deletion_protection
    assert prod.chat.post_rate_limit <= prod.chat.throttle_rate_limit
    assert prod.chat.alarm_5xx_threshold <= sandbox.chat.alarm_5xx_threshold
    assert (sandbox.allow_hotswap, prod.allow_hotswap) == (True, False)


def test_retention_days_match_cloudwatch_periods() -> None:
    assert tuple(RETENTION_BY_DAYS) == LOG_RETENTION_DAYS


def test_overrides_are_applied_and_typed_from_cli_strings() -> None:
    config = load_stage("sandbox", {"chat.throttle_rate_limit": "60", "chat.waf_enabled": "true"})
    assert config.chat.throttle_rate_limit == 60
    assert config.chat.waf_enabled is True


INVALID = [
    # (overrides, field named in the message, allowed range or rule in the message)
    ({"chat.throttle_rate_limit": "0"}, "chat.throttle_rate_limit", "greater than or equal to 1"),
    ({"edge.minimum_tls_version": "TLSv1.3_2025"}, "edge.minimum_tls_version", "with certificate_arn only"),
    # A setting of a mode the stage does not use would be dropped: refused (sandbox: no WAF, NAT instance, rolling).
    ({"chat.waf_rate_limit_per_5min": 500}, "chat.waf_rate_limit_per_5min", "with waf_enabled: true only"),
    ({"edge.waf_rate_limit_per_5min": 500}, "edge.waf_rate_limit_per_5min", "with waf_enabled: true only"),
    ({"web.nat": "gateway", "web.nat_instance_type": "t4g.small"}, "web.nat_instance_type", "with nat: 'instance'"),
    ({"web.bake_time_minutes": 30}, "web.bake_time_minutes", "with deployment_strategy: 'blue_green' only"),
    ({"web.legacy_port": 8081}, "web.legacy_port", "with legacy_target_ips only"),
    ({"web.legacy_health_check_path": "/x"}, "web.legacy_health_check_path", "with legacy_target_ips only"),
    ({"chat.throttle_rate_limit": 10_001}, "chat.throttle_rate_limit", "less than or equal to 10000"),
    ({"chat.throttle_burst_limit": 10}, "chat.throttle_burst_limit", "must be >= throttle_rate_limit"),
    ({"chat.post_rate_limit": 51}, "chat.post_rate_limit", "must be <= throttle_rate_limit"),
    ({"chat.post_burst_limit": 101}, "chat.post_burst_limit", "must be <= throttle_burst_limit"),
    ({"chat.lambda_memory_mb": 64}, "chat.lambda_memory_mb", "greater than or equal to 128"),
    ({"chat.lambda_timeout_s": 30}, "chat.lambda_timeout_s", "less than or equal to 29"),
    ({"chat.reserved_concurrency": 0}, "chat.reserved_concurrency", "greater than or equal to 1"),
    ({"chat.log_retention_days": 8}, "chat.log_retention_days", "must be one of 1, 3, 5, 7"),
    ({"chat.execution_log_level": "DEBUG"}, "chat.execution_log_level", "'ERROR', 'INFO' or 'OFF'"),
    ({"chat.stream_batch_size": 0}, "chat.stream_batch_size", "greater than or equal to 1"),
    ({"chat.stream_retry_attempts": -1}, "chat.stream_retry_attempts", "greater than or equal to 0"),
    ({"chat.stream_max_record_age_s": 30}, "chat.stream_max_record_age_s", "greater than or equal to 60"),
    ({"chat.waf_rate_limit_per_5min": 5}, "chat.waf_rate_limit_per_5min", "greater than or equal to 10"),
    ({"chat.alarm_5xx_threshold": 0}, "chat.alarm_5xx_threshold", "greater than or equal to 1"),
    ({"chat.alarm_latency_p99_ms": 30_000}, "chat.alarm_latency_p99_ms", "less than or equal to 29000"),
    ({"chat.idempotency_ttl_s": 10}, "chat.idempotency_ttl_s", "greater than or equal to 60"),
    ({"chat.cors_allow_origins": '["http://evil.example"]'}, "chat.cors_allow_origins", "https:// origins"),
    ({"chat.room_shards": 0}, "chat.room_shards", "greater than or equal to 1"),
    ({"chat.room_shards": 17}, "chat.room_shards", "less than or equal to 16"),
    ({"chat.hot_room_comments_per_s": 801}, "chat.room_shards", "hot_room_comments_per_s 801 needs at least 2"),
    ({"chat.hot_room_comments_per_s": 21}, "chat.hot_room_comments_per_s", "at most post_rate_limit (20)"),
    ({"chat.view_max_lag_s": 0}, "chat.view_max_lag_s", "greater than or equal to 1"),
    ({"chat.unknown_setting": 1}, "chat.unknown_setting", "Extra inputs are not permitted"),
    ({"region": "mars"}, "region", "should match pattern"),
    ({"availability_zones": '["eu-west-1a"]'}, "availability_zones", "at least 2 items"),
    ({"availability_zones": '["eu-west-1a", "us-east-1b"]'}, "availability_zones", "not a zone of region"),
    ({"availability_zones": '["eu-west-1a", "eu-west-1a"]'}, "availability_zones", "must not repeat"),
    ({"removal": "delete"}, "removal", "'destroy', 'retain' or 'snapshot'"),
    ({"deletion_protection": True}, "removal", "contradicts deletion_protection"),
    ({"alarm_email": "not-an-email"}, "alarm_email", "should match pattern"),
    (
        {"deletion_protection": True, "removal": "retain"},
        "alarm_email",
        "a stage that protects its data must alert someone",
    ),
    ({"alarm_email_parameter": "no-leading-slash"}, "alarm_email_parameter", "should match pattern"),
    ({"allow_hotswap": "yes"}, "allow_hotswap", "valid boolean"),  # strict: no "yes", 1 or "on"
    (
        {"deletion_protection": True, "removal": "retain", "alarm_email": "ops@example.com"},
        "allow_hotswap",
        "a stage that protects its data (deletion_protection=true) is a production stage",
    ),
    ({"power_tuning": "maybe"}, "power_tuning", "valid boolean"),
    (
        {"region": "eu-west-3", "availability_zones": '["eu-west-3a", "eu-west-3b"]'},
        "web.image_build",
        "eu-west-3 does not offer",
    ),
    (
        {
            "region": "ap-east-2",
            "availability_zones": '["ap-east-2a", "ap-east-2b"]',
            "web.image_build": "docker",
            "chat.snap_start": True,
        },
        "chat.snap_start",
        "not available in ap-east-2",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "field", "rule"), INVALID, ids=[case[1] + ":" + case[2][:20] for case in INVALID]
)
def test_invalid_value_names_field_and_rule(overrides: dict[str, object], field: str, rule: str) -> None:
    assert_rejected(overrides, field, rule)


def test_override_of_a_value_as_a_section_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"'region' is a value, not a section"):
        load_stage("sandbox", {"region.x": 1})


@pytest.mark.parametrize("section", ["edge", "web", "chat"])
def test_a_whole_section_as_one_override_is_refused_not_put_in_place_of_the_stages(section: str) -> None:
    """`-c edge={...}` would replace prod's edge settings (its WAF, price class, ...) with the defaults."""
    with pytest.raises(ConfigError, match=rf"'{section}': a section; give its settings one by one"):
        load_stage("prod", {section: '{"log_retention_days": 30}'})


def test_a_setting_of_a_section_no_stage_has_is_refused_not_dropped() -> None:
    """A misspelt section (`-c chats.throttle_rate_limit=5`) would change nothing, silently."""
    with pytest.raises(ConfigError, match=r"Unknown setting 'chats.throttle_rate_limit': .* chat, web, edge, github"):
        stage_overrides({"chats.throttle_rate_limit": "5"})
    with pytest.raises(ConfigError, match=r"Unknown setting 'chats.waf_rate_limit_per_5min'"):  # a digit in the name
        stage_overrides({"chats.waf_rate_limit_per_5min": "500"})
    cdk_keys = {"@aws-cdk/core:newStyleStackSynthesis": True, "aws:cdk:enable-path-metadata": True, "stage": "prod"}
    assert stage_overrides({**cdk_keys, "chat.throttle_rate_limit": "5"}) == {"chat.throttle_rate_limit": "5"}


def test_the_rejection_helper_wants_one_problem_that_starts_with_the_field() -> None:
    with pytest.raises(ValueError, match="too many values to unpack"):  # two invalid fields, two problems
        assert_rejected({"chat.lambda_memory_mb": 64, "chat.lambda_timeout_s": 30}, "chat.lambda_memory_mb", "128")
    with pytest.raises(AssertionError):  # the field named, but not first
        assert_rejected({"chat.lambda_memory_mb": 64}, "lambda_memory_mb", "128")
    with pytest.raises(AssertionError):  # the rule found only in the field's name
        assert_rejected({"chat.lambda_memory_mb": 64}, "chat.lambda_memory_mb", "memory")


def test_a_stage_at_api_gateways_steady_quota_may_burst_to_its_burst_quota_only() -> None:
    assert load_stage("prod", {"chat.throttle_burst_limit": 5_000}).chat.throttle_rate_limit == 10_000
    assert_rejected({"chat.throttle_burst_limit": 4_999}, "chat.throttle_burst_limit", "maximum burst (5,000)", "prod")


def test_hotswap_is_refused_for_prod_whatever_the_override() -> None:
    assert_rejected({"allow_hotswap": "true"}, "allow_hotswap", "drifts its stacks from their templates", "prod")
    assert load_stage("sandbox", {"allow_hotswap": "false"}).allow_hotswap is False


def test_a_region_without_arm_codebuild_can_still_build_the_image_with_docker() -> None:
    config = load_stage(
        "sandbox",
        {"region": "eu-west-3", "availability_zones": '["eu-west-3a", "eu-west-3b"]', "web.image_build": "docker"},
    )
    assert (config.region, config.web.image_build) == ("eu-west-3", "docker")
