"""Alarms of the edge cache: what a person on call must hear about."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from constructs import Construct

from edge.publisher import CachePublisher
from shared.alarms import AlarmTopic


class EdgeAlarms(Construct):
    """Publisher executions that failed, timed out or were aborted."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: AlarmTopic,
        publisher: CachePublisher,
    ) -> None:
        super().__init__(scope, construct_id)
        machine = publisher.state_machine
        topic.alarm(
            self,
            "PublisherFailed",
            metric=cw.MathExpression(
                expression="failed + timedOut + aborted",
                using_metrics={
                    "failed": machine.metric_failed(statistic="Sum"),
                    "timedOut": machine.metric_timed_out(statistic="Sum"),
                    "aborted": machine.metric_aborted(statistic="Sum"),
                },
                period=Duration.minutes(5),
                label="Failed publisher executions",
            ),
            threshold=1,
            description="A cache publisher execution failed (its map run lists the batches and paths that failed)",
        )
