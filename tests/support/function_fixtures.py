"""Handler fixtures: each Python function run as deployed (one worker process per function and stage per pytest
worker, for the session): the chat functions against DynamoDB Local and moto, the cache publisher against moto's
S3 and a local origin, the database-role function against a Data API in front of PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.chat_backend import ChatBackend, local_chat
from tests.support.db_roles_backend import DbRolesBackend, local_db_roles
from tests.support.postgres import PostgresUnavailable, unavailable
from tests.support.publisher_backend import PublisherBackend, local_publisher
from tests.support.synth import Synthesized
from tests.support.variants import WEB_ORIGIN_NAME
from tests.support.web_origin import certificate_for

# The edge stack of the variant whose web service speaks HTTPS (tests/support/variants.py WEB_MIGRATE).
HTTPS_VARIANT = "tuned/Edge"


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


@pytest.fixture(scope="session")
def publisher(synth: Synthesized) -> Iterator[PublisherBackend]:
    """The sandbox stage's cache publisher, its cache bucket in moto and the web origin on 127.0.0.1."""
    with local_publisher(synth, "sandbox/Edge") as backend:
        yield backend


@pytest.fixture(scope="session")
def prod_publisher(synth: Synthesized) -> Iterator[PublisherBackend]:
    with local_publisher(synth, "prod/Edge") as backend:
        yield backend


@pytest.fixture(scope="session")
def https_publisher(variants: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PublisherBackend]:
    """The publisher of a stage whose web service speaks HTTPS: the origin's certificate covers the template's
    ORIGIN_TLS_NAME and is signed by a CA of the test's own, which the function (Lambda's trust store) does not
    trust."""
    _, certificate = certificate_for(WEB_ORIGIN_NAME, tmp_path_factory.mktemp("origin-tls"))
    with local_publisher(variants, HTTPS_VARIANT, certificate=certificate) as backend:
        yield backend


@pytest.fixture(scope="session")
def db_roles(synth: Synthesized) -> Iterator[DbRolesBackend]:
    """The sandbox web stack's database-role function, on a PostgreSQL server of its own."""
    try:
        with local_db_roles(synth, "sandbox/Web") as backend:
            yield backend
    except PostgresUnavailable as error:
        unavailable(str(error))
