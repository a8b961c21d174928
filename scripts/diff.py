#!/usr/bin/env python3
"""Offline `cdk diff`: the app as it is now against the templates of a git revision or of a folder.

    python scripts/diff.py --git HEAD          # what do my uncommitted edits change?
    python scripts/diff.py --git main~3        # what changed since three commits ago?
    python scripts/diff.py --templates DIR     # against templates you keep (e.g. a past cdk.out)

Needs no AWS credentials: `cdk diff --app cdk.out --template FILE STACK` compares files only.
Exits 1 when any stack differs (like `cdk diff --fail`), 0 when none does.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def stack_templates(assembly: Path) -> dict[str, Path]:
    """Display name ('sandbox/Chat') -> template file, across nested stage assemblies."""
    found: dict[str, Path] = {}
    manifest = json.loads((assembly / "manifest.json").read_text())
    for artifact in manifest.get("artifacts", {}).values():
        if artifact["type"] == "aws:cloudformation:stack":
            found[artifact.get("displayName", artifact["properties"]["templateFile"])] = (
                assembly / artifact["properties"]["templateFile"]
            )
        elif artifact["type"] == "cdk:cloud-assembly":
            found.update(stack_templates(assembly / artifact["properties"]["directoryName"]))
    return found


def synth(cwd: Path, outdir: Path) -> None:
    subprocess.run(["cdk", "synth", "--quiet", "--output", str(outdir)], cwd=cwd, check=True)


@contextmanager
def revision_checkout(revision: str) -> Iterator[Path]:
    """A detached worktree of `revision` sharing this checkout's venv and node_modules."""
    with tempfile.TemporaryDirectory(prefix="cdk-diff-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--quiet", "--detach", str(tree), revision], cwd=ROOT, check=True)
        try:
            for shared in (".venv", "node_modules"):
                os.symlink(ROOT / shared, tree / shared)
            yield tree
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)


def diff(current: dict[str, Path], baseline: dict[str, Path], app: Path) -> int:
    differs = 0
    for name in sorted(current):
        base = baseline.get(name)
        if base is None:
            print(f"\n=== {name}: new stack (not in the baseline)")
            differs = 1
            continue
        print(f"\n=== {name}")
        result = subprocess.run(
            ["cdk", "diff", "--app", str(app), "--template", str(base), "--fail", name], cwd=ROOT, check=False
        )
        differs |= 1 if result.returncode else 0
    for name in sorted(set(baseline) - set(current)):
        print(f"\n=== {name}: removed (only in the baseline)")
        differs = 1
    return differs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--git", metavar="REV", help="compare with the app at this git revision")
    source.add_argument("--templates", metavar="DIR", type=Path, help="compare with a cloud assembly folder")
    args = parser.parse_args()

    app = ROOT / "cdk.out"
    synth(ROOT, app)
    current = stack_templates(app)
    if args.templates:
        return diff(current, stack_templates(args.templates.resolve()), app)
    with revision_checkout(args.git) as tree:
        synth(tree, tree / "cdk.out")
        return diff(current, stack_templates(tree / "cdk.out"), app)


if __name__ == "__main__":
    sys.exit(main())
