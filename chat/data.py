"""The chat's DynamoDB tables."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from shared.policies import removal_policy
from stage.config_base import StageFacts

# Index names are part of the contract with chat/runtime/chat_api (its settings read them from the environment).
ROOM_TIME_INDEX = "by-room-time"
ROOM_POSITION_INDEX = "by-room-position"

_S = dynamodb.AttributeType.STRING
_N = dynamodb.AttributeType.NUMBER


class ChatData(Construct):
    """Comments, per-room statistics and idempotency records.

    Comments follow the talk's design: partition `name`, sort `time`. `time` holds an ISO-8601
    millisecond timestamp followed by `#` and the comment id, so two comments by one user in the same
    millisecond keep distinct keys and the key still sorts by time. Two GSIs serve the room queries,
    so no read ever scans: `chat_room`+`time` (latest, all) and `chat_room`+`position` (ranges).

    Hot rooms shard the indexes through the value of `chat_room` (`<room>` or `<room>#<shard>`, see
    chat/runtime/chat_api), not through their key schema: CloudFormation cannot change a GSI's key schema in
    place and creates or deletes at most one GSI per update, so keeping both indexes as they are is what
    lets an already deployed table take this stack unchanged. The room stats table also holds each room's
    latest-comments view (`latest#<room>`), written by the stream consumer.
    """

    def __init__(self, scope: Construct, construct_id: str, *, facts: StageFacts) -> None:
        super().__init__(scope, construct_id)
        common: dict[str, Any] = {
            "billing_mode": dynamodb.BillingMode.PAY_PER_REQUEST,
            "encryption": dynamodb.TableEncryption.AWS_MANAGED,
            "point_in_time_recovery_specification": dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            "deletion_protection": facts.deletion_protection,
            "removal_policy": removal_policy(facts.removal),
        }
        self.comments = dynamodb.Table(
            self,
            "Comments",
            partition_key=dynamodb.Attribute(name="name", type=_S),
            sort_key=dynamodb.Attribute(name="time", type=_S),
            stream=dynamodb.StreamViewType.NEW_IMAGE,
            **common,
        )
        self.comments.add_global_secondary_index(
            index_name=ROOM_TIME_INDEX,
            partition_key=dynamodb.Attribute(name="chat_room", type=_S),
            sort_key=dynamodb.Attribute(name="time", type=_S),
        )
        self.comments.add_global_secondary_index(
            index_name=ROOM_POSITION_INDEX,
            partition_key=dynamodb.Attribute(name="chat_room", type=_S),
            sort_key=dynamodb.Attribute(name="position", type=_N),
        )
        # Counters per room (`room#<id>`) and markers of applied stream events (`event#<id>`, expiring).
        self.room_stats = dynamodb.Table(
            self,
            "RoomStats",
            partition_key=dynamodb.Attribute(name="pk", type=_S),
            time_to_live_attribute="expires_at",
            **common,
        )
        # Powertools idempotency records: short-lived by design (TTL), so losing them loses nothing.
        self.idempotency = dynamodb.Table(
            self,
            "Idempotency",
            partition_key=dynamodb.Attribute(name="id", type=_S),
            time_to_live_attribute="expiration",
            **common,
        )
