"""Building blocks of the typed stage config, shared by every architecture's config section."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

RemovalMode = Literal["destroy", "retain", "snapshot"]
# The values CloudWatch Logs accepts for a retention period (days).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


@dataclass(frozen=True)
class StageFacts:
    """What a stack reads of its stage besides its own architecture's config (StageConfig.facts builds it): an
    architecture takes these and its own section, never the whole stage, so it imports no other architecture."""

    name: str
    region: str
    account: str | None
    availability_zones: tuple[str, ...]
    removal: RemovalMode  # what happens to data when a stateful resource leaves the stack
    deletion_protection: bool
    alarm_email: str | None
    alarm_email_parameter: str | None  # SSM parameter holding the address alarms mail


class ConfigError(ValueError):
    """An invalid stage configuration; the message names the field and what is allowed.

    `problems` holds one '<field>: <what is wrong>' per invalid field (empty for an unknown stage).
    """

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class ConfigModel(BaseModel):
    """Frozen, strict about unknown keys, validates defaults too."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    def refuse_unused(self, applies: dict[str, tuple[bool, str]]) -> None:
        """Each setting -> (whether the mode it belongs to is on, what turns it on): one given while its mode is off
        would be dropped without a word, so it is refused, naming what it needs."""
        for name, (used, needs) in applies.items():
            if name in self.model_fields_set and not used:
                raise ValueError(f"{name}: takes effect with {needs} only (set it, or leave {name} out)")


def check_retention(days: int, field: str) -> None:
    if days not in LOG_RETENTION_DAYS:
        raise ValueError(f"{field}: must be one of {', '.join(map(str, LOG_RETENTION_DAYS))} (days), got {days}")
