"""20 writers x 50 comments into one room; every acknowledged comment is readable exactly once."""

from __future__ import annotations

import multiprocessing
import os
import uuid
from collections import Counter
from typing import Any

import pytest

from tests.support.chat_backend import ChatBackend

pytestmark = pytest.mark.slow

WRITERS, PER_WRITER = 20, 50


def _writer(args: tuple[dict[str, str], list[str], str, int]) -> list[str]:
    """One writer process: its own interpreter, handler module and connections, as a Lambda container."""
    env, paths, room, writer = args
    import sys

    os.environ.update(env)
    sys.path[:0] = paths
    import json

    from chat_api.handler import handler
    from tests.support.events import FakeLambdaContext, rest_event

    acknowledged = []
    for i in range(PER_WRITER):
        body = {"name": f"writer{writer}", "comment": f"comment {i}", "position": i}
        event = rest_event("POST", "/rooms/{room}/comments", {"room": room}, body=body)
        response = handler(event, FakeLambdaContext())
        if response["statusCode"] == 201:
            acknowledged.append(json.loads(response["body"])["id"])
    return acknowledged


def test_concurrent_writers_lose_and_duplicate_nothing(chat: ChatBackend) -> None:
    room = f"busy-{uuid.uuid4().hex[:8]}"
    import sys

    context = multiprocessing.get_context("spawn")
    with context.Pool(WRITERS) as pool:
        results: list[list[str]] = pool.map(_writer, [(chat.env, list(sys.path), room, w) for w in range(WRITERS)])
    acknowledged = [comment_id for ids in results for comment_id in ids]
    assert len(acknowledged) == WRITERS * PER_WRITER

    read: list[dict[str, Any]] = chat.read_all(room, page_size=100)
    counts = Counter(c["id"] for c in read)
    assert set(counts) == set(acknowledged)
    assert max(counts.values()) == 1
