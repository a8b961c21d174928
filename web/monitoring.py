"""Alarms of the web service; the first two also roll a deployment back."""

from __future__ import annotations

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
    without a circular dependency and without physical alarm names.
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
    ) -> None:
        super().__init__(scope, construct_id)
        self.target_5xx = topic.alarm(
            self,
            "Target5xx",
            metric=target_group.metrics.http_code_target(
                elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=_PERIOD, statistic="Sum"
            ),
            threshold=5,
            evaluation_periods=2,
            description="The service's tasks returned 5xx responses for 2 minutes (rolls a deployment back)",
        )
        self.unhealthy = topic.alarm(
            self,
            "UnhealthyTargets",
            metric=target_group.metrics.unhealthy_host_count(period=_PERIOD, statistic="Maximum"),
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
