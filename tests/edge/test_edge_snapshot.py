"""Snapshots of the edge stacks per stage, normalized for asset hashes (update: pytest --snapshot-update)."""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.support.snapshot import normalize
from tests.support.synth import Synthesized, stack_keys

# The edge stacks each stage has (the us-east-1 one only where a web ACL is created).
EDGE_KEYS = sorted(key for key in stack_keys() if key.split("/")[1] in ("EdgeFunctions", "Edge"))


@pytest.mark.parametrize("key", EDGE_KEYS, ids=[key.replace("/", "-") for key in EDGE_KEYS])
def test_edge_templates_match_snapshot(synth: Synthesized, key: str, snapshot: SnapshotAssertion) -> None:
    assert normalize(synth.templates[key]) == snapshot.use_extension(JSONSnapshotExtension)
