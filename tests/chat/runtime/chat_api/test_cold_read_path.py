"""What a cold "latest comments" read loads before it answers: the read path (most requests) does not pay for
the write path's or the paged listing's dependencies, nor for validation it does not need (pydantic: a request
with no query string of a well-formed room), nor for SnapStart's priming (which runs only before a snapshot).
A fresh worker of the API function as deployed serves one GET; then it reports its loaded modules."""

from __future__ import annotations

from contextlib import closing

from tests.support.chat_backend import API_HANDLER, ChatBackend

NOT_ON_THE_READ_PATH = (
    "aws_lambda_powertools.utilities.idempotency",  # a POST with an Idempotency-Key
    "aws_lambda_powertools.utilities.parameters",  # the cursor key of a paged listing
    "pydantic",  # a body, a query string, a user's name or a malformed room to validate
    "chat_api.models",  # the request models (pydantic)
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
