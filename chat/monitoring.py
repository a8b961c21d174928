"""Alarms of the chat stack: what a person on call must hear about."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from chat.api import ChatApi
from chat.config import ChatConfig
from chat.data import ChatData
from chat.stream import ChatStream
from shared.alarms import AlarmTopic

_PERIOD = Duration.minutes(5)


class ChatAlarms(Construct):
    """API 5xx and latency, Lambda errors and throttles, DynamoDB throttles, stream lag and dead letters."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: ChatConfig,
        topic: AlarmTopic,
        api: ChatApi,
        stream: ChatStream,
        data: ChatData,
    ) -> None:
        super().__init__(scope, construct_id)
        self._build_api_alarms(config, topic, api)
        for name, function in (("Api", api.handler), ("Stream", stream.handler)):
            self._build_function_alarms(topic, name, function)
        for name, table in (("Comments", data.comments), ("RoomStats", data.room_stats)):
            self._build_table_alarm(topic, name, table)
        self._build_stream_alarms(topic, stream)

    def _build_api_alarms(self, config: ChatConfig, topic: AlarmTopic, api: ChatApi) -> None:
        topic.alarm(
            self,
            "Api5xx",
            metric=api.api.metric_server_error(period=_PERIOD, statistic="Sum"),
            threshold=config.alarm_5xx_threshold,
            description="The chat API returned 5xx responses",
        )
        topic.alarm(
            self,
            "ApiLatencyP99",
            metric=api.api.metric_latency(period=_PERIOD, statistic="p99"),
            threshold=config.alarm_latency_p99_ms,
            evaluation_periods=3,
            description="The chat API's p99 latency stayed high for 15 minutes",
        )

    def _build_function_alarms(self, topic: AlarmTopic, name: str, function: lambda_.IFunction) -> None:
        topic.alarm(
            self,
            f"{name}FunctionErrors",
            metric=function.metric_errors(period=_PERIOD, statistic="Sum"),
            threshold=1,
            description=f"The {name.lower()} function raised errors",
        )
        topic.alarm(
            self,
            f"{name}FunctionThrottles",
            metric=function.metric_throttles(period=_PERIOD, statistic="Sum"),
            threshold=1,
            description=f"The {name.lower()} function was throttled",
        )

    def _build_table_alarm(self, topic: AlarmTopic, name: str, table: dynamodb.ITable) -> None:
        topic.alarm(
            self,
            f"{name}Throttles",
            metric=cw.MathExpression(
                expression="reads + writes",
                using_metrics={
                    "reads": table.metric("ReadThrottleEvents", period=_PERIOD, statistic="Sum"),
                    "writes": table.metric("WriteThrottleEvents", period=_PERIOD, statistic="Sum"),
                },
                period=_PERIOD,
                label=f"{name} throttle events",
            ),
            threshold=1,
            description=f"DynamoDB throttled requests to the {name} table",
        )

    def _build_stream_alarms(self, topic: AlarmTopic, stream: ChatStream) -> None:
        topic.alarm(
            self,
            "StreamIteratorAge",
            metric=stream.handler.metric("IteratorAge", period=Duration.minutes(1), statistic="Maximum"),
            threshold=60_000,
            evaluation_periods=5,
            description="The stream consumer is more than a minute behind",
        )
        topic.alarm(
            self,
            "StreamDeadLetters",
            metric=stream.dead_letters.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1), statistic="Maximum"
            ),
            threshold=1,
            description="Stream records failed for good and wait in the dead-letter queue",
        )
