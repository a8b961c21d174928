"""Assertions shared by the stage-config validation tests of every architecture."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from stage.config import ConfigError, load_stage


def assert_rejected(overrides: Mapping[str, object], field: str, rule: str, stage: str = "sandbox") -> None:
    """`overrides` must fail validation with exactly one problem, which starts with `field` and states `rule`."""
    with pytest.raises(ConfigError) as raised:
        load_stage(stage, overrides)
    prefix = f"Invalid configuration for stage '{stage}': "
    (problem,) = raised.value.problems  # one invalid override, one problem: no collateral failures
    assert str(raised.value) == prefix + problem
    assert problem.startswith(f"{field}: "), problem
    assert rule in problem.removeprefix(f"{field}: "), problem
