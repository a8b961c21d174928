"""cdk-nag acknowledgements with a reason that says why, scoped to one construct."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from aws_cdk import Acknowledgment, Stack, Token, Validations
from constructs import IConstruct

_VAGUE = ("todo", "fixme", "tbd", "later", "n/a")


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding (e.g. ``AwsSolutions-IAM5[Resource::*]``) on `scope` and its children.

    Reasons are part of the audit trail, so a vague or short one is refused at synth.
    """
    if len(reason) < 25 or any(word in reason.lower().split() for word in _VAGUE):
        raise ValueError(f"cdk-nag acknowledgement of {rule} needs a specific reason, got {reason!r}")
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))


def printed_account(scope: IConstruct) -> str:
    """The account as cdk-nag prints it in a finding's resource: literally when the stack names one (a stage
    deployed with -c account=...), else `<AWS::AccountId>`. Acknowledgements of such findings must use it."""
    account = Stack.of(scope).account
    return "<AWS::AccountId>" if Token.is_unresolved(account) else account


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
        "reason (stacks/common/nag.acknowledge):",
        file=sys.stderr,
    )
    for finding in findings:
        print(f"  {finding}", file=sys.stderr)
    sys.exit(1)
