"""What a cold "latest comments" read loads before it answers: the read path (most requests) does not pay for
the write path's or the paged listing's dependencies, nor for validation or routing it does not need (pydantic
and Powertools' resolver: a GET with no query string of a well-formed room is answered without them), nor for
SnapStart's priming (which runs only before a snapshot). A fresh worker of the API function as deployed serves
one GET; then it reports its loaded modules."""

from __future__ import annotations

from contextlib import closing
from typing import Any

from tests.support.chat_backend import API_HANDLER, ChatBackend
from tests.support.servers import failing_endpoint

NOT_ON_THE_READ_PATH = (
    "aws_lambda_powertools.utilities.idempotency",  # a POST with an Idempotency-Key
    "aws_lambda_powertools.utilities.parameters",  # the cursor key of a paged listing
    "pydantic",  # a body, a query string, a user's name or a malformed room to validate
    "chat_api.models",  # the request models (pydantic)
    "aws_lambda_powertools.event_handler",  # any request but the default listing (handler.app)
    "botocore.stub",  # handler.before_snapshot's priming
)


def test_a_cold_latest_read_loads_nothing_only_writes_paging_or_priming_need(chat: ChatBackend, room: str) -> None:
    with closing(chat.worker(API_HANDLER).start()) as worker:
        assert chat.call("GET", "rooms", room=room, worker=worker)[0] == 200
        loaded = set(worker.environ()["loaded"])
        assert "chat_api.handler" in loaded
        assert [m for m in NOT_ON_THE_READ_PATH if m in loaded] == []
        # The same listing sees them once a request needs them (the names are right).
        key = {"Idempotency-Key": f"cold-{room}"}
        assert chat.post(room, "cold", "a write", 1, headers=key, worker=worker)[0] == 201
        assert chat.post(room, "cold", "another", 2, worker=worker)[0] == 201  # a page of one has a next cursor
        assert chat.call("GET", "rooms", room=room, query={"all": "true", "limit": "1"}, worker=worker)[0] == 200
        loaded = set(worker.environ()["loaded"])
    assert [m for m in NOT_ON_THE_READ_PATH[:-1] if m in loaded] == list(NOT_ON_THE_READ_PATH[:-1])


def _both_ways(chat: ChatBackend, room: str, worker: Any = None, **headers: str) -> list[dict[str, Any]]:
    """The raw responses to the default listing (answered without the resolver unless an Origin is sent) and to
    the same listing asked for with its default limit spelled out (through the resolver and the models)."""
    responses = []
    for query in (None, {"limit": "25"}):
        chat.call("GET", "rooms", room=room, query=query, headers=headers, worker=worker, allow_error_logs=True)
        assert chat.last is not None
        responses.append({"result": chat.last.result, "errors": len(chat.last.error_lines())})
    return responses


def test_the_default_listing_is_answered_as_the_resolver_answers_it(chat: ChatBackend, room: str) -> None:
    for i in range(3):
        assert chat.post(room, f"user{i}", f"comment {i}", i)[0] == 201
    shortcut, resolver = _both_ways(chat, room)
    assert shortcut == resolver and shortcut["result"]["statusCode"] == 200 and shortcut["errors"] == 0
    # A browser's request from an allowed origin (the test stage's): the resolver's CORS headers, both ways.
    with_origin, resolver = _both_ways(chat, room, Origin="http://localhost:3000")
    assert with_origin == resolver and with_origin["result"]["body"] == shortcut["result"]["body"]
    assert with_origin["result"]["multiValueHeaders"]["Access-Control-Allow-Origin"] == ["http://localhost:3000"]
    # A failure (DynamoDB answers every call with an error no handler maps): the same bare 500, one ERROR line.
    failing = {"__type": "com.amazonaws.dynamodb.v20120810#InternalFailureX", "message": "secret internals"}
    with failing_endpoint(400, failing) as endpoint:
        worker = chat.worker(API_HANDLER, endpoints={**chat.endpoints, "dynamodb": endpoint})
        with closing(worker.start()):
            shortcut, resolver = _both_ways(chat, room, worker)
    assert shortcut == resolver and shortcut["result"]["statusCode"] == 500 and shortcut["errors"] == 1
