"""Hot rooms: the prod stage's write-sharded room indexes, merged in order by every read, on DynamoDB Local.

Through the handler, the prod stage's functions as deployed (ROOM_SHARDS from prod's template) against
tables of prod's template; the domain and repository tests below run in this process with prod's shard
count and chosen comment ids.
"""

from __future__ import annotations

import random
import uuid
import zlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from chat.data import ROOM_POSITION_INDEX, ROOM_TIME_INDEX
from chat_api.cursor import CursorCodec
from chat_api.domain import CommentService
from chat_api.models import MAX_CURSOR, NewComment
from chat_api.repository import DynamoCommentRepository, room_shard_key, shard_of
from stage.config import load_stage
from tests.support.chat_backend import COMMENTS, STATS, ChatBackend

SHARDS = load_stage("prod").chat.room_shards


def _repository(chat: ChatBackend, shards: int) -> DynamoCommentRepository:
    return DynamoCommentRepository(
        chat.dynamodb,
        table=chat.tables[COMMENTS],
        room_time_index=ROOM_TIME_INDEX,
        room_position_index=ROOM_POSITION_INDEX,
        stats_table=chat.tables[STATS],
        shards=shards,
    )


def _ids(seed: int) -> Iterator[str]:
    rng = random.Random(seed)
    while True:
        yield uuid.UUID(int=rng.getrandbits(128), version=4).hex


def _service(chat: ChatBackend, shards: int, ids: Iterator[str]) -> CommentService:
    return CommentService(_repository(chat, shards), lambda: CursorCodec(chat.cursor_key()), ids=lambda: next(ids))


def test_prod_deploys_the_shard_count_these_tests_use(prod_chat: ChatBackend) -> None:
    assert int(prod_chat.api_settings["ROOM_SHARDS"]) == SHARDS > 1
    assert int(prod_chat.stream.environment.template["ROOM_SHARDS"]) == SHARDS


def _newest_first(comments: list[dict[str, Any]]) -> list[str]:
    return [c["id"] for c in sorted(comments, key=lambda c: (c["time"], c["id"]), reverse=True)]


def _pages(chat: ChatBackend, room: str, query: dict[str, str]) -> Iterator[dict[str, Any]]:
    """Every page of a paged listing, following `next` (bounded)."""
    for _ in range(1_000):
        status, body = chat.call("GET", "rooms", room=room, query=query)
        assert status == 200, body
        yield body
        if not body["next"]:
            return
        assert len(body["next"]) <= MAX_CURSOR
        query = {**query, "cursor": body["next"]}
    raise AssertionError("pagination did not end")


def test_a_room_is_spread_over_the_shards_and_latest_merges_them(prod_chat: ChatBackend, room: str) -> None:
    chat = prod_chat
    posted = [chat.post(room, f"u{i % 5}", f"c{i}", i)[1] for i in range(64)]
    per_shard = {
        shard: {
            item["id"]["S"]
            for item in chat.dynamodb.query(
                TableName=chat.tables[COMMENTS],
                IndexName=ROOM_TIME_INDEX,
                KeyConditionExpression="chat_room = :r",
                ExpressionAttributeValues={":r": {"S": room_shard_key(room, shard)}},
            )["Items"]
        }
        for shard in range(SHARDS)
    }
    # Each comment sits in the shard its id hashes to; 64 random ids all in one shard: odds 16**-63.
    assert {c["id"]: shard_of(c["id"], SHARDS) for c in posted} == {i: s for s, ids in per_shard.items() for i in ids}
    assert len([ids for ids in per_shard.values() if ids]) > 1
    status, body = chat.call("GET", "rooms", room=room)
    assert status == 200
    assert [c["id"] for c in body["comments"]] == _newest_first(posted)[:25]
    assert {c["room"] for c in body["comments"]} == {room}


# Every page reads every shard: pages of one comment, fewer comments (each page costs 16 queries).
@pytest.mark.parametrize(("page_size", "comments"), [(1, 10), (7, 30), (100, 30)])
def test_all_pages_through_every_shard_once_newest_first(
    prod_chat: ChatBackend, room: str, page_size: int, comments: int
) -> None:
    chat = prod_chat
    posted = [chat.post(room, f"u{i % 3}", f"c{i}", i)[1] for i in range(comments)]
    pages = list(_pages(chat, room, {"all": "true", "limit": str(page_size)}))
    seen = [c["id"] for page in pages for c in page["comments"]]
    assert seen == _newest_first(posted)
    assert all(len(page["comments"]) == page_size for page in pages[:-1])


@pytest.mark.parametrize(("page_size", "per_second"), [(1, 2), (5, 5), (13, 5)])
def test_position_ranges_merge_shards_in_position_order_through_ties(
    prod_chat: ChatBackend, room: str, page_size: int, per_second: int
) -> None:
    chat = prod_chat
    posted = [chat.post(room, "live", f"c{i}", i % 10)[1] for i in range(10 * per_second)]  # ties at each second
    pages = list(_pages(chat, room, {"from": "2", "to": "7", "limit": str(page_size)}))
    seen = [c for page in pages for c in page["comments"]]
    positions = [c["position"] for c in seen]
    assert positions == sorted(positions) and set(positions) == {2, 3, 4, 5, 6, 7}
    counts = Counter(c["id"] for c in seen)
    assert set(counts) == {c["id"] for c in posted if 2 <= c["position"] <= 7} and max(counts.values()) == 1


