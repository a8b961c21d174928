"""The chat handlers wired to local servers, with helpers to call routes and inspect the tables."""

from __future__ import annotations

import importlib
import json
import secrets
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3

from tests.support.events import ROUTES, FakeLambdaContext, rest_event
from tests.support.servers import (
    LOCAL_CREDENTIALS,
    create_tables_from_template,
    dynamodb_local,
    moto_server,
    restore_env,
    set_env,
)
from tests.support.synth import ROOT

COMMENTS, STATS, IDEMPOTENCY = "DataComments205BAF48", "DataRoomStats98CA9737", "DataIdempotency4AE02808"


def function_settings(template: dict[str, Any], handler: str) -> dict[str, str]:
    """The plain-text environment variables a synthesized function is deployed with (no references)."""
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Lambda::Function" and props.get("Handler") == handler:
            return {k: v for k, v in props["Environment"]["Variables"].items() if isinstance(v, str)}
    raise KeyError(f"no function with handler {handler} in the template")


@contextmanager
def local_chat(
    template: dict[str, Any], *, fresh_modules: bool = False, dynamodb_endpoint: str | None = None, **env: str
) -> Iterator[ChatBackend]:
    """The chat handlers imported in this process against DynamoDB Local and moto's Secrets Manager on
    127.0.0.1, with the tables and the functions' settings of the synthesized Chat `template` (local
    endpoints and tables instead of its references); `env` overrides settings. Restores the environment
    and stops both servers on exit. `fresh_modules` imports the handlers anew (they read their settings
    once, at import), for a process that runs more than one of these. With `dynamodb_endpoint` (a DynamoDB
    Local already running: a pytest worker's), the tables are created there instead of in a server of its own."""
    with ExitStack() as servers:
        ddb_endpoint = dynamodb_endpoint or servers.enter_context(dynamodb_local())
        moto_endpoint = servers.enter_context(moto_server())
        previous = set_env(LOCAL_CREDENTIALS)
        try:
            dynamodb = boto3.client("dynamodb", endpoint_url=ddb_endpoint)
            tables = create_tables_from_template(dynamodb, template, f"t{uuid.uuid4().hex[:8]}")
            secret_arn = boto3.client("secretsmanager", endpoint_url=moto_endpoint).create_secret(
                Name=f"cursor-{uuid.uuid4().hex[:8]}", SecretString=secrets.token_urlsafe(48)
            )["ARN"]
            settings = {
                **function_settings(template, "chat_stream.handler.handler"),
                **function_settings(template, "chat_api.handler.handler"),
                "AWS_ENDPOINT_URL_DYNAMODB": ddb_endpoint,
                "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_endpoint,
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_NAMESPACE": "ChatAppTest",
                "POWERTOOLS_SERVICE_NAME": "chat-test",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
                "COMMENTS_TABLE": tables[COMMENTS],
                "STATS_TABLE": tables[STATS],
                "IDEMPOTENCY_TABLE": tables[IDEMPOTENCY],
                "CURSOR_SECRET_ARN": secret_arn,
                "CORS_ALLOW_ORIGINS": "",
                **env,
            }
            previous.update(set_env(settings))
            for bundle in ("chat_api", "chat_stream"):  # importable as in Lambda: the bundle folder on the path
                if str(ROOT / "lambda" / bundle) not in sys.path:
                    sys.path.insert(0, str(ROOT / "lambda" / bundle))
            if fresh_modules:
                for name in [m for m in sys.modules if m.split(".")[0] in ("chat_api", "chat_stream")]:
                    del sys.modules[name]
            yield ChatBackend(
                api=importlib.import_module("chat_api.handler"),
                stream=importlib.import_module("chat_stream.handler"),
                dynamodb=dynamodb,
                streams=boto3.client("dynamodbstreams", endpoint_url=ddb_endpoint),
                tables=tables,
                env={**LOCAL_CREDENTIALS, **settings},
            )
        finally:
            restore_env(previous)


