"""Every web config rule, each asserting that the message names the field."""

from __future__ import annotations

from typing import Any

import pytest

from stage.config import load_stage
from tests.support.config import assert_rejected
from web.config import FARGATE_MEMORY_MIB

CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"


def test_stage_defaults() -> None:
    sandbox, prod = load_stage("sandbox").web, load_stage("prod").web
    assert sandbox.db_min_acu == 0 and prod.db_min_acu > 0  # only sandbox pauses
    assert (sandbox.db_readers, prod.db_readers) == (0, 1)
    assert (sandbox.nat, prod.nat) == ("instance", "gateway_per_az")  # only sandbox trades availability for cost
    assert sandbox.db_rotation_days is None and prod.db_rotation_days
    assert prod.min_tasks >= 2  # survives the loss of one zone
    assert sandbox.desired_count == 1 and prod.desired_count is None  # prod: auto scaling owns the count


def test_overrides_from_cli_strings_are_typed() -> None:
    web = load_stage(
        "sandbox", {"web.max_tasks": "4", "web.legacy_target_ips": '["10.1.0.5"]', "web.legacy_weight": "9"}
    ).web
    assert (web.max_tasks, web.legacy_target_ips, web.legacy_weight) == (4, ("10.1.0.5",), 9)


@pytest.mark.parametrize("ip", ["10.1.0.5", "172.31.255.1", "192.168.0.9", "100.64.0.1", "100.127.255.254"])
def test_legacy_targets_accept_the_ranges_alb_accepts(ip: str) -> None:
    assert load_stage("sandbox", {"web.legacy_target_ips": f'["{ip}"]'}).web.legacy_target_ips == (ip,)


def test_every_fargate_size_is_accepted() -> None:
    for cpu, memories in FARGATE_MEMORY_MIB.items():
        for memory in (memories[0], memories[-1]):
            assert load_stage("prod", {"web.cpu": cpu, "web.memory_mib": memory}).web.memory_mib == memory


def test_health_path_follows_the_protocol() -> None:
    grpc = {
        "web.protocol": "grpc",
        "web.https": True,
        "web.certificate_arn": CERTIFICATE,
        "web.origin_domain_name": "origin.example.com",
    }
    assert load_stage("sandbox").web.health_path == "/health"
    assert load_stage("sandbox", grpc).web.health_path == "/grpc.health.v1.Health/Check"
    assert load_stage("sandbox", {**grpc, "web.health_check_path": "/ping"}).web.health_path == "/ping"


