"""Every edge config rule, each asserting that the message names the field."""

from __future__ import annotations

import pytest

from stage.config import load_stage
from tests.support.config import assert_rejected

ACL = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/news/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"

INVALID = [
    # (overrides, field named in the message, rule in the message)
    ({"edge.origin_domain": "http://origin.example.com"}, "edge.origin_domain", "should match pattern"),
    ({"edge.origin_domain": "localhost"}, "edge.origin_domain", "should match pattern"),
    ({"edge.price_class": "PriceClass_50"}, "edge.price_class", "'PriceClass_100', 'PriceClass_200' or"),
    ({"edge.default_ttl_s": -1}, "edge.default_ttl_s", "greater than or equal to 0"),
    ({"edge.default_min_ttl_s": 100, "edge.default_ttl_s": 30}, "edge.default_ttl_s", "must be >= default_min_ttl_s"),
    ({"edge.default_max_ttl_s": 10}, "edge.default_max_ttl_s", "must be >= default_ttl_s"),
    (
        {"edge.behaviors": [{"path_pattern": "/news/*", "default_ttl_s": 60, "max_ttl_s": 10}]},
        "edge.behaviors.0.max_ttl_s",
        "must be >= default_ttl_s",
    ),
    (
        {"edge.behaviors": [{"path_pattern": "/a/*", "min_ttl_s": 9, "default_ttl_s": 5, "max_ttl_s": 10}]},
        "edge.behaviors.0.default_ttl_s",
        "must be >= min_ttl_s",
    ),
    (
        {"edge.behaviors": [{"path_pattern": "*", "default_ttl_s": 1, "max_ttl_s": 1}]},
        "edge.behaviors.0.path_pattern",
        "'*' is the default behaviour",
    ),
    (
        {"edge.behaviors": [{"path_pattern": "/a b/*", "default_ttl_s": 1, "max_ttl_s": 1}]},
        "edge.behaviors.0.path_pattern",
        "should match pattern",
    ),
    (
        {
            "edge.behaviors": [
                {"path_pattern": "/news/*", "default_ttl_s": 1, "max_ttl_s": 1},
                {"path_pattern": "/news/*", "default_ttl_s": 2, "max_ttl_s": 2},
            ]
        },
        "edge.behaviors",
        "path patterns must be unique, repeated: /news/*",
    ),
    (
        {"edge.behaviors": [{"path_pattern": "/assets/*", "default_ttl_s": 1, "max_ttl_s": 1}]},
        "edge.behaviors",
        "repeated: /assets/*",
    ),
    (
        # 18 behaviours + the default and assets policies = the 20 cache policies an account may hold
        {"edge.behaviors": [{"path_pattern": f"/p{i}/*", "default_ttl_s": 1, "max_ttl_s": 1} for i in range(19)]},
        "edge.behaviors",
        "at most 18 items",
    ),
    ({"edge.assets_path_pattern": "/assets/**"}, "edge.assets_path_pattern", "should match pattern"),
    ({"edge.web_acl_arn": "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/a/b"}, "edge.web_acl_arn", "pattern"),
    ({"edge.certificate_arn": CERT.replace("us-east-1", "eu-west-1")}, "edge.certificate_arn", "pattern"),
    ({"edge.waf_enabled": True, "edge.web_acl_arn": ACL}, "edge.waf_enabled", "cannot be combined with web_acl_arn"),
    ({"edge.waf_rate_limit_per_5min": 9}, "edge.waf_rate_limit_per_5min", "greater than or equal to 10"),
    ({"edge.minimum_tls_version": "TLSv1.1_2016"}, "edge.minimum_tls_version", "TLSv1.2_2021"),
    ({"edge.aliases": ["news.example.com"]}, "edge.aliases", "aliases and certificate_arn go together"),
    ({"edge.certificate_arn": CERT}, "edge.aliases", "aliases and certificate_arn go together"),
    (
        {"edge.certificate_arn": CERT, "edge.aliases": ["news..example.com"]},
        "edge.aliases",
        "'news..example.com' is not a DNS name",
    ),
    ({"edge.origin_shield_region": "europe"}, "edge.origin_shield_region", "should match pattern"),
    # There is no edge function and no origin secret any more: an old override names the field it no longer knows.
    ({"edge.cache_lookup_timeout_ms": 1000}, "edge.cache_lookup_timeout_ms", "Extra inputs are not permitted"),
    ({"edge.edge_memory_mb": 256}, "edge.edge_memory_mb", "Extra inputs are not permitted"),
    ({"edge.origin_secret_rotation_days": 30}, "edge.origin_secret_rotation_days", "Extra inputs are not permitted"),
    ({"edge.publish_concurrency": 0}, "edge.publish_concurrency", "greater than or equal to 1"),
    ({"edge.publish_concurrency": 41}, "edge.publish_concurrency", "less than or equal to 40"),
    ({"edge.publish_max_paths": 3001}, "edge.publish_max_paths", "less than or equal to 3000"),
    ({"edge.publish_retry_attempts": 11}, "edge.publish_retry_attempts", "less than or equal to 10"),
    ({"edge.publish_backoff_rate": 0.5}, "edge.publish_backoff_rate", "greater than or equal to 1"),
    (
        {"edge.publish_retry_interval_s": 30, "edge.publish_max_delay_s": 10},
        "edge.publish_max_delay_s",
        "must be >= publish_retry_interval_s (30)",
    ),
    ({"edge.fetch_timeout_s": 61}, "edge.fetch_timeout_s", "less than or equal to 60"),
    ({"edge.cached_object_expiry_days": 0}, "edge.cached_object_expiry_days", "greater than or equal to 1"),
    ({"edge.access_log_expiry_days": 0}, "edge.access_log_expiry_days", "greater than or equal to 1"),
    ({"edge.log_retention_days": 8}, "edge.log_retention_days", "must be one of 1, 3, 5, 7"),
    ({"edge.unknown_setting": 1}, "edge.unknown_setting", "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("overrides", "field", "rule"), INVALID, ids=[f for _, f, _ in INVALID])
def test_invalid_edge_settings_name_the_field(overrides: dict[str, object], field: str, rule: str) -> None:
    assert_rejected(overrides, field, rule)


def test_optional_edge_features_validate_together() -> None:
    config = load_stage(
        "prod",
        {
            "edge.waf_enabled": "false",
            "edge.web_acl_arn": ACL,
            "edge.certificate_arn": CERT,
            "edge.aliases": '["news.example.com", "*.news.example.com"]',
            "edge.origin_shield_region": "null",
        },
    ).edge
    assert (config.web_acl_arn, config.certificate_arn) == (ACL, CERT)
    assert config.aliases == ("news.example.com", "*.news.example.com")
    assert config.origin_shield_region is None


def test_prod_creates_a_web_acl_and_sandbox_does_not() -> None:
    sandbox, prod = load_stage("sandbox").edge, load_stage("prod").edge
    assert (prod.waf_enabled, prod.web_acl_arn) == (True, None)
    assert (sandbox.waf_enabled, sandbox.web_acl_arn) == (False, None)


def test_stage_defaults_keep_more_in_prod() -> None:
    """Prod keeps every published page and its logs longer; its publisher concurrency is the capacity model's
    (bench/capacity.py: a deploy-wide refresh must leave the web origin its headroom), not a larger number."""
    sandbox, prod = load_stage("sandbox").edge, load_stage("prod").edge
    assert prod.cached_object_expiry_days > sandbox.cached_object_expiry_days
    assert prod.log_retention_days > sandbox.log_retention_days
    assert prod.publish_concurrency <= 5
