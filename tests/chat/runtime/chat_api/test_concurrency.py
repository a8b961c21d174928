"""4 writers x 26 comments into one room; every acknowledged comment is readable exactly once.

Each writer is a container of its own (a process forked from one that has loaded the runtime's and the
layer's packages, as a warm Lambda runtime has), which imports the deployed handler itself and so has its
own module state, clients and connections. 4 containers on 2 cores interleave their writes; 104 comments
span two pages of the read-back. (More writers or comments only take longer: ids that repeat across
containers fail at this size too, and each more container costs one more import of the handler.)
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from contextlib import closing
from typing import Any

import pytest

from tests.support.chat_backend import API_HANDLER, ChatBackend
from tests.support.events import rest_event

pytestmark = pytest.mark.slow

WRITERS, PER_WRITER = 4, 26


def test_concurrent_writers_lose_and_duplicate_nothing(chat: ChatBackend) -> None:
    room = f"busy-{uuid.uuid4().hex[:8]}"
    batches = [
        [
            rest_event(
                "POST",
                "/rooms/{room}/comments",
                {"room": room},
                body={"name": f"w{w}", "comment": f"c{i}", "position": i},
            )
            for i in range(PER_WRITER)
        ]
        for w in range(WRITERS)
    ]
    with closing(chat.worker(API_HANDLER, mode="fan-out").start()) as writers:
        results = writers.fan_out(batches)
    responses = [invocation.result for container in results for invocation in container]
    acknowledged = [json.loads(r["body"])["id"] for r in responses if r["statusCode"] == 201]
    assert len(acknowledged) == WRITERS * PER_WRITER

    read: list[dict[str, Any]] = chat.read_all(room, page_size=100)
    counts = Counter(c["id"] for c in read)
    assert set(counts) == set(acknowledged)
    assert max(counts.values()) == 1
