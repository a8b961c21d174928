"""Lambda entry point: HTTP in, HTTP out. Routing, validation and error mapping only."""

from __future__ import annotations

import json
import random
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

# Part of Lambda's Python managed runtimes (beside awslambdaric), SnapStart or not; the runtime runs the
# hooks only for a SnapStart version: https://docs.aws.amazon.com/lambda/latest/dg/snapstart-runtime-hooks-python.html
from snapshot_restore_py import register_after_restore, register_before_snapshot

from chat_api.cursor import CursorCodec, InvalidCursor
from chat_api.domain import CommentService
from chat_api.entities import ROOM_PATTERN
from chat_api.limits import MAX_BODY_BYTES
from chat_api.repository import DynamoCommentRepository, InvalidStart
from chat_api.settings import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig
    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from pydantic import BaseModel, ValidationError

    from chat_api.models import NewComment, PathParams

# Reads and rejected requests publish no business metric; that is expected, not worth a warning per call.
warnings.filterwarnings("ignore", message="No application metrics to publish")

SETTINGS = Settings.from_env()
IDEMPOTENCY_HEADER = "Idempotency-Key"
_NAMES_ITS_FIELD = re.compile(r"^[a-z_]+: ")
_DEFAULT_LISTING_PATH = re.compile(f"/rooms/({ROOM_PATTERN.removeprefix('^').removesuffix('$')})/comments")
MAX_IDEMPOTENCY_KEY = 128

logger = Logger()
# Only botocore makes calls worth a subsegment here; patching every module X-Ray supports imports and wraps
# libraries the function never uses (Powertools' documented `patch_modules`).
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()
# One session and one DynamoDB client per container for the idempotency records and the comments: a second
# client costs another 100-150 ms of the first invocation, a second session parses botocore's endpoint data
# again for the Secrets Manager client.
_session = boto3.session.Session()
_dynamodb = _session.client("dynamodb")


class BadRequest(ValueError):
    """A request that cannot be served as sent."""


class TooLarge(ValueError):
    """A body larger than any valid request (the gateway's model bounds each field, not whitespace around them)."""


# What only some requests need is built (and imported) on the first request that needs it, not at import:
# the Secrets Manager client for a paged listing, the idempotency layer for a POST with a key.
@cache
def secrets() -> SecretsProvider:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=_session.client("secretsmanager"))


@cache
def cursor_codec() -> CursorCodec:
    """Built on the first paged request of a container: the signing key is fetched once and reused."""
    return CursorCodec(str(secrets().get(SETTINGS.cursor_secret_arn, max_age=3600)).encode())


@cache
def service() -> CommentService:
    repository = DynamoCommentRepository(
        _dynamodb,
        table=SETTINGS.comments_table,
        room_time_index=SETTINGS.room_time_index,
        room_position_index=SETTINGS.room_position_index,
        stats_table=SETTINGS.stats_table,
        shards=SETTINGS.room_shards,
        view_max_lag_ms=SETTINGS.view_max_lag_ms,
    )
    return CommentService(repository, cursor_codec)


@dataclass(frozen=True)
class Idempotency:
    post_once: Callable[..., dict[str, Any]]  # the comment post that runs once per (room, key)
    config: IdempotencyConfig  # where it reads the Lambda context from
    persistence: DynamoDBPersistenceLayer


@cache
def idempotency() -> Idempotency:
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    config = IdempotencyConfig(
        event_key_jmespath="[room, key]",
        payload_validation_jmespath="comment",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=SETTINGS.idempotency_ttl_s,
    )
    persistence = DynamoDBPersistenceLayer(table_name=SETTINGS.idempotency_table, boto3_client=_dynamodb)

    from chat_api.models import NewComment

    @idempotent_function(data_keyword_argument="request", config=config, persistence_store=persistence)
    def post_once(request: dict[str, Any]) -> dict[str, Any]:
        return service().post(request["room"], NewComment.model_validate(request["comment"])).to_json()

    return Idempotency(post_once, config, persistence)


