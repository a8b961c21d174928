"""Settings of the chat API stack."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from stage.config_base import ConfigModel, check_retention

# One index partition takes 1,000 write units/s; a comment under 1 KB costs one per index. 80% leaves
# headroom for bursts and larger comments (bench/chat_capacity.py models the rest).
ROOM_WRITES_PER_SHARD = 800
MAX_BURST = 5_000  # API Gateway's account-level burst quota per region (its steady quota is 10,000/s)
# The CloudWatch namespace of every chat function's business metrics (Powertools reads it from
# POWERTOOLS_METRICS_NAMESPACE; a function that publishes a metric without one fails its invocation).
METRICS_NAMESPACE = "ChatApp"


class ChatConfig(ConfigModel):
    """The chat API stack (API Gateway -> Lambda -> DynamoDB)."""

    throttle_rate_limit: int = Field(ge=1, le=10_000, description="steady requests/s for the whole API stage")
    throttle_burst_limit: int = Field(ge=1, le=MAX_BURST, description="burst for the whole API stage")
    post_rate_limit: int = Field(ge=1, le=10_000, description="steady POST requests/s (writes cost more)")
    post_burst_limit: int = Field(ge=1, le=MAX_BURST)
    cors_allow_origins: tuple[str, ...] = Field(default=(), max_length=20)
    # Chosen by measurement (make tune, reports/tune-*.md): the cheapest size whose warm p99 keeps the API's 50 ms
    # budget in every round (below 1,024 MB the CPU quota throttles the tail past it), the pick of the last three
    # runs (reports/memory-runs.json); a test keeps it there.
    lambda_memory_mb: int = Field(default=1024, ge=128, le=10_240)
    lambda_timeout_s: int = Field(default=10, ge=1, le=29, description="below API Gateway's 29 s limit")
    reserved_concurrency: int | None = Field(default=None, ge=1, le=1_000)
    snap_start: bool = Field(
        default=False,
        description="Lambda SnapStart on the API function: new environments restore a snapshot of the "
        "initialized one instead of initializing (caching and restore charges; bench/cost.py)",
    )
    log_retention_days: int = 30
    execution_log_level: Literal["ERROR", "INFO", "OFF"] = "ERROR"
    stream_batch_size: int = Field(default=100, ge=1, le=10_000)
    stream_retry_attempts: int = Field(default=3, ge=0, le=10_000)
    stream_max_record_age_s: int = Field(default=3_600, ge=60, le=604_800)
    waf_enabled: bool = False
    waf_rate_limit_per_5min: int = Field(default=2_000, ge=10, le=2_000_000_000)
    alarm_5xx_threshold: int = Field(default=5, ge=1, description="5xx responses in 5 minutes")
    alarm_latency_p99_ms: int = Field(default=2_000, ge=50, le=29_000)
    idempotency_ttl_s: int = Field(default=3_600, ge=60, le=86_400)
    # Hot rooms. The cap of 16 keeps a sharded listing's cursor inside chat_api's 8 KB (models.MAX_CURSOR).
    room_shards: int = Field(
        default=1,
        ge=1,
        le=16,
        description="index partitions per room (and counter items); raise only: readers merge shards 0..n-1",
    )
    hot_room_comments_per_s: int = Field(default=20, ge=1, le=100_000, description="what one room must hold")
    view_max_lag_s: int = Field(
        default=10, ge=1, le=3_600, description="older than this, a room's latest view counts as behind"
    )

    @model_validator(mode="after")
    def _rules(self) -> ChatConfig:
        check_retention(self.log_retention_days, "log_retention_days")
        self.refuse_unused({"waf_rate_limit_per_5min": (self.waf_enabled, "waf_enabled: true")})
        if self.throttle_burst_limit < min(self.throttle_rate_limit, MAX_BURST):
            raise ValueError(
                f"throttle_burst_limit: must be >= throttle_rate_limit ({self.throttle_rate_limit}) or API "
                f"Gateway's maximum burst ({MAX_BURST:,}), got {self.throttle_burst_limit}"
            )
        if self.post_rate_limit > self.throttle_rate_limit:
            raise ValueError(
                f"post_rate_limit: must be <= throttle_rate_limit ({self.throttle_rate_limit}), "
                f"got {self.post_rate_limit}"
            )
        if self.post_burst_limit > self.throttle_burst_limit:
            raise ValueError(
                f"post_burst_limit: must be <= throttle_burst_limit ({self.throttle_burst_limit}), "
                f"got {self.post_burst_limit}"
            )
        per_room = self.room_shards * ROOM_WRITES_PER_SHARD
        if self.hot_room_comments_per_s > per_room:
            needed = -(-self.hot_room_comments_per_s // ROOM_WRITES_PER_SHARD)
            raise ValueError(
                f"room_shards: {self.room_shards} shard(s) hold {per_room:,} comments/s in one room "
                f"({ROOM_WRITES_PER_SHARD} writes/s per index partition, 80% of DynamoDB's 1,000); "
                f"hot_room_comments_per_s {self.hot_room_comments_per_s:,} needs at least {needed}"
            )
        if self.hot_room_comments_per_s > self.post_rate_limit:
            raise ValueError(
                f"hot_room_comments_per_s: the API admits at most post_rate_limit ({self.post_rate_limit:,}) "
                f"POST/s, got {self.hot_room_comments_per_s:,}"
            )
        for origin in self.cors_allow_origins:
            if origin != "*" and not origin.startswith("https://") and not origin.startswith("http://localhost"):
                raise ValueError(
                    f"cors_allow_origins: entries must be https:// origins or http://localhost, got {origin!r}"
                )
        return self
