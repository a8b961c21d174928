"""Snapshots of the edge stacks per stage, normalized for asset hashes (update: pytest --snapshot-update)."""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from stacks.config import STAGES
from tests.support.snapshot import normalize
from tests.support.synth import Synthesized


@pytest.mark.parametrize("stack", ["EdgeFunctions", "Edge"])
@pytest.mark.parametrize("stage", sorted(STAGES))
def test_edge_templates_match_snapshot(synth: Synthesized, stage: str, stack: str, snapshot: SnapshotAssertion) -> None:
    assert normalize(synth.templates[f"{stage}/{stack}"]) == snapshot.use_extension(JSONSnapshotExtension)
