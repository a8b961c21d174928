"""The one place that reads the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    stats_table: str
    event_marker_ttl_s: int
    room_shards: int = 1

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        if not env.get("STATS_TABLE"):
            raise RuntimeError("chat_stream is missing environment variable STATS_TABLE")
        return cls(
            stats_table=env["STATS_TABLE"],
            event_marker_ttl_s=int(env.get("EVENT_MARKER_TTL_S", "86400")),
            room_shards=int(env.get("ROOM_SHARDS", "1")),
        )
