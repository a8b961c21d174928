"""What `make synth` prints after the CLI: each stage's stacks, in deploy order, and where their templates are.

    python -m tools.cdk_stage.summary [ASSEMBLY]      # default: cdk.out

Every stack of this app lives in a stage, so a bare `cdk synth` ends with "Supply a stack id () to display its
template." (it selects top-level stacks only: none). The Makefile selects them all ('**'), so the CLI names them and
prints their warnings; this adds what a newcomer looks for next. It reads the assembly only: no second synth.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tools.cdk_stage import assembly

NEXT = (
    "Next: make test (the whole suite), make diff (what your edits change, offline), "
    "make deploy STAGE=sandbox (AWS credentials)."
)


def summary(outdir: Path) -> str:
    stacks = assembly.read_assembly(outdir)
    stages = list(dict.fromkeys(s.stage for s in stacks))
    rows = [("stage", "stack", "region", "resources", "template")]
    for stage in stages:
        rows += [
            (s.stage, s.stack_id, s.region, str(len(s.template.get("Resources", {}))), _shown(s.template_file))
            for s in stacks
            if s.stage == stage
        ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = [
        f"Synthesized {len(stacks)} stacks of {len(stages)} stages ({', '.join(stages)}) into {_shown(outdir)}, "
        "each stage's in deploy order:"
    ]
    for row in rows:
        cells = [
            cell.rjust(w) if i == 3 else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=False))
        ]
        lines.append("  " + "  ".join([*cells, row[-1]]))
    lines.append(NEXT)
    return "\n".join(lines)


def _shown(path: Path) -> str:
    """Relative to the working directory when inside it (what `make` prints), absolute otherwise."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def main(argv: list[str]) -> int:
    outdir = Path(argv[0] if argv else "cdk.out")
    try:
        print(summary(outdir))
    except assembly.SelectionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
