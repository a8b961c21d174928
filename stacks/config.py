"""Stages as typed, validated data.

Every setting that differs between stages lives here. `load_stage` is the only way in: it merges
optional overrides (dotted keys, e.g. from `-c chat.throttle_rate_limit=50`) into a known stage and
validates the result, so an invalid value fails before any construct is built, with a message that
names the field and the allowed range.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

RemovalMode = Literal["destroy", "retain", "snapshot"]
# The values CloudWatch Logs accepts for a retention period (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)


class ConfigError(ValueError):
    """An invalid stage configuration; the message names the field and what is allowed."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


def _check_retention(days: int, field: str) -> None:
    if days not in LOG_RETENTION_DAYS:
        raise ValueError(f"{field}: must be one of {', '.join(map(str, LOG_RETENTION_DAYS))} (days), got {days}")


class ChatConfig(_Model):
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
        _check_retention(self.log_retention_days, "log_retention_days")
        if self.throttle_burst_limit < self.throttle_rate_limit:
            raise ValueError(
                f"throttle_burst_limit: must be >= throttle_rate_limit ({self.throttle_rate_limit}), got {self.throttle_burst_limit}"
            )
        if self.post_rate_limit > self.throttle_rate_limit:
            raise ValueError(
                f"post_rate_limit: must be <= throttle_rate_limit ({self.throttle_rate_limit}), got {self.post_rate_limit}"
            )
        if self.post_burst_limit > self.throttle_burst_limit:
            raise ValueError(
                f"post_burst_limit: must be <= throttle_burst_limit ({self.throttle_burst_limit}), got {self.post_burst_limit}"
            )
        for origin in self.cors_allow_origins:
            if origin != "*" and not origin.startswith("https://") and not origin.startswith("http://localhost"):
                raise ValueError(f"cors_allow_origins: entries must be https:// origins or http://localhost, got {origin!r}")
        return self


class StageConfig(_Model):
    """One deployment stage: where it goes, how it treats data, and each stack's settings."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{1,20}$")
    region: str = Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    availability_zones: tuple[str, ...] = Field(min_length=2, max_length=6)
    removal: RemovalMode = Field(description="what happens to data when a stateful resource leaves the stack")
    deletion_protection: bool
    alarm_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    chat: ChatConfig

    @model_validator(mode="after")
    def _rules(self) -> StageConfig:
        for az in self.availability_zones:
            if not az.startswith(self.region) or len(az) != len(self.region) + 1:
                raise ValueError(f"availability_zones: {az!r} is not a zone of region {self.region!r}")
        if len(set(self.availability_zones)) != len(self.availability_zones):
            raise ValueError("availability_zones: must not repeat a zone")
        if self.deletion_protection and self.removal == "destroy":
            raise ValueError("removal: 'destroy' contradicts deletion_protection=true; allowed: 'retain' or 'snapshot'")
        return self


STAGES: dict[str, dict[str, Any]] = {
    # Cheap and disposable: everything goes away with the stack.
    "sandbox": {
        "name": "sandbox",
        "region": "eu-west-1",
        "availability_zones": ("eu-west-1a", "eu-west-1b"),
        "removal": "destroy",
        "deletion_protection": False,
        "chat": {
            "throttle_rate_limit": 50,
            "throttle_burst_limit": 100,
            "post_rate_limit": 20,
            "post_burst_limit": 40,
            "cors_allow_origins": ("http://localhost:3000",),
            "log_retention_days": 7,
            "execution_log_level": "INFO",
        },
    },
    # Keeps data, protects it from deletion, throttles writes harder and alarms earlier.
    "prod": {
        "name": "prod",
        "region": "eu-west-1",
        "availability_zones": ("eu-west-1a", "eu-west-1b", "eu-west-1c"),
        "removal": "retain",
        "deletion_protection": True,
        "chat": {
            "throttle_rate_limit": 500,
            "throttle_burst_limit": 1_000,
            "post_rate_limit": 100,
            "post_burst_limit": 200,
            "log_retention_days": 365,
            "execution_log_level": "ERROR",
            "stream_retry_attempts": 5,
            "stream_max_record_age_s": 21_600,
            "waf_enabled": True,
            "alarm_5xx_threshold": 1,
            "alarm_latency_p99_ms": 1_000,
        },
    },
}


def _coerce(value: Any) -> Any:
    """Context values from the CLI arrive as strings; read JSON where it parses (numbers, lists, booleans)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _set_dotted(target: dict[str, Any], dotted: str, value: Any) -> None:
    *sections, leaf = dotted.split(".")
    node = target
    for section in sections:
        child = node.get(section, {})
        if not isinstance(child, Mapping):
            raise ConfigError(f"Invalid override {dotted!r}: {section!r} is a value, not a section")
        node[section] = dict(child)
        node = node[section]
    node[leaf] = _coerce(value)


_FIELD_PREFIX = re.compile(r"^(?P<field>[a-z_]+): (?P<rest>.*)$", re.DOTALL)


def _format_error(stage: str, error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        loc = [str(p) for p in item["loc"]]
        message = item["msg"].removeprefix("Value error, ")
        prefixed = _FIELD_PREFIX.match(message)
        if prefixed:  # a cross-field rule names its own field
            loc.append(prefixed["field"])
            message = prefixed["rest"]
        elif item["type"] != "missing":
            message += f" (got {item['input']!r})"
        problems.append(f"{'.'.join(loc)}: {message}")
    return f"Invalid configuration for stage {stage!r}: " + "; ".join(problems)


def load_stage(name: str, overrides: Mapping[str, Any] | None = None) -> StageConfig:
    """Return the validated config of stage `name`, with dotted-key `overrides` applied."""
    if name not in STAGES:
        raise ConfigError(f"Unknown stage {name!r}; known stages: {', '.join(sorted(STAGES))}")
    raw: dict[str, Any] = {k: dict(v) if isinstance(v, dict) else v for k, v in STAGES[name].items()}
    for key, value in (overrides or {}).items():
        _set_dotted(raw, key, value)
    try:
        return StageConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_format_error(name, error)) from None
