"""Handler fixtures: DynamoDB Local with the chat tables created from the synthesized template."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.chat_backend import ChatBackend, local_chat
from tests.support.synth import Synthesized


@pytest.fixture(scope="session")
def chat(synth: Synthesized, dynamodb_endpoint: str) -> Iterator[ChatBackend]:
    """The handlers against the run's DynamoDB Local (tables of this worker's own) and moto."""
    with local_chat(synth.templates["sandbox/Chat"], dynamodb_endpoint=dynamodb_endpoint) as backend:
        yield backend


@pytest.fixture
def room() -> str:
    """A fresh room per test, so tests never see each other's comments."""
    return f"room-{uuid.uuid4().hex[:12]}"
