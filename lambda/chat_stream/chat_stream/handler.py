"""Lambda entry point for the comments table's stream (INSERT events only, filtered at the source)."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from chat_stream.repository import RoomStatsRepository
from chat_stream.settings import Settings

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@cache
def repository() -> RoomStatsRepository:
    settings = Settings.from_env()
    return RoomStatsRepository(
        boto3.client("dynamodb"), table=settings.stats_table, marker_ttl_s=settings.event_marker_ttl_s
    )


@tracer.capture_method
def record_handler(record: DynamoDBRecord) -> None:
    if record.event_name != DynamoDBRecordEventName.INSERT or record.dynamodb is None:
        return
    image = record.dynamodb.new_image
    counted = repository().count_comment(
        room=str(image["chat_room"]), event_id=str(record.event_id), comment_time=str(image["time"]).split("#", 1)[0]
    )
    metrics.add_metric(name="CommentCounted" if counted else "DuplicateEventSkipped", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
