"""Every route of the chat API through the Lambda handler, against DynamoDB Local."""

from __future__ import annotations

import re
import uuid

import pytest

from chat_api.repository import DynamoCommentRepository
from tests.support.chat_backend import ChatBackend

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
    service = chat.api.service()
    from chat_api.domain import CommentService
    from chat_api.models import NewComment

    frozen = CommentService(service._repo, service._cursors, clock=lambda: "2026-11-22T10:00:00.000Z")
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


def test_stats_of_an_unknown_room_are_zero(chat: ChatBackend, room: str) -> None:
    assert chat.call("GET", "stats", room=room) == (200, {"room": room, "comment_count": 0})


BAD_REQUESTS = [
    ("POST", "rooms", {"room": "ok"}, {"body": {"name": "a", "comment": "b"}}, "position"),
    ("POST", "rooms", {"room": "ok"}, {"body": {"name": "a", "comment": "b", "position": 1, "x": 1}}, "x"),
    ("POST", "rooms", {"room": "ok"}, {"body": {"name": "", "comment": "b", "position": 1}}, "name"),
    ("POST", "rooms", {"room": "ok"}, {"body": {"name": "a" * 65, "comment": "b", "position": 1}}, "name"),
    ("POST", "rooms", {"room": "ok"}, {"body": {"name": "a", "comment": "b" * 1001, "position": 1}}, "comment"),
    ("POST", "rooms", {"room": "ok"}, {"body": {"name": "a", "comment": "   ", "position": 1}}, "comment"),
    ("POST", "rooms", {"room": "ok"}, {"body": {"name": "a", "comment": "b", "position": -1}}, "position"),
    ("POST", "rooms", {"room": "ok"}, {"body": {"name": "a", "comment": "b", "position": 86_401}}, "position"),
    ("POST", "rooms", {"room": "ok"}, {"body": {"name": "a", "comment": "b", "position": "1"}}, "position"),
    ("POST", "rooms", {"room": "ok"}, {"body": {"name": "a", "comment": "b", "position": True}}, "position"),
    ("POST", "rooms", {"room": "ok"}, {"body": {"name": 7, "comment": "b", "position": 1}}, "name"),
    ("POST", "rooms", {"room": "ok"}, {"body": ["not", "an", "object"]}, "body"),
    ("POST", "rooms", {"room": "ok"}, {"raw_body": "{not json"}, "JSON"),
    ("POST", "rooms", {"room": "ok"}, {"raw_body": ""}, "JSON"),
    ("POST", "rooms", {"room": "bad room!"}, {"body": {"name": "a", "comment": "b", "position": 1}}, "room"),
    (
        "POST",
        "rooms",
        {"room": "ok"},
        {"body": {"name": "a", "comment": "b", "position": 1}, "headers": {"Idempotency-Key": "x" * 129}},
        "Idempotency-Key",
    ),
    ("GET", "rooms", {"room": "ok"}, {"query": {"limit": "0"}}, "limit"),
    ("GET", "rooms", {"room": "ok"}, {"query": {"limit": "101"}}, "limit"),
    ("GET", "rooms", {"room": "ok"}, {"query": {"limit": "ten"}}, "limit"),
    ("GET", "rooms", {"room": "ok"}, {"query": {"limit": ["5", "6"]}}, "repeated"),
    ("GET", "rooms", {"room": "ok"}, {"query": {"sort": "asc"}}, "sort"),
    ("GET", "rooms", {"room": "ok"}, {"query": {"from": "5"}}, "'from' and 'to'"),
    ("GET", "rooms", {"room": "ok"}, {"query": {"from": "9", "to": "5"}}, "greater than"),
    ("GET", "rooms", {"room": "ok"}, {"query": {"from": "0", "to": "nan"}}, "to"),
    ("GET", "rooms", {"room": "ok"}, {"query": {"all": "true", "from": "1", "to": "2"}}, "'all'"),
    ("GET", "rooms", {"room": "ok"}, {"query": {"all": "true", "cursor": "forged"}}, "cursor"),
    ("GET", "rooms", {"room": "ok"}, {"query": {"cursor": "abc"}}, "cursor"),
    ("GET", "users", {"name": "bad<name>"}, {}, "name"),
    ("GET", "users", {"name": "a" * 65}, {}, "name"),
    ("GET", "users", {"name": "ok"}, {"query": {"all": "true"}}, "all"),
    ("GET", "stats", {"room": "x" * 65}, {}, "room"),
]


@pytest.mark.parametrize(("method", "route", "path", "kwargs", "mentions"), BAD_REQUESTS)
def test_bad_requests_get_a_4xx_json_message_and_store_nothing(  # noqa: PLR0917 (parametrized)
    chat: ChatBackend, method: str, route: str, path: dict[str, str], kwargs: dict[str, object], mentions: str
) -> None:
    before = chat.count_comments()
    status, body = chat.call(method, route, **kwargs, **path)  # type: ignore[arg-type]
    assert 400 <= status < 500
    assert set(body) == {"message"} and mentions.lower() in body["message"].lower()
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
    from tests.support.events import FakeLambdaContext, rest_event

    response = chat.api.handler(rest_event("DELETE", "/rooms/{room}/comments", {"room": "r"}), FakeLambdaContext())
    assert response["statusCode"] == 404


def test_an_unexpected_failure_is_a_json_500_without_details(chat: ChatBackend, room: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(chat.api.service()._repo, "put", boom)
    status, body = chat.post(room, "lee", "x", 1)
    assert status == 500 and body == {"message": "internal error"}


def test_client_errors_log_no_errors_or_tracebacks(
    chat: ChatBackend, room: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level("INFO"):
        status, _ = chat.call("POST", "rooms", room=room, body={"name": "x"})
    assert status == 400
    assert [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")] == []
    assert "Traceback" not in capsys.readouterr().out


def test_idempotency_records_and_comments_share_one_dynamodb_client(chat: ChatBackend, room: str) -> None:
    # Each boto3 client costs 100-150 ms of a cold start; the container needs one.
    assert chat.post(room, "alice", "hi", 1.0)[0] == 201
    repository = chat.api.service()._repo
    assert isinstance(repository, DynamoCommentRepository)
    assert repository._client is chat.api._persistence.client
