"""One synthesis of the whole app (every stage) per test session."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Synthesized:
    """What one `app.synth()` produced: templates by 'stage/Stack', and cdk-nag's validation report."""

    outdir: Path
    templates: dict[str, dict[str, Any]]
    regions: dict[str, str]
    report: dict[str, Any]
    stage_stacks: dict[str, Any]
    _assertion_templates: dict[str, Any] = field(default_factory=dict)

    def template(self, key: str) -> Any:
        """An aws_cdk.assertions.Template for 'stage/Stack', built once."""
        from aws_cdk.assertions import Template

        if key not in self._assertion_templates:
            self._assertion_templates[key] = Template.from_json(self.templates[key])
        return self._assertion_templates[key]

    @cached_property
    def violations(self) -> list[dict[str, Any]]:
        """Every unacknowledged cdk-nag finding (errors and warnings), one entry per construct."""
        found = []
        for plugin in self.report.get("pluginReports", []):
            for violation in plugin.get("violations", []):
                for construct in violation.get("violatingConstructs", []):
                    found.append(
                        {
                            "rule": violation["ruleName"],
                            "severity": violation.get("severity"),
                            "path": construct["constructPath"],
                            "description": violation.get("description", ""),
                        }
                    )
        return found


def cdk_context() -> dict[str, Any]:
    """The feature flags of cdk.json, so tests synthesize exactly what `cdk synth` does."""
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return {**context, "aws:cdk:bundling-stacks": []}  # never bundle assets in tests


def synth_reporting_nag(app: Any) -> None:
    """`app.synth()`, except that cdk-nag failures land in validation-report.json for the tests to report
    one by one instead of failing the fixture."""
    try:
        app.synth()
    except RuntimeError as error:
        if "ValidationFailed" not in str(error) and "Validation failed" not in str(error):
            raise


def synthesize(outdir: Path) -> Synthesized:
    from aws_cdk import App

    from stacks.app_builder import build_app
    from stacks.config import STAGES, load_stage

    app = App(outdir=str(outdir), context=cdk_context())
    built = build_app(app, [load_stage(name) for name in STAGES])
    synth_reporting_nag(app)
    templates: dict[str, dict[str, Any]] = {}
    regions: dict[str, str] = {}
    stage_stacks: dict[str, Any] = {}
    for stage in built:
        for stack in stage.all:
            key = f"{stage.stage.stage_name}/{stack.node.id}"
            path = outdir / f"assembly-{stage.stage.stage_name}" / stack.template_file
            templates[key] = json.loads(path.read_text())
            regions[key] = stack.region
            stage_stacks[key] = stack
    report_file = outdir / "validation-report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    return Synthesized(outdir, templates, regions, report, stage_stacks)


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template.get("Resources", {}).items() if v["Type"] == resource_type}


def stack_keys() -> list[str]:
    """'stage/Stack' of every stack the app builds, known without synthesizing (for parametrize)."""
    from stacks.app_builder import STACK_IDS
    from stacks.config import STAGES

    return [f"{stage}/{stack}" for stage in STAGES for stack in STACK_IDS]