def _json(status: int, body: dict[str, Any]) -> Response[str]:
    from aws_lambda_powertools.event_handler import Response, content_types

    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))


# pydantic and the request models are imported by the first request that validates a body, a query or a path
# other than the default listing's (a cold "latest" read, most requests, needs neither: about 70 ms of import).
def _validated[M: BaseModel](model: type[M], data: Any, *, json_text: bool = False) -> M:
    """`data` validated by `model`; a BadRequest (400) naming the first wrong field if not."""
    from pydantic import ValidationError

    try:
        return model.model_validate_json(data) if json_text else model.model_validate(data)
    except ValidationError as error:
        raise BadRequest(_invalid(error)) from None


def _path(**params: str) -> PathParams:
    from chat_api.models import PathParams

    return _validated(PathParams, params)


def _query[Q: BaseModel](model: type[Q]) -> Q:
    multi = app().current_event.multi_value_query_string_parameters
    repeated = sorted(k for k, values in multi.items() if len(values) > 1)
    if repeated:
        raise BadRequest(f"{repeated[0]}: given more than once")
    return _validated(model, app().current_event.query_string_parameters)


def _default_listing_room(event: dict[str, Any]) -> str | None:
    """The room of a `GET /rooms/{room}/comments` with no query string of a well-formed room (None: any other
    request): what PathParams and ListQuery accept unchanged (the room as given, every parameter at its default),
    checked without them. Anything else goes through them, so every refusal is still theirs, with their messages."""
    if (
        event.get("httpMethod") != "GET"
        or event.get("queryStringParameters")
        or event.get("multiValueQueryStringParameters")
    ):
        return None
    match = _DEFAULT_LISTING_PATH.fullmatch(event.get("path") or "")
    return match[1] if match else None


def _post_once(room: str, key: str, body: NewComment) -> Response[str] | dict[str, Any]:
    """The stored comment, or the 409/422 answer when the key is in flight or was used for another comment."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    layer = idempotency()
    layer.config.register_lambda_context(app().lambda_context)  # an in-progress record expires with the invocation
    try:
        return layer.post_once(request={"room": room, "key": key, "comment": body.model_dump()})
    except IdempotencyValidationError:
        return _json(422, {"message": f"{IDEMPOTENCY_HEADER} was already used with a different comment"})
    except IdempotencyAlreadyInProgressError:
        return _json(409, {"message": f"a request with this {IDEMPOTENCY_HEADER} is still in progress; retry shortly"})


def post_comment(room: str) -> Response[str]:
    from aws_lambda_powertools.event_handler import Response

    path = _path(room=room)
    try:
        raw = app().current_event.decoded_body or ""
    except ValueError:  # isBase64Encoded with a body that is not base64 of UTF-8 text (binascii, UnicodeDecode)
        raise BadRequest("body: not base64-encoded UTF-8 text, as isBase64Encoded says") from None
    if len(raw.encode()) > MAX_BODY_BYTES:
        raise TooLarge(f"body: larger than {MAX_BODY_BYTES} bytes")
    from chat_api.models import NewComment

    body = _validated(NewComment, raw, json_text=True)
    key = app().current_event.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not (0 < len(key) <= MAX_IDEMPOTENCY_KEY and key.isprintable()):
        raise BadRequest(f"{IDEMPOTENCY_HEADER}: must be 1-{MAX_IDEMPOTENCY_KEY} printable characters")
    assert path.room is not None
    stored = service().post(path.room, body).to_json() if key is None else _post_once(path.room, key, body)
    if isinstance(stored, Response):
        return stored
    metrics.add_metric(name="CommentPosted", unit=MetricUnit.Count, value=1)
    return _json(201, stored)


def list_room(room: str) -> Response[str]:
    limit = None
    if _default_listing_room(app().current_event.raw_event) is None:
        path = _path(room=room)
        assert path.room is not None
        from chat_api.models import ListQuery

        query = _query(ListQuery)
        if query.all or query.is_range:
            return _json(200, service().list_room(path.room, query))
        limit = query.limit
    return _json(200, _latest(room, limit))


def _latest(room: str, limit: int | None) -> dict[str, Any]:
    body, source = service().latest(room, limit)
    if source == "index":  # the room's view was missing, incomplete or behind
        metrics.add_metric(name="LatestFromIndex", unit=MetricUnit.Count, value=1)
    return body


def room_stats(room: str) -> Response[str]:
    path = _path(room=room)
    assert path.room is not None
    from chat_api.models import StatsQuery

    _query(StatsQuery)
    return _json(200, service().room_stats(path.room))


def list_user(name: str) -> Response[str]:
    # A REST API passes the path on as the client encoded it ("%20", "%E5..."), and the resolver takes the
    # parameter from it as is: decode it, or a name with a space or a non-ASCII letter is never found.
    path = _path(name=unquote(name))
    assert path.name is not None
    from chat_api.models import UserQuery

    return _json(200, service().list_user(path.name, _query(UserQuery)))


def _invalid(error: ValidationError) -> str:
    """The 400's message: the first error's field and pydantic's message, and how many more there were."""
    first = error.errors(include_url=False, include_input=False)[0]
    message = first["msg"].removeprefix("Value error, ")
    where = ".".join(str(p) for p in first["loc"])
    if where or not _NAMES_ITS_FIELD.match(message):  # a rule across fields names its own ("to: ...")
        message = f"{where or 'body'}: {message}"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{message}{more}"


