"""Handler fixtures: DynamoDB Local with the chat tables created from the synthesized template."""

from __future__ import annotations

import importlib
import secrets
import uuid
from collections.abc import Iterator

import boto3
import pytest

from stacks.chat.data import ROOM_POSITION_INDEX, ROOM_TIME_INDEX
from tests.support.chat_backend import COMMENTS, IDEMPOTENCY, STATS, ChatBackend
from tests.support.servers import (
    LOCAL_CREDENTIALS,
    create_tables_from_template,
    moto_server,
    restore_env,
    set_env,
)
from tests.support.synth import Synthesized


@pytest.fixture(scope="session")
def chat(synth: Synthesized, dynamodb_endpoint: str) -> Iterator[ChatBackend]:
    ddb_endpoint = dynamodb_endpoint  # one per run; the tables are this worker's own
    with moto_server() as moto_endpoint:
        previous = set_env(LOCAL_CREDENTIALS)
        try:
            dynamodb = boto3.client("dynamodb", endpoint_url=ddb_endpoint)
            tables = create_tables_from_template(dynamodb, synth.templates["sandbox/Chat"], f"t{uuid.uuid4().hex[:8]}")
            secret_arn = boto3.client("secretsmanager", endpoint_url=moto_endpoint).create_secret(
                Name=f"cursor-{uuid.uuid4().hex[:8]}", SecretString=secrets.token_urlsafe(48)
            )["ARN"]
            env = {
                "AWS_ENDPOINT_URL_DYNAMODB": ddb_endpoint,
                "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_endpoint,
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_NAMESPACE": "ChatAppTest",
                "POWERTOOLS_SERVICE_NAME": "chat-test",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
                "COMMENTS_TABLE": tables[COMMENTS],
                "ROOM_TIME_INDEX": ROOM_TIME_INDEX,
                "ROOM_POSITION_INDEX": ROOM_POSITION_INDEX,
                "STATS_TABLE": tables[STATS],
                "IDEMPOTENCY_TABLE": tables[IDEMPOTENCY],
                "CURSOR_SECRET_ARN": secret_arn,
                "CORS_ALLOW_ORIGINS": "",
            }
            previous.update(set_env(env))
            api = importlib.import_module("chat_api.handler")
            stream = importlib.import_module("chat_stream.handler")
            yield ChatBackend(
                api=api,
                stream=stream,
                dynamodb=dynamodb,
                streams=boto3.client("dynamodbstreams", endpoint_url=ddb_endpoint),
                tables=tables,
                env={**LOCAL_CREDENTIALS, **env},
            )
        finally:
            restore_env(previous)


@pytest.fixture
def room() -> str:
    """A fresh room per test, so tests never see each other's comments."""
    return f"room-{uuid.uuid4().hex[:12]}"
