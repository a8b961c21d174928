"""The cdk-nag and cfn-lint gates, for templates synthesized outside the session synth (variants)."""

from __future__ import annotations

import json
from typing import Any

import yaml
from cfnlint.api import ManualArgs, lint

from tests.support.synth import ROOT


def cfn_lint_ignored() -> list[str]:
    """The checks .cfnlintrc.yaml ignores (each with its reason there)."""
    config: dict[str, Any] = yaml.safe_load((ROOT / ".cfnlintrc.yaml").read_text())
    return list(config.get("ignore_checks", []))


def cfn_lint_findings(template: dict[str, Any], region: str) -> list[str]:
    """cfn-lint's findings on one template, with the project's settings."""
    config = ManualArgs(regions=[region], ignore_checks=cfn_lint_ignored())
    return [str(match) for match in lint(json.dumps(template), config=config)]


def nag_findings(report: dict[str, Any], path_prefix: str) -> list[str]:
    """'<rule> at <construct path>' for every cdk-nag finding under `path_prefix` in a validation report."""
    return [
        f"{violation['ruleName']} at {construct['constructPath']}"
        for plugin in report.get("pluginReports", [])
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
        if construct["constructPath"].startswith(f"{path_prefix}/")
    ]
