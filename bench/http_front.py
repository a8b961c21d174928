"""A WSGI front for the chat API handler, as API Gateway's REST proxy integration calls it (for make load).

`gunicorn bench.http_front:app` with sync workers: each worker process serves one request at a time, as
one Lambda execution environment does. A request becomes the proxy event API Gateway would send
(tests/support/events.rest_event), and the handler's response becomes the HTTP response. Only the
API's routes exist; anything else is the 404 API Gateway gives.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote

from chat_api.handler import handler
from tests.support.events import FakeLambdaContext, rest_event

_ROUTES = [
    (re.compile(r"^/rooms/(?P<room>[^/]+)/comments$"), "/rooms/{room}/comments"),
    (re.compile(r"^/rooms/(?P<room>[^/]+)/stats$"), "/rooms/{room}/stats"),
    (re.compile(r"^/users/(?P<name>[^/]+)/comments$"), "/users/{name}/comments"),
]
_CONTEXT = FakeLambdaContext()


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    found = next(((pattern.match(path), resource) for pattern, resource in _ROUTES if pattern.match(path)), None)
    if found is None:
        missing = b'{"message":"Missing Authentication Token"}'
        return _reply(start_response, 404, {"Content-Type": "application/json"}, missing)
    match, resource = found
    assert match is not None
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length).decode() if length else None
    headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
    event = rest_event(
        environ["REQUEST_METHOD"],
        resource,
        {k: unquote(v) for k, v in match.groupdict().items()},
        query=parse_qs(environ.get("QUERY_STRING", "")) or None,  # type: ignore[arg-type]
        headers=headers,
        raw_body=body,
    )
    response = handler(event, _CONTEXT)
    out = {k: ", ".join(v) for k, v in (response.get("multiValueHeaders") or {}).items()}
    out.update(response.get("headers") or {})
    return _reply(start_response, response["statusCode"], out, response["body"].encode())


def _reply(start_response: Callable[..., Any], status: int, headers: dict[str, str], body: bytes) -> list[bytes]:
    start_response(f"{status} {HTTPStatus(status).phrase}", [*headers.items(), ("Content-Length", str(len(body)))])
    return [body]
