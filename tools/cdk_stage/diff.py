"""Offline `make diff`: every stack of every stage as the app stands now, against a git revision or a folder.

    python -m tools.cdk_stage.diff --git HEAD          # what do my uncommitted edits change?
    python -m tools.cdk_stage.diff --git main~3        # what changed since three commits ago?
    python -m tools.cdk_stage.diff --templates DIR     # against a cloud assembly you kept

Needs no AWS account: `cdk diff --app DIR --template FILE --exclusively STACK` compares files only, one
stack per call (the CLI compares one stack with a fixed template; `--exclusively` keeps a stack's
dependencies out). Stacks whose templates are identical are reported without calling the CLI.
Exit codes: 0 compared (differences or not); 1 differences with --fail; 2 the comparison failed.
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

from tools.cdk_stage import assembly, cdk
from tools.cdk_stage.assembly import StackArtifact

ROOT = cdk.ROOT


class DiffError(RuntimeError):
    """The comparison could not be made; the message says why."""


def synth_all(cwd: Path, outdir: Path) -> None:
    run = subprocess.run(
        [cdk.executable(), "synth", "--quiet", "--output", str(outdir)],
        cwd=cwd,
        env={**os.environ, "CDK_DISABLE_CLI_TELEMETRY": "true"},
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode:
        sys.stdout.write(run.stdout + run.stderr)
        raise DiffError(f"cdk synth in {cwd} failed (exit {run.returncode})")


@contextmanager
def revision_checkout(revision: str) -> Iterator[Path]:
    """A detached worktree of `revision` sharing this checkout's venv and node_modules."""
    with tempfile.TemporaryDirectory(prefix="cdk-diff-") as tmp:
        tree = Path(tmp) / "tree"
        added = subprocess.run(
            ["git", "worktree", "add", "--quiet", "--detach", str(tree), revision],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if added.returncode:
            raise DiffError(f"cannot check out revision '{revision}': {added.stderr.strip().splitlines()[-1]}")
        try:
            for shared in (".venv", "node_modules"):
                os.symlink(ROOT / shared, tree / shared)
            yield tree
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)


def compare(current: list[StackArtifact], baseline: list[StackArtifact], app: Path, label: str) -> list[str]:
    """The display names of the stacks that differ from the baseline (new and removed ones included)."""
    base = {s.display_name: s for s in baseline}
    now = {s.display_name: s for s in current}
    differing = []
    for stack in current:
        old = base.get(stack.display_name)
        if old is None:
            print(f"\n=== {stack.display_name}: new (not in {label})")
            differing.append(stack.display_name)
            continue
        if json.loads(old.template_file.read_text()) == stack.template:
            print(f"\n=== {stack.display_name}: no differences (identical template)")
            continue
        print(f"\n=== {stack.display_name}")
        output = cdk.run(
            ["diff", "--app", str(app), "--template", str(old.template_file), "--exclusively", stack.display_name],
            tee=True,
        )
        if cdk.differences(output):
            differing.append(stack.display_name)
    for name in base.keys() - now.keys():
        print(f"\n=== {name}: removed (only in {label})")
        differing.append(name)
    return differing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.cdk_stage.diff", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--git", metavar="REV", help="compare with the app at this git revision")
    source.add_argument("--templates", metavar="DIR", type=Path, help="compare with a cloud assembly folder")
    parser.add_argument("--assembly", metavar="DIR", type=Path, help="the current app, already synthesized here")
    parser.add_argument("--fail", action="store_true", help="exit 1 when any stack differs")
    args = parser.parse_args(argv)
    label = f"revision {args.git}" if args.git else str(args.templates)
    try:
        app = (args.assembly or ROOT / "cdk.out").resolve()
        if not args.assembly:
            synth_all(ROOT, app)
        current = assembly.read_assembly(app)
        if args.templates:
            differing = compare(current, assembly.read_assembly(args.templates.resolve()), app, label)
        else:
            with revision_checkout(args.git) as tree:
                synth_all(tree, tree / "cdk.out")
                differing = compare(current, assembly.read_assembly(tree / "cdk.out"), app, label)
    except (DiffError, cdk.CliError, assembly.SelectionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if differing:
        print(f"\nmake diff: {len(differing)} of {len(current)} stack(s) differ from {label}: {', '.join(differing)}")
    else:
        print(f"\nmake diff: no differences from {label} ({len(current)} stacks)")
    return 1 if args.fail and differing else 0


if __name__ == "__main__":
    sys.exit(main())
