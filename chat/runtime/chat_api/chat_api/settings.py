"""The one place that reads the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    comments_table: str
    room_time_index: str
    room_position_index: str
    stats_table: str
    idempotency_table: str
    idempotency_ttl_s: int
    cursor_secret_arn: str
    cors_allow_origins: tuple[str, ...]
    room_shards: int = 1
    view_max_lag_ms: int = 10_000

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        missing = [
            name
            for name in (
                "COMMENTS_TABLE",
                "ROOM_TIME_INDEX",
                "ROOM_POSITION_INDEX",
                "STATS_TABLE",
                "IDEMPOTENCY_TABLE",
                "CURSOR_SECRET_ARN",
            )
            if not env.get(name)
        ]
        if missing:
            raise RuntimeError(f"chat_api is missing environment variables: {', '.join(missing)}")
        return cls(
            comments_table=env["COMMENTS_TABLE"],
            room_time_index=env["ROOM_TIME_INDEX"],
            room_position_index=env["ROOM_POSITION_INDEX"],
            stats_table=env["STATS_TABLE"],
            idempotency_table=env["IDEMPOTENCY_TABLE"],
            idempotency_ttl_s=int(env.get("IDEMPOTENCY_TTL_S", "3600")),
            cursor_secret_arn=env["CURSOR_SECRET_ARN"],
            cors_allow_origins=tuple(o for o in env.get("CORS_ALLOW_ORIGINS", "").split(",") if o),
            room_shards=int(env.get("ROOM_SHARDS", "1")),
            view_max_lag_ms=int(env.get("VIEW_MAX_LAG_MS", "10000")),
        )