def test_positions_of_different_digit_counts_come_back_in_numeric_order_across_shards(
    prod_chat: ChatBackend, room: str
) -> None:
    """9 < 10 < 10.5 < 100 as numbers, not as text ("10" < "100" < "10.5" < "9"): the shards' pages merge by
    the number, in one page and across pages that end between shards."""
    positions = [100, 9, 10.5, 10, 99.5, 2, 1000, 9.75, 10, 100.25] * 2
    posted = [prod_chat.post(room, "digits", f"at {p}", p)[1] for p in positions]
    expected = sorted(c["position"] for c in posted if 2 <= c["position"] <= 1000)
    for page_size in ("100", "3"):
        pages = list(_pages(prod_chat, room, {"from": "2", "to": "1000", "limit": page_size}))
        assert [c["position"] for page in pages for c in page["comments"]] == expected, page_size
    assert len({shard_of(c["id"], SHARDS) for c in posted}) > 1  # the merge had shards to merge


def _one_id_per_shard(count: int) -> list[str]:
    """Comment ids that land in shards 0..SHARDS-1 in turn (the shard is crc32(id) % shards)."""
    found: list[str] = []
    candidates = _ids(11)
    while len(found) < count:
        candidate = next(candidates)
        if zlib.crc32(candidate.encode()) % SHARDS == len(found) % SHARDS:
            found.append(candidate)
    return found


def test_a_page_ending_inside_a_tie_on_every_shard_continues_exactly_with_a_valid_cursor(
    prod_chat: ChatBackend, room: str
) -> None:
    service = _service(prod_chat, SHARDS, iter(_one_id_per_shard(SHARDS + 1)))
    rng = random.Random(5)
    for i in range(SHARDS + 1):
        # The longest names the API accepts, four UTF-8 bytes a character and all different (incompressible).
        name = "".join(chr(rng.randrange(0x20000, 0x2A6DF)) for _ in range(64))
        service.post(room, NewComment(name=name, comment=f"c{i}", position=5))
    first = service.list_room(room, _range_query("5", "5", SHARDS))
    assert len(first["comments"]) == SHARDS and len(first["next"]) <= MAX_CURSOR
    second = service.list_room(room, _range_query("5", "5", SHARDS, first["next"]))
    seen = [c["id"] for c in first["comments"] + second["comments"]]
    assert len(seen) == len(set(seen)) == SHARDS + 1 and second["next"] is None


def _range_query(low: str, high: str, limit: int, cursor: str | None = None) -> Any:
    from chat_api.models import ListQuery

    return ListQuery.model_validate({"from": low, "to": high, "limit": str(limit), "cursor": cursor})


def test_comments_written_before_sharding_are_shard_zero_of_every_read(prod_chat: ChatBackend, room: str) -> None:
    ids = _ids(3)
    before, after = _service(prod_chat, 1, ids), _service(prod_chat, SHARDS, ids)
    old = [before.post(room, NewComment(name="old", comment=f"o{i}", position=i)).to_json() for i in range(6)]
    new = [after.post(room, NewComment(name="new", comment=f"n{i}", position=i)).to_json() for i in range(6)]
    everything = _newest_first(old + new)
    latest, source = after.latest(room, 25)
    assert [c["id"] for c in latest["comments"]] == everything and source == "index"
    listed = after.list_room(room, _range_query("0", "10", 100))
    assert {c["id"] for c in listed["comments"]} == set(everything)


def test_room_stats_sum_every_counter_shard(prod_chat: ChatBackend, room: str) -> None:
    chat = prod_chat
    for shard, count in ((0, 4), (3, 5), (SHARDS - 1, 6)):
        key = f"room#{room}" if shard == 0 else f"room#{room}#{shard}"
        item = {"pk": {"S": key}, "comment_count": {"N": str(count)}}
        chat.dynamodb.put_item(TableName=chat.tables[STATS], Item=item)
    assert chat.call("GET", "stats", room=room) == (200, {"room": room, "comment_count": 15})


def test_the_stream_consumer_counts_a_sharded_room_exactly(prod_chat: ChatBackend, room: str) -> None:
    chat = prod_chat
    tap = chat.tap()
    posted = []
    for batch in range(5):
        posted += [chat.post(room, "u", f"c{batch}-{i}", i)[1] for i in range(8)]
        records = tap.records()
        chat.consume(records)
        chat.consume(records)  # redelivered
    assert chat.call("GET", "stats", room=room)[1]["comment_count"] == 40
    status, body = chat.call("GET", "rooms", room=room)
    assert status == 200 and [c["id"] for c in body["comments"]] == _newest_first(posted)[:25]


def test_a_cursor_from_before_sharding_is_refused_with_a_400(prod_chat: ChatBackend, room: str) -> None:
    codec = CursorCodec(prod_chat.cursor_key())  # signed with the deployed key: only the shape is wrong
    old_all = codec.encode(f"all|{room}", {"chat_room": {"S": room}})
    status, body = prod_chat.call("GET", "rooms", room=room, query={"all": "true", "cursor": old_all})
    assert status == 400 and "different query" in body["message"]
    wrong_state = codec.encode(f"v2|all|{room}", {"chat_room": {"S": room}})
    status, body = prod_chat.call("GET", "rooms", room=room, query={"all": "true", "cursor": wrong_state})
    assert status == 400 and "cursor" in body["message"]
