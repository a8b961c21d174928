"""DynamoDB access for comments and room statistics. The only module that knows the item layout."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from chat_api.models import Comment, Page

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class CommentRepository(Protocol):
    def put(self, comment: Comment) -> None: ...
    def room_newest_first(self, room: str, limit: int, start_key: dict[str, Any] | None) -> Page: ...
    def room_positions(
        self, room: str, low: float, high: float, limit: int, start_key: dict[str, Any] | None
    ) -> Page: ...
    def user_newest_first(self, name: str, limit: int, start_key: dict[str, Any] | None) -> Page: ...
    def room_comment_count(self, room: str) -> int: ...


def sort_key(comment: Comment) -> str:
    """The table's `time` key: the timestamp, then the id, so equal timestamps stay distinct keys."""
    return f"{comment.time}#{comment.id}"


def _number(value: float) -> str:
    return str(Decimal(str(value)).normalize()) if value else "0"


def _to_item(comment: Comment) -> dict[str, Any]:
    return {
        "name": {"S": comment.name},
        "time": {"S": sort_key(comment)},
        "id": {"S": comment.id},
        "chat_room": {"S": comment.room},
        "comment": {"S": comment.comment},
        "position": {"N": _number(comment.position)},
    }


def _from_item(item: dict[str, Any]) -> Comment:
    position = Decimal(item["position"]["N"])
    return Comment(
        id=item["id"]["S"],
        room=item["chat_room"]["S"],
        name=item["name"]["S"],
        comment=item["comment"]["S"],
        position=int(position) if position == position.to_integral_value() else float(position),
        time=item["time"]["S"].split("#", 1)[0],
    )


class DynamoCommentRepository:
    def __init__(
        self, client: DynamoDBClient, *, table: str, room_time_index: str, room_position_index: str, stats_table: str
    ) -> None:
        self._client = client
        self._table = table
        self._room_time_index = room_time_index
        self._room_position_index = room_position_index
        self._stats_table = stats_table

    def put(self, comment: Comment) -> None:
        self._client.put_item(
            TableName=self._table,
            Item=_to_item(comment),
            ConditionExpression="attribute_not_exists(#t)",  # never overwrite another comment
            ExpressionAttributeNames={"#t": "time"},
        )

    def _query(self, start_key: dict[str, Any] | None, **kwargs: Any) -> Page:
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        response = self._client.query(TableName=self._table, **kwargs)
        return Page([_from_item(i) for i in response.get("Items", [])], response.get("LastEvaluatedKey"))

    def room_newest_first(self, room: str, limit: int, start_key: dict[str, Any] | None) -> Page:
        return self._query(
            start_key,
            IndexName=self._room_time_index,
            KeyConditionExpression="chat_room = :room",
            ExpressionAttributeValues={":room": {"S": room}},
            ScanIndexForward=False,
            Limit=limit,
        )

    def room_positions(self, room: str, low: float, high: float, limit: int, start_key: dict[str, Any] | None) -> Page:
        return self._query(
            start_key,
            IndexName=self._room_position_index,
            KeyConditionExpression="chat_room = :room AND #p BETWEEN :low AND :high",
            ExpressionAttributeNames={"#p": "position"},
            ExpressionAttributeValues={
                ":room": {"S": room},
                ":low": {"N": _number(low)},
                ":high": {"N": _number(high)},
            },
            Limit=limit,
        )

    def user_newest_first(self, name: str, limit: int, start_key: dict[str, Any] | None) -> Page:
        return self._query(
            start_key,
            KeyConditionExpression="#n = :name",
            ExpressionAttributeNames={"#n": "name"},
            ExpressionAttributeValues={":name": {"S": name}},
            ScanIndexForward=False,
            Limit=limit,
        )

    def room_comment_count(self, room: str) -> int:
        item = self._client.get_item(TableName=self._stats_table, Key={"pk": {"S": f"room#{room}"}}).get("Item")
        return int(item["comment_count"]["N"]) if item else 0
