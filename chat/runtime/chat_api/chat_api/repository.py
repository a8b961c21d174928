"""DynamoDB access for comments and room statistics. The only module that knows the item layout.

Hot rooms: each room's index entries are spread over `shards` index partitions. The index partition key
`chat_room` holds the room for shard 0 and `<room>#<shard>` for the others, so a stage with one shard
stores exactly the talk's model, and comments written before sharding are simply shard 0. Reads merge the
shards in order. A room id never contains `#` (entities.ROOM_PATTERN), so the room is the key up to `#`.

The stream consumer (chat/runtime/chat_stream) keeps two kinds of items in the stats table that this module
reads: per-room counters (`room#<room>` for counter shard 0, `room#<room>#<k>` for the others) and the
room's latest-comments view (`latest#<room>`, see `decode_view`).
"""

from __future__ import annotations

import heapq
import json
import zlib
from collections.abc import Iterator
from decimal import Decimal
from itertools import islice
from typing import TYPE_CHECKING, Any, Protocol

from chat_api.entities import DEFAULT_LATEST, Comment, Page

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

VIEW_SIZE = DEFAULT_LATEST  # the stream consumer keeps exactly the comments of a default "latest" page


class CommentRepository(Protocol):
    def put(self, comment: Comment) -> None: ...
    def room_latest(self, room: str, limit: int) -> tuple[list[Comment], str]: ...
    def room_newest_first(self, room: str, limit: int, start: dict[str, Any] | None) -> Page: ...
    def room_positions(self, room: str, low: float, high: float, limit: int, start: dict[str, Any] | None) -> Page: ...
    def user_newest_first(self, name: str, limit: int, start_key: dict[str, Any] | None) -> Page: ...
    def room_comment_count(self, room: str) -> int: ...


class InvalidStart(ValueError):
    """A continuation state that this repository did not issue (a cursor from an older layout)."""


def sort_key(comment: Comment) -> str:
    """The table's `time` key: the timestamp, then the id, so equal timestamps stay distinct keys."""
    return f"{comment.time}#{comment.id}"


def shard_of(comment_id: str, shards: int) -> int:
    return zlib.crc32(comment_id.encode()) % shards


def room_shard_key(room: str, shard: int) -> str:
    return room if shard == 0 else f"{room}#{shard}"


def counter_key(room: str, shard: int) -> str:
    return f"room#{room}" if shard == 0 else f"room#{room}#{shard}"


def view_key(room: str) -> str:
    return f"latest#{room}"


def _number(value: float) -> str:
    return str(Decimal(str(value)).normalize()) if value else "0"


def _position(text: str) -> float:
    position = Decimal(text)
    return int(position) if position == position.to_integral_value() else float(position)


def _to_item(comment: Comment, shards: int) -> dict[str, Any]:
    return {
        "name": {"S": comment.name},
        "time": {"S": sort_key(comment)},
        "id": {"S": comment.id},
        "chat_room": {"S": room_shard_key(comment.room, shard_of(comment.id, shards))},
        "comment": {"S": comment.comment},
        "position": {"N": _number(comment.position)},
    }


def _from_item(item: dict[str, Any]) -> Comment:
    return Comment(
        id=item["id"]["S"],
        room=item["chat_room"]["S"].split("#", 1)[0],
        name=item["name"]["S"],
        comment=item["comment"]["S"],
        position=_position(item["position"]["N"]),
        time=item["time"]["S"].split("#", 1)[0],
    )


def decode_view(room: str, blob: bytes) -> list[Comment]:
    """The view's comments, newest first: zlib-compressed JSON `[[time#id, name, comment, position], ...]`.

    Compact on purpose: the view item is rewritten on every stream batch of a busy room, so its size is
    the write cost of the room's hottest key. chat_stream writes it (a test pins the round trip).
    """
    return [
        Comment(
            id=key.split("#", 1)[1],
            room=room,
            name=name,
            comment=text,
            position=_position(position),
            time=key.split("#", 1)[0],
        )
        for key, name, text, position in json.loads(zlib.decompress(blob))
    ]


