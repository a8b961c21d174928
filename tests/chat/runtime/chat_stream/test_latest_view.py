"""Each room's latest-comments view, kept by the stream consumer and read by "latest", on DynamoDB Local.

The records are the real stream records DynamoDB Local emits for comments posted through the API
handler; batches are replayed the ways Lambda delivers them: retried, split, duplicated, out of order.
"""

from __future__ import annotations

import copy
import random
import threading
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from chat_api.repository import decode_view, view_key
from chat_stream.handler import parse_record
from chat_stream.repository import NewComment, RoomStatsRepository, encode_view
from tests.support.chat_backend import STATS, ChatBackend


def _consume(chat: ChatBackend, records: list[dict[str, Any]]) -> list[str]:
    """One batch through the deployed stream function; the DynamoDB operations it made."""
    invocation = chat.consume(copy.deepcopy(records))
    assert invocation.result == {"batchItemFailures": []}
    return invocation.operations("dynamodb")


def _parsed(chat: ChatBackend, records: list[dict[str, Any]]) -> list[NewComment]:
    """Records as the consumer's handler parses them (its pure parser, in this process)."""
    parsed = [parse_record(DynamoDBRecord(r)) for r in chat.stream_event(records)["Records"]]
    assert all(parsed)
    return parsed  # type: ignore[return-value]


def _view(chat: ChatBackend, room: str) -> dict[str, Any] | None:
    item = chat.dynamodb.get_item(TableName=chat.tables[STATS], Key={"pk": {"S": view_key(room)}}).get("Item")
    if item is None:
        return None
    return {
        "ids": [c.id for c in decode_view(room, item["c"]["B"])],
        "complete": item["complete"]["BOOL"],
        "lag_ms": int(item["lag_ms"]["N"]),
    }


def _newest_ids(comments: list[dict[str, Any]], n: int = 25) -> list[str]:
    return [c["id"] for c in sorted(comments, key=lambda c: (c["time"], c["id"]), reverse=True)[:n]]


def _latest(chat: ChatBackend, room: str, **query: str) -> tuple[list[str], list[str]]:
    """GET latest through the handler: the ids returned and the DynamoDB operations it made."""
    status, body = chat.call("GET", "rooms", room=room, query=query or None)
    assert status == 200, body
    assert chat.last is not None
    return [c["id"] for c in body["comments"]], chat.last.operations("dynamodb")


def _post(chat: ChatBackend, room: str, count: int, start: int = 0) -> list[dict[str, Any]]:
    return [chat.post(room, f"u{i % 7}", f"comment {i}", i)[1] for i in range(start, start + count)]


def test_latest_is_one_get_item_once_the_stream_keeps_the_view(chat: ChatBackend, room: str) -> None:
    tap = chat.tap()
    posted = _post(chat, room, 30)
    _consume(chat, tap.records())

    ids, operations = _latest(chat, room)

    assert ids == _newest_ids(posted)
    assert operations == ["GetItem"]
    assert _latest(chat, room, limit="3") == (_newest_ids(posted, 3), ["GetItem"])


def test_a_room_without_a_view_is_served_from_the_index(chat: ChatBackend, room: str) -> None:
    posted = _post(chat, room, 5)  # no stream batch has run for this room

    ids, operations = _latest(chat, room)

    assert ids == _newest_ids(posted)
    assert operations == ["GetItem", "Query"]


def test_a_view_written_by_a_lagging_consumer_is_behind_and_the_index_serves(chat: ChatBackend, room: str) -> None:
    tap = chat.tap()
    posted = _post(chat, room, 4)
    records = tap.records()
    lagging = RoomStatsRepository(
        chat.dynamodb,
        table=chat.tables[STATS],
        marker_ttl_s=60,
        clock_ms=lambda: 2**42,  # far in the future: every comment looks minutes old
    )
    lagging.apply(_parsed(chat, records))
    view = _view(chat, room)
    assert view is not None and view["lag_ms"] > int(chat.api_settings["VIEW_MAX_LAG_MS"])

    ids, operations = _latest(chat, room)

    assert ids == _newest_ids(posted)
    assert operations == ["GetItem", "Query"]


def test_more_than_the_view_holds_comes_from_the_index(chat: ChatBackend, room: str) -> None:
    tap = chat.tap()
    posted = _post(chat, room, 30)
    _consume(chat, tap.records())
    assert _latest(chat, room, limit="26") == (_newest_ids(posted, 26), ["Query"])


def test_retried_split_duplicated_and_reordered_batches_leave_the_view_and_count_exact(
    chat: ChatBackend, room: str
) -> None:
    tap = chat.tap()
    posted = _post(chat, room, 60)
    records = tap.records()
    assert len(records) == 60
    by_id = {r["dynamodb"]["NewImage"]["id"]["S"]: r for r in records}
    shuffled = random.Random(13).sample(records, len(records))
    # Lambda's deliveries: newest half first, a retried batch, a bisected retry, a batch twice over,
    # single records out of order, then everything once more.
    deliveries = [
        shuffled[30:],
        shuffled[30:],
        shuffled[30:45],
        shuffled[45:],
        shuffled[:10] + shuffled[:10],
        *[[r] for r in reversed(shuffled[10:30])],
        records,
    ]
    applied: set[str] = set()
    for batch in deliveries:
        _consume(chat, batch)
        applied |= {r["dynamodb"]["NewImage"]["id"]["S"] for r in batch}
        expected = _newest_ids([c for c in posted if c["id"] in applied])
        view = _view(chat, room)
        assert view is not None and view["ids"] == expected  # never a duplicate, never out of order
    assert set(by_id) == applied
    assert chat.call("GET", "stats", room=room)[1]["comment_count"] == 60
    assert _latest(chat, room) == (_newest_ids(posted), ["GetItem"])


