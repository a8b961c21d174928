"""The hot-room model's formulas and limits (pure, fast; no timings)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from bench.chat_capacity import (
    RoomParams,
    evaluate,
    item_bytes,
    longest_one_unit_comment,
    max_comments_per_s,
    max_stream_shards,
)
from chat.config import ROOM_WRITES_PER_SHARD
from stage.config import load_stage


def test_item_size_follows_dynamodbs_rules() -> None:
    # names and UTF-8 strings count their bytes; a number about one byte per two digits plus one
    assert item_bytes({"ab": "xyz"}) == 5
    assert item_bytes({"n": "山"}) == 4
    assert item_bytes({"p": Decimal("1234.567")}) == 1 + 4 + 1
    assert item_bytes({"b": b"\x00" * 10, "t": True}) == 11 + 2


def test_one_shard_is_the_talks_model_and_holds_a_partition_of_writes() -> None:
    one = RoomParams(room_shards=1, comments_per_s=1_000)
    assert evaluate(one)["rates"]["index_partition_wcu"] == 1_000
    assert evaluate(replace(one, comments_per_s=1_001))["limits_exceeded"] == ["index_partition_wcu"]
    assert max_comments_per_s(one) == pytest.approx(1_000, rel=1e-3)


def test_shards_divide_the_index_partition_rate() -> None:
    result = evaluate(RoomParams(comments_per_s=10_000, room_shards=16))
    assert result["rates"]["index_partition_wcu"] == pytest.approx(625)
    assert result["limits_exceeded"] == []


def test_counts_cost_one_transactional_update_per_99_comments_per_counter_shard() -> None:
    result = evaluate(RoomParams(comments_per_s=9_900, room_shards=2))
    assert result["transactions_per_s"] == pytest.approx(100)
    assert result["rates"]["counter_item_wcu"] == pytest.approx(100)  # 50 per shard, twice for a transaction


def test_the_view_is_written_once_per_batch_or_window_per_stream_shard() -> None:
    slow = evaluate(RoomParams(comments_per_s=100, stream_shards=10, batch_size=1_000, batching_window_s=1))
    assert slow["view_writes_per_s"] == pytest.approx(10)  # every window, on every shard
    busy = evaluate(RoomParams(comments_per_s=100_000, stream_shards=10, batch_size=1_000, batching_window_s=1))
    assert busy["view_writes_per_s"] == pytest.approx(100)  # full batches
    # Past 10 stream shards each writes once a window; the view item's write units cap how many it takes.
    base = RoomParams(comments_per_s=10_000, batch_size=1_000, batching_window_s=1)
    units = -(-evaluate(base)["view_item_bytes"] // 1024)
    assert max_stream_shards(base) == 1_000 // units


def test_a_longer_comment_costs_a_second_write_unit_past_one_kilobyte() -> None:
    longest = longest_one_unit_comment(12, 16)
    assert evaluate(RoomParams(comment_chars=longest))["comment_item_wcu"] == 1
    assert evaluate(RoomParams(comment_chars=longest + 1))["comment_item_wcu"] == 2


def test_prods_config_holds_its_hot_room_in_the_model() -> None:
    chat = load_stage("prod").chat
    result = evaluate(RoomParams(comments_per_s=chat.hot_room_comments_per_s, room_shards=chat.room_shards))
    assert result["limits_exceeded"] == []
    assert chat.room_shards * ROOM_WRITES_PER_SHARD >= chat.hot_room_comments_per_s