def _bad_request(error: ValueError) -> Response[str]:
    return _json(400, {"message": str(error)})


def _too_large(error: TooLarge) -> Response[str]:
    return _json(413, {"message": str(error)})


def _not_found(_: Exception) -> Response[str]:
    return _json(404, {"message": "no such route"})


def _unexpected(_: Exception) -> Response[str]:
    return _json(500, _internal_error())


def _internal_error() -> dict[str, Any]:
    """The 500's body, after the log line and the metric (called in an `except` block: the cause is logged)."""
    logger.exception("unhandled error")
    metrics.add_metric(name="UnhandledError", unit=MetricUnit.Count, value=1)
    return {"message": "internal error"}


def _has_origin(event: dict[str, Any]) -> bool:
    """An Origin header in either of the event's header maps, in any case (the resolver's lookup ignores case)."""
    names = [*(event.get("headers") or {}), *(event.get("multiValueHeaders") or {})]
    return any(name.lower() == "origin" for name in names)


@cache
def app() -> APIGatewayRestResolver:
    """Powertools' resolver and the routes: imported and built by the first request the default listing's
    shortcut (`_default_listing_response`) does not serve, or by the SnapStart priming."""
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig

    origins = SETTINGS.cors_allow_origins
    cors = (
        CORSConfig(
            allow_origin=origins[0], extra_origins=list(origins[1:]), allow_headers=[IDEMPOTENCY_HEADER], max_age=3600
        )
        if origins
        else None
    )
    resolver = APIGatewayRestResolver(cors=cors)
    resolver.post("/rooms/<room>/comments")(post_comment)
    resolver.get("/rooms/<room>/comments")(list_room)
    resolver.get("/rooms/<room>/stats")(room_stats)
    resolver.get("/users/<name>/comments")(list_user)
    resolver.exception_handler([BadRequest, InvalidCursor, InvalidStart])(_bad_request)
    resolver.exception_handler(TooLarge)(_too_large)
    resolver.not_found(_not_found)
    resolver.exception_handler(Exception)(_unexpected)
    return resolver