INVALID: list[tuple[dict[str, Any], str, str]] = [
    # (overrides, field named in the message, rule in the message)
    ({"web.min_tasks": 3}, "web.min_tasks", "must be <= max_tasks (2)"),
    (
        {"web.desired_count": 3, "web.max_tasks": 2},
        "web.desired_count",
        "must be within [min_tasks, max_tasks] = [1, 2]",
    ),
    ({"web.desired_count": 1, "web.min_tasks": 2, "web.max_tasks": 3}, "web.desired_count", "within [min_tasks"),
    ({"web.max_tasks": 0}, "web.max_tasks", "greater than or equal to 1"),
    ({"web.max_tasks": 101}, "web.max_tasks", "less than or equal to 100"),
    ({"web.cpu": 300}, "web.cpu", "must be one of 256, 512, 1024, 2048, 4096"),
    ({"web.memory_mib": 4096}, "web.memory_mib", "with cpu=256 must be 512..2048"),
    ({"web.cpu_target_percent": 95}, "web.cpu_target_percent", "less than or equal to 90"),
    ({"web.requests_per_target": 5}, "web.requests_per_target", "greater than or equal to 10"),
    ({"web.container_port": 80}, "web.container_port", "greater than or equal to 1024"),
    ({"web.health_check_path": "health"}, "web.health_check_path", "should match pattern"),
    ({"web.health_check_grace_s": -1}, "web.health_check_grace_s", "greater than or equal to 0"),
    ({"web.deregistration_delay_s": 3_601}, "web.deregistration_delay_s", "less than or equal to 3600"),
    ({"web.log_retention_days": 10}, "web.log_retention_days", "must be one of 1, 3, 5, 7"),
    ({"web.db_log_retention_days": 2}, "web.db_log_retention_days", "must be one of 1, 3, 5, 7"),
    ({"web.access_log_retention_days": 0}, "web.access_log_retention_days", "greater than or equal to 1"),
    ({"web.db_min_acu": -0.5}, "web.db_min_acu", "greater than or equal to 0"),
    ({"web.db_max_acu": 257}, "web.db_max_acu", "less than or equal to 256"),
    ({"web.db_max_acu": 0.5}, "web.db_max_acu", "greater than or equal to 1"),
    ({"web.db_min_acu": 0.7}, "web.db_min_acu", "multiple of 0.5"),
    ({"web.db_min_acu": 4, "web.db_max_acu": 2}, "web.db_min_acu", "must be <= db_max_acu (2.0)"),
    ({"web.db_auto_pause_minutes": 1}, "web.db_auto_pause_minutes", "greater than or equal to 5"),
    ({"web.db_readers": 16}, "web.db_readers", "less than or equal to 15"),
    ({"web.db_backup_retention_days": 36}, "web.db_backup_retention_days", "less than or equal to 35"),
    ({"web.db_rotation_days": 0}, "web.db_rotation_days", "greater than or equal to 1"),
    ({"web.nat": "none"}, "web.nat", "'instance', 'gateway' or 'gateway_per_az'"),
    ({"web.image_build": "kaniko"}, "web.image_build", "'codebuild' or 'docker'"),
    ({"web.nat_instance_type": "t4g nano"}, "web.nat_instance_type", "should match pattern"),
    ({"web.deployment_strategy": "canary"}, "web.deployment_strategy", "'rolling' or 'blue_green'"),
    ({"web.bake_time_minutes": 1_441}, "web.bake_time_minutes", "less than or equal to 1440"),
    ({"web.protocol": "http2"}, "web.protocol", "'http1' or 'grpc'"),
    ({"web.https": True}, "web.https", "needs certificate_arn"),
    # CloudFront checks the load balancer's certificate against the origin's name: one the certificate covers.
    ({"web.https": True, "web.certificate_arn": CERTIFICATE}, "web.https", "needs origin_domain_name"),
    ({"web.certificate_arn": CERTIFICATE}, "web.certificate_arn", "takes effect with https: true only"),
    ({"web.origin_domain_name": "origin.example.com"}, "web.origin_domain_name", "takes effect with https: true"),
    ({"web.origin_domain_name": "not a name"}, "web.origin_domain_name", "should match pattern"),
    ({"web.certificate_arn": "arn:aws:iam::123456789012:server-certificate/x"}, "web.certificate_arn", "pattern"),
    ({"web.protocol": "grpc"}, "web.protocol", "needs https: true"),
    ({"web.service_weight": 1_000}, "web.service_weight", "less than or equal to 999"),
    ({"web.legacy_weight": -1}, "web.legacy_weight", "greater than or equal to 0"),
    ({"web.service_weight": 0}, "web.service_weight", "must not both be 0"),
    ({"web.legacy_weight": 5}, "web.legacy_weight", "routes traffic nowhere; set legacy_target_ips"),
    ({"web.legacy_target_ips": '["10.0.0.300"]'}, "web.legacy_target_ips", "is not an IPv4 address"),
    ({"web.legacy_target_ips": '["8.8.8.8"]'}, "web.legacy_target_ips", "outside the ranges ALB accepts"),
    # Private by Python's reckoning, but not where ALB accepts IP targets: loopback, link-local, "this network".
    ({"web.legacy_target_ips": '["127.0.0.1"]'}, "web.legacy_target_ips", "outside the ranges ALB accepts"),
    ({"web.legacy_target_ips": '["169.254.169.254"]'}, "web.legacy_target_ips", "outside the ranges ALB accepts"),
    ({"web.legacy_target_ips": '["0.0.0.1"]'}, "web.legacy_target_ips", "outside the ranges ALB accepts"),
    ({"web.legacy_port": 0}, "web.legacy_port", "greater than or equal to 1"),
    (
        {"web.legacy_target_ips": '["10.1.0.5"]', "web.deployment_strategy": "blue_green"},
        "web.deployment_strategy",
        "cannot be combined with legacy_target_ips",
    ),
    ({"web.replicas": 2}, "web.replicas", "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(
    ("overrides", "field", "rule"), INVALID, ids=[f"{case[1]}-{i}" for i, case in enumerate(INVALID)]
)
def test_invalid_web_config_names_the_field(overrides: dict[str, Any], field: str, rule: str) -> None:
    assert_rejected(overrides, field, rule)


def test_weights_may_send_everything_to_one_side() -> None:
    to_legacy = load_stage(
        "sandbox", {"web.legacy_target_ips": '["10.1.0.5"]', "web.legacy_weight": 1, "web.service_weight": 0}
    )
    assert to_legacy.web.service_weight == 0
    assert load_stage("sandbox", {"web.legacy_target_ips": '["10.1.0.5"]'}).web.legacy_weight == 0
