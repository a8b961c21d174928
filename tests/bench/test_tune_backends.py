"""The memory tuner's stream batch: records shaped like a real one, in the sample's index shard."""

from __future__ import annotations

import pytest

from bench.tune_backends import new_comment_record


def _sample(chat_room: str) -> dict:  # type: ignore[type-arg]
    image = {"chat_room": {"S": chat_room}, "comment": {"S": "sample"}}
    return {"eventName": "INSERT", "dynamodb": {"NewImage": image, "Keys": {}}}


@pytest.mark.parametrize(("sampled", "expected"), [("r", "room-3"), ("r#5", "room-3#5")])
def test_a_record_is_in_the_sampled_shard_shard_0_without_a_suffix(sampled: str, expected: str) -> None:
    record = new_comment_record(_sample(sampled), "eu-west-1", "room", 3)
    assert record["dynamodb"]["NewImage"]["chat_room"] == {"S": expected}
    assert record["awsRegion"] == "eu-west-1"
    assert record["dynamodb"]["Keys"] == {k: record["dynamodb"]["NewImage"][k] for k in ("name", "time")}
