"""The DynamoDB stream consumer that keeps per-room comment counters and each room's latest-comments view."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from chat.config import METRICS_NAMESPACE, ChatConfig
from chat.data import ChatData
from quality.declare import acknowledge, skip_check
from shared.grants import SendOnlyQueue
from shared.python_function import PythonFunction

STREAM_BATCHING_WINDOW_S = 1  # how long Lambda gathers records: the view lags by about this much
# Chosen by measurement (make tune, reports/tune-*.md): the cheapest size that handles a batch within the batching
# window at p99 in every round, the pick of the last three runs (reports/memory-runs.json); a test keeps it there.
STREAM_MEMORY_MB = 256


class ChatStream(Construct):
    """Counts new comments per room and keeps each room's latest 25 in one item, from the table's stream.

    Nothing is dropped silently: failed batches are split (bisect) and retried a bounded number of times;
    records that still fail, or grow older than the maximum age, go to an SQS dead-letter queue that an
    alarm watches. The handler reports partial batch failures, counts each record once and merges views
    idempotently (see chat/runtime/chat_stream), so a retried batch changes nothing twice.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: ChatConfig,
        data: ChatData,
        layers: list[lambda_.ILayerVersion],
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.dead_letters,
            "AwsSolutions-SQS3",
            "This queue is the failure destination of the stream consumer; an alarm watches its depth.",
        )
        skip_check(
            self.dead_letters,
            "CKV_AWS_27",
            "Encrypted with SQS-managed keys (SqsManagedSseEnabled), which this check does not recognise.",
        )
        self.handler = PythonFunction(
            self,
            "Handler",
            bundle="chat_stream",
            handler="chat_stream.handler.handler",
            description="Counts chat comments per room and keeps each room's latest view, from the stream",
            layers=layers,
            memory_mb=STREAM_MEMORY_MB,
            timeout_s=30,
            log_retention_days=config.log_retention_days,
            environment={
                "POWERTOOLS_SERVICE_NAME": "chat-stream",
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "STATS_TABLE": data.room_stats.table_name,
                "EVENT_MARKER_TTL_S": str(max(2 * config.stream_max_record_age_s, 86_400)),
                "ROOM_SHARDS": str(config.room_shards),
            },
        ).function
        self.handler.add_event_source(
            sources.DynamoEventSource(
                data.comments,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=config.stream_batch_size,
                max_batching_window=Duration.seconds(STREAM_BATCHING_WINDOW_S),
                bisect_batch_on_error=True,
                retry_attempts=config.stream_retry_attempts,
                max_record_age=Duration.seconds(config.stream_max_record_age_s),
                report_batch_item_failures=True,
                on_failure=SendOnlyQueue(self.dead_letters),
                filters=[lambda_.FilterCriteria.filter({"eventName": lambda_.FilterRule.is_equal("INSERT")})],
            )
        )
