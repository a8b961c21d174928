"""The chat handlers wired to local servers, with helpers to call routes and inspect the tables."""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from tests.support.events import ROUTES, FakeLambdaContext, rest_event

COMMENTS, STATS, IDEMPOTENCY = "DataComments205BAF48", "DataRoomStats98CA9737", "DataIdempotency4AE02808"


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
