"""The committed diagrams (docs/diagrams, `make diagrams`) are those of the app as it is now.

The check compares the DOT text cdk-dia draws from the session's synthesized construct tree with the
committed .dot files: text, identical on every machine, so the test needs no Graphviz and cannot flake on
fonts. `make diagrams` renders each PNG from the .dot it writes beside it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from stacks.config import STAGES
from tests.support.synth import ROOT, Synthesized, stack_keys

DIAGRAMS = ROOT / "docs" / "diagrams"
NAMES = sorted([*STAGES, *(key.replace("/", "-") for key in stack_keys())])


def _check(synth: Synthesized, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", "scripts/diagrams.cjs", str(synth.outdir / "tree.json"), str(folder), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def copy_of_diagrams(tmp_path: Path) -> Path:
    folder = tmp_path / "diagrams"
    shutil.copytree(DIAGRAMS, folder)
    return folder


def test_there_is_one_diagram_per_stage_and_per_stack() -> None:
    assert sorted(p.stem for p in DIAGRAMS.glob("*.dot")) == NAMES
    assert sorted(p.stem for p in DIAGRAMS.glob("*.png")) == NAMES


def test_committed_diagrams_are_current(synth: Synthesized) -> None:
    result = _check(synth, DIAGRAMS)
    assert result.returncode == 0, result.stderr
    assert f"{len(NAMES)} diagrams are current" in result.stdout


def test_a_stale_diagram_fails_the_check(synth: Synthesized, copy_of_diagrams: Path) -> None:
    stale = copy_of_diagrams / "sandbox-Chat.dot"
    stale.write_text(stale.read_text().replace('"sandbox/Chat/Data/Comments"', '"sandbox/Chat/Data/Messages"', 1))
    result = _check(synth, copy_of_diagrams)
    assert result.returncode == 1
    assert f"stale: {stale}" in result.stderr
    assert "run `make diagrams`" in result.stderr


def test_a_missing_or_extra_diagram_fails_the_check(synth: Synthesized, copy_of_diagrams: Path) -> None:
    (copy_of_diagrams / "prod-Web.png").unlink()
    (copy_of_diagrams / "qa.dot").write_text("digraph {}\n")
    result = _check(synth, copy_of_diagrams)
    assert result.returncode == 1
    assert f"missing: {copy_of_diagrams / 'prod-Web.png'}" in result.stderr
    assert f"no such stage or stack: {copy_of_diagrams / 'qa.dot'}" in result.stderr


def test_dot_files_name_icons_relative_to_the_project() -> None:
    """Absolute paths would make the text differ between machines (and the check flaky)."""
    for dot in DIAGRAMS.glob("*.dot"):
        text = dot.read_text()
        assert 'image = "node_modules/cdk-dia/icons/' in text
        assert 'image = "/' not in text and str(ROOT) not in text
