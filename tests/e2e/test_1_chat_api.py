"""The deployed chat stack over HTTP: API Gateway -> Lambda -> DynamoDB (GSIs, stream consumer)."""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import quote

import pytest

from chat.api import LIVE_ALIAS
from tests.e2e.conftest import Api, Deployment, local_client

# One name with a space and letters outside ASCII: the client percent-encodes it in a path.
USERS = ("alice", "José Núñez", "carol")
COUNT = 30  # more than the latest-25 page, so "latest" and "all" differ


@pytest.fixture(scope="module")
def room() -> str:
    return f"e2e-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def posted(api: Api, room: str) -> list[dict[str, Any]]:
    """COUNT comments in a fresh room, in posting order; users take turns, positions rise by 1.5 s."""
    stored = []
    for i in range(COUNT):
        # Given a new comment
        body = {"name": f"{USERS[i % 3]}-{room}", "comment": f"comment {i}", "position": i * 1.5}
        # When it is posted
        reply = api.post(f"/rooms/{room}/comments", body)
        # Then it is stored and returned with its id and time
        assert reply.status == 201, reply
        assert reply.body["id"] and reply.body["time"]
        assert {k: reply.body[k] for k in body} == body
        stored.append(reply.body)
    return stored


def _newest_first(comments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(comments, key=lambda c: c["time"], reverse=True)


def _latest_once_the_stream_caught_up(api: Api, path: str, expected: list[dict[str, Any]]) -> Any:
    """Latest comes from the view the stream consumer keeps: it follows the posts within seconds."""
    deadline = time.monotonic() + 60
    while True:
        reply = api.get(path)
        if reply.status != 200 or reply.body["comments"] == expected or time.monotonic() > deadline:
            return reply
        time.sleep(1)


def test_latest_25_newest_first(api: Api, room: str, posted: list[dict[str, Any]]) -> None:
    expected = _newest_first(posted)[:25]
    reply = _latest_once_the_stream_caught_up(api, f"/rooms/{room}/comments", expected)
    assert reply.status == 200
    assert reply.body["comments"] == expected


def test_limit_shortens_the_latest_page(api: Api, room: str, posted: list[dict[str, Any]]) -> None:
    expected = _newest_first(posted)[:3]
    reply = _latest_once_the_stream_caught_up(api, f"/rooms/{room}/comments?limit=3", expected)
    assert reply.status == 200
    assert reply.body["comments"] == expected


def _read_pages(api: Api, path: str) -> list[dict[str, Any]]:
    """Every comment of a paged query, following `next` cursors (bounded: at most 10 pages)."""
    seen: list[dict[str, Any]] = []
    page = path
    for _ in range(10):
        reply = api.get(page)
        assert reply.status == 200, reply
        seen.extend(reply.body["comments"])
        if not reply.body["next"]:
            break
        page = f"{path}&cursor={reply.body['next']}"
    return seen


def test_page_through_all(api: Api, room: str, posted: list[dict[str, Any]]) -> None:
    # 30 comments in pages of 7 need 5 pages
    assert _read_pages(api, f"/rooms/{room}/comments?all=true&limit=7") == _newest_first(posted)


def test_position_range_in_position_order(api: Api, room: str, posted: list[dict[str, Any]]) -> None:
    expected = sorted((c for c in posted if 9 <= c["position"] <= 30), key=lambda c: c["position"])
    seen = _read_pages(api, f"/rooms/{room}/comments?from=9&to=30&limit=5")
    assert seen == expected
    assert len(seen) == 15


def test_user_comments_newest_first(api: Api, room: str, posted: list[dict[str, Any]]) -> None:
    name = f"{USERS[1]}-{room}"
    reply = api.get(f"/users/{quote(name)}/comments")
    assert reply.status == 200
    assert reply.body["comments"] == _newest_first([c for c in posted if c["name"] == name])
    assert reply.body["next"] is None


def test_idempotency_key_stores_once(api: Api, room: str, posted: list[dict[str, Any]]) -> None:
    body = {"name": f"dave-{room}", "comment": "only once", "position": 1}
    headers = {"Idempotency-Key": f"key-{room}"}
    first = api.post(f"/rooms/{room}/comments", body, headers=headers)
    again = api.post(f"/rooms/{room}/comments", body, headers=headers)
    assert first.status == again.status == 201
    assert again.body == first.body
    changed = api.post(f"/rooms/{room}/comments", {**body, "comment": "different"}, headers=headers)
    assert changed.status == 422, changed
    assert api.get(f"/users/dave-{room}/comments").body["comments"] == [first.body]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/rooms/{room}/comments", {"name": "x"}, 400),  # missing fields (API Gateway's model)
        ("POST", "/rooms/{room}/comments", {"name": "x", "comment": "y", "position": -1}, 400),
        ("POST", "/rooms/{room}/comments", {"name": "x", "comment": "y", "position": 1, "extra": 1}, 400),
        ("POST", "/rooms/{room}/comments", b"{not json", 400),
        ("POST", "/rooms/bad%20room!/comments", {"name": "x", "comment": "y", "position": 1}, 400),
        ("GET", "/rooms/{room}/comments?limit=0", None, 400),
        ("GET", "/rooms/{room}/comments?limit=101", None, 400),
        ("GET", "/rooms/{room}/comments?from=5", None, 400),
        ("GET", "/rooms/{room}/comments?from=9&to=1", None, 400),
        ("GET", "/rooms/{room}/comments?all=true&cursor=forged", None, 400),
        ("GET", "/rooms/{room}/comments?cursor=abc", None, 400),
        ("GET", "/users/{room}/comments?limit=abc", None, 400),
        ("GET", "/no/such/route", None, 403),  # API Gateway answers unknown paths itself
        ("DELETE", "/rooms/{room}/comments", None, 403),
    ],
)
def test_bad_requests_get_4xx_json(api: Api, room: str, method: str, path: str, body: Any, status: int) -> None:  # noqa: PLR0917
    raw = body if isinstance(body, bytes) else None
    reply = api.request(method, path.format(room=room), None if raw else body, raw=raw)
    assert reply.status == status, reply
    assert isinstance(reply.body, dict) and isinstance(reply.body.get("message"), str), reply


