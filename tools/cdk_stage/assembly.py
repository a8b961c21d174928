"""The stacks of a synthesized cloud assembly, stage assemblies included, and which of them a target acts on.

The CLI's `--all` selects only top-level stacks, and this app's stacks all live in stage assemblies
(`sandbox/Chat`), so the targets name the stacks themselves, in dependency order.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any


class SelectionError(ValueError):
    """STACKS names no stack, or the assembly is unusable; the message says which."""


@dataclass(frozen=True)
class StackArtifact:
    """One CloudFormation stack of the assembly."""

    display_name: str  # "sandbox/Chat": what the CLI selects
    stack_name: str  # "sandbox-Chat": the CloudFormation name
    region: str
    template_file: Path
    dependencies: tuple[str, ...] = ()  # display names of the stacks it needs deployed first

    @property
    def stage(self) -> str:
        return self.display_name.split("/", 1)[0]

    @property
    def stack_id(self) -> str:
        return self.display_name.split("/", 1)[-1]

    @cached_property
    def template(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.template_file.read_text())
        return loaded

    def resources_with_policy(self, *policies: str) -> dict[str, dict[str, Any]]:
        """Resources whose DeletionPolicy is one of `policies` (e.g. what deleting the stack keeps)."""
        return {
            logical_id: resource
            for logical_id, resource in self.template.get("Resources", {}).items()
            if resource.get("DeletionPolicy") in policies
        }


def read_assembly(outdir: Path) -> list[StackArtifact]:
    """Every stack in the assembly at `outdir` (nested stage assemblies included), dependencies first."""
    if not (outdir / "manifest.json").is_file():
        raise SelectionError(f"{outdir} is not a cloud assembly (no manifest.json)")
    found: list[StackArtifact] = []
    _visit(outdir, found)
    return dependency_order(found)


def _visit(folder: Path, found: list[StackArtifact]) -> None:
    artifacts: dict[str, Any] = json.loads((folder / "manifest.json").read_text()).get("artifacts", {})
    names = {key: value.get("displayName", key) for key, value in artifacts.items()}
    for artifact_id, artifact in artifacts.items():
        props = artifact.get("properties", {})
        if artifact["type"] == "cdk:cloud-assembly":
            _visit(folder / props["directoryName"], found)
        elif artifact["type"] == "aws:cloudformation:stack":
            found.append(
                StackArtifact(
                    display_name=names[artifact_id],
                    stack_name=props.get("stackName", artifact_id),
                    region=artifact["environment"].rsplit("/", 1)[-1],
                    template_file=folder / props["templateFile"],
                    dependencies=tuple(
                        names[d]
                        for d in artifact.get("dependencies", [])
                        if artifacts.get(d, {}).get("type") == "aws:cloudformation:stack"
                    ),
                )
            )


def dependency_order(stacks: list[StackArtifact]) -> list[StackArtifact]:
    """Stacks ordered so each comes after those it depends on; otherwise in manifest order."""
    by_name = {s.display_name: s for s in stacks}
    ordered: list[StackArtifact] = []
    placed: set[str] = set()

    def place(stack: StackArtifact, path: tuple[str, ...]) -> None:
        if stack.display_name in placed:
            return
        if stack.display_name in path:
            raise SelectionError(f"dependency cycle: {' -> '.join((*path, stack.display_name))}")
        for dependency in stack.dependencies:
            if dependency in by_name:
                place(by_name[dependency], (*path, stack.display_name))
        placed.add(stack.display_name)
        ordered.append(stack)

    for stack in stacks:
        place(stack, ())
    return ordered


@dataclass(frozen=True)
class Selection:
    """The stacks of one stage a target acts on (dependency order) and those it leaves out."""

    stage: str
    chosen: list[StackArtifact]
    left_out: list[StackArtifact]

    @property
    def names(self) -> list[str]:
        return [s.display_name for s in self.chosen]

    def unselected_dependencies(self) -> dict[str, list[str]]:
        """Chosen stack -> the stacks it depends on that are not chosen (they must already be deployed)."""
        chosen = set(self.names)
        return {
            s.display_name: missing for s in self.chosen if (missing := [d for d in s.dependencies if d not in chosen])
        }

    def unselected_dependents(self) -> dict[str, list[str]]:
        """Chosen stack -> the stacks left out that depend on it (deleting it breaks them)."""
        return {
            s.display_name: dependents
            for s in self.chosen
            if (dependents := [o.display_name for o in self.left_out if s.display_name in o.dependencies])
        }


def select(stacks: list[StackArtifact], stage: str, patterns: str = "") -> Selection:
    """The stacks of `stage` that `patterns` names (stack ids or shell patterns: "Chat", "Edge*",
    "sandbox/Chat"; separated by spaces or commas); every stack of the stage when `patterns` is empty."""
    of_stage = [s for s in stacks if s.stage == stage]
    if not of_stage:
        stages = sorted({s.stage for s in stacks})
        raise SelectionError(
            f"the assembly holds no stack of stage '{stage}' (it holds: {', '.join(stages) or 'none'})"
        )
    tokens = [t for t in re.split(r"[\s,]+", patterns.strip()) if t]
    if not tokens:
        return Selection(stage, of_stage, [])
    chosen: set[str] = set()
    for token in tokens:
        matched = {
            s.display_name
            for s in of_stage
            if fnmatch.fnmatchcase(s.stack_id, token) or fnmatch.fnmatchcase(s.display_name, token)
        }
        if not matched:
            known = ", ".join(s.stack_id for s in of_stage)
            raise SelectionError(f"STACKS: '{token}' matches no stack of {stage} (its stacks: {known})")
        chosen |= matched
    return Selection(
        stage,
        [s for s in of_stage if s.display_name in chosen],
        [s for s in of_stage if s.display_name not in chosen],
    )
