"""Room counters in DynamoDB, made idempotent per stream event."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class RoomStatsRepository:
    """Counts a comment once per stream event id, even when Lambda retries the batch.

    One transaction writes a marker for the event (only if absent) and increments the room's counter,
    so a retried record finds its marker and changes nothing. Markers expire by TTL after they can no
    longer be redelivered (longer than the event source's maximum record age).
    """

    def __init__(self, client: DynamoDBClient, *, table: str, marker_ttl_s: int) -> None:
        self._client = client
        self._table = table
        self._marker_ttl_s = marker_ttl_s

    def count_comment(self, *, room: str, event_id: str, comment_time: str) -> bool:
        """Add one comment to `room`; False when this event was already counted."""
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {
                                "pk": {"S": f"event#{event_id}"},
                                "expires_at": {"N": str(int(time.time()) + self._marker_ttl_s)},
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": {"pk": {"S": f"room#{room}"}},
                            "UpdateExpression": "ADD comment_count :one SET last_comment_time = :t",
                            "ExpressionAttributeValues": {":one": {"N": "1"}, ":t": {"S": comment_time}},
                        }
                    },
                ]
            )
        except ClientError as error:
            reasons = error.response.get("CancellationReasons", [])
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return False
            raise
        return True