class DynamoCommentRepository:
    def __init__(
        self,
        client: DynamoDBClient,
        *,
        table: str,
        room_time_index: str,
        room_position_index: str,
        stats_table: str,
        shards: int = 1,
        view_max_lag_ms: int = 10_000,
    ) -> None:
        if shards < 1:
            raise ValueError("shards must be >= 1")
        self._client = client
        self._table = table
        self._room_time_index = room_time_index
        self._room_position_index = room_position_index
        self._stats_table = stats_table
        self._shards = shards
        self._view_max_lag_ms = view_max_lag_ms

    def put(self, comment: Comment) -> None:
        self._client.put_item(
            TableName=self._table,
            Item=_to_item(comment, self._shards),
            ConditionExpression="attribute_not_exists(#t)",  # never overwrite another comment
            ExpressionAttributeNames={"#t": "time"},
        )

    def _query(self, start_key: dict[str, Any] | None, **kwargs: Any) -> Page:
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        response = self._client.query(TableName=self._table, **kwargs)
        return Page([_from_item(i) for i in response.get("Items", [])], response.get("LastEvaluatedKey"))

    def _shard_items(self, page_size: int, start_key: dict[str, Any] | None, **query: Any) -> Iterator[dict[str, Any]]:
        """Every item of one shard's query, fetched `page_size` at a time, only as far as the merge reads."""
        while True:
            if start_key:
                query["ExclusiveStartKey"] = start_key
            response = self._client.query(TableName=self._table, Limit=page_size, **query)
            yield from response.get("Items", [])
            start_key = response.get("LastEvaluatedKey")
            if not start_key:
                return

    def _page_size(self, limit: int) -> int:
        # Enough per shard that an even spread needs one query each; a shard that runs dry fetches again.
        return min(limit + 1, -(-(limit + 1) // self._shards) + 2)

    def room_latest(self, room: str, limit: int) -> tuple[list[Comment], str]:
        """The newest `limit` comments: from the room's view when it is there, complete and fresh, else
        from the index. Returns the comments and where they came from ("view" or "index")."""
        if limit <= VIEW_SIZE:
            item = self._client.get_item(TableName=self._stats_table, Key={"pk": {"S": view_key(room)}}).get("Item")
            if item and item.get("complete", {}).get("BOOL") and int(item["lag_ms"]["N"]) <= self._view_max_lag_ms:
                return decode_view(room, item["c"]["B"])[:limit], "view"
        return self.room_newest_first(room, limit, None).comments, "index"

    def room_newest_first(self, room: str, limit: int, start: dict[str, Any] | None) -> Page:
        """Newest first across every shard. `start` is {"t": <time key>} of the last comment already
        returned: `time` keys are unique, so every shard continues strictly below it."""
        before = None
        if start is not None:
            if set(start) != {"t"} or not isinstance(start["t"], str):
                raise InvalidStart("cursor does not continue this listing")
            before = start["t"]
        page_size = self._page_size(limit)
        streams = []
        for shard in range(self._shards):
            condition = "chat_room = :room" + (" AND #t < :before" if before else "")
            values: dict[str, Any] = {":room": {"S": room_shard_key(room, shard)}}
            if before:
                values[":before"] = {"S": before}
            streams.append(
                self._shard_items(
                    page_size,
                    None,
                    IndexName=self._room_time_index,
                    KeyConditionExpression=condition,
                    ExpressionAttributeValues=values,
                    **({"ExpressionAttributeNames": {"#t": "time"}} if before else {}),
                    ScanIndexForward=False,
                )
            )
        merged = list(islice(heapq.merge(*streams, key=lambda i: i["time"]["S"], reverse=True), limit + 1))
        comments = [_from_item(i) for i in merged[:limit]]
        more = len(merged) > limit
        return Page(comments, {"t": merged[limit - 1]["time"]["S"]} if more else None)

    def room_positions(self, room: str, low: float, high: float, limit: int, start: dict[str, Any] | None) -> Page:
        """Position order across every shard, `low` <= position <= `high`.

        Positions repeat (a live moment gets many comments), so the continuation state is the last
        position returned, `p`, and for each shard whose last returned comment sits exactly at `p`, that
        comment's key (`k`, shard -> [name, time]): those shards resume right after it, the others at `p`.
        """
        resume_at, tie_keys = self._position_start(start)
        low_value = resume_at if resume_at is not None else Decimal(_number(low))
        page_size = self._page_size(limit)
        streams = []
        for shard in range(self._shards):
            shard_room = room_shard_key(room, shard)
            tie = tie_keys.get(shard)
            exclusive = (
                {
                    "chat_room": {"S": shard_room},
                    "position": {"N": str(low_value)},
                    "name": {"S": tie[0]},
                    "time": {"S": tie[1]},
                }
                if tie
                else None
            )
            streams.append(
                self._tagged(
                    shard,
                    self._shard_items(
                        page_size,
                        exclusive,
                        IndexName=self._room_position_index,
                        KeyConditionExpression="chat_room = :room AND #p BETWEEN :low AND :high",
                        ExpressionAttributeNames={"#p": "position"},
                        ExpressionAttributeValues={
                            ":room": {"S": shard_room},
                            ":low": {"N": str(low_value)},
                            ":high": {"N": _number(high)},
                        },
                    ),
                )
            )
        # heapq.merge breaks equal positions by stream order (the shard), so the merge is deterministic.
        merged = list(islice(heapq.merge(*streams, key=lambda tagged: Decimal(tagged[1]["position"]["N"])), limit + 1))
        page = merged[:limit]
        if len(merged) <= limit:
            return Page([_from_item(i) for _, i in page], None)
        last = Decimal(page[-1][1]["position"]["N"])
        ties = {s: k for s, k in tie_keys.items() if resume_at == last}
        for shard, item in page:
            if Decimal(item["position"]["N"]) == last:
                ties[shard] = [item["name"]["S"], item["time"]["S"]]
        return Page([_from_item(i) for _, i in page], {"p": str(last), "k": {str(s): k for s, k in ties.items()}})

    @staticmethod
    def _tagged(shard: int, items: Iterator[dict[str, Any]]) -> Iterator[tuple[int, dict[str, Any]]]:
        for item in items:
            yield shard, item

    def _position_start(self, start: dict[str, Any] | None) -> tuple[Decimal | None, dict[int, list[str]]]:
        if start is None:
            return None, {}
        try:
            at = Decimal(start["p"])
            ties = {int(s): [str(k[0]), str(k[1])] for s, k in start["k"].items()}
        except (KeyError, TypeError, ValueError, ArithmeticError, IndexError, AttributeError):
            raise InvalidStart("cursor does not continue this listing") from None
        if set(start) != {"p", "k"} or not all(0 <= s < self._shards for s in ties):
            raise InvalidStart("cursor does not continue this listing")
        return at, ties

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
        """The sum of the room's counter shards (one item when the stage has one shard)."""
        keys = [{"pk": {"S": counter_key(room, shard)}} for shard in range(self._shards)]
        if len(keys) == 1:
            item = self._client.get_item(TableName=self._stats_table, Key=keys[0]).get("Item")
            return int(item["comment_count"]["N"]) if item else 0
        total = 0
        request: dict[str, Any] = {self._stats_table: {"Keys": keys, "ProjectionExpression": "comment_count"}}
        for _ in range(10):
            response = self._client.batch_get_item(RequestItems=request)
            total += sum(int(i["comment_count"]["N"]) for i in response["Responses"].get(self._stats_table, []))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return total
        raise RuntimeError("room counters stayed unprocessed after 10 BatchGetItem calls")
