"""What the chat does, independent of HTTP and of DynamoDB."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chat_api.cursor import CursorCodec
from chat_api.entities import DEFAULT_LATEST, DEFAULT_PAGE, Comment, Page
from chat_api.repository import CommentRepository

if TYPE_CHECKING:  # the request models (pydantic): imported by the handler, and only for requests that need them
    from chat_api.models import ListQuery, NewComment, UserQuery


def utc_now_ms() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    return uuid.uuid4().hex


class CommentService:
    def __init__(
        self,
        repository: CommentRepository,
        cursors: Callable[[], CursorCodec],
        *,
        clock: Callable[[], str] = utc_now_ms,
        ids: Callable[[], str] = new_id,
    ) -> None:
        self._repo = repository
        self._cursors = cursors  # called only when a listing pages: "latest" and posts never need the key
        self._clock = clock
        self._ids = ids

    def post(self, room: str, new: NewComment) -> Comment:
        comment = Comment(
            id=self._ids(), room=room, name=new.name, comment=new.comment, position=new.position, time=self._clock()
        )
        self._repo.put(comment)
        return comment

    def list_room(self, room: str, query: ListQuery) -> dict[str, Any]:
        """Every comment (`all`, paged) or a position range (paged); `latest` serves the default listing."""
        # "v2": continuation states of the sharded layout; a cursor issued before it is refused with a 400.
        if query.is_range:
            assert query.from_ is not None and query.to is not None
            scope = f"v2|range|{room}|{query.from_}|{query.to}"
            page = self._repo.room_positions(
                room, query.from_, query.to, query.limit or DEFAULT_PAGE, self._start(scope, query.cursor)
            )
        else:
            assert query.all
            scope = f"v2|all|{room}"
            page = self._repo.room_newest_first(room, query.limit or DEFAULT_PAGE, self._start(scope, query.cursor))
        return self._page_json(scope, page)

    def latest(self, room: str, limit: int | None) -> tuple[dict[str, Any], str]:
        """The newest comments (one page, no cursor) and where they came from: "view" or "index"."""
        comments, source = self._repo.room_latest(room, limit or DEFAULT_LATEST)
        return {"comments": [c.to_json() for c in comments]}, source

    def list_user(self, name: str, query: UserQuery) -> dict[str, Any]:
        scope = f"user|{name}"
        page = self._repo.user_newest_first(name, query.limit or DEFAULT_PAGE, self._start(scope, query.cursor))
        return self._page_json(scope, page)

    def room_stats(self, room: str) -> dict[str, Any]:
        return {"room": room, "comment_count": self._repo.room_comment_count(room)}

    def _start(self, scope: str, cursor: str | None) -> dict[str, Any] | None:
        return self._cursors().decode(scope, cursor) if cursor else None

    def _page_json(self, scope: str, page: Page) -> dict[str, Any]:
        return {
            "comments": [c.to_json() for c in page.comments],
            "next": self._cursors().encode(scope, page.last_key) if page.last_key else None,
        }
