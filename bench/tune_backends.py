"""The local stand-ins bench/tune.py runs each function against, and the events of its representative invocations.

A backend gives what the handler tests' worker needs to run the function as deployed: `resolver` (the template's
references to the local resources) and `endpoints` (the emulators), and `event(kind)`, a fresh event of that kind
per call (new idempotency keys, new stream records), so that every invocation does the work a real one does. The
stand-ins are the handler tests' own: the chat tables in DynamoDB Local and the cursor key in moto
(tests/support/chat_backend.py); the cache bucket in moto's S3 and a local origin for the web service's load
balancer (tests/support/publisher_backend.py), whose fetch event comes from the state machine's definition.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.support.chat_backend import ChatBackend, local_chat
from tests.support.lambda_environment import Resolver
from tests.support.publisher_backend import publisher_stand_ins
from tests.support.stepfunctions import definitions, task_events
from tests.support.synth import Synthesized
from tests.support.web_origin import web_origin

PAGE_BYTES = 50 * 1024  # the cost model's page size (bench/cost.py Load.page_kb)
BATCH_RECORDS = 100  # ChatConfig.stream_batch_size's default
BATCH_ROOMS = 5  # rooms one batch of new comments spans
PAGE_PATH = "/news/2026/12/06/the-page-of-the-day"


@dataclass
class Backend:
    resolver: Resolver
    endpoints: dict[str, str]
    events: dict[str, Callable[[], Any]] = field(default_factory=dict)  # kind -> a fresh event of that kind

    def event(self, kind: str) -> Any:
        return self.events[kind]()


@contextmanager
def backend_for(function: Any, synth: Synthesized, stack: str) -> Iterator[Backend]:
    makers = {
        "chat-api": chat_backend,
        "chat-stream": chat_backend,
        "publisher-fetch": publisher_backend,
    }
    with makers[function.key](synth, stack) as backend:
        yield backend


# --- chat: DynamoDB Local with the template's tables, the cursor key in moto's Secrets Manager -----------------


@contextmanager
def chat_backend(synth: Synthesized, stack: str) -> Iterator[Backend]:
    from bench.handler import _seed_room
    from tests.support.events import ROUTES, rest_event

    with local_chat(synth, stack) as chat:
        room = _seed_room(chat, comments=200)  # a room with history and the view its consumer keeps
        tap = chat.tap()
        text = "a record to copy"
        status, _ = chat.post(room, "sample", text, 1.0)
        assert status == 201
        # The posted comment's record: the stream may also carry the seeded room's view and count updates.
        (sample,) = [r for r in tap.records() if r["dynamodb"].get("NewImage", {}).get("comment", {}).get("S") == text]
        backend = Backend(chat.resolver, chat.endpoints)
        backend.events = {
            "read": lambda: rest_event("GET", ROUTES["rooms"], {"room": room}),
            "write": lambda: rest_event(
                "POST",
                ROUTES["rooms"],
                {"room": room},
                body={"name": "viewer", "comment": "what a goal, did you see that one coming?", "position": 42.5},
                headers={"Idempotency-Key": uuid.uuid4().hex},
            ),
            "batch": lambda: new_comments(chat, sample, room),
        }
        yield backend


def new_comments(chat: ChatBackend, sample: dict[str, Any], room: str) -> dict[str, Any]:
    """A stream event of BATCH_RECORDS comments no one has counted yet, as Lambda delivers it."""
    return chat.stream_event([new_comment_record(sample, chat.resolver.region, room, i) for i in range(BATCH_RECORDS)])


def new_comment_record(sample: dict[str, Any], region: str, room: str, index: int) -> dict[str, Any]:
    """A stream record of a comment no one has counted yet, shaped like `sample` (a real one from DynamoDB
    Local): a new creation time, id and sequence number, the function's region."""
    record = copy.deepcopy(sample)
    comment_id = uuid.uuid4().hex
    now = dt.datetime.now(dt.UTC)
    time_key = f"{now.isoformat(timespec='milliseconds').replace('+00:00', 'Z')}#{comment_id}"
    name = f"user{index % 7}"
    # The sample's index shard, as the repository writes it: the room alone for shard 0, `<room>#<k>` for others.
    _, sep, shard = record["dynamodb"]["NewImage"]["chat_room"]["S"].partition("#")
    image = {
        "name": {"S": name},
        "comment": {"S": f"comment {index}: so good, what a play that was"},
        "time": {"S": time_key},
        "id": {"S": comment_id},
        "position": {"N": str(index)},
        "chat_room": {"S": f"{room}-{index % BATCH_ROOMS}{sep}{shard}"},
    }
    record.update(eventID=uuid.uuid4().hex, awsRegion=region)
    record["dynamodb"].update(
        ApproximateCreationDateTime=int(now.timestamp()),
        Keys={"name": image["name"], "time": image["time"]},
        NewImage=image,
        SequenceNumber=f"{uuid.uuid4().int % 10**21:021d}",
    )
    return record


# --- the publisher: moto's S3, a local HTTP origin for the internal load balancer ------------------------------

PAGE = (
    200,
    {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "max-age=60"},
    b"<!doctype html><title>news</title><p>" + b"x" * (PAGE_BYTES - 40) + b"</p>",
)


@contextmanager
def publisher_backend(synth: Synthesized, stack: str) -> Iterator[Backend]:
    """A 50 KB page at every path over HTTP, as the shipped stages' internal load balancer serves it."""
    (definition,) = definitions(synth.templates[stack])
    with web_origin({}, default=PAGE) as origin, publisher_stand_ins(synth, stack, origin) as stand_ins:
        function = stand_ins.function
        (fetch,) = task_events(definition, function.logical_id, {"paths": [PAGE_PATH]})["FetchAndStorePage"]
        yield Backend(stand_ins.resolver, stand_ins.endpoints, events={"fetch": lambda: dict(fetch)})
