"""State machine definitions read from synthesized templates, each deploy-time value kept as what it names.

CloudFormation holds a definition as `DefinitionString` (a string, or an `Fn::Join` of strings and intrinsics,
with optional `DefinitionSubstitutions`) or as a `Definition` object. Every intrinsic becomes a placeholder
`${Token[n]}` inside its JSON string, and `Definition.names` gives the logical ids a value's placeholders name,
so a test can tell which function a Task invokes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from stacks.common.readiness.template import refs
from tests.support.synth import resources_of_type

_PLACEHOLDER = re.compile(r"\$\{Token\[(\d+)\]\}")
_SUBSTITUTION = re.compile(r"\$\{([A-Za-z0-9_.:-]+)\}")


@dataclass
class Definition:
    """A state machine's ASL, and the intrinsics its placeholders stand for."""

    logical_id: str
    asl: dict[str, Any]
    tokens: list[Any] = field(default_factory=list)

    def names(self, value: Any) -> set[str]:
        """Logical ids named (Ref, Fn::GetAtt) by the placeholders anywhere in `value`."""
        found: set[str] = set()
        for index in _PLACEHOLDER.findall(json.dumps(value)):
            found |= refs(self.tokens[int(index)])
        return found

    def states(self) -> Iterator[State]:
        """Every state, nested ones included (Map item processors and iterators, Parallel branches)."""
        yield from _states(self.asl, "")


@dataclass(frozen=True)
class State:
    name: str
    body: dict[str, Any]
    scope: str  # "" for the top level; else the path of the Map or Parallel state it runs in
    siblings: dict[str, Any]  # the States of its scope, which its Next and catchers name


def _states(workflow: dict[str, Any], scope: str) -> Iterator[State]:
    siblings = workflow.get("States", {})
    for name, body in siblings.items():
        yield State(name, body, scope, siblings)
        for key in ("ItemProcessor", "Iterator"):
            if key in body:
                yield from _states(body[key], f"{scope}/{name}/{key}")
        for index, branch in enumerate(body.get("Branches", [])):
            yield from _states(branch, f"{scope}/{name}/Branches/{index}")


def definitions(template: dict[str, Any]) -> list[Definition]:
    """The definition of every AWS::StepFunctions::StateMachine of a template."""
    machines = resources_of_type(template, "AWS::StepFunctions::StateMachine")
    return [_definition(logical_id, resource["Properties"]) for logical_id, resource in machines.items()]


def _definition(logical_id: str, props: dict[str, Any]) -> Definition:
    if isinstance(props.get("Definition"), dict):
        return Definition(logical_id, props["Definition"])
    assert "DefinitionString" in props, f"{logical_id}: no definition in the template (DefinitionS3Location?)"
    tokens: list[Any] = []

    def placeholder(intrinsic: Any) -> str:
        tokens.append(intrinsic)
        return f"${{Token[{len(tokens) - 1}]}}"

    text = _text(props["DefinitionString"], placeholder)
    substitutions = props.get("DefinitionSubstitutions", {})

    def substitute(match: re.Match[str]) -> str:
        if match.group(1) not in substitutions:
            return match.group(0)
        value = substitutions[match.group(1)]
        return value if isinstance(value, str) else placeholder(value)

    text = _SUBSTITUTION.sub(substitute, text)
    return Definition(logical_id, json.loads(text), tokens)


def _text(value: Any, placeholder: Any) -> str:
    """A DefinitionString as text: plain, or joined (each intrinsic part replaced by its placeholder)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(part if isinstance(part, str) else placeholder(part) for part in parts)
    return str(placeholder(value))
