"""Assertions shared by the stage-config validation tests of every architecture."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from stacks.config import ConfigError, load_stage


def assert_rejected(overrides: Mapping[str, object], field: str, rule: str, stage: str = "sandbox") -> None:
    """`overrides` must fail validation with one message that names `field` and states `rule`."""
    with pytest.raises(ConfigError) as raised:
        load_stage(stage, overrides)
    message = str(raised.value)
    assert message.startswith(f"Invalid configuration for stage '{stage}': "), message
    assert f" {field}: " in message, message
    assert rule in message, message