def _default_listing_response(event: dict[str, Any]) -> dict[str, Any] | None:
    """The response to `GET /rooms/{room}/comments` with no query string of a well-formed room, and with no
    Origin header when CORS is configured; None for any other request, which the resolver serves.

    Written by hand, for this one request only, instead of going through Powertools' APIGatewayRestResolver:
    importing it (aws_lambda_powertools.event_handler, which also imports its AppSync, Bedrock and other
    resolvers and every event class) costs about 40 ms of every cold start, and most cold starts serve this
    read. What the resolver does for it, done here: match the method and the path (its pattern for <room>
    admits every room this one does), run what list_room runs for it (`_latest`), map an exception to
    `_unexpected`'s 500, answer in the REST proxy format (multiValueHeaders, the body as is, isBase64Encoded
    false; no CORS headers: it adds them only for an Origin; no compression: the route does not enable it).
    tests/chat/runtime/chat_api/test_cold_read_path.py pins that this and the resolver answer alike."""
    room = _default_listing_room(event)
    if room is None or (SETTINGS.cors_allow_origins and _has_origin(event)):
        return None
    try:
        status, body = 200, _latest(room, None)
    except Exception:
        status, body = 500, _internal_error()
    return {
        "statusCode": status,
        "body": json.dumps(body),
        "isBase64Encoded": False,
        "multiValueHeaders": {"Content-Type": ["application/json"]},
    }


# Routes are not wrapped in tracer.capture_method: it logs every exception with a traceback at ERROR,
# and most exceptions here are client errors (400s). The handler segment and boto3 calls are traced.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _default_listing_response(event) or app().resolve(event, context)


_ROUTES = (
    ("POST", "/rooms/!/comments"),
    ("GET", "/rooms/!/comments"),
    ("GET", "/rooms/!/stats"),
    ("GET", "/users/!/comments"),
)


def _priming_event(method: str, path: str) -> dict[str, Any]:
    """A request each route refuses with a 400 before any AWS call: "!" is no room or user name."""
    return {"httpMethod": method, "path": path, "headers": {}, "requestContext": {}, "body": None}


# SnapStart (prod): Lambda runs the initialization above once, when a version is published, snapshots the
# environment and restores every new environment from that snapshot.
@register_before_snapshot
def before_snapshot() -> None:
    """Everything a first request of any kind builds goes into the snapshot; no key or connection does."""
    idempotency()
    secrets().clear_cache()  # type: ignore[no-untyped-call]
    cursor_codec.cache_clear()  # the signing key is fetched again by each restored environment
    from chat_api import models

    for model in models.REQUEST_MODELS:
        model.model_rebuild()  # the validators defer_build leaves to the first request
    for method, path in _ROUTES:  # each route's first call inspects its handler: a 400 needs no AWS call
        if app().resolve(_priming_event(method, path), cast("LambdaContext", None))["statusCode"] != 400:
            raise RuntimeError(f"priming {method} {path} was not refused before any AWS call")
    "".encode("idna")  # the codec a first connection's host name loads
    _prime_reads()
    # A pooled connection would be restored in every environment at once; each opens its own instead.
    _dynamodb.close()
    secrets().client.close()


def _prime_reads() -> None:
    """A "latest" read through the service as far as the wire: the client's per-operation work (parameter
    validation and serialization, the endpoint ruleset's cached resolution, its event handlers, the output
    shapes) is done once here, not in every restored environment's first request ("preload them with dummy
    invocations", https://docs.aws.amazon.com/lambda/latest/dg/snapstart-best-practices.html). botocore's
    Stubber answers each call in the process from its before-call event, so nothing is signed or sent."""
    from botocore.stub import Stubber

    with Stubber(_dynamodb) as stub:  # empty view, then the index: GetItem and a Query per shard
        stub.add_response("get_item", {})
        for _ in range(SETTINGS.room_shards):
            stub.add_response("query", {"Items": []})
        service().latest("priming", None)
        stub.assert_no_pending_responses()  # the read made exactly these calls


@register_after_restore
def after_restore() -> None:
    """Entropy that must differ per environment: the random module's state (botocore's retry jitter,
    Logger's sampling) is part of the snapshot; uuid4 and secrets read os.urandom on every call."""
    random.seed()
