"""Settings of the chat API stack."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from stacks.config_base import ConfigModel, check_retention


class ChatConfig(ConfigModel):
    """The chat API stack (API Gateway -> Lambda -> DynamoDB)."""

    throttle_rate_limit: int = Field(ge=1, le=10_000, description="steady requests/s for the whole API stage")
    throttle_burst_limit: int = Field(ge=1, le=5_000, description="burst for the whole API stage")
    post_rate_limit: int = Field(ge=1, le=10_000, description="steady POST requests/s (writes cost more)")
    post_burst_limit: int = Field(ge=1, le=5_000)
    cors_allow_origins: tuple[str, ...] = Field(default=(), max_length=20)
    lambda_memory_mb: int = Field(default=512, ge=128, le=10_240)
    lambda_timeout_s: int = Field(default=10, ge=1, le=29, description="below API Gateway's 29 s limit")
    reserved_concurrency: int | None = Field(default=None, ge=1, le=1_000)
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

    @model_validator(mode="after")
    def _rules(self) -> ChatConfig:
        check_retention(self.log_retention_days, "log_retention_days")
        if self.throttle_burst_limit < self.throttle_rate_limit:
            raise ValueError(
                f"throttle_burst_limit: must be >= throttle_rate_limit ({self.throttle_rate_limit}), "
                f"got {self.throttle_burst_limit}"
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
        for origin in self.cors_allow_origins:
            if origin != "*" and not origin.startswith("https://") and not origin.startswith("http://localhost"):
                raise ValueError(
                    f"cors_allow_origins: entries must be https:// origins or http://localhost, got {origin!r}"
                )
        return self
