"""The deploy-readiness rule pack: a cdk-nag NagPack that judges what AWS does at deploy and destroy time.

It runs beside AwsSolutions on every synth (stage/builder.build_app), reports through the same
validation report, and findings are acknowledged the same way (quality.declare.acknowledge), e.g.
``DeployReadiness-VpcApiReachable[secretsmanager]``. Rules read the synthesized template of the node's
stack (written before validation plugins run), so they see exactly what CloudFormation will get.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar, cast

import jsii
from aws_cdk import CfnResource, Stack, Stage
from cdk_nag import IApplyRule, NagMessageLevel, NagPack, NagRuleCompliance
from constructs import IConstruct

from quality.readiness import (
    edge,
    github_access,
    lifecycle,
    limits,
    network,
    policies,
    rendering,
    security,
    snapstart,
)
from quality.readiness.base import Check, Context, Finding
from quality.readiness.template import StackTemplate

PACK_NAME = "DeployReadiness"


@jsii.implements(IApplyRule)
class _Applied:
    """cdk-nag's view of one check on one resource (jsii reads these as properties)."""

    def __init__(self, check: Check, node: CfnResource, findings: list[Finding]) -> None:
        self._check = check
        self._node = node
        self._findings = findings

    @property
    def rule_suffix_override(self) -> str:
        return self._check.name

    @property
    def info(self) -> str:
        details = "; ".join(f"[{f.token}] {f.detail}" for f in self._findings)
        return f"{self._check.info} {details}".strip()

    @property
    def explanation(self) -> str:
        return self._check.explanation

    @property
    def level(self) -> NagMessageLevel:
        return NagMessageLevel.ERROR

    @property
    def node(self) -> CfnResource:
        return self._node

    def rule(self, _node: CfnResource) -> Any:
        return [f.token for f in self._findings] if self._findings else NagRuleCompliance.COMPLIANT


def _stacks_of_assembly(directory: Path, stage: str) -> Iterable[tuple[str, StackTemplate]]:
    manifest = json.loads((directory / "manifest.json").read_text())
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        properties = artifact.get("properties", {})
        if artifact.get("type") == "cdk:cloud-assembly":
            nested = directory / properties["directoryName"]
            yield from _stacks_of_assembly(nested, properties["directoryName"].removeprefix("assembly-"))
        elif artifact.get("type") == "aws:cloudformation:stack":
            account, region = artifact.get("environment", "aws://unknown-account/unknown-region")[6:].split("/")
            path = artifact.get("displayName", artifact_id)
            yield (
                path,
                StackTemplate.load(
                    directory / properties["templateFile"],
                    path=path,
                    account=account,
                    region=region,
                    stage=stage,
                    stack_name=properties.get("stackName", ""),
                ),
            )


class DeployReadinessChecks(NagPack):
    """Rules for what the templates do not show: reachability, replaced defaults, rendering, lifecycle, limits.

    `disposable_stages` names the stages whose stacks must destroy without leftovers other than the
    acknowledged (documented) ones.
    """

    _checked: ClassVar[dict[str, int]] = {}  # resources judged per assembly directory, for `resources_checked`

    def __init__(self, scope: IConstruct | None = None, *, disposable_stages: Iterable[str] = ()) -> None:
        super().__init__(scope)
        self._pack_name = PACK_NAME
        self._disposable = frozenset(disposable_stages)
        self._stacks: dict[str, StackTemplate] | None = None
        self._outdir = ""
        self._checks: dict[str, list[Check]] = {}
        for check in all_checks():
            for resource_type in check.resource_types:
                self._checks.setdefault(resource_type, []).append(check)

    @property
    def name(self) -> str:
        return PACK_NAME

    def _check_resource(self, node: CfnResource) -> None:
        checks = self._checks.get(node.cfn_resource_type, []) + self._checks.get("*", [])
        if not checks:
            return
        stack = Stack.of(node)
        stacks = self._all_stacks(node)
        template = stacks.get(stack.node.path)
        if template is None:  # a stack outside any assembly we can read (should not happen)
            raise RuntimeError(f"{PACK_NAME}: no synthesized template for {stack.node.path}")
        logical_id = stack.resolve(node.logical_id)
        context = Context(template, tuple(stacks.values()), template.stage in self._disposable)
        self._checked[self._outdir] = self._checked.get(self._outdir, 0) + 1
        for check in checks:
            for finding in check.findings(context, logical_id):  # one report entry per finding, with its detail
                self._apply_rule(cast(IApplyRule, _Applied(check, node, [finding])))

    def _all_stacks(self, node: CfnResource) -> dict[str, StackTemplate]:
        if self._stacks is None:
            self._outdir = str(Path(cast(Stage, node.node.root).outdir).resolve())
            self._stacks = dict(_stacks_of_assembly(Path(self._outdir), stage=""))
        return self._stacks

    @classmethod
    def resources_checked(cls, outdir: str | Path) -> int:
        """How many resources a pack judged while synthesizing into `outdir` (0: it did not run there)."""
        return cls._checked.get(str(Path(outdir).resolve()), 0)


def all_checks() -> list[Check]:
    """Every rule of the pack, by class: reachability, replaced defaults, rendering, lifecycle, limits, security,
    CI access, the CloudFront/origin seam, SnapStart."""
    return [
        *network.CHECKS,
        *policies.CHECKS,
        *rendering.CHECKS,
        *lifecycle.CHECKS,
        *limits.CHECKS,
        *security.CHECKS,
        *github_access.CHECKS,
        *edge.CHECKS,
        *snapstart.CHECKS,
    ]