def test_cursor_of_another_query_is_rejected(api: Api, room: str, posted: list[dict[str, Any]]) -> None:
    cursor = api.get(f"/rooms/{room}/comments?all=true&limit=2").body["next"]
    reply = api.get(f"/rooms/{room}/comments?from=0&to=10&cursor={cursor}")
    assert reply.status == 400
    assert "different query" in reply.body["message"]


def test_stream_consumer_counts_comments(api: Api, room: str, posted: list[dict[str, Any]]) -> None:
    # One more comment came from the idempotency test when it ran first; count what the room holds.
    expected = len(api.get(f"/rooms/{room}/comments?all=true&limit=100").body["comments"])
    deadline = time.monotonic() + 60
    stats: dict[str, Any] = {}
    while time.monotonic() < deadline:
        stats = api.get(f"/rooms/{room}/stats").body
        if stats.get("comment_count") == expected:
            break
        time.sleep(1)
    assert stats == {"room": room, "comment_count": expected}


def test_stats_of_an_empty_room(api: Api) -> None:
    reply = api.get(f"/rooms/empty-{uuid.uuid4().hex[:8]}/stats")
    assert reply.status == 200
    assert reply.body["comment_count"] == 0


def test_the_deployed_api_invokes_the_live_alias_of_a_published_version(deployment: Deployment, api: Api) -> None:
    """The wiring SnapStart needs in prod, deployed and served here (the sandbox has no SnapStart itself)."""
    stack = deployment.stack("Chat")
    resources = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for page in local_client("cloudformation", stack.region)
        .get_paginator("list_stack_resources")
        .paginate(StackName=stack.stack_name)
        for r in page["StackResourceSummaries"]
    }
    (function_id,) = [
        k
        for k, r in stack.template["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"]["Handler"] == "chat_api.handler.handler"
    ]
    alias = local_client("lambda", stack.region).get_alias(FunctionName=resources[function_id], Name=LIVE_ALIAS)
    assert alias["FunctionVersion"].isdigit()  # a published version, not $LATEST
    (api_id,) = [
        resources[k] for k, r in stack.template["Resources"].items() if r["Type"] == "AWS::ApiGateway::RestApi"
    ]
    gateway = local_client("apigateway", stack.region)
    uris = [
        gateway.get_integration(restApiId=api_id, resourceId=resource["id"], httpMethod=method)["uri"]
        for resource in gateway.get_resources(restApiId=api_id, limit=500)["items"]
        for method in resource.get("resourceMethods", {})
        if method != "OPTIONS"
    ]
    assert len(uris) == 4 and all(uri.endswith(f"/functions/{alias['AliasArn']}/invocations") for uri in uris)
