"""Room counters and each room's latest-comments view in DynamoDB, both kept from the comments stream.

Layout (read by chat_api/repository.py of the chat_api bundle; a test pins the round trip):
- `room#<room>` (counter shard 0) and `room#<room>#<k>`: `comment_count` of the room, summed by readers.
- `event#<stream event id>`: a marker that the event was counted, expiring after it can be redelivered.
- `latest#<room>`: `c` the newest VIEW_SIZE comments, zlib-compressed JSON
  `[[time#id, name, comment, position], ...]` newest first; `v` a version for optimistic locking;
  `complete` (no older comment of the room is missing from it); `lag_ms` (how old its newest comment
  was when the view was written: a view written by a consumer that is behind says so).
"""

from __future__ import annotations

import json
import random
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

VIEW_SIZE = 25  # chat_api's DEFAULT_LATEST
MAX_TRANSACTION_ITEMS = 100  # TransactWriteItems limit
_ATTEMPTS = 8


@dataclass(frozen=True)
class NewComment:
    """A comment as the stream delivers it, with the stream event that carried it."""

    event_id: str
    room: str
    key: str  # the table's `time` sort key: ISO timestamp '#' id, unique and ordered
    name: str
    comment: str
    position: str  # DynamoDB's decimal text, kept exact

    def entry(self) -> list[str]:
        return [self.key, self.name, self.comment, self.position]


@dataclass(frozen=True)
class Applied:
    counted: int
    duplicates: int
    view_writes: int
    conflicts: int


def counter_key(room: str, shard: int) -> str:
    return f"room#{room}" if shard == 0 else f"room#{room}#{shard}"


def encode_view(entries: Iterable[list[str]]) -> bytes:
    return zlib.compress(json.dumps(list(entries), separators=(",", ":"), ensure_ascii=False).encode(), 6)


def decode_view(blob: bytes) -> list[list[str]]:
    entries: list[list[str]] = json.loads(zlib.decompress(blob))
    return entries


def _epoch_ms(key: str) -> int:
    return int(datetime.fromisoformat(key.split("#", 1)[0].replace("Z", "+00:00")).timestamp() * 1000)


