"""20 writers x 50 comments into one room; every acknowledged comment is readable exactly once."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest

from tests.support.chat_backend import ChatBackend
from tests.support.chat_writer import write_concurrently

pytestmark = pytest.mark.slow

WRITERS, PER_WRITER = 20, 50


def test_concurrent_writers_lose_and_duplicate_nothing(chat: ChatBackend) -> None:
    room = f"busy-{uuid.uuid4().hex[:8]}"
    results = write_concurrently(chat.env, room, WRITERS, PER_WRITER)
    acknowledged = [comment_id for ids in results for comment_id in ids]
    assert len(acknowledged) == WRITERS * PER_WRITER

    read: list[dict[str, Any]] = chat.read_all(room, page_size=100)
    counts = Counter(c["id"] for c in read)
    assert set(counts) == set(acknowledged)
    assert max(counts.values()) == 1
