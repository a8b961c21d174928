"""The stream consumer on real DynamoDB stream records read from DynamoDB Local."""

from __future__ import annotations

import copy
from typing import Any

from tests.support.chat_backend import COMMENTS, ChatBackend
from tests.support.events import FakeLambdaContext


def _records_since(chat: ChatBackend, iterators: dict[str, str]) -> list[dict[str, Any]]:
    """Read new stream records from every shard (the records Lambda would be given)."""
    records: list[dict[str, Any]] = []
    for shard, iterator in list(iterators.items()):
        response = chat.streams.get_records(ShardIterator=iterator)
        iterators[shard] = response["NextShardIterator"]
        records += response["Records"]
    return records


def _latest_iterators(chat: ChatBackend) -> dict[str, str]:
    arn = chat.dynamodb.describe_table(TableName=chat.tables[COMMENTS])["Table"]["LatestStreamArn"]
    shards = chat.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    return {
        s["ShardId"]: chat.streams.get_shard_iterator(StreamArn=arn, ShardId=s["ShardId"], ShardIteratorType="LATEST")[
            "ShardIterator"
        ]
        for s in shards
    }


def _lambda_event(records: list[dict[str, Any]], stream_arn: str) -> dict[str, Any]:
    return {"Records": [{**r, "eventSourceARN": stream_arn} for r in records]}


def _stream_arn(chat: ChatBackend) -> str:
    return str(chat.dynamodb.describe_table(TableName=chat.tables[COMMENTS])["Table"]["LatestStreamArn"])


def test_new_comments_are_counted_per_room_exactly_once(chat: ChatBackend, room: str) -> None:
    iterators = _latest_iterators(chat)
    for i in range(4):
        chat.post(room, "mia", f"c{i}", i)
    chat.post(room + "-other", "mia", "elsewhere", 1)
    records = _records_since(chat, iterators)
    assert {r["eventName"] for r in records} == {"INSERT"} and len(records) == 5
    event = _lambda_event(records, _stream_arn(chat))

    assert chat.stream.handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    assert chat.call("GET", "stats", room=room) == (200, {"room": room, "comment_count": 4})
    assert chat.call("GET", "stats", room=room + "-other")[1]["comment_count"] == 1

    # Lambda retries a batch (bisect, timeouts): the same records must not count twice.
    assert chat.stream.handler(copy.deepcopy(event), FakeLambdaContext()) == {"batchItemFailures": []}
    assert chat.call("GET", "stats", room=room)[1]["comment_count"] == 4


def test_a_bad_record_is_reported_alone_and_the_rest_still_count(chat: ChatBackend, room: str) -> None:
    iterators = _latest_iterators(chat)
    for i in range(3):
        chat.post(room, "noah", f"c{i}", i)
    records = _records_since(chat, iterators)
    broken = copy.deepcopy(records[1])
    del broken["dynamodb"]["NewImage"]["chat_room"]
    event = _lambda_event([records[0], broken, records[2]], _stream_arn(chat))

    result = chat.stream.handler(event, FakeLambdaContext())

    assert result == {"batchItemFailures": [{"itemIdentifier": broken["dynamodb"]["SequenceNumber"]}]}
    assert chat.call("GET", "stats", room=room)[1]["comment_count"] == 2


def test_non_insert_records_change_nothing(chat: ChatBackend, room: str) -> None:
    iterators = _latest_iterators(chat)
    _, comment = chat.post(room, "olga", "to be removed", 1)
    insert = _records_since(chat, iterators)
    chat.dynamodb.delete_item(
        TableName=chat.tables[COMMENTS],
        Key={"name": {"S": "olga"}, "time": {"S": f"{comment['time']}#{comment['id']}"}},
    )
    remove = _records_since(chat, iterators)
    assert [r["eventName"] for r in insert + remove] == ["INSERT", "REMOVE"]
    assert chat.stream.handler(_lambda_event(remove, _stream_arn(chat)), FakeLambdaContext()) == {
        "batchItemFailures": []
    }
    assert chat.call("GET", "stats", room=room)[1]["comment_count"] == 0