class RoomStatsRepository:
    """Applies a batch of new comments: counts each once per stream event, and merges each room's view.

    Counting: one transaction per up to 100 items writes a marker per event (only if absent) and adds the
    chunk's comments to one of the room's counter shards, so a busy room costs one counter update per
    chunk, not per comment, and a retried or re-split batch finds its markers and adds nothing twice.

    The view: read, merge (union by comment key, newest VIEW_SIZE kept), write back only if the version is
    unchanged. The merge is a union and a top-k, so replays, duplicates and batches in any order leave
    the same view; concurrent writers retry on a version conflict.
    """

    def __init__(
        self,
        client: DynamoDBClient,
        *,
        table: str,
        marker_ttl_s: int,
        shards: int = 1,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self._client = client
        self._table = table
        self._marker_ttl_s = marker_ttl_s
        self._shards = shards
        self._clock_ms = clock_ms

    def apply(self, comments: list[NewComment]) -> Applied:
        counted, duplicates, conflicts = self._count(comments)
        writes = 0
        by_room: dict[str, list[NewComment]] = defaultdict(list)
        for comment in comments:
            by_room[comment.room].append(comment)
        for room, group in by_room.items():
            wrote, retried = self._merge_view(room, group)
            writes += wrote
            conflicts += retried
        return Applied(counted=counted, duplicates=duplicates, view_writes=writes, conflicts=conflicts)

    # --- counting ---

    def _count(self, comments: list[NewComment]) -> tuple[int, int, int]:
        unique = list({c.event_id: c for c in comments}.values())  # one event twice in a batch counts once
        counted, duplicates, conflicts = 0, len(comments) - len(unique), 0
        for chunk in _chunks(unique):
            done, skipped, retried = self._count_chunk(chunk)
            counted, duplicates, conflicts = counted + done, duplicates + skipped, conflicts + retried
        return counted, duplicates, conflicts

    def _count_chunk(self, chunk: list[NewComment]) -> tuple[int, int, int]:
        pending, skipped, conflicts = list(chunk), 0, 0
        while pending:
            try:
                self._client.transact_write_items(TransactItems=self._transaction(pending))
                return len(pending), skipped, conflicts
            except ClientError as error:
                reasons = [r.get("Code", "None") for r in error.response.get("CancellationReasons", [])]
                seen = {i for i, code in enumerate(reasons[: len(pending)]) if code == "ConditionalCheckFailed"}
                if seen:  # counted by an earlier delivery: drop those, count the rest
                    skipped += len(seen)
                    pending = [c for i, c in enumerate(pending) if i not in seen]
                elif {"TransactionConflict", "ThrottlingError"} & set(reasons) and conflicts < _ATTEMPTS:
                    conflicts += 1
                    time.sleep(random.uniform(0, 0.02 * 2**conflicts))  # noqa: S311 - jitter, not security
                else:
                    raise
        return 0, skipped, conflicts

    def _transaction(self, pending: list[NewComment]) -> list[TransactWriteItemTypeDef]:
        expires = str(int(time.time()) + self._marker_ttl_s)
        items: list[TransactWriteItemTypeDef] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {"pk": {"S": f"event#{c.event_id}"}, "expires_at": {"N": expires}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for c in pending
        ]
        per_room: dict[str, int] = defaultdict(int)
        for comment in pending:
            per_room[comment.room] += 1
        # Which counter shard takes the chunk: spread by its first event, so concurrent chunks rarely meet.
        shard = zlib.crc32(pending[0].event_id.encode()) % self._shards
        for room, count in per_room.items():
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": {"pk": {"S": counter_key(room, shard)}},
                        "UpdateExpression": "ADD comment_count :n",
                        "ExpressionAttributeValues": {":n": {"N": str(count)}},
                    }
                }
            )
        return items

    def room_count(self, room: str) -> int:
        keys = [{"pk": {"S": counter_key(room, s)}} for s in range(self._shards)]
        total = 0
        request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
        for _ in range(10):
            response = self._client.batch_get_item(RequestItems=request)
            total += sum(int(i["comment_count"]["N"]) for i in response["Responses"].get(self._table, []))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return total
        raise RuntimeError("room counters stayed unprocessed after 10 BatchGetItem calls")

    # --- the latest view ---

    def _merge_view(self, room: str, group: list[NewComment]) -> tuple[int, int]:
        """Merge `group` into the room's view; returns (writes, version conflicts)."""
        incoming = {c.key: c.entry() for c in group}
        newest_ms = _epoch_ms(max(incoming))
        for attempt in range(_ATTEMPTS):
            item = self._client.get_item(
                TableName=self._table, Key={"pk": {"S": f"latest#{room}"}}, ConsistentRead=True
            ).get("Item")
            current = decode_view(item["c"]["B"]) if item else []
            was_complete = bool(item and item["complete"]["BOOL"])
            merged = sorted({**{e[0]: e for e in current}, **incoming}.values(), key=lambda e: e[0], reverse=True)
            merged = merged[:VIEW_SIZE]
            # Complete: no comment of the room is missing. Once it holds VIEW_SIZE comments it stays so (every
            # later comment flows through here); before, only if the room's count says these are all there
            # are (a room with comments from before the view existed is served from the index meanwhile).
            complete = was_complete or len(merged) == VIEW_SIZE or self.room_count(room) <= len(merged)
            if item and merged == current and complete == was_complete:
                return 0, attempt  # nothing new: a replay, or comments older than the view's oldest
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item={
                        "pk": {"S": f"latest#{room}"},
                        "c": {"B": encode_view(merged)},
                        "v": {"N": str(int(item["v"]["N"]) + 1 if item else 1)},
                        "complete": {"BOOL": complete},
                        "lag_ms": {"N": str(max(0, self._clock_ms() - newest_ms))},
                    },
                    ConditionExpression="attribute_not_exists(pk) OR v = :v",
                    ExpressionAttributeValues={":v": item["v"] if item else {"N": "0"}},
                )
                return 1, attempt
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                time.sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 - jitter, not security
        raise RuntimeError(f"the view of room {room!r} stayed contended after {_ATTEMPTS} attempts")


def _chunks(comments: list[NewComment]) -> Iterable[list[NewComment]]:
    """Consecutive chunks whose markers plus one counter update per room fit one transaction."""
    chunk: list[NewComment] = []
    rooms: set[str] = set()
    for comment in comments:
        cost = len(chunk) + len(rooms | {comment.room}) + 1
        if chunk and cost > MAX_TRANSACTION_ITEMS:
            yield chunk
            chunk, rooms = [], set()
        chunk.append(comment)
        rooms.add(comment.room)
    if chunk:
        yield chunk
