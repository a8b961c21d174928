"""The stream consumer on real DynamoDB stream records read from DynamoDB Local."""

from __future__ import annotations

import copy

from tests.support.chat_backend import COMMENTS, ChatBackend


def test_new_comments_are_counted_per_room_exactly_once(chat: ChatBackend, room: str) -> None:
    tap = chat.tap()
    for i in range(4):
        chat.post(room, "mia", f"c{i}", i)
    chat.post(room + "-other", "mia", "elsewhere", 1)
    records = tap.records()
    assert {r["eventName"] for r in records} == {"INSERT"} and len(records) == 5
    assert chat.consume(records).result == {"batchItemFailures": []}
    assert chat.call("GET", "stats", room=room) == (200, {"room": room, "comment_count": 4})
    assert chat.call("GET", "stats", room=room + "-other")[1]["comment_count"] == 1

    # Lambda retries a batch (bisect, timeouts): the same records must not count twice.
    assert chat.consume(copy.deepcopy(records)).result == {"batchItemFailures": []}
    assert chat.call("GET", "stats", room=room)[1]["comment_count"] == 4


def test_a_bad_record_is_reported_alone_and_the_rest_still_count(chat: ChatBackend, room: str) -> None:
    tap = chat.tap()
    for i in range(3):
        chat.post(room, "noah", f"c{i}", i)
    records = tap.records()
    broken = copy.deepcopy(records[1])
    del broken["dynamodb"]["NewImage"]["chat_room"]
    result = chat.consume([records[0], broken, records[2]]).result

    assert result == {"batchItemFailures": [{"itemIdentifier": broken["dynamodb"]["SequenceNumber"]}]}
    assert chat.call("GET", "stats", room=room)[1]["comment_count"] == 2


def test_non_insert_records_change_nothing(chat: ChatBackend, room: str) -> None:
    tap = chat.tap()
    _, comment = chat.post(room, "olga", "to be removed", 1)
    insert = tap.records()
    chat.dynamodb.delete_item(
        TableName=chat.tables[COMMENTS],
        Key={"name": {"S": "olga"}, "time": {"S": f"{comment['time']}#{comment['id']}"}},
    )
    remove = tap.records()
    assert [r["eventName"] for r in insert + remove] == ["INSERT", "REMOVE"]
    assert chat.consume(remove).result == {"batchItemFailures": []}
    assert chat.call("GET", "stats", room=room)[1]["comment_count"] == 0
