"""API Gateway REST proxy events and a Lambda context, in the documented formats."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

# What a path segment may hold unencoded (RFC 3986 pchar), and "%" so that a value given encoded stays as given.
_SEGMENT_SAFE = "!$&'()*+,;=:@-._~%"


@dataclass
class FakeLambdaContext:
    function_name: str = "chat-api"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:chat-api"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "req"
    log_group_name: str = "/aws/lambda/chat-api"
    log_stream_name: str = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


ROUTES = {
    "rooms": "/rooms/{room}/comments",
    "stats": "/rooms/{room}/stats",
    "users": "/users/{name}/comments",
}


def rest_event(
    method: str,
    resource: str,
    path_parameters: dict[str, str],
    *,
    query: dict[str, str | list[str]] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    raw_body: str | None = None,
) -> dict[str, Any]:
    """An API Gateway REST (v1) Lambda proxy event for `resource` with the given parameters.

    `path` is as the client sent it, percent-encoded (a space, a non-ASCII letter): a REST API passes the path on
    undecoded, unlike an HTTP API (live captures in middleapi/standard-server#93; LocalStack's parity fix,
    localstack/localstack#7728), and Powertools' resolver takes route parameters from it as they are."""
    path = resource
    for key, value in path_parameters.items():
        path = path.replace("{" + key + "}", quote(value, safe=_SEGMENT_SAFE))
    multi = {k: (v if isinstance(v, list) else [v]) for k, v in (query or {}).items()}
    single = {k: v[-1] for k, v in multi.items()}
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    request_id = str(uuid.uuid4())
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": single or None,
        "multiValueQueryStringParameters": multi or None,
        "pathParameters": {k: unquote(v) for k, v in path_parameters.items()} or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/v1{path}",
            "stage": "v1",
            "requestId": request_id,
            "accountId": "123456789012",
            "apiId": "abc123",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "pytest"},
            "protocol": "HTTP/1.1",
            "requestTimeEpoch": 0,
        },
        "body": raw_body if raw_body is not None else (None if body is None else json.dumps(body)),
        "isBase64Encoded": False,
    }
