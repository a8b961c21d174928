"""Property-based: malformed bodies, paths and query strings always get a 4xx JSON error and store nothing."""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat_api.entities import ROOM_PATTERN
from tests.support.chat_backend import ROUTES, ChatBackend
from tests.support.events import rest_event

pytestmark = pytest.mark.slow

VALID = {"name": "valid", "comment": "valid", "position": 1}
# Positive, but below 1e-130, the smallest magnitude DynamoDB stores: the write or query would fail (a 500).
TINY = st.floats(min_value=5e-324, max_value=9.99e-131, allow_subnormal=True)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def invalid_bodies(draw: st.DrawFn) -> str:
    """A body that breaks exactly one rule of the contract, or is not a JSON object at all."""
    kind = draw(st.sampled_from(["drop", "extra", "wrong_type", "range", "length", "not_object", "not_json"]))
    body: dict[str, Any] = dict(VALID)
    if kind == "drop":
        del body[draw(st.sampled_from(sorted(VALID)))]
    elif kind == "extra":
        body[draw(st.text(min_size=1, max_size=10).filter(lambda k: k not in VALID))] = draw(json_values)
    elif kind == "wrong_type":
        field = draw(st.sampled_from(sorted(VALID)))
        if field == "position":
            body[field] = draw(st.text() | st.booleans() | st.none() | st.lists(st.integers(), max_size=2))
        else:
            body[field] = draw(st.integers() | st.booleans() | st.none() | st.lists(st.text(), max_size=2))
    elif kind == "range":
        body["position"] = draw(
            st.floats(max_value=-0.001)
            | st.floats(min_value=86_400.001, allow_infinity=False)
            | TINY  # below the smallest number DynamoDB stores
        )
    elif kind == "length":
        field = draw(st.sampled_from(["name", "comment"]))
        limit = 64 if field == "name" else 1000
        body[field] = draw(
            st.just("") | st.text(alphabet=string.ascii_letters, min_size=limit + 1, max_size=limit + 20)
        )
    elif kind == "not_object":
        return json.dumps(draw(st.lists(json_values, max_size=3) | json_scalars))
    else:
        return draw(st.text(max_size=30).filter(lambda t: not _is_json(t)))
    return json.dumps(body)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


bad_rooms = (
    st.text(min_size=1, max_size=80)
    .filter(lambda r: len(r) > 64 or any(c not in string.ascii_letters + string.digits + "_-" for c in r))
    .filter(lambda r: "/" not in r)
)
bad_queries = st.one_of(
    st.fixed_dictionaries({"limit": st.integers().filter(lambda n: not 1 <= n <= 100).map(str)}),
    st.fixed_dictionaries({"limit": st.text(alphabet=string.ascii_letters, min_size=1, max_size=5)}),
    st.fixed_dictionaries({"from": st.integers(1, 100).map(str), "to": st.integers(-100, 0).map(str)}),
    st.fixed_dictionaries({"from": st.integers(0, 10).map(str)}),
    st.fixed_dictionaries({"from": TINY.map(repr), "to": st.just("1")}),
    st.fixed_dictionaries({"from": st.just("0"), "to": TINY.map(repr)}),
    st.fixed_dictionaries({"cursor": st.text(alphabet=string.ascii_letters, min_size=1, max_size=40)}),
    st.fixed_dictionaries(
        {"all": st.just("true"), "cursor": st.text(alphabet=string.ascii_letters, min_size=1, max_size=60)}
    ),
    st.dictionaries(
        st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=8).filter(
            lambda k: k not in {"limit", "cursor", "all", "from", "to"}
        ),
        st.text(max_size=5),
        min_size=1,
        max_size=2,
    ),
)

# No deadlines or speed checks: CI machines are shared; what matters is the outcome of every example.
COMMON = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# Every DynamoDB operation that stores or removes data (the API's role may call some of them).
WRITES = {
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "ExecuteStatement",
    "BatchExecuteStatement",
    "ExecuteTransaction",
}


@pytest.fixture
def stored(chat: ChatBackend) -> Iterator[None]:
    """Each example's invocation makes no write call (the worker records every AWS call it makes); and, once per
    test (a function-scoped fixture runs once for all its examples), the table holds no more comments after the
    examples than before them."""
    before = chat.count_comments()
    yield
    assert chat.count_comments() == before


def _assert_rejected(chat: ChatBackend, status: int, body: dict[str, Any]) -> None:
    assert 400 <= status < 500, body
    assert set(body) == {"message"} and isinstance(body["message"], str) and body["message"]
    assert chat.last is not None
    assert WRITES.isdisjoint(chat.last.operations("dynamodb")), chat.last.operations("dynamodb")


@COMMON
@given(raw=invalid_bodies())
def test_malformed_bodies_are_rejected(chat: ChatBackend, stored: None, raw: str) -> None:
    status, body = chat.call("POST", "rooms", room="prop-room", raw_body=raw)
    _assert_rejected(chat, status, body)


@COMMON
@given(room=bad_rooms)
def test_malformed_room_ids_are_rejected(chat: ChatBackend, stored: None, room: str) -> None:
    for method, kwargs in (("POST", {"body": VALID}), ("GET", {})):
        status, body = chat.call(method, "rooms", room=room, **kwargs)
        _assert_rejected(chat, status, body)


@COMMON
@given(query=bad_queries)
def test_malformed_query_strings_are_rejected(chat: ChatBackend, stored: None, query: dict[str, str]) -> None:
    status, body = chat.call("GET", "rooms", room="prop-room", query=query)
    _assert_rejected(chat, status, body)


# The default listing's shortcut (handler._default_listing) lets through only what the models accept unchanged:
# a room just past the pattern's edge still gets the models' own 400.
@pytest.mark.parametrize("room", ["a" * 65, "r\u00e4um", "room.1"])
def test_a_default_listing_of_a_malformed_room_gets_the_models_message(chat: ChatBackend, room: str) -> None:
    status, body = chat.call("GET", "rooms", room=room)
    assert (status, body) == (400, {"message": f"room: String should match pattern '{ROOM_PATTERN}'"})


@pytest.mark.parametrize("body", ["!!!not base64", "//79ew=="])  # not base64; base64 of bytes that are not UTF-8
def test_a_body_flagged_base64_that_does_not_decode_is_a_400(chat: ChatBackend, stored: None, body: str) -> None:
    event = rest_event("POST", ROUTES["rooms"], {"room": "r1"}, raw_body=body)
    chat.last = chat.api.invoke({**event, "isBase64Encoded": True})
    response = chat.last.result
    _assert_rejected(chat, response["statusCode"], json.loads(response["body"]))
