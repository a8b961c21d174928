"""The chat stack's two functions run as deployed (tests/support/lambda_worker.py) against local stand-ins for
its resources: the tables of its template in DynamoDB Local, its cursor-key secret in moto's Secrets Manager.

Each function gets its template's environment with the references resolved to those stand-ins, the Lambda
runtime's own variables, and the endpoints of the emulators (AWS_ENDPOINT_URL_DYNAMODB/_SECRETS_MANAGER);
nothing else. Tests reach the tables directly through `dynamodb` to arrange and to check.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tests.support.events import ROUTES, rest_event
from tests.support.lambda_environment import ACCOUNT, Resolver, deployed_function
from tests.support.lambda_worker import Invocation, LambdaWorker
from tests.support.servers import create_tables_from_template, dynamodb_local, local_client, moto_server
from tests.support.synth import Synthesized

COMMENTS, STATS, IDEMPOTENCY = "DataComments205BAF48", "DataRoomStats98CA9737", "DataIdempotency4AE02808"
API_HANDLER, STREAM_HANDLER = "chat_api.handler.handler", "chat_stream.handler.handler"
# GenerateSecretString's fields that Secrets Manager's GetRandomPassword takes too.
_PASSWORD_FIELDS = (
    "PasswordLength",
    "ExcludeCharacters",
    "ExcludeNumbers",
    "ExcludePunctuation",
    "ExcludeUppercase",
    "ExcludeLowercase",
    "IncludeSpace",
    "RequireEachIncludedType",
)


def local_resources(
    template: dict[str, Any], region: str, dynamodb: Any, secretsmanager: Any
) -> tuple[Resolver, dict[str, str]]:
    """Every table and secret of `template`, created locally; the resolver that maps the template's
    references to them, and logical id -> table name."""
    tables = create_tables_from_template(dynamodb, template, f"t{uuid.uuid4().hex[:8]}")
    resources: dict[str, dict[str, str]] = {}
    for logical_id, name in tables.items():
        arn = f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}"
        resources[logical_id] = {"Ref": name, "Arn": arn, "StreamArn": f"{arn}/stream/local"}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::SecretsManager::Secret":
            continue
        generate = resource["Properties"].get("GenerateSecretString", {})
        value = secretsmanager.get_random_password(**{k: v for k, v in generate.items() if k in _PASSWORD_FIELDS})
        arn = secretsmanager.create_secret(
            Name=f"{logical_id}-{uuid.uuid4().hex[:8]}", SecretString=value["RandomPassword"]
        )["ARN"]
        resources[logical_id] = {"Ref": arn, "Arn": arn}
    return Resolver(template, region, resources), tables


@contextmanager
def local_chat(
    synth: Synthesized, stack: str = "sandbox/Chat", *, dynamodb_endpoint: str | None = None
) -> Iterator[ChatBackend]:
    """The chat functions of `stack` against DynamoDB Local (the worker's own, or `dynamodb_endpoint`) and
    moto; one worker process per function for as long as the block lasts."""
    region = synth.regions[stack]
    with ExitStack() as running:
        ddb_endpoint = dynamodb_endpoint or running.enter_context(dynamodb_local())
        moto_endpoint = running.enter_context(moto_server())
        dynamodb = local_client("dynamodb", ddb_endpoint, region)
        secrets = local_client("secretsmanager", moto_endpoint, region)
        resolver, tables = local_resources(synth.templates[stack], region, dynamodb, secrets)
        endpoints = {"dynamodb": ddb_endpoint, "secrets manager": moto_endpoint}
        api, stream = (
            running.enter_context(
                closing(LambdaWorker(deployed_function(synth, stack, h), resolver, endpoints).start())
            )
            for h in (API_HANDLER, STREAM_HANDLER)
        )
        yield ChatBackend(
            synth=synth,
            stack=stack,
            resolver=resolver,
            endpoints=endpoints,
            api=api,
            stream=stream,
            dynamodb=dynamodb,
            streams=local_client("dynamodbstreams", ddb_endpoint, region),
            secrets=secrets,
            tables=tables,
        )


@dataclass
class ChatBackend:
    """The chat functions as deployed, plus direct clients of the stand-ins for arranging and checking."""

    synth: Synthesized
    stack: str
    resolver: Resolver
    endpoints: dict[str, str]
    api: LambdaWorker
    stream: LambdaWorker
    dynamodb: Any
    streams: Any
    secrets: Any
    tables: dict[str, str]
    last: Invocation | None = field(default=None)

    @property
    def api_settings(self) -> dict[str, str]:
        """The API function's environment as its template gives it (references resolved)."""
        return self.api.environment.template

    def worker(self, handler: str, *, mode: str = "serve", endpoints: dict[str, str] | None = None) -> LambdaWorker:
        """Another, unstarted worker of one of the stack's functions (a cold one, a fan-out, other endpoints)."""
        function = deployed_function(self.synth, self.stack, handler)
        return LambdaWorker(function, self.resolver, endpoints or self.endpoints, mode=mode)

    def cursor_key(self) -> bytes:
        """The cursor secret's value, as the API function reads it."""
        arn = self.api_settings["CURSOR_SECRET_ARN"]
        return str(self.secrets.get_secret_value(SecretId=arn)["SecretString"]).encode()

    def call(
        self,
        method: str,
        route: str,
        *,
        query: dict[str, Any] | None = None,
        body: Any = None,
        raw_body: str | None = None,
        headers: dict[str, str] | None = None,
        worker: LambdaWorker | None = None,
        allow_error_logs: bool = False,
        **path: str,
    ) -> tuple[int, dict[str, Any]]:
        """One API Gateway proxy event through the API function; its invocation is kept in `last`."""
        event = rest_event(method, ROUTES[route], path, query=query, body=body, raw_body=raw_body, headers=headers)
        self.last = (worker or self.api).invoke(event, allow_error_logs=allow_error_logs)
        response = self.last.result
        content_type = response.get("multiValueHeaders", {}).get("Content-Type") or [
            response["headers"]["Content-Type"]
        ]
        assert content_type == ["application/json"]
        return response["statusCode"], json.loads(response["body"])

    def post(self, room: str, name: str, comment: str, position: float, **kw: Any) -> tuple[int, dict[str, Any]]:
        return self.call(
            "POST", "rooms", room=room, body={"name": name, "comment": comment, "position": position}, **kw
        )

    def consume(self, records: list[dict[str, Any]], **kw: Any) -> Invocation:
        """The stream function on a batch of records, as Lambda's event source mapping delivers them."""
        self.last = self.stream.invoke(self.stream_event(records), **kw)
        return self.last

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
        return {"Records": [_as_lambda_json({**r, "eventSourceARN": arn}) for r in records]}


def _as_lambda_json(value: Any) -> Any:
    """A record as boto3 parsed it, back in the event's JSON form (epoch seconds, base64 binaries)."""
    if isinstance(value, dict):
        return {k: _as_lambda_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_lambda_json(v) for v in value]
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


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
