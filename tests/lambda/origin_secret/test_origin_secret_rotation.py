"""Rotation of the origin header secret against moto's Secrets Manager, ELBv2 and CloudFront APIs.

What must hold at every step: CloudFront sends a value the listener rule accepts, and the rule accepts no
more than two values (the one CloudFront's edges may still send, and the new one).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from origin_secret import handler, rotation

HEADER = "x-origin-verify"
REGION = "eu-west-1"
TOKEN = "0123456789abcdef0123456789abcdef"


@dataclass
class Setup:
    secrets: Any
    elbv2: Any
    cloudfront: Any
    secret_id: str
    targets: rotation.Targets

    @property
    def clients(self) -> rotation.Clients:
        return rotation.Clients(self.secrets, self.elbv2, self.cloudfront)

    def accepted(self) -> list[str]:
        (rule,) = self.elbv2.describe_rules(RuleArns=[self.targets.listener_rule_arn])["Rules"]
        (condition,) = [c for c in rule["Conditions"] if c["Field"] == "http-header"]
        return list(condition["HttpHeaderConfig"]["Values"])

    def sent(self) -> str:
        config = self.cloudfront.get_distribution_config(Id=self.targets.distribution_id)["DistributionConfig"]
        (header,) = config["Origins"]["Items"][0]["CustomHeaders"]["Items"]
        return str(header["HeaderValue"])

    def current(self) -> str:
        # Stage named: moto answers a stage-less read with the first version even after the stage moved.
        return str(self.secrets.get_secret_value(SecretId=self.secret_id, VersionStage="AWSCURRENT")["SecretString"])

    def rotate(self, *, stop_after: str | None = None) -> str:
        token = str(uuid.uuid4())
        rotation.create_secret(self.secrets, self.secret_id, token)
        if stop_after == "createSecret":
            return token
        rotation.set_secret(self.clients, self.targets, self.secret_id, token)
        rotation.test_secret(self.clients, self.targets, self.secret_id, token)
        rotation.finish_secret(self.secrets, self.secret_id, token)
        return token


@pytest.fixture(scope="module")
def mocked_aws() -> Iterator[None]:
    """One moto for the module (starting one costs more than a test); each test makes resources of its own."""
    with pytest.MonkeyPatch.context() as env:
        # The VPC is only a home for the load balancer: no machine images needed (moto loads ~1,300 by default).
        env.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        with mock_aws():
            yield


@pytest.fixture
def aws(mocked_aws: None) -> Setup:
    suffix = uuid.uuid4().hex[:8]
    secrets = boto3.client("secretsmanager", region_name=REGION)
    elbv2 = boto3.client("elbv2", region_name=REGION)
    cloudfront = boto3.client("cloudfront", region_name="us-east-1")
    ec2 = boto3.client("ec2", region_name=REGION)
    first = "initialvalue0"
    secret_id = secrets.create_secret(Name=f"origin-{suffix}", SecretString=first)["ARN"]
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate("ab")
    ]
    alb = elbv2.create_load_balancer(Name=f"alb-{suffix}", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    group = elbv2.create_target_group(Name=f"tg-{suffix}", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")
    listener = elbv2.create_listener(
        LoadBalancerArn=alb,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "403"}}],
    )["Listeners"][0]["ListenerArn"]
    rule = elbv2.create_rule(
        ListenerArn=listener,
        Priority=1,
        Conditions=[{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": HEADER, "Values": [first]}}],
        Actions=[{"Type": "forward", "TargetGroupArn": group["TargetGroups"][0]["TargetGroupArn"]}],
    )["Rules"][0]["RuleArn"]
    distribution = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": f"origin-secret-test-{suffix}",
            "Comment": "",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "web",
                        "DomainName": "alb.example.com",
                        "CustomHeaders": {"Quantity": 1, "Items": [{"HeaderName": HEADER, "HeaderValue": first}]},
                        "CustomOriginConfig": {
                            "HTTPPort": 80,
                            "HTTPSPort": 443,
                            "OriginProtocolPolicy": "http-only",
                        },
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "web",
                "ViewerProtocolPolicy": "redirect-to-https",
                "MinTTL": 0,
                "ForwardedValues": {"QueryString": True, "Cookies": {"Forward": "none"}},
                "TrustedSigners": {"Enabled": False, "Quantity": 0},
            },
        }
    )["Distribution"]["Id"]
    return Setup(secrets, elbv2, cloudfront, secret_id, rotation.Targets(HEADER, distribution, listener_rule_arn=rule))


def test_a_rotation_moves_cloudfront_to_a_new_value_the_listener_already_accepts(aws: Setup) -> None:
    before = aws.current()
    aws.rotate()
    after = aws.current()
    assert after != before and len(after) == rotation.SECRET_LENGTH and after.isalnum()
    assert aws.sent() == after
    # Edges still on the old configuration send the old value for minutes: it stays accepted.
    assert aws.accepted() == [before, after]


def test_the_next_rotation_drops_the_oldest_value(aws: Setup) -> None:
    first = aws.current()
    aws.rotate()
    second = aws.current()
    aws.rotate()
    assert aws.accepted() == [second, aws.current()]
    assert first not in aws.accepted()


def test_every_step_can_run_again(aws: Setup) -> None:
    """Secrets Manager retries a failed step; a repeat must change nothing."""
    token = aws.rotate(stop_after="createSecret")
    pending = aws.secrets.get_secret_value(SecretId=aws.secret_id, VersionStage="AWSPENDING")["SecretString"]
    rotation.create_secret(aws.secrets, aws.secret_id, token)
    assert aws.secrets.get_secret_value(SecretId=aws.secret_id, VersionStage="AWSPENDING")["SecretString"] == pending
    for _ in range(2):
        rotation.set_secret(aws.clients, aws.targets, aws.secret_id, token)
    assert len(aws.accepted()) == 2 and aws.sent() == pending
    for _ in range(2):
        rotation.finish_secret(aws.secrets, aws.secret_id, token)
    assert aws.current() == pending


def test_the_test_step_refuses_a_distribution_that_does_not_send_the_new_value(aws: Setup) -> None:
    token = aws.rotate(stop_after="createSecret")
    rotation.set_secret(aws.clients, aws.targets, aws.secret_id, token)
    answer = aws.cloudfront.get_distribution_config(Id=aws.targets.distribution_id)
    config = answer["DistributionConfig"]
    config["Origins"]["Items"][0]["CustomHeaders"]["Items"][0]["HeaderValue"] = "reverted"
    aws.cloudfront.update_distribution(
        Id=aws.targets.distribution_id, IfMatch=answer["ETag"], DistributionConfig=config
    )
    with pytest.raises(rotation.RotationError, match="distribution does not send"):
        rotation.test_secret(aws.clients, aws.targets, aws.secret_id, token)


def test_a_rule_without_the_header_condition_is_an_error_not_a_silent_pass(aws: Setup) -> None:
    token = aws.rotate(stop_after="createSecret")
    wrong = rotation.Targets("x-other-header", aws.targets.distribution_id, aws.targets.listener_rule_arn)
    with pytest.raises(rotation.RotationError, match="no 'x-other-header' header condition"):
        rotation.set_secret(aws.clients, wrong, aws.secret_id, token)


def test_the_handler_refuses_a_secret_without_rotation_and_an_unknown_step() -> None:
    secrets = boto3.client("secretsmanager", region_name=REGION)
    with Stubber(secrets) as stub:
        stub.add_response("describe_secret", {"RotationEnabled": False, "VersionIdsToStages": {}})
        with pytest.raises(rotation.RotationError, match="rotation is not enabled"):
            rotation.check_rotatable(secrets, "origin", TOKEN)
        stub.add_response("describe_secret", {"RotationEnabled": True, "VersionIdsToStages": {TOKEN: ["AWSPREVIOUS"]}})
        with pytest.raises(rotation.RotationError, match="neither current nor pending"):
            rotation.check_rotatable(secrets, "origin", TOKEN)
    env = {"HEADER_NAME": HEADER, "DISTRIBUTION_ID": "E1", "LISTENER_RULE_ARN": "arn:rule"}
    assert handler.targets_from_env(env) == rotation.Targets(HEADER, "E1", "arn:rule")
