"""Every route of the chat API through the Lambda handler, against DynamoDB Local."""

from __future__ import annotations

import re
import uuid
from contextlib import closing

import pytest

from chat_api.cursor import CursorCodec
from chat_api.domain import CommentService
from chat_api.models import NewComment
from chat_api.repository import DynamoCommentRepository
from tests.support.chat_backend import API_HANDLER, COMMENTS, IDEMPOTENCY, STATS, ChatBackend
from tests.support.events import rest_event
from tests.support.servers import failing_endpoint

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_post_returns_201_with_the_stored_comment(chat: ChatBackend, room: str) -> None:
    status, body = chat.post(room, "alice", "first!", 12.5)
    assert status == 201
    assert body["name"] == "alice" and body["comment"] == "first!" and body["position"] == 12.5
    assert body["room"] == room
    assert ISO_MS.match(body["time"])
    assert re.fullmatch(r"[0-9a-f]{32}", body["id"])


def test_latest_returns_25_newest_first(chat: ChatBackend, room: str) -> None:
    posted = [chat.post(room, f"user{i % 3}", f"comment {i}", i)[1] for i in range(30)]
    status, body = chat.call("GET", "rooms", room=room)
    assert status == 200
    assert "next" not in body
    returned = body["comments"]
    assert len(returned) == 25
    assert [c["id"] for c in returned] == [c["id"] for c in reversed(posted)][:25]
    times = [c["time"] for c in returned]
    assert times == sorted(times, reverse=True)


def test_limit_bounds_the_latest_page(chat: ChatBackend, room: str) -> None:
    for i in range(5):
        chat.post(room, "bob", f"c{i}", i)
    status, body = chat.call("GET", "rooms", room=room, query={"limit": "3"})
    assert status == 200 and len(body["comments"]) == 3


def test_all_pages_through_every_comment_once(chat: ChatBackend, room: str) -> None:
    posted = {chat.post(room, f"u{i % 4}", f"c{i}", i)[1]["id"] for i in range(23)}
    seen = chat.read_all(room, page_size=5)
    assert len(seen) == 23
    assert {c["id"] for c in seen} == posted


def test_position_range_is_inclusive_and_ordered_by_position(chat: ChatBackend, room: str) -> None:
    for position in (5, 100, 50, 10, 10.5, 99.9, 200, 0):
        chat.post(room, "carol", f"at {position}", position)
    status, body = chat.call("GET", "rooms", room=room, query={"from": "10", "to": "100"})
    assert status == 200
    positions = [c["position"] for c in body["comments"]]
    assert positions == [10, 10.5, 50, 99.9, 100]
    assert body["next"] is None


def test_position_range_pages_with_cursor(chat: ChatBackend, room: str) -> None:
    for position in range(12):
        chat.post(room, "dan", "x", position)
    query = {"from": "0", "to": "11", "limit": "5"}
    seen: list[float] = []
    while True:
        status, body = chat.call("GET", "rooms", room=room, query=query)
        assert status == 200
        seen += [c["position"] for c in body["comments"]]
        if not body["next"]:
            break
        query["cursor"] = body["next"]
    assert seen == list(range(12))


def test_user_comments_newest_first_across_rooms(chat: ChatBackend) -> None:
    user = f"erin{uuid.uuid4().hex[:6]}"
    ids = [chat.post(f"room-{i}", user, f"c{i}", i)[1]["id"] for i in range(4)]
    status, body = chat.call("GET", "users", name=user)
    assert status == 200
    assert [c["id"] for c in body["comments"]] == list(reversed(ids))
    assert {c["room"] for c in body["comments"]} == {f"room-{i}" for i in range(4)}


def test_unicode_user_names_round_trip_through_the_path(chat: ChatBackend, room: str) -> None:
    status, body = chat.post(room, "山田 太郎", "こんにちは", 1)
    assert status == 201
    status, listed = chat.call("GET", "users", name="山田 太郎")
    assert status == 200 and body["id"] in {c["id"] for c in listed["comments"]}


def test_same_millisecond_comments_by_one_user_are_both_kept(chat: ChatBackend, room: str) -> None:
    """Domain and repository in this process (a frozen clock), read back through the deployed function."""
    settings = chat.api_settings
    repository = DynamoCommentRepository(
        chat.dynamodb,
        table=chat.tables[COMMENTS],
        room_time_index=settings["ROOM_TIME_INDEX"],
        room_position_index=settings["ROOM_POSITION_INDEX"],
        stats_table=chat.tables[STATS],
    )
    frozen = CommentService(
        repository, lambda: CursorCodec(chat.cursor_key()), clock=lambda: "2026-11-22T10:00:00.000Z"
    )
    user = f"frank{uuid.uuid4().hex[:6]}"
    first = frozen.post(room, NewComment(name=user, comment="one", position=1))
    second = frozen.post(room, NewComment(name=user, comment="two", position=1))
    assert first.time == second.time and first.id != second.id
    status, body = chat.call("GET", "users", name=user)
    assert status == 200 and {c["id"] for c in body["comments"]} == {first.id, second.id}


