"""Map stage settings onto CDK enums, in one place."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnResource, RemovalPolicy, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stage.config_base import RemovalMode


def removal_policy(mode: RemovalMode, *, supports_snapshot: bool = False) -> RemovalPolicy:
    """The removal policy for a stateful resource; SNAPSHOT falls back to RETAIN where unsupported."""
    if mode == "destroy":
        return RemovalPolicy.DESTROY
    if mode == "snapshot" and supports_snapshot:
        return RemovalPolicy.SNAPSHOT
    return RemovalPolicy.RETAIN


_R = logs.RetentionDays
# CloudWatch Logs retention periods by days (jsii enums do not expose their numeric value).
RETENTION_BY_DAYS: dict[int, logs.RetentionDays] = {
    1: _R.ONE_DAY,
    3: _R.THREE_DAYS,
    5: _R.FIVE_DAYS,
    7: _R.ONE_WEEK,
    14: _R.TWO_WEEKS,
    30: _R.ONE_MONTH,
    60: _R.TWO_MONTHS,
    90: _R.THREE_MONTHS,
    120: _R.FOUR_MONTHS,
    150: _R.FIVE_MONTHS,
    180: _R.SIX_MONTHS,
    365: _R.ONE_YEAR,
    400: _R.THIRTEEN_MONTHS,
    545: _R.EIGHTEEN_MONTHS,
    731: _R.TWO_YEARS,
    1096: _R.THREE_YEARS,
    1827: _R.FIVE_YEARS,
    2192: _R.SIX_YEARS,
    2557: _R.SEVEN_YEARS,
    2922: _R.EIGHT_YEARS,
    3288: _R.NINE_YEARS,
    3653: _R.TEN_YEARS,
}


def retention(days: int) -> logs.RetentionDays:
    """The RetentionDays member for a number of days (validated by the stage config)."""
    try:
        return RETENTION_BY_DAYS[days]
    except KeyError:
        raise ValueError(f"log retention of {days} days is not a CloudWatch Logs retention period") from None


def log_group(scope: Construct, construct_id: str, *, retention_days: int, **props: Any) -> logs.LogGroup:
    """An operational log group: its retention is what keeps the logs, so it goes with its stack."""
    return logs.LogGroup(
        scope, construct_id, retention=retention(retention_days), removal_policy=RemovalPolicy.DESTROY, **props
    )


def own_function_log_groups(stack: Stack, *, retention_days: int) -> None:
    """Give each function in `stack` without a log group of its own one, with a retention and removed with the stack.

    aws-cdk-lib's custom-resource provider functions leave Lambda to create /aws/lambda/<name> at their first
    run, with no retention, and nothing deletes it when the stack goes.
    """
    for construct in stack.node.find_all():
        if not isinstance(construct, CfnResource) or construct.cfn_resource_type != "AWS::Lambda::Function":
            continue
        scope = construct.node.scope
        if isinstance(construct, lambda_.CfnFunction) and construct.logging_config is not None:
            continue  # already writes to a group of its own (shared/python_function.py)
        if not isinstance(scope, Construct) or scope.node.try_find_child("LogGroup") is not None:
            continue  # aws-cdk-lib manages the function's group (e.g. the Lambda@Edge function)
        group = log_group(scope, "Logs", retention_days=retention_days)
        construct.add_property_override("LoggingConfig.LogGroup", group.log_group_name)
