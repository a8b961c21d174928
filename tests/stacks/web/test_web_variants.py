"""Settings neither stage uses by default, synthesized once: HTTPS + gRPC + gradual migration, and blue/green.

Each variant is the prod stage with overrides, so every rule it exercises is one a stage can switch on.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from stacks.web.config import GRPC_HEALTH_PATH
from tests.stacks.web.web_template import egress_rules, ingress_rules, one
from tests.support.gates import cfn_lint_findings, nag_findings
from tests.support.synth import resources_of_type

CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
VARIANTS: dict[str, dict[str, Any]] = {
    "migrate": {
        "web.https": True,
        "web.certificate_arn": CERTIFICATE,
        "web.protocol": "grpc",
        "web.legacy_target_ips": ["192.168.10.11", "192.168.10.12"],
        "web.legacy_port": 8443,
        "web.legacy_health_check_path": "/status",
        "web.service_weight": 1,
        "web.legacy_weight": 3,
    },
    "bluegreen": {"web.deployment_strategy": "blue_green", "web.bake_time_minutes": 15},
    "docker": {"web.image_build": "docker"},
    # The defaults, with the account known as on every deploy (the CLI passes the credentials' account):
    # ARNs that hold the account are then literals, not tokens, in rules and acknowledgements alike.
    "account": {},
}
ACCOUNTS = {"account": "123456789012"}
ALB_SG, APP_SG = "LoadBalancerSecurityGroupA28D6DD7", "AppSecurityGroupC292657D"


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Templates and the cdk-nag report of every variant, from one synth."""
    from aws_cdk import App, Environment, Stage, Validations
    from cdk_nag import AwsSolutionsChecks

    from stacks.config import load_stage
    from stacks.web.stack import WebStack
    from tests.support.synth import cdk_context, synth_reporting_nag

    outdir: Path = tmp_path_factory.mktemp("web-variants")
    app = App(outdir=str(outdir), context=cdk_context())
    stacks = {}
    for name, overrides in VARIANTS.items():
        config = load_stage("prod", overrides)
        stage = Stage(app, name, env=Environment(account=ACCOUNTS.get(name), region=config.region))
        stacks[name] = WebStack(stage, "Web", stage=config)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    synth_reporting_nag(app)
    templates = {
        name: json.loads((outdir / f"assembly-{name}" / stack.template_file).read_text())
        for name, stack in stacks.items()
    }
    report_file = outdir / "validation-report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    assets = {
        name: json.loads((outdir / f"assembly-{name}" / f"{stack.artifact_id}.assets.json").read_text())
        for name, stack in stacks.items()
    }
    manifests = [
        json.loads(path.read_text()) for path in [outdir / "manifest.json", *outdir.glob("assembly-*/manifest.json")]
    ]
    return {"templates": templates, "report": report, "stacks": stacks, "assets": assets, "manifests": manifests}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_is_cdk_nag_and_cfn_lint_clean(variants: dict[str, Any], name: str) -> None:
    assert nag_findings(variants["report"], name) == []
    assert cfn_lint_findings(variants["templates"][name], "eu-west-1") == []


def test_a_known_account_needs_no_lookup_at_synth(variants: dict[str, Any]) -> None:
    """Every deploy knows the account; the VPC must then take the stage's zones, not ask AWS for them."""
    assert [m["missing"] for m in variants["manifests"] if m.get("missing")] == []


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


def test_https_listener_with_certificate_and_no_plain_http(variants: dict[str, Any]) -> None:
    """CloudFront, the only client, speaks HTTPS to an HTTPS origin: no port-80 listener to redirect from."""
    listeners = _listeners(variants["templates"]["migrate"])
    assert set(listeners) == {443}
    https = listeners[443]
    assert https["Protocol"] == "HTTPS"
    assert https["Certificates"] == [{"CertificateArn": CERTIFICATE}]
    assert https["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    assert https["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"] == "403"
    assert _rule(variants["templates"]["migrate"])["Conditions"][0]["HttpHeaderConfig"]["HttpHeaderName"] == (
        "x-origin-verify"
    )


def test_listener_weights_split_traffic_between_service_and_legacy_fleet(variants: dict[str, Any]) -> None:
    template = variants["templates"]["migrate"]
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


def test_grpc_target_groups_use_grpc_protocol_version_and_matcher(variants: dict[str, Any]) -> None:
    for group in _groups(variants["templates"]["migrate"]).values():
        assert group["ProtocolVersion"] == "GRPC"
        assert group["Matcher"] == {"GrpcCode": "0"}
    service = next(g for g in _groups(variants["templates"]["migrate"]).values() if g["Port"] == 8080)
    assert service["HealthCheckPath"] == GRPC_HEALTH_PATH


def test_https_admits_cloudfront_on_443_only_and_the_alb_may_reach_only_service_and_legacy_fleet(
    variants: dict[str, Any],
) -> None:
    template = variants["templates"]["migrate"]
    alb_ingress = {r for r in ingress_rules(template) if r[0] == ALB_SG}
    # One port: the prefix list weighs 55 of the group's 60 rules.
    assert alb_ingress == {(ALB_SG, "tcp", "prefix-list:OriginAccessPrefixListA3A46D5E", 443, 443)}
    alb_egress = {r for r in egress_rules(template) if r[0] == ALB_SG}
    assert alb_egress == {
        (ALB_SG, "tcp", APP_SG, 8080, 8080),
        (ALB_SG, "tcp", "192.168.10.11/32", 8443, 8443),
        (ALB_SG, "tcp", "192.168.10.12/32", 8443, 8443),
    }


def test_https_origin_is_handed_to_the_edge(variants: dict[str, Any]) -> None:
    assert variants["stacks"]["migrate"].origin.https is True


# --- native ECS blue/green ------------------------------------------------------------------------


def test_blue_green_service_shifts_between_two_target_groups_on_a_listener_rule(variants: dict[str, Any]) -> None:
    template = variants["templates"]["bluegreen"]
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
    # Only the rule serves traffic, and only to CloudFront's requests; the listener's default answers 403.
    (listener,) = _listeners(template).values()
    assert listener["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"] == "403"
    assert [c["Field"] for c in rule["Properties"]["Conditions"]] == ["http-header"]


def test_blue_green_scales_on_cpu_only(variants: dict[str, Any]) -> None:
    policies = resources_of_type(variants["templates"]["bluegreen"], "AWS::ApplicationAutoScaling::ScalingPolicy")
    metrics = [
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"][
            "PredefinedMetricType"
        ]
        for p in policies.values()
    ]
    assert metrics == ["ECSServiceAverageCPUUtilization"]


# --- the local Docker build, as an option ---------------------------------------------------------


def test_docker_option_builds_an_arm64_image_asset_at_deploy_and_no_codebuild(variants: dict[str, Any]) -> None:
    (image,) = variants["assets"]["docker"]["dockerImages"].values()
    assert image["source"]["platform"] == "linux/arm64"
    assert Path(image["source"]["directory"]).name.startswith("asset.")
    template = variants["templates"]["docker"]
    assert resources_of_type(template, "AWS::CodeBuild::Project") == {}
    _, task = one(template, "AWS::ECS::TaskDefinition")
    assert re.search(
        r"container-assets-\$\{AWS::AccountId\}-eu-west-1:[0-9a-f]{64}$",
        task["ContainerDefinitions"][0]["Image"]["Fn::Sub"],
    )