def test_retry_with_the_same_idempotency_key_stores_once(chat: ChatBackend, room: str) -> None:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    first = chat.post(room, "gina", "only once", 3, headers=headers)
    again = chat.post(room, "gina", "only once", 3, headers=headers)
    assert first[0] == again[0] == 201
    assert first[1] == again[1]
    assert len(chat.read_all(room)) == 1


def test_idempotency_key_reused_with_another_comment_is_refused(chat: ChatBackend, room: str) -> None:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    assert chat.post(room, "hank", "one", 1, headers=headers)[0] == 201
    status, body = chat.post(room, "hank", "two", 1, headers=headers)
    assert status == 422 and "Idempotency-Key" in body["message"]
    assert len(chat.read_all(room)) == 1


def test_same_idempotency_key_in_another_room_is_a_new_comment(chat: ChatBackend, room: str) -> None:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    assert chat.post(room, "ivy", "hi", 1, headers=headers)[0] == 201
    assert chat.post(room + "-b", "ivy", "hi", 1, headers=headers)[0] == 201
    assert len(chat.read_all(room)) == 1 and len(chat.read_all(room + "-b")) == 1


def test_the_comment_count_counts_each_write_at_once(chat: ChatBackend, room: str) -> None:
    """What the bad-request and property tests rely on to see that a rejected request stored nothing."""
    before = chat.count_comments()
    chat.post(room, "olga", "one", 1)
    assert chat.count_comments() == before + 1
    chat.post(room, "olga", "two", 2)
    scanned = chat.dynamodb.scan(TableName=chat.tables[COMMENTS], Select="COUNT")["Count"]
    assert chat.count_comments() == before + 2 == scanned


def test_stats_of_an_unknown_room_are_zero(chat: ChatBackend, room: str) -> None:
    assert chat.call("GET", "stats", room=room) == (200, {"room": room, "comment_count": 0})


