"""Synthesize a small test app with the deploy-readiness pack and read what it found, once per test module."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.synth import cdk_context

REGION = "eu-west-1"


@dataclass(frozen=True)
class Findings:
    """Rule ids (``DeployReadiness-Name[token]``, ``AwsSolutions-...``) found per construct path (no pack crashed)."""

    by_path: dict[str, set[str]]

    def of(self, path: str) -> set[str]:
        """The findings on `path` and every resource below it."""
        return {rule for p, rules in self.by_path.items() if p == path or p.startswith(path + "/") for rule in rules}

    def rule_of(self, path: str, rule: str) -> set[str]:
        """The tokens of one rule found on `path` and below (e.g. {"secretsmanager"})."""
        prefix = f"DeployReadiness-{rule}["
        return {r[len(prefix) : -1] for r in self.of(path) if r.startswith(prefix)}


def synth_findings(
    outdir: Path,
    build: Callable[[object], None],
    *,
    disposable_stages: tuple[str, ...] = ("sandbox",),
    aws_solutions: bool = False,
) -> Findings:
    """Build a test app with `build(app)`, attach our pack (and AwsSolutions), synthesize, collect the findings."""
    from aws_cdk import App, Validations
    from cdk_nag import AwsSolutionsChecks

    from stacks.common.readiness import DeployReadinessChecks

    app = App(outdir=str(outdir), context=cdk_context())
    build(app)
    packs = [DeployReadinessChecks(app, disposable_stages=disposable_stages)]
    Validations.of(app).add_plugins(*packs, *([AwsSolutionsChecks(app)] if aws_solutions else []))
    try:
        app.synth()
    except RuntimeError as error:  # the pack found something: read the report
        if "Validation failed" not in str(error) and "ValidationFailed" not in str(error):
            raise
    report = json.loads((outdir / "validation-report.json").read_text())
    crashed = [p["metadata"]["error"] for p in report["pluginReports"] if p.get("metadata", {}).get("error")]
    assert crashed == [], f"the rule pack could not run: {crashed}"
    by_path: dict[str, set[str]] = {}
    for plugin in report["pluginReports"]:
        for violation in plugin["violations"]:
            for construct in violation["violatingConstructs"]:
                by_path.setdefault(construct["constructPath"], set()).add(violation["ruleName"])
    return Findings(by_path)


def findings_fixture(build: Callable[[object], None], **options: Any) -> Any:
    """A module-scoped `findings` fixture: the module's test app, synthesized once with the pack."""

    @pytest.fixture(scope="module")
    def findings(tmp_path_factory: pytest.TempPathFactory) -> Findings:
        return synth_findings(Path(tmp_path_factory.mktemp("readiness")), build, **options)

    return findings


def stage_stack(app: object, stage: str, name: str, *, account: str | None = None) -> Any:
    """A stack `name` in stage `stage` of the test app, in the app's region (rules read regions and accounts)."""
    from aws_cdk import Environment, Stack, Stage

    return Stack(Stage(app, stage, env=Environment(account=account, region=REGION)), name)  # type: ignore[arg-type]
