"""The chat handler's cold start before and after a change, in rounds that alternate the two, and with SnapStart.

Each round runs `bench.handler.lambda_cold` on the baseline's chat/runtime/chat_api, then on the working tree's, then
`bench.handler.snapstart_emulated` on the working tree's, so a loaded machine's slow minutes hit both sides; the
report gives each round's ratios and their medians (claims rest on the worst round).

python -m bench.coldstart [--rounds 4] [--runs 10] [--baseline REV]   # writes reports/coldstart-YYYY-MM-DD.{md,json}
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench import handler
from tests.support.synth import ROOT, Synthesized, read_assembly

RATIOS = (
    ("ratio_import_to_boto3", "import / boto3 import, wall"),
    ("ratio_cold_request_to_floor", "cold request / floor, wall"),
    ("ratio_import_to_boto3_cpu", "import / boto3 import, CPU"),
    ("ratio_cold_request_to_floor_cpu", "cold request / floor, CPU"),
)


def measure(synth: Synthesized, baseline: Path, rounds: int, runs: int) -> dict[str, Any]:
    result: dict[str, Any] = {"rounds": rounds, "runs": runs, "before": [], "after": [], "snapstart": []}
    for _ in range(rounds):
        result["before"].append(handler.lambda_cold(synth, runs, baseline))
        result["after"].append(handler.lambda_cold(synth, runs))
        result["snapstart"].append(handler.snapstart_emulated(synth, 2))
    return result


def _row(label: str, values: list[float]) -> str:
    rounds = ", ".join(f"{v:.2f}" for v in values)
    return f"| {label} | **{statistics.median(values):.2f}x** | {min(values):.2f}-{max(values):.2f} | {rounds} |"


def render(r: dict[str, Any], baseline_rev: str) -> str:
    lines = [
        f"# Chat handler cold start, {r['date']}\n",
        f"`python -m bench.coldstart --rounds {r['rounds']} --runs {r['runs']} --baseline {baseline_rev}` on "
        f"{r['machine']}. Each round: `lambda_cold` ({r['runs']} fresh interpreters of each kind, as Lambda runs the "
        f"function: its packages only, tracing on) on chat/runtime/chat_api at `{baseline_rev}` (before), then on this "
        "tree (after), then the SnapStart emulation (two snapshots, five restores each, of the handler and of a "
        "bare boto3 client). Wall times move with the machine's load; CPU time (the interpreter's own) does much "
        "less. Methods and what the emulation cannot stand for: docs/benchmarks.md.\n",
        "| ratio | median of rounds | range | each round |\n|---|---|---|---|",
    ]
    for side in ("before", "after"):
        for key, label in RATIOS:
            lines.append(_row(f"{side}: {label}", [row[key] for row in r[side]]))
    for clock in ("wall", "cpu"):
        ratios = [row[clock]["ratio_restored_request_to_floor"] for row in r["snapstart"]]
        lines.append(_row(f"SnapStart (emulated): restored first request / restored GetItem, {clock}", ratios))
    lines.append(
        _row(
            "SnapStart (emulated): pages the restored first request writes / the GetItem's",
            [row["pages"]["ratio"] for row in r["snapstart"]],
        )
    )
    after, snap = r["after"], r["snapstart"]
    lines += [
        "",
        "| after, medians of rounds (ms) | wall | CPU |\n|---|---|---|",
        f"| handler import | {statistics.median(x['handler_import_median_ms'] for x in after):.0f} | "
        f"{statistics.median(x['handler_import_cpu_median_ms'] for x in after):.0f} |",
        f"| boto3 import (the floor's) | {statistics.median(x['boto3_import_median_ms'] for x in after):.0f} | "
        f"{statistics.median(x['floor_import_cpu_median_ms'] for x in after):.0f} |",
        f"| cold request (import + first request) | "
        f"{statistics.median(x['handler_import_and_first_request_median_ms'] for x in after):.0f} | |",
        f"| floor (import boto3, client, GetItem) | "
        f"{statistics.median(x['floor_import_and_first_request_median_ms'] for x in after):.0f} | |",
        f"| SnapStart: restored first request | "
        f"{statistics.median(x['wall']['handler_first_request_median_ms'] for x in snap):.0f} | "
        f"{statistics.median(x['cpu']['handler_first_request_median_ms'] for x in snap):.0f} |",
        f"| SnapStart: restored bare GetItem | "
        f"{statistics.median(x['wall']['floor_first_request_median_ms'] for x in snap):.0f} | "
        f"{statistics.median(x['cpu']['floor_first_request_median_ms'] for x in snap):.0f} |",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--baseline", default="17fea12", help="git revision of the 'before' chat/runtime/chat_api")
    parser.add_argument("--cdk-out", type=Path, default=ROOT / "cdk.out", help="synthesized app (make synth)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="coldstart-") as work:
        baseline = handler.baseline_bundle(args.baseline, Path(work))
        if baseline is None:
            raise SystemExit(f"error: no chat/runtime/chat_api at {args.baseline}")
        result = measure(read_assembly(args.cdk_out), baseline, args.rounds, args.runs)
    today = dt.date.today().isoformat()
    result.update(
        date=today,
        machine=f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end, {platform.platform()}",
    )
    out = ROOT / "reports" / f"coldstart-{today}"
    out.with_suffix(".json").write_text(json.dumps(result, indent=1))
    out.with_suffix(".md").write_text(render(result, args.baseline))
    print(out.with_suffix(".md"))


if __name__ == "__main__":
    main()
