"""Lambda entry point for the comments table's stream (INSERT events only, filtered at the source)."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from chat_stream.repository import NewComment, RoomStatsRepository
from chat_stream.settings import Settings

logger = Logger()
tracer = Tracer(patch_modules=("botocore",))  # the only library it calls through
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@cache
def repository() -> RoomStatsRepository:
    settings = Settings.from_env()
    return RoomStatsRepository(
        boto3.client("dynamodb"),
        table=settings.stats_table,
        marker_ttl_s=settings.event_marker_ttl_s,
        shards=settings.room_shards,
    )


def parse_record(record: DynamoDBRecord) -> NewComment | None:
    """One stream record as a new comment; a malformed record fails alone (Powertools reports it)."""
    if record.event_name != DynamoDBRecordEventName.INSERT or record.dynamodb is None:
        return None
    image = record.dynamodb.new_image
    return NewComment(
        event_id=str(record.event_id),
        room=str(image["chat_room"]).split("#", 1)[0],
        key=str(image["time"]),
        name=str(image["name"]),
        comment=str(image["comment"]),
        position=str(image["position"]),
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Parse every record, then apply the batch at once: counts and views are aggregated per batch.

    A record that does not parse is reported alone (Lambda retries from it); a failure while applying
    fails the whole batch, which is safe to retry because applying is idempotent.
    """
    with processor(event["Records"], parse_record, context):
        results = processor.process()
    comments = [result for status, result, _ in results if status == "success" and result is not None]
    if comments:
        applied = repository().apply(comments)
        metrics.add_metric(name="CommentCounted", unit=MetricUnit.Count, value=applied.counted)
        metrics.add_metric(name="DuplicateEventSkipped", unit=MetricUnit.Count, value=applied.duplicates)
        metrics.add_metric(name="ViewWrites", unit=MetricUnit.Count, value=applied.view_writes)
        metrics.add_metric(name="StatsConflicts", unit=MetricUnit.Count, value=applied.conflicts)
    return processor.response()
