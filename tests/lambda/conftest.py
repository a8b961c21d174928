"""Handler fixtures: each chat function run as deployed, against DynamoDB Local and moto (one worker process
per function and stage per pytest worker, for the session)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.chat_backend import ChatBackend, local_chat
from tests.support.synth import Synthesized


@pytest.fixture(scope="session")
def chat(synth: Synthesized, dynamodb_endpoint: str) -> Iterator[ChatBackend]:
    """The sandbox stage's chat functions, with tables of this worker's own."""
    with local_chat(synth, "sandbox/Chat", dynamodb_endpoint=dynamodb_endpoint) as backend:
        yield backend


@pytest.fixture(scope="session")
def prod_chat(synth: Synthesized, dynamodb_endpoint: str) -> Iterator[ChatBackend]:
    """The prod stage's chat functions (its write-sharded rooms), with tables of their own."""
    with local_chat(synth, "prod/Chat", dynamodb_endpoint=dynamodb_endpoint) as backend:
        yield backend


@pytest.fixture
def room() -> str:
    """A fresh room per test, so tests never see each other's comments."""
    return f"room-{uuid.uuid4().hex[:12]}"
