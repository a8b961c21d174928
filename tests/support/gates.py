"""The quality gates every synthesized assembly must pass: the whole validation report, and cfn-lint."""

from __future__ import annotations

import hashlib
import json
import os
from importlib.metadata import version
from typing import Any

import yaml

from tests.support.assemblies import cache_root
from tests.support.synth import ROOT, Synthesized


def gate_findings(synth: Synthesized) -> list[str]:
    """Every unacknowledged finding of the assembly, one line each: every plugin of the validation report
    (cdk-nag, CDK's template checks, construct annotations), whatever its construct path, and every warning
    or error CDK recorded in a stack's manifest."""
    lines = []
    for finding in synth.violations:
        owner = synth.stack_of(finding["path"])
        lines.append(
            f"{finding['plugin']} {finding['rule']} at {finding['path'] or '(no construct path)'} "
            + (f"(stack {owner})" if owner else "(no stack)")
        )
    for key, messages in synth.messages.items():
        lines += [f"{m['type']} at {m['path']} (stack {key}): {m.get('data')}" for m in messages]
    return sorted(lines)


def cfn_lint_ignored() -> list[str]:
    """The checks .cfnlintrc.yaml ignores (each with its reason there)."""
    config: dict[str, Any] = yaml.safe_load((ROOT / ".cfnlintrc.yaml").read_text())
    return list(config.get("ignore_checks", []))


def cfn_lint_findings(template: dict[str, Any], region: str) -> list[str]:
    """cfn-lint's findings on one template with the project's settings, cached by everything they depend
    on (the template, the region, the ignored checks and cfn-lint's version): a template that did not
    change is not linted again."""
    ignored = cfn_lint_ignored()
    text = json.dumps(template, sort_keys=True)
    key = hashlib.sha256(json.dumps([text, region, ignored, version("cfn-lint")]).encode()).hexdigest()
    cached = cache_root() / "cfn-lint" / f"{key}.json"
    if cached.exists():
        return list(json.loads(cached.read_text()))
    from cfnlint.api import ManualArgs, lint

    findings = [str(match) for match in lint(text, config=ManualArgs(regions=[region], ignore_checks=ignored))]
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(findings))
    partial.replace(cached)
    return findings