OK = {"room": "ok"}
VALID = {"name": "a", "comment": "b", "position": 1}
# (method, route, path, request, the field the message starts with, what it says about it)
BAD_REQUESTS = [
    ("POST", "rooms", OK, {"body": {"name": "a", "comment": "b"}}, "position", "Field required"),
    ("POST", "rooms", OK, {"body": {**VALID, "x": 1}}, "x", "Extra inputs are not permitted"),
    ("POST", "rooms", OK, {"body": {**VALID, "name": ""}}, "name", "at least 1 character"),
    ("POST", "rooms", OK, {"body": {**VALID, "name": "a" * 65}}, "name", "at most 64 characters"),
    ("POST", "rooms", OK, {"body": {**VALID, "comment": "b" * 1001}}, "comment", "at most 1000 characters"),
    ("POST", "rooms", OK, {"body": {**VALID, "comment": "   "}}, "comment", "should match pattern"),
    ("POST", "rooms", OK, {"body": {**VALID, "position": -1}}, "position", "greater than or equal to 0"),
    ("POST", "rooms", OK, {"body": {**VALID, "position": 86_401}}, "position", "less than or equal to 86400"),
    ("POST", "rooms", OK, {"body": {**VALID, "position": "1"}}, "position", "should be a valid number"),
    ("POST", "rooms", OK, {"body": {**VALID, "position": True}}, "position", "should be a valid number"),
    ("POST", "rooms", OK, {"body": {**VALID, "name": 7}}, "name", "should be a valid string"),
    ("POST", "rooms", OK, {"body": ["not", "an", "object"]}, "body", "should be an object"),
    ("POST", "rooms", OK, {"raw_body": "{not json"}, "body", "Invalid JSON"),
    ("POST", "rooms", OK, {"raw_body": ""}, "body", "Invalid JSON"),
    ("POST", "rooms", {"room": "bad room!"}, {"body": VALID}, "room", "should match pattern"),
    (
        "POST",
        "rooms",
        OK,
        {"body": VALID, "headers": {"Idempotency-Key": "x" * 129}},
        "Idempotency-Key",
        "must be 1-128 printable characters",
    ),
    ("GET", "rooms", OK, {"query": {"limit": "0"}}, "limit", "greater than or equal to 1"),
    ("GET", "rooms", OK, {"query": {"limit": "101"}}, "limit", "less than or equal to 100"),
    ("GET", "rooms", OK, {"query": {"limit": "ten"}}, "limit", "should be a valid integer"),
    ("GET", "rooms", OK, {"query": {"limit": ["5", "6"]}}, "limit", "given more than once"),
    ("GET", "rooms", OK, {"query": {"sort": "asc"}}, "sort", "Extra inputs are not permitted"),
    ("GET", "rooms", OK, {"query": {"from": "5"}}, "to", "required with 'from'"),
    ("GET", "rooms", OK, {"query": {"to": "5"}}, "from", "required with 'to'"),
    ("GET", "rooms", OK, {"query": {"from": "9", "to": "5"}}, "from", "must not be greater than 'to'"),
    ("GET", "rooms", OK, {"query": {"from": "0", "to": "nan"}}, "to", "should be a finite number"),
    ("GET", "rooms", OK, {"query": {"all": "true", "from": "1", "to": "2"}}, "all", "cannot be combined"),
    ("GET", "rooms", OK, {"query": {"all": "true", "cursor": "forged"}}, "cursor", "is invalid"),
    ("GET", "rooms", OK, {"query": {"cursor": "abc"}}, "cursor", "continues an 'all=true' or 'from'/'to' listing"),
    ("GET", "users", {"name": "bad<name>"}, {}, "name", "should match pattern"),
    ("GET", "users", {"name": "a" * 65}, {}, "name", "at most 64 characters"),
    ("GET", "users", {"name": "ok"}, {"query": {"all": "true"}}, "all", "Extra inputs are not permitted"),
    ("GET", "stats", {"room": "x" * 65}, {}, "room", "should match pattern"),
    ("GET", "stats", {"room": "ok"}, {"query": {"x": "1"}}, "x", "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("method", "route", "path", "request_", "field", "rule"), BAD_REQUESTS)
def test_bad_requests_get_a_400_naming_the_field_first_and_store_nothing(  # noqa: PLR0917 (parametrized)
    chat: ChatBackend,
    method: str,
    route: str,
    path: dict[str, str],
    request_: dict[str, object],
    field: str,
    rule: str,
) -> None:
    before = chat.count_comments()
    status, body = chat.call(method, route, **request_, **path)  # type: ignore[arg-type]
    assert status == 400, body
    assert set(body) == {"message"}
    assert body["message"].startswith(f"{field}: "), body["message"]
    assert rule in body["message"].removeprefix(f"{field}: "), body["message"]
    assert chat.count_comments() == before


def test_a_cursor_cannot_be_replayed_against_another_room(chat: ChatBackend, room: str) -> None:
    for i in range(3):
        chat.post(room, "jack", f"c{i}", i)
    _, body = chat.call("GET", "rooms", room=room, query={"all": "true", "limit": "1"})
    assert body["next"]
    status, error = chat.call("GET", "rooms", room=room + "x", query={"all": "true", "cursor": body["next"]})
    assert status == 400 and "different query" in error["message"]


def test_a_tampered_cursor_is_refused(chat: ChatBackend, room: str) -> None:
    for i in range(3):
        chat.post(room, "kim", f"c{i}", i)
    _, body = chat.call("GET", "rooms", room=room, query={"all": "true", "limit": "1"})
    cursor = body["next"]
    tampered = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    status, error = chat.call("GET", "rooms", room=room, query={"all": "true", "cursor": tampered})
    assert status == 400 and "cursor" in error["message"]


def test_unknown_route_is_a_json_404(chat: ChatBackend) -> None:
    response = chat.api.invoke(rest_event("DELETE", "/rooms/{room}/comments", {"room": "r"})).result
    assert response["statusCode"] == 404


def test_an_unexpected_failure_is_a_json_500_without_details_and_an_error_in_the_log(
    chat: ChatBackend, room: str
) -> None:
    """DynamoDB answers a write with an error no handler maps (an endpoint that fails every call): the client
    gets a bare 500, and the function's log gets the ERROR line its log-based alarms and readers look for."""
    failing = {"__type": "com.amazonaws.dynamodb.v20120810#InternalFailureX", "message": "secret internals"}
    with failing_endpoint(400, failing) as endpoint:
        worker = chat.worker(API_HANDLER, endpoints={**chat.endpoints, "dynamodb": endpoint})
        with closing(worker.start()):
            status, body = chat.post(room, "lee", "x", 1, worker=worker, allow_error_logs=True)
    assert status == 500 and body == {"message": "internal error"}
    assert chat.last is not None
    (error,) = chat.last.error_lines()
    assert "unhandled error" in error and "secret internals" in error  # the cause is logged, not returned


def test_client_errors_log_no_errors_or_tracebacks(chat: ChatBackend, room: str) -> None:
    """What the function writes to its log on a 400: no ERROR line, no traceback (the 500 test above shows
    the same capture does see one)."""
    status, _ = chat.call("POST", "rooms", room=room, body={"name": "x"})
    assert status == 400
    assert chat.last is not None and chat.last.error_lines() == []
    assert not [line for line in chat.last.logs if "Traceback" in line or "stackTrace" in line]


def test_idempotency_records_and_comments_share_one_dynamodb_client(chat: ChatBackend, room: str) -> None:
    # Each boto3 client costs 100-150 ms of a cold start; the container needs one.
    assert chat.post(room, "alice", "hi", 1.0, headers={"Idempotency-Key": str(uuid.uuid4())})[0] == 201
    assert chat.last is not None
    calls = [c for c in chat.last.calls if c["service"] == "dynamodb"]
    tables = {c["params"].get("TableName") for c in calls}
    assert {chat.tables[COMMENTS], chat.tables[IDEMPOTENCY]} <= tables
    assert len({c["client"] for c in calls}) == 1
