"""Request models (pydantic): imported by the requests that validate a body or a query, not by a cold default
"latest" read. Limits live here and in chat_api.limits; stored entities in chat_api.entities."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from chat_api.entities import ROOM_PATTERN
from chat_api.limits import COMMENT_MAX_LENGTH, MAX_POSITION, MIN_NONZERO_POSITION, NAME_MAX_LENGTH

# Letters of any script, digits and a few separators; it is also a URL path segment. The length is
# UserName's max_length, not a {0,63} bound here: pydantic-core compiles patterns with Rust's regex crate, where
# a counted repetition of Unicode \w compiles to one copy of the class per count (about 20-30 ms on the first
# request of every cold container here, vs 1 ms; "compilation of \w{256} is far too slow",
# https://github.com/BurntSushi/rebar/blob/9bac8479a550b229e93ea2a7ce71cb6067e05cb2/benchmarks/definitions/reported/i1095-word-repetition.toml).
NAME_PATTERN = r"^\w[\w .'@-]*$"
MAX_LIMIT = 100
# A sharded position listing's cursor holds a key per shard that ends a page on a tied position:
# 16 shards of 64-character names fit (chat/config.py caps room_shards at 16).
MAX_CURSOR = 8192

# Models build their validators on first use (pydantic's defer_build): a cold start pays only for the
# models its request needs.
RoomId = Annotated[str, StringConstraints(pattern=ROOM_PATTERN)]
UserName = Annotated[str, StringConstraints(min_length=1, max_length=NAME_MAX_LENGTH, pattern=NAME_PATTERN)]


def _storable(position: float) -> float:
    if 0 < position < MIN_NONZERO_POSITION:
        raise ValueError(f"must be 0 or at least {MIN_NONZERO_POSITION:g}, the smallest number DynamoDB stores")
    return position


Position = Annotated[float, Field(ge=0, le=MAX_POSITION, allow_inf_nan=False), AfterValidator(_storable)]


class NewComment(BaseModel):
    """Body of POST /rooms/{room}/comments."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)

    name: UserName
    comment: Annotated[str, StringConstraints(min_length=1, max_length=COMMENT_MAX_LENGTH, pattern=r"\S")]
    position: Position


class PathParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    room: RoomId | None = None
    name: UserName | None = None


class ListQuery(BaseModel):
    """Query string of GET /rooms/{room}/comments and /users/{name}/comments (strings, parsed)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)

    limit: int | None = Field(default=None, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(default=None, min_length=1, max_length=MAX_CURSOR)
    all: bool | None = None
    from_: Position | None = Field(default=None, alias="from")
    to: Position | None = None

    @model_validator(mode="after")
    def _combinations(self) -> ListQuery:
        # Each message starts with the parameter to fix, as field errors do.
        if (self.from_ is None) != (self.to is None):
            raise ValueError("to: required with 'from'" if self.to is None else "from: required with 'to'")
        if self.from_ is not None and self.to is not None and self.from_ > self.to:
            raise ValueError("from: must not be greater than 'to'")
        if self.all and self.from_ is not None:
            raise ValueError("all: cannot be combined with 'from'/'to'")
        if self.cursor and not (self.all or self.from_ is not None):
            raise ValueError("cursor: continues an 'all=true' or 'from'/'to' listing")
        return self

    @property
    def is_range(self) -> bool:
        return self.from_ is not None


class UserQuery(BaseModel):
    """Query string of GET /users/{name}/comments."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    limit: int | None = Field(default=None, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(default=None, min_length=1, max_length=2048)


class StatsQuery(BaseModel):
    """Query string of GET /rooms/{room}/stats: none (a parameter is refused, as on the other routes)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


# Every request model: what a SnapStart snapshot builds ahead of the first request (handler.before_snapshot).
REQUEST_MODELS: tuple[type[BaseModel], ...] = (NewComment, PathParams, ListQuery, UserQuery, StatsQuery)
