"""The API handler's X-Ray traces, as Lambda active tracing receives them, against DynamoDB Local.

A fresh worker runs the deployed function as Lambda does with tracing on (its template's TracingConfig): a
trace header per invocation, and the X-Ray SDK sending its documents to the daemon address Lambda gives,
here a UDP socket on 127.0.0.1 that the worker reads.
"""

from __future__ import annotations

from contextlib import closing
from typing import Any

from tests.support.chat_backend import API_HANDLER, ChatBackend


def _flatten(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    flat, todo = [], list(documents)
    while todo:
        document = todo.pop()
        flat.append(document)
        todo += document.get("subsegments", [])
    return flat


def test_a_traced_request_keeps_the_handler_segment_and_its_dynamodb_calls(chat: ChatBackend, room: str) -> None:
    chat.post(room, "tracy", "traced", 1)
    with closing(chat.worker(API_HANDLER).start()) as cold:
        chat.call("GET", "rooms", room=room, worker=cold)
    assert chat.last is not None
    documents = _flatten(chat.last.segments)

    (handler_segment,) = [d for d in documents if d.get("name") == "## handler"]
    assert handler_segment["annotations"]["ColdStart"] is True
    assert handler_segment["annotations"]["Service"] == chat.api_settings["POWERTOOLS_SERVICE_NAME"]
    dynamodb_calls = {d["aws"]["operation"] for d in documents if d.get("namespace") == "aws"}
    assert {"GetItem", "Query"} <= dynamodb_calls  # the room's view, then the index it falls back to
