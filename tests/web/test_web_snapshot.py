"""Snapshots of the web stack per stage, normalized for asset hashes (update: pytest --snapshot-update)."""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from stage.config import STAGES
from tests.support.snapshot import normalize
from tests.support.synth import Synthesized


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_web_template_matches_snapshot(synth: Synthesized, stage: str, snapshot: SnapshotAssertion) -> None:
    assert normalize(synth.templates[f"{stage}/Web"]) == snapshot.use_extension(JSONSnapshotExtension)