@dataclass
class ChatBackend:
    """The chat handlers wired to local DynamoDB and Secrets Manager, plus direct clients for checks."""

    api: ModuleType
    stream: ModuleType
    dynamodb: Any
    streams: Any
    tables: dict[str, str]
    env: dict[str, str]

    def call(
        self,
        method: str,
        route: str,
        *,
        query: dict[str, Any] | None = None,
        body: Any = None,
        raw_body: str | None = None,
        headers: dict[str, str] | None = None,
        **path: str,
    ) -> tuple[int, dict[str, Any]]:
        event = rest_event(method, ROUTES[route], path, query=query, body=body, raw_body=raw_body, headers=headers)
        response = self.api.handler(event, FakeLambdaContext())
        content_type = response.get("multiValueHeaders", {}).get("Content-Type") or [
            response["headers"]["Content-Type"]
        ]
        assert content_type == ["application/json"]
        return response["statusCode"], json.loads(response["body"])

    def post(self, room: str, name: str, comment: str, position: float, **kw: Any) -> tuple[int, dict[str, Any]]:
        return self.call(
            "POST", "rooms", room=room, body={"name": name, "comment": comment, "position": position}, **kw
        )

    def count_comments(self) -> int:
        """Comments stored so far. DynamoDB Local keeps ItemCount exact at all times (DynamoDB itself updates
        it about every six hours), and reading it costs the same however many comments the session wrote,
        where a Scan reads them all; test_handler checks that it counts each write at once."""
        table = self.dynamodb.describe_table(TableName=self.tables[COMMENTS])["Table"]
        return int(table["ItemCount"])

    def read_all(self, room: str, page_size: int = 100) -> list[dict[str, Any]]:
        """Follow `next` cursors through ?all=true to the end."""
        comments: list[dict[str, Any]] = []
        query: dict[str, Any] = {"all": "true", "limit": str(page_size)}
        for _ in range(10_000):
            status, body = self.call("GET", "rooms", room=room, query=query)
            assert status == 200, body
            comments.extend(body["comments"])
            if not body["next"]:
                return comments
            query = {**query, "cursor": body["next"]}
        raise AssertionError("pagination did not end")

    def stream_arn(self) -> str:
        return str(self.dynamodb.describe_table(TableName=self.tables[COMMENTS])["Table"]["LatestStreamArn"])

    def tap(self) -> StreamTap:
        """Start reading the comments table's stream from now on (the records Lambda would be given)."""
        return StreamTap(self)

    def stream_event(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """A Lambda DynamoDB-streams event of `records`."""
        arn = self.stream_arn()
        return {"Records": [{**r, "eventSourceARN": arn} for r in records]}

    @contextmanager
    def calls(self, client: Any) -> Iterator[list[tuple[str, str]]]:
        """Record (operation, table) of every call `client` makes inside the block."""
        made: list[tuple[str, str]] = []

        def record(model: Any, params: dict[str, Any], **_: Any) -> None:
            body = params.get("body") or b"{}"
            table = json.loads(body).get("TableName", "") if isinstance(body, bytes | str) else ""
            made.append((model.name, table))

        client.meta.events.register("before-call.dynamodb", record)
        try:
            yield made
        finally:
            client.meta.events.unregister("before-call.dynamodb", record)


class StreamTap:
    """New records of every shard of the comments table's stream, from the moment it was made."""

    def __init__(self, backend: ChatBackend) -> None:
        self._streams = backend.streams
        arn = backend.stream_arn()
        shards = self._streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        self._iterators = {
            s["ShardId"]: self._streams.get_shard_iterator(
                StreamArn=arn, ShardId=s["ShardId"], ShardIteratorType="LATEST"
            )["ShardIterator"]
            for s in shards
        }

    def records(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for shard, iterator in list(self._iterators.items()):
            response = self._streams.get_records(ShardIterator=iterator)
            self._iterators[shard] = response["NextShardIterator"]
            found += response["Records"]
        return found
