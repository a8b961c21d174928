"""Settings neither stage uses by default (tests/support/variants.py): HTTPS + gRPC + gradual migration in
the 'tuned' stage, native ECS blue/green in the 'bluegreen' stage."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.support.synth import Synthesized, resources_of_type
from tests.support.variants import VARIANTS, WEB_CERTIFICATE
from tests.web.web_template import egress_rules, ingress_rules, one
from web.config import GRPC_HEALTH_PATH

ALB_SG, APP_SG = "LoadBalancerSecurityGroupA28D6DD7", "AppSecurityGroupC292657D"
FETCHERS_SG = "LoadBalancerFetchers8697F7C5"
MIGRATE, BLUE_GREEN, DOCKER, ACCOUNT = "tuned/Web", "bluegreen/Web", "docker/Web", "account/Web"


def test_a_known_account_needs_no_lookup_at_synth(variants: Synthesized) -> None:
    """Every deploy knows the account; the VPC must then take the stage's zones, not ask AWS for them."""
    assert variants.regions[ACCOUNT] == "eu-west-1" and variants.accounts[ACCOUNT] == VARIANTS["account"].account
    assert variants.missing == []


# --- HTTPS, gRPC, gradual migration ---------------------------------------------------------------


def _listeners(template: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {
        listener["Properties"]["Port"]: listener["Properties"]
        for listener in resources_of_type(template, "AWS::ElasticLoadBalancingV2::Listener").values()
    }


def _groups(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        k: v["Properties"] for k, v in resources_of_type(template, "AWS::ElasticLoadBalancingV2::TargetGroup").items()
    }


def _rule(template: dict[str, Any]) -> dict[str, Any]:
    (rule,) = resources_of_type(template, "AWS::ElasticLoadBalancingV2::ListenerRule").values()
    return rule["Properties"]  # type: ignore[no-any-return]


def test_https_listener_with_certificate_and_no_plain_http(variants: Synthesized) -> None:
    """CloudFront's VPC origin and the page fetchers, the only clients, speak HTTPS: no port-80 listener to
    redirect from."""
    listeners = _listeners(variants.templates[MIGRATE])
    assert set(listeners) == {443}
    https = listeners[443]
    assert https["Protocol"] == "HTTPS"
    assert https["Certificates"] == [{"CertificateArn": WEB_CERTIFICATE}]
    assert https["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    assert https["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"] == "403"
    assert _rule(variants.templates[MIGRATE])["Conditions"] == [
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}
    ]


def test_listener_weights_split_traffic_between_service_and_legacy_fleet(variants: Synthesized) -> None:
    template = variants.templates[MIGRATE]
    groups = _groups(template)
    legacy = next(k for k, g in groups.items() if g["Port"] == 8443)
    service = next(k for k, g in groups.items() if g["Port"] == 8080)
    (action,) = _rule(template)["Actions"]
    assert action["Type"] == "forward"
    weights = {g["TargetGroupArn"]["Ref"]: g["Weight"] for g in action["ForwardConfig"]["TargetGroups"]}
    assert weights == {service: 1, legacy: 3}
    assert groups[legacy]["Targets"] == [
        {"Id": "192.168.10.11", "Port": 8443, "AvailabilityZone": "all"},
        {"Id": "192.168.10.12", "Port": 8443, "AvailabilityZone": "all"},
    ]
    assert groups[legacy]["HealthCheckPath"] == "/status"


def test_grpc_target_groups_use_grpc_protocol_version_and_matcher(variants: Synthesized) -> None:
    for group in _groups(variants.templates[MIGRATE]).values():
        assert group["ProtocolVersion"] == "GRPC"
        assert group["Matcher"] == {"GrpcCode": "0"}
    service = next(g for g in _groups(variants.templates[MIGRATE]).values() if g["Port"] == 8080)
    assert service["HealthCheckPath"] == GRPC_HEALTH_PATH


def test_https_admits_cloudfront_and_fetchers_on_443_only_and_the_alb_may_reach_only_service_and_legacy_fleet(
    variants: Synthesized,
) -> None:
    template = variants.templates[MIGRATE]
    alb_ingress = {r for r in ingress_rules(template) if r[0] == ALB_SG}
    # One port: the prefix list weighs 55 of the group's 60 rules.
    assert alb_ingress == {
        (ALB_SG, "tcp", "prefix-list:OriginAccessPrefixListA3A46D5E", 443, 443),
        (ALB_SG, "tcp", FETCHERS_SG, 443, 443),
    }
    alb_egress = {r for r in egress_rules(template) if r[0] == ALB_SG}
    assert alb_egress == {
        (ALB_SG, "tcp", APP_SG, 8080, 8080),
        (ALB_SG, "tcp", "192.168.10.11/32", 8443, 8443),
        (ALB_SG, "tcp", "192.168.10.12/32", 8443, 8443),
    }


def test_https_origin_is_handed_to_the_edge(variants: Synthesized) -> None:
    (vpc_origin,) = resources_of_type(variants.templates["tuned/Edge"], "AWS::CloudFront::VpcOrigin").values()
    endpoint = vpc_origin["Properties"]["VpcOriginEndpointConfig"]
    assert endpoint["OriginProtocolPolicy"] == "https-only"
    assert endpoint["Arn"]["Fn::GetStackOutput"]["StackName"] == variants.stack_names[MIGRATE]


# --- native ECS blue/green ------------------------------------------------------------------------


def test_blue_green_service_shifts_between_two_target_groups_on_a_listener_rule(variants: Synthesized) -> None:
    template = variants.templates[BLUE_GREEN]
    _, service = one(template, "AWS::ECS::Service")
    deployment = service["DeploymentConfiguration"]
    assert deployment["Strategy"] == "BLUE_GREEN"
    assert deployment["BakeTimeInMinutes"] == 15
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert deployment["Alarms"]["Rollback"] is True
    (load_balancer,) = service["LoadBalancers"]
    advanced = load_balancer["AdvancedConfiguration"]
    ((rule_id, rule),) = resources_of_type(template, "AWS::ElasticLoadBalancingV2::ListenerRule").items()
    assert advanced["ProductionListenerRule"] == {"Ref": rule_id}
    blue, green = load_balancer["TargetGroupArn"]["Ref"], advanced["AlternateTargetGroupArn"]["Ref"]
    weights = {
        g["TargetGroupArn"]["Ref"]: g["Weight"]
        for g in rule["Properties"]["Actions"][0]["ForwardConfig"]["TargetGroups"]
    }
    assert weights == {blue: 1, green: 0}
    # Only the rule serves traffic (every path); the listener's default answers 403.
    (listener,) = _listeners(template).values()
    assert listener["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"] == "403"
    assert [c["Field"] for c in rule["Properties"]["Conditions"]] == ["path-pattern"]


def test_blue_green_deployment_alarms_watch_both_target_groups(variants: Synthesized) -> None:
    """The serving group alternates between deployments: an alarm on one group would miss every other one's tasks."""
    template = variants.templates[BLUE_GREEN]
    _, service = one(template, "AWS::ECS::Service")
    (load_balancer,) = service["LoadBalancers"]
    groups = {
        load_balancer["TargetGroupArn"]["Ref"],
        load_balancer["AdvancedConfiguration"]["AlternateTargetGroupArn"]["Ref"],
    }
    names = {json.dumps(n, sort_keys=True) for n in service["DeploymentConfiguration"]["Alarms"]["AlarmNames"]}
    alarms = [
        alarm["Properties"]
        for logical_id, alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").items()
        if json.dumps({"Ref": logical_id}, sort_keys=True) in names
    ]
    assert len(alarms) == 2
    for alarm in alarms:
        watched = {
            d["Value"]["Fn::GetAtt"][0]
            for m in alarm.get("Metrics", [])
            for d in m.get("MetricStat", {}).get("Metric", {}).get("Dimensions", [])
            if d["Name"] == "TargetGroup"
        }
        assert watched == groups, alarm.get("AlarmDescription")


def test_blue_green_scales_on_cpu_only(variants: Synthesized) -> None:
    policies = resources_of_type(variants.templates[BLUE_GREEN], "AWS::ApplicationAutoScaling::ScalingPolicy")
    metrics = [
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"][
            "PredefinedMetricType"
        ]
        for p in policies.values()
    ]
    assert metrics == ["ECSServiceAverageCPUUtilization"]


# --- the local Docker build, as an option ---------------------------------------------------------


def test_docker_option_builds_an_arm64_image_asset_at_deploy_and_no_codebuild(variants: Synthesized) -> None:
    (image,) = variants.assets[DOCKER]["dockerImages"].values()
    assert image["source"]["platform"] == "linux/arm64"
    assert Path(image["source"]["directory"]).name.startswith("asset.")
    template = variants.templates[DOCKER]
    assert resources_of_type(template, "AWS::CodeBuild::Project") == {}
    _, task = one(template, "AWS::ECS::TaskDefinition")
    assert re.search(
        r"container-assets-\$\{AWS::AccountId\}-eu-west-1:[0-9a-f]{64}$",
        task["ContainerDefinitions"][0]["Image"]["Fn::Sub"],
    )
