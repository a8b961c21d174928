"""The repository's tracked files, as the tests that read the tree see them."""

from __future__ import annotations

import subprocess

from tests.support.synth import ROOT


def tracked_files(*patterns: str) -> list[str]:
    """Tracked paths matching `patterns` (git pathspecs; all when none) that exist in the working tree."""
    listed = subprocess.run(["git", "ls-files", *patterns], cwd=ROOT, capture_output=True, text=True, check=True)
    return [path for path in listed.stdout.splitlines() if (ROOT / path).is_file()]
