"""Rotation of the web origin's secret header (lambda/origin_secret): here, beside the distribution it rewrites.

The secret itself belongs to the web stack (its listener rule checks it); the edge stack, deployed after it,
holds the schedule and the function, so neither stack needs to reference the other's later resources.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from stacks.common.nag import acknowledge
from stacks.common.origin import OriginVerification
from stacks.common.python_function import PythonFunction


class OriginSecretRotation(Construct):
    """Every `days`: the listener accepts the new value beside the current one, then the distribution sends it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        verification: OriginVerification,
        distribution: cloudfront.Distribution,
        days: int,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = PythonFunction(
            self,
            "Function",
            bundle="origin_secret",
            handler="origin_secret.handler.handler",
            description="Rotate the origin header secret: listener rule first, then the distribution",
            environment={
                "HEADER_NAME": verification.header,
                "DISTRIBUTION_ID": distribution.distribution_id,
                "LISTENER_RULE_ARN": verification.listener_rule_arn,
            },
            log_retention_days=log_retention_days,
            layers=[],
            memory_mb=256,
            timeout_s=60,
        )
        role = self.function.role
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudfront:GetDistributionConfig", "cloudfront:UpdateDistribution"],
                resources=[distribution.distribution_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["elasticloadbalancing:ModifyRule"], resources=[verification.listener_rule_arn])
        )
        # DescribeRules supports no resource-level permissions.
        role.add_to_policy(iam.PolicyStatement(actions=["elasticloadbalancing:DescribeRules"], resources=["*"]))
        self.schedule = secretsmanager.RotationSchedule(
            self,
            "Schedule",
            secret=verification.secret,
            rotation_lambda=self.function.function,
            automatically_after=Duration.days(days),
            # The first rotation waits for the schedule: a deploy does not also rewrite the distribution.
            rotate_immediately_on_update=False,
        )
        self.schedule.node.add_dependency(distribution)
        # Secrets Manager may invoke the function for this secret only (the library's permission names no source).
        for child in self.function.function.node.children:
            if isinstance(child, lambda_.CfnPermission) and child.principal == "secretsmanager.amazonaws.com":
                child.source_arn = verification.secret.secret_arn
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "elasticloadbalancing:DescribeRules and secretsmanager:GetRandomPassword accept no resource but '*'; "
            "X-Ray's trace actions neither.",
        )
