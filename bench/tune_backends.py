"""The local stand-ins bench/tune.py runs each function against, and the events of its representative invocations.

A backend gives: `refs` (a template's logical ids, and "Logical.Attribute" for Fn::GetAtt, to the local
resource's name or ARN), `env` (where the AWS SDK finds the stand-ins), the region the function runs in, and
`event(kind)`, a fresh event of that kind per call (new idempotency keys, new stream records), so that every
invocation does the work a real one does. The stand-ins are those the handler tests use: DynamoDB Local and
moto on 127.0.0.1, and a local HTTP origin for the publisher's fetch.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3

from tests.support.servers import LOCAL_CREDENTIALS, moto_server

PAGE_BYTES = 50 * 1024  # the cost model's page size (bench/cost.py Load.page_kb)
BATCH_RECORDS = 100  # ChatConfig.stream_batch_size's default
BATCH_ROOMS = 5  # rooms one batch of new comments spans


@dataclass
class Backend:
    region: str
    refs: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    events: dict[str, Any] = field(default_factory=dict)  # kind -> a callable that makes a fresh event

    def event(self, kind: str) -> dict[str, Any]:
        return self.events[kind]()  # type: ignore[no-any-return]


def resources_of(template: dict[str, Any], kind: str) -> list[str]:
    return [k for k, r in template["Resources"].items() if r["Type"] == kind]


@contextmanager
def backend_for(function: Any, template: dict[str, Any]) -> Iterator[Backend]:
    makers = {
        "chat-api": chat_backend,
        "chat-stream": chat_backend,
        "publisher-fetch": publisher_backend,
    }
    with makers[function.key](template) as backend:
        yield backend


# --- chat: DynamoDB Local with the template's tables, the cursor key in moto's Secrets Manager -----------------


@contextmanager
def chat_backend(template: dict[str, Any]) -> Iterator[Backend]:
    from bench.handler import _quiet_backend, _seed_room
    from tests.support.events import ROUTES, rest_event

    with _quiet_backend(template) as chat:
        room = _seed_room(chat, comments=200)  # a room with history and the view its consumer keeps
        tap = chat.tap()
        status, _ = chat.post(room, "sample", "a record to copy", 1.0)
        assert status == 201
        sample = tap.records()[0]
        (secret,) = resources_of(template, "AWS::SecretsManager::Secret")
        backend = Backend(
            region=LOCAL_CREDENTIALS["AWS_DEFAULT_REGION"],
            refs={**chat.tables, secret: chat.env["CURSOR_SECRET_ARN"]},
            env={k: chat.env[k] for k in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SECRETS_MANAGER")},
        )
        arn = chat.stream_arn()
        backend.events = {
            "read": lambda: rest_event("GET", ROUTES["rooms"], {"room": room}),
            "write": lambda: rest_event(
                "POST",
                ROUTES["rooms"],
                {"room": room},
                body={"name": "viewer", "comment": "what a goal, did you see that one coming?", "position": 42.5},
                headers={"Idempotency-Key": uuid.uuid4().hex},
            ),
            "batch": lambda: {"Records": [new_comment_record(sample, arn, room, i) for i in range(BATCH_RECORDS)]},
        }
        yield backend


def new_comment_record(sample: dict[str, Any], source_arn: str, room: str, index: int) -> dict[str, Any]:
    """A stream record of a comment no one has counted yet, shaped like `sample` (a real one from DynamoDB
    Local), as Lambda delivers it: epoch-seconds creation time, the function's region, the source ARN."""
    record = copy.deepcopy(sample)
    comment_id = uuid.uuid4().hex
    now = dt.datetime.now(dt.UTC)
    time_key = f"{now.isoformat(timespec='milliseconds').replace('+00:00', 'Z')}#{comment_id}"
    name = f"user{index % 7}"
    shard = record["dynamodb"]["NewImage"]["chat_room"]["S"].split("#", 1)[1]
    image = {
        "name": {"S": name},
        "comment": {"S": f"comment {index}: so good, what a play that was"},
        "time": {"S": time_key},
        "id": {"S": comment_id},
        "position": {"N": str(index)},
        "chat_room": {"S": f"{room}-{index % BATCH_ROOMS}#{shard}"},
    }
    record.update(
        eventID=uuid.uuid4().hex, awsRegion=LOCAL_CREDENTIALS["AWS_DEFAULT_REGION"], eventSourceARN=source_arn
    )
    record["dynamodb"].update(
        ApproximateCreationDateTime=int(now.timestamp()),
        Keys={"name": image["name"], "time": image["time"]},
        NewImage=image,
        SequenceNumber=f"{uuid.uuid4().int % 10**21:021d}",
    )
    return record


# --- the publisher: moto's S3, a local HTTP origin for the internal load balancer ------------------------------


class _Page(BaseHTTPRequestHandler):
    body = b"<!doctype html><title>news</title>" + b"<p>" + b"x" * (PAGE_BYTES - 40) + b"</p>"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Cache-Control", "max-age=60")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *_args: Any) -> None:
        pass


@contextmanager
def http_origin() -> Iterator[str]:
    """A page over HTTP on 127.0.0.1, as the shipped stages' internal load balancer serves it; yields host:port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def stack_outputs_read(value: Any) -> Iterator[str]:
    """The output names every Fn::GetStackOutput in `value` reads (another stack's outputs)."""
    if isinstance(value, dict):
        if "Fn::GetStackOutput" in value:
            yield value["Fn::GetStackOutput"]["OutputName"]
        for inner in value.values():
            yield from stack_outputs_read(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from stack_outputs_read(inner)


@contextmanager
def publisher_backend(template: dict[str, Any]) -> Iterator[Backend]:
    region = LOCAL_CREDENTIALS["AWS_DEFAULT_REGION"]
    with moto_server() as moto, http_origin() as host:
        clients = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": region}
        s3 = boto3.client("s3", endpoint_url=moto, **clients)
        # The web stack's outputs the function reads: the load balancer's DNS name, here the local origin.
        refs = {f"Output.{name}": host for name in stack_outputs_read(template["Resources"])}
        for bucket in resources_of(template, "AWS::S3::Bucket"):
            refs[bucket] = f"tune-{uuid.uuid4().hex[:12]}"
            s3.create_bucket(Bucket=refs[bucket], CreateBucketConfiguration={"LocationConstraint": region})
        yield Backend(
            region=region,
            refs=refs,
            env={"AWS_ENDPOINT_URL_S3": moto},
            events={"fetch": lambda: {"path": "/news/2026/12/06/the-page-of-the-day"}},
        )
