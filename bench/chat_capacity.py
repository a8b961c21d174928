"""Capacity model of one hot chat room: write and read rates per DynamoDB partition. Pure functions.

The path of one comment at R comments/s into one room:
- the comments table (partition `name`): spread over the writers, one item each;
- each of the two room GSIs (partition `chat_room`, `room_shards` values per room): R / shards per
  index partition, one write per comment of its size in 1 KB units (DynamoDB's write unit);
- the stream consumer, per batch of records: one transactional marker per comment (random keys: spread),
  one counter update per transaction of up to 99 comments (on one of `room_shards` counter items), and
  per room per batch one consistent read plus one write of the room's view item (its size in KB units).
Stream batches: each stream shard invokes once per full batch or once per batching window, whichever
comes first, so the view item is written S * max(R / S / batch, 1 / window) times a second (S stream shards).
Limits (DynamoDB, per partition): 1,000 write units/s and 3,000 read units/s; a single item lives in one
partition, so a hot item is held to those limits however the table scales.
"""

from __future__ import annotations

import json
import math
import random
import zlib
from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import Any

PARTITION_WCU_PER_S = 1_000
PARTITION_RCU_PER_S = 3_000
TRANSACTION_ITEMS = 100
VIEW_SIZE = 25
_WORDS = ("the", "a", "goal", "what", "wow", "yes", "no", "lol", "replay", "look", "so", "good", "nice", "play")


@dataclass(frozen=True)
class RoomParams:
    comments_per_s: float = 10_000
    room_shards: int = 16
    stream_shards: int = 16  # ~ the comments table's partitions (assumption; see the report)
    batch_size: int = 1_000
    batching_window_s: float = 1.0
    name_chars: int = 12
    comment_chars: int = 60
    latest_reads_per_s: float = 0.0  # viewers polling "latest" in the room


def item_bytes(attributes: dict[str, Any]) -> int:
    """DynamoDB's item size: UTF-8 names plus values (strings UTF-8, binary raw, numbers ~1 byte per 2 digits)."""
    size = 0
    for name, value in attributes.items():
        size += len(name.encode())
        if isinstance(value, bytes):
            size += len(value)
        elif isinstance(value, bool):
            size += 1
        elif isinstance(value, int | float | Decimal):
            digits = len(str(Decimal(str(value)).normalize()).replace("-", "").replace(".", "").lstrip("0")) or 1
            size += math.ceil(digits / 2) + 1
        else:
            size += len(str(value).encode())
    return size


def _text(rng: random.Random, chars: int) -> str:
    words: list[str] = []
    while len(" ".join(words)) < chars:
        words.append(rng.choice(_WORDS))
    return " ".join(words)[:chars]


def comment_item(name_chars: int, comment_chars: int, shards: int) -> dict[str, Any]:
    return {
        "name": "n" * name_chars,
        "time": "2026-11-22T10:00:00.000Z#" + "f" * 32,
        "id": "f" * 32,
        "chat_room": "room-of-a-live-event" + (f"#{shards - 1}" if shards > 1 else ""),
        "comment": "c" * comment_chars,
        "position": Decimal("1234.567"),
    }


def view_item(name_chars: int, comment_chars: int, seed: int = 7) -> dict[str, Any]:
    """The view item as chat/runtime/chat_stream writes it, for 25 comments of the given sizes (chat-like text)."""
    rng = random.Random(seed)  # noqa: S311 - sample text, not security
    entries = [
        [
            f"2026-11-22T10:00:{i:02d}.{rng.randrange(1000):03d}Z#{rng.getrandbits(128):032x}",
            _text(rng, name_chars),
            _text(rng, comment_chars),
            f"{rng.uniform(0, 7200):.3f}",
        ]
        for i in range(VIEW_SIZE)
    ]
    blob = zlib.compress(json.dumps(entries, separators=(",", ":"), ensure_ascii=False).encode(), 6)
    return {"pk": "latest#room-of-a-live-event", "c": blob, "v": 123456, "complete": True, "lag_ms": 850}


def _units(size_bytes: int, unit: int) -> int:
    return max(1, math.ceil(size_bytes / unit))


def evaluate(p: RoomParams) -> dict[str, Any]:
    """Per-partition rates of the room at `comments_per_s`, each with its share of the partition limit."""
    comment_wcu = _units(item_bytes(comment_item(p.name_chars, p.comment_chars, p.room_shards)), 1024)
    view_bytes = item_bytes(view_item(p.name_chars, p.comment_chars))
    per_stream_shard = p.comments_per_s / p.stream_shards
    batches_per_shard = max(per_stream_shard / p.batch_size, 1 / p.batching_window_s) if per_stream_shard else 0
    view_writes = min(p.stream_shards * batches_per_shard, p.comments_per_s)
    transactions = p.comments_per_s / (TRANSACTION_ITEMS - 1)
    rates = {
        "index_partition_wcu": p.comments_per_s / p.room_shards * comment_wcu,
        "counter_item_wcu": transactions / p.room_shards * 2,  # transactional writes cost double
        "view_item_wcu": view_writes * _units(view_bytes, 1024),
        "view_item_rcu": view_writes * _units(view_bytes, 4096)  # consistent read before each write
        + p.latest_reads_per_s * 0.5 * _units(view_bytes, 4096),  # eventually consistent reads of "latest"
    }
    limits = {
        "index_partition_wcu": PARTITION_WCU_PER_S,
        "counter_item_wcu": PARTITION_WCU_PER_S,
        "view_item_wcu": PARTITION_WCU_PER_S,
        "view_item_rcu": PARTITION_RCU_PER_S,
    }
    utilization = {k: rates[k] / limits[k] for k in rates}
    return {
        "params": asdict(p),
        "comment_item_wcu": comment_wcu,
        "view_item_bytes": view_bytes,
        "view_writes_per_s": view_writes,
        "transactions_per_s": transactions,
        "marker_wcu_per_s": p.comments_per_s * 2,  # one transactional marker per comment, random keys
        "rates": rates,
        "utilization": utilization,
        "limits_exceeded": sorted(k for k, v in utilization.items() if v > 1),
        "latest_reads_per_s_limit": PARTITION_RCU_PER_S / (0.5 * _units(view_bytes, 4096)),
    }


def max_comments_per_s(p: RoomParams, high: float = 1_000_000) -> float:
    """The room's rate at which the first partition limit is reached (bisection)."""
    low = 1.0
    if evaluate(replace(p, comments_per_s=high))["limits_exceeded"] == []:
        return high
    for _ in range(60):
        mid = (low + high) / 2
        if evaluate(replace(p, comments_per_s=mid))["limits_exceeded"]:
            high = mid
        else:
            low = mid
    return low


def max_stream_shards(p: RoomParams, high: int = 100_000) -> int:
    """The most stream shards the view item takes at `comments_per_s` before its write limit (bisection)."""

    def over(shards: int) -> bool:
        return bool(evaluate(replace(p, stream_shards=shards))["utilization"]["view_item_wcu"] > 1)

    if over(1):
        return 0
    low = 1
    if not over(high):
        return high
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if over(mid) else (mid, high)
    return low


def longest_one_unit_comment(name_chars: int, shards: int) -> int:
    """The longest ASCII comment whose index entry still costs one write unit (under 1 KB)."""
    chars = 1
    while item_bytes(comment_item(name_chars, chars + 1, shards)) <= 1024:
        chars += 1
    return chars
