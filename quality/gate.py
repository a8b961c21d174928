"""The synth gate: `cdk synth` (and every command that synthesizes) stops on any unacknowledged finding."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def unacknowledged_findings(outdir: str | Path) -> list[str]:
    """Every unacknowledged finding (and failed rule pack) in the validation report that synthesis wrote to `outdir`.

    The CDK CLI asks the app not to fail on validation errors and reports them only for the stacks it
    selected, which for stacks inside stages is none; app.py fails on this list instead, so `cdk synth`
    (and every command that synthesizes) stops on any finding.
    """
    report_file = Path(outdir) / "validation-report.json"
    if not report_file.exists():
        return []
    lines = []
    for plugin in json.loads(report_file.read_text()).get("pluginReports", []):
        error = plugin.get("metadata", {}).get("error")
        if error:
            lines.append(f"{plugin['pluginName']} could not run: {error}")
        for violation in plugin.get("violations", []):
            for construct in violation.get("violatingConstructs", []):
                lines.append(
                    f"{violation['ruleName']} at {construct['constructPath']}: {violation.get('description', '')}"
                )
    return lines


def exit_on_findings(outdir: str | Path) -> None:
    """After `app.synth()`: print every unacknowledged finding and exit 1 if there is any (app.py's gate)."""
    findings = unacknowledged_findings(outdir)
    if not findings:
        return
    print(
        f"error: {len(findings)} unacknowledged cdk-nag finding(s); fix each, or acknowledge it with a specific "
        "reason (shared/nag.acknowledge):",
        file=sys.stderr,
    )
    for finding in findings:
        print(f"  {finding}", file=sys.stderr)
    sys.exit(1)