def test_concurrent_consumers_merge_without_losing_a_comment(chat: ChatBackend, room: str) -> None:
    tap = chat.tap()
    posted = _post(chat, room, 80)
    records = tap.records()
    batches = [records[i::4] for i in range(4)]  # four stream shards' batches of one room, at once
    errors: list[BaseException] = []

    def consume(batch: list[dict[str, Any]]) -> None:
        try:
            repository = RoomStatsRepository(chat.dynamodb, table=chat.tables[STATS], marker_ttl_s=60)
            repository.apply(_parsed(chat, batch))
        except BaseException as error:  # surfaced below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=consume, args=(b,)) for b in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    view = _view(chat, room)
    assert view is not None and view["ids"] == _newest_ids(posted) and view["complete"]
    assert chat.call("GET", "stats", room=room)[1]["comment_count"] == 80


def test_a_room_with_comments_from_before_its_view_is_served_from_the_index_until_the_view_is_full(
    chat: ChatBackend, room: str
) -> None:
    older = _post(chat, room, 30)  # counted by an earlier consumer, never seen by this one
    chat.dynamodb.put_item(
        TableName=chat.tables[STATS], Item={"pk": {"S": f"room#{room}"}, "comment_count": {"N": "30"}}
    )
    tap = chat.tap()
    newer = _post(chat, room, 3, start=30)
    _consume(chat, tap.records())
    view = _view(chat, room)
    assert view is not None and not view["complete"] and len(view["ids"]) == 3
    assert _latest(chat, room) == (_newest_ids(older + newer), ["GetItem", "Query"])

    newest = _post(chat, room, 22, start=33)
    _consume(chat, tap.records())
    view = _view(chat, room)
    assert view is not None and view["complete"]
    assert _latest(chat, room) == (_newest_ids(older + newer + newest), ["GetItem"])


def test_an_incomplete_view_stays_incomplete_through_small_batches_and_reads_use_the_index_until_it_is_full(
    chat: ChatBackend, room: str
) -> None:
    """A room with 30 comments from before its view: each later batch of two leaves the view short of a page
    and of the room's count, so it stays incomplete and every read goes to the index, until it holds 25."""
    older = _post(chat, room, 30)
    chat.dynamodb.put_item(
        TableName=chat.tables[STATS], Item={"pk": {"S": f"room#{room}"}, "comment_count": {"N": "30"}}
    )
    tap = chat.tap()
    posted = older + _post(chat, room, 3, start=30)
    _consume(chat, tap.records())
    while len(posted) < 30 + 25:
        view = _view(chat, room)
        assert view is not None and not view["complete"], f"complete with {len(view['ids']) if view else 0} comments"
        assert _latest(chat, room) == (_newest_ids(posted), ["GetItem", "Query"])
        assert _latest(chat, room, limit="2") == (_newest_ids(posted, 2), ["GetItem", "Query"])
        posted += _post(chat, room, 2, start=len(posted))
        _consume(chat, tap.records())
    view = _view(chat, room)
    assert view is not None and view["complete"] and len(view["ids"]) == 25
    assert _latest(chat, room) == (_newest_ids(posted), ["GetItem"])


def test_a_new_room_is_served_from_its_view_from_the_first_comment(chat: ChatBackend, room: str) -> None:
    tap = chat.tap()
    posted = _post(chat, room, 2)
    _consume(chat, tap.records())
    view = _view(chat, room)
    assert view is not None and view["complete"]
    assert _latest(chat, room) == (_newest_ids(posted), ["GetItem"])


def test_a_busy_room_costs_one_counter_update_per_hundred_comments(chat: ChatBackend, room: str) -> None:
    tap = chat.tap()
    _post(chat, room, 200)
    records = tap.records()
    made = _consume(chat, records)
    assert made.count("TransactWriteItems") == 3  # 99 events and the room's counter per transaction: 99+99+2
    assert made.count("PutItem") == 1  # one view write for the batch
    assert chat.call("GET", "stats", room=room)[1]["comment_count"] == 200

    again = _consume(chat, records)  # the whole batch redelivered
    assert chat.call("GET", "stats", room=room)[1]["comment_count"] == 200
    assert "PutItem" not in again


def test_the_view_format_written_by_the_consumer_is_the_one_the_api_reads() -> None:
    comment = NewComment(
        event_id="e1", room="r", key="2026-11-22T10:00:00.000Z#abc", name="山田", comment="héllo", position="12.5"
    )
    (decoded,) = decode_view("r", encode_view([comment.entry()]))
    assert decoded.to_json() == {
        "id": "abc",
        "room": "r",
        "name": "山田",
        "comment": "héllo",
        "position": 12.5,
        "time": "2026-11-22T10:00:00.000Z",
    }


@pytest.mark.parametrize("bad", ["chat_room", "time", "name"])
def test_a_record_without_a_needed_attribute_fails_alone(chat: ChatBackend, room: str, bad: str) -> None:
    tap = chat.tap()
    _post(chat, room, 2)
    records = tap.records()
    del records[0]["dynamodb"]["NewImage"][bad]
    result = chat.consume(records).result
    assert result == {"batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]}
    assert chat.call("GET", "stats", room=room)[1]["comment_count"] == 1
