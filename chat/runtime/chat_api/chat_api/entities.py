"""Stored entities, the room id's format and the listing defaults: standard library only, so the default
"latest" read (most requests) imports no validation library (the request models are chat_api.models)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ROOM_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
DEFAULT_LATEST = 25
DEFAULT_PAGE = 100


@dataclass(frozen=True)
class Comment:
    """A stored comment."""

    id: str
    room: str
    name: str
    comment: str
    position: float
    time: str  # ISO-8601, UTC, millisecond precision

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "room": self.room,
            "name": self.name,
            "comment": self.comment,
            "position": self.position,
            "time": self.time,
        }


@dataclass(frozen=True)
class Page:
    """One page of comments and, when more follow, the repository key to continue from."""

    comments: list[Comment]
    last_key: dict[str, Any] | None
