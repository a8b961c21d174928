"""The synthesized app, read from its cloud assembly: one synthesis per set of inputs (tests/support/assemblies.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# What CDK records in a stack's manifest metadata for Annotations.of(...).add_warning/add_error/add_info.
MESSAGE_TYPES = ("aws:cdk:warning", "aws:cdk:error", "aws:cdk:info")


@dataclass
class Synthesized:
    """One cloud assembly: templates by display name ('stage/Stack'), the validation report (cdk-nag and
    CDK's own checks) and the messages CDK recorded per stack. Plain data, so it is the same whether this
    process synthesized it or a cached build did."""

    outdir: Path
    templates: dict[str, dict[str, Any]]
    regions: dict[str, str]
    stack_names: dict[str, str]
    messages: dict[str, list[dict[str, Any]]]
    report: dict[str, Any]
    facts: dict[str, Any] = field(default_factory=dict)
    assets: dict[str, dict[str, Any]] = field(default_factory=dict)  # each stack's asset manifest
    accounts: dict[str, str] = field(default_factory=dict)  # 'unknown-account' unless the stage names one
    missing: list[dict[str, Any]] = field(default_factory=list)  # context lookups the synthesis could not answer
    _assertion_templates: dict[str, Any] = field(default_factory=dict)

    def template(self, key: str) -> Any:
        """An aws_cdk.assertions.Template for 'stage/Stack', built once."""
        from aws_cdk.assertions import Template

        if key not in self._assertion_templates:
            self._assertion_templates[key] = Template.from_json(self.templates[key])
        return self._assertion_templates[key]

    @cached_property
    def violations(self) -> list[dict[str, Any]]:
        """Every unacknowledged finding of every validation plugin in the report, one entry per construct.

        Whole-report on purpose: a finding whose construct path is empty or names no stack of this
        assembly belongs to no stack, and a per-stack filter would drop it.
        """
        found = []
        for plugin in self.report.get("pluginReports", []):
            for violation in plugin.get("violations", []):
                for construct in violation.get("violatingConstructs", []) or [{}]:
                    found.append(
                        {
                            "plugin": plugin.get("pluginName", ""),
                            "rule": violation.get("ruleName", ""),
                            "severity": violation.get("severity"),
                            "path": construct.get("constructPath") or "",
                            "description": violation.get("description", ""),
                        }
                    )
        return found

    def stack_of(self, path: str) -> str | None:
        """The display name of the stack a construct path lies in, or None."""
        owners = [key for key in self.templates if path == key or path.startswith(f"{key}/")]
        return max(owners, key=len) if owners else None


def read_assembly(outdir: Path, facts: dict[str, Any] | None = None) -> Synthesized:
    """Read a cloud assembly folder (nested stage assemblies included) without the CDK."""
    templates: dict[str, dict[str, Any]] = {}
    regions: dict[str, str] = {}
    names: dict[str, str] = {}
    messages: dict[str, list[dict[str, Any]]] = {}
    assets: dict[str, dict[str, Any]] = {}
    accounts: dict[str, str] = {}
    missing: list[dict[str, Any]] = []

    def read(folder: Path) -> None:
        manifest = json.loads((folder / "manifest.json").read_text())
        missing.extend(manifest.get("missing", []))
        artifacts = manifest["artifacts"]
        for artifact_id, artifact in artifacts.items():
            properties = artifact.get("properties", {})
            if artifact["type"] == "cdk:cloud-assembly":
                read(folder / properties["directoryName"])
            elif artifact["type"] == "aws:cloudformation:stack":
                key = artifact.get("displayName", artifact_id)
                templates[key] = json.loads((folder / properties["templateFile"]).read_text())
                accounts[key], regions[key] = artifact["environment"].removeprefix("aws://").split("/")
                names[key] = properties.get("stackName", artifact_id)
                asset_file = artifacts.get(f"{artifact_id}.assets", {}).get("properties", {}).get("file")
                assets[key] = json.loads((folder / asset_file).read_text()) if asset_file else {}
                messages[key] = [
                    {"path": path, **entry}
                    for path, entries in artifact.get("metadata", {}).items()
                    for entry in entries
                    if entry["type"] in MESSAGE_TYPES
                ]

    read(outdir)
    report_file = outdir / "validation-report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    return Synthesized(outdir, templates, regions, names, messages, report, facts or {}, assets, accounts, missing)


def cdk_context() -> dict[str, Any]:
    """The feature flags of cdk.json, so tests synthesize exactly what `cdk synth` does."""
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return {**context, "aws:cdk:bundling-stacks": []}  # never bundle assets in tests


def synth_reporting_nag(app: Any) -> None:
    """`app.synth()`, except that validation failures (cdk-nag) land in validation-report.json for the tests
    to report one by one instead of failing the session."""
    try:
        app.synth()
    except RuntimeError as error:
        if "ValidationFailed" not in str(error) and "Validation failed" not in str(error):
            raise


def build_app_assembly(outdir: Path) -> dict[str, Any]:
    """Recipe 'app': every stack of every stage through the one builder app.py calls."""
    from aws_cdk import App

    from stage.builder import build_app
    from stage.config import STAGES, load_stage

    app = App(outdir=str(outdir), context=cdk_context())
    built = build_app(app, [load_stage(name) for name in STAGES])
    synth_reporting_nag(app)
    # What tests compare with the templates but only the constructs know.
    revisions = {f"{stage.stage.stage_name}/Web": stage.web.origin.revision for stage in built}
    return {**readiness_facts(outdir), "origin_revisions": revisions}


def readiness_facts(outdir: Path) -> dict[str, Any]:
    """What only the synthesizing process knows: how many resources the deploy-readiness pack judged."""
    from quality.readiness.pack import DeployReadinessChecks

    return {"readiness_resources_checked": DeployReadinessChecks.resources_checked(outdir)}


def synthesized(recipe: str = "app") -> Synthesized:
    """The assembly of a recipe (tests/support/assemblies.py): cached, being built, or built now."""
    from tests.support.assemblies import assembly_folder

    folder, facts = assembly_folder(recipe)
    return read_assembly(folder, facts)


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template.get("Resources", {}).items() if v["Type"] == resource_type}


def stack_keys() -> list[str]:
    """'stage/Stack' of every stack the app builds, known without synthesizing (for parametrize)."""
    from stage.builder import stack_ids
    from stage.config import STAGES, load_stage

    return [f"{stage}/{stack}" for stage in STAGES for stack in stack_ids(load_stage(stage))]
