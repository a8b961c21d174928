"""Alarms of the web service; the first two also roll a deployment back."""

from __future__ import annotations

from collections.abc import Callable

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_rds as rds
from constructs import Construct

from shared.alarms import AlarmTopic

_PERIOD = Duration.minutes(1)


class WebAlarms(Construct):
    """Target 5xx and unhealthy targets (deployment alarms), ALB 5xx, database capacity at its ceiling.

    The deployment alarms watch the target group, not the service, so the service can name them
    without a circular dependency and without physical alarm names. Under blue/green they watch both groups
    (`green_target_group`): the group that serves alternates between deployments.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: AlarmTopic,
        alb: elbv2.ApplicationLoadBalancer,
        target_group: elbv2.ApplicationTargetGroup,
        cluster: rds.DatabaseCluster,
        green_target_group: elbv2.ApplicationTargetGroup | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        groups = [target_group, *([green_target_group] if green_target_group else [])]
        self.target_5xx = topic.alarm(
            self,
            "Target5xx",
            metric=_across(
                groups,
                "+",
                lambda g: g.metrics.http_code_target(
                    elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=_PERIOD, statistic="Sum"
                ),
            ),
            threshold=5,
            evaluation_periods=2,
            description="The service's tasks returned 5xx responses for 2 minutes (rolls a deployment back)",
        )
        self.unhealthy = topic.alarm(
            self,
            "UnhealthyTargets",
            metric=_across(
                groups, "MAX", lambda g: g.metrics.unhealthy_host_count(period=_PERIOD, statistic="Maximum")
            ),
            threshold=1,
            evaluation_periods=3,
            description="Tasks failed the ALB health check for 3 minutes (rolls a deployment back)",
        )
        topic.alarm(
            self,
            "Alb5xx",
            metric=alb.metrics.http_code_elb(elbv2.HttpCodeElb.ELB_5XX_COUNT, period=Duration.minutes(5)),
            threshold=10,
            description="The load balancer itself returned 5xx (no healthy target, or targets timing out)",
        )
        topic.alarm(
            self,
            "DatabaseCapacity",
            metric=cluster.metric("ACUUtilization", period=Duration.minutes(5), statistic="Average"),
            threshold=90,
            evaluation_periods=3,
            description="Aurora has run at over 90% of its maximum ACUs for 15 minutes; raise db_max_acu",
        )

    @property
    def deployment_alarms(self) -> list[cw.Alarm]:
        return [self.target_5xx, self.unhealthy]


def _across(
    groups: list[elbv2.ApplicationTargetGroup],
    combine: str,
    metric: Callable[[elbv2.ApplicationTargetGroup], cw.IMetric],
) -> cw.IMetric:
    """One group's metric, or the groups' combined ("+": their sum, "MAX": the highest) by metric math."""
    if len(groups) == 1:
        return metric(groups[0])
    names = [f"g{i}" for i in range(len(groups))]
    expression = " + ".join(names) if combine == "+" else f"MAX([{', '.join(names)}])"
    return cw.MathExpression(
        expression=expression,
        using_metrics={name: metric(group) for name, group in zip(names, groups, strict=True)},
        period=_PERIOD,
    )
