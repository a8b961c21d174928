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

from quality.readiness.template import refs
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


# --- what a Task state sends the function it invokes -------------------------------------------------------------


class NotModelled(NotImplementedError):
    """A part of the definition `task_events` does not evaluate; it says which, rather than guess."""


def invoking(definition: Definition, function_id: str) -> list[State]:
    """The Task states that invoke the function `function_id`: by its ARN as the Resource (the payload is the
    state's Parameters), or through the `lambda:invoke` integration (the payload is Parameters.Payload)."""
    return [
        state
        for state in definition.states()
        if state.body.get("Type") == "Task"
        and (
            function_id in definition.names(state.body.get("Resource"))
            or (
                ":states:::lambda:invoke" in str(state.body.get("Resource"))
                and function_id in definition.names(state.body.get("Parameters", {}).get("FunctionName"))
            )
        )
    ]


def task_events(definition: Definition, function_id: str, execution_input: Any) -> dict[str, list[Any]]:
    """Per Task state that invokes `function_id`, the events it sends the function in one execution started with
    `execution_input`: one per item of every Map it runs in, shaped by the definition's InputPath, ItemsPath,
    ItemBatcher, ItemSelector and Parameters ("Processing input and output in Step Functions",
    https://docs.aws.amazon.com/step-functions/latest/dg/concepts-input-output-filtering.html).

    A state is taken to receive its workflow's input: each state on the way to it from StartAt must pass its
    input on unchanged (a Choice; a Task, Map or Parallel whose ResultPath is null), else NotModelled.
    """
    targets = {state.name for state in invoking(definition, function_id)}
    found: dict[str, list[Any]] = {name: [] for name in targets}

    def run(workflow: dict[str, Any], data: Any, context: dict[str, Any]) -> None:
        for name, body in workflow["States"].items():
            processor = body.get("ItemProcessor") or body.get("Iterator")
            if name in targets:
                _reached(workflow, name)
                found[name].append(_payload(body, data, context))
            elif processor and _contains(processor, targets):
                _reached(workflow, name)
                for item, item_context in _map_items(body, data, context):
                    run(processor, item, item_context)

    run(definition.asl, execution_input, {"Execution": {"Input": execution_input}})
    return found


def _contains(workflow: dict[str, Any], names: set[str]) -> bool:
    return any(
        name in names or _contains(body.get("ItemProcessor") or body.get("Iterator") or {"States": {}}, names)
        for name, body in workflow["States"].items()
    )


def _passes_input_on(body: dict[str, Any]) -> bool:
    if "InputPath" in body or "OutputPath" in body:
        return False
    passes_result_on = body["Type"] in ("Task", "Map", "Parallel") and body.get("ResultPath", "") is None
    return body["Type"] == "Choice" or passes_result_on


def _reached(workflow: dict[str, Any], target: str) -> None:
    """`target` can be reached from StartAt through states that each pass their input on unchanged."""
    states, seen, queue = workflow["States"], set(), [workflow["StartAt"]]
    while queue:
        name = queue.pop()
        if name == target:
            return
        if name in seen or not _passes_input_on(states[name]):
            continue
        seen.add(name)
        body = states[name]
        queue += [c["Next"] for c in body.get("Choices", [])] + [body[k] for k in ("Next", "Default") if k in body]
    raise NotModelled(f"{target}: every way to it passes a state that changes its input")


def _map_items(body: dict[str, Any], data: Any, context: dict[str, Any]) -> list[tuple[Any, dict[str, Any]]]:
    """The input of each iteration (each child execution) of a Map state, and its context object."""
    if "ItemReader" in body:
        raise NotModelled("a Map that reads its items (ItemReader)")
    items = _select(body.get("ItemsPath", "$"), _input(body, data))
    batcher, selector = body.get("ItemBatcher"), body.get("ItemSelector") or body.get("Parameters")
    if batcher is not None:
        if selector is not None or "BatchInput" in batcher:
            raise NotModelled("an ItemBatcher with an ItemSelector or a BatchInput")
        return [({"Items": batch}, context) for batch in _batches(items, batcher)]
    inputs = []
    for index, item in enumerate(items):
        item_context = {**context, "Map": {"Item": {"Index": index, "Value": item}}}
        inputs.append((_apply(selector, data, item_context) if selector is not None else item, item_context))
    return inputs


def _batches(items: list[Any], batcher: dict[str, Any]) -> list[list[Any]]:
    """Items in order, each batch at most MaxItemsPerBatch items and MaxInputBytesPerBatch bytes of JSON."""
    most, max_bytes = batcher.get("MaxItemsPerBatch", len(items) or 1), batcher.get("MaxInputBytesPerBatch")
    batches: list[list[Any]] = [[]]
    for item in items:
        candidate = [*batches[-1], item]
        if batches[-1] and (len(candidate) > most or (max_bytes and len(json.dumps({"Items": candidate})) > max_bytes)):
            batches.append([item])
        else:
            batches[-1] = candidate
    return [batch for batch in batches if batch]


def _payload(body: dict[str, Any], data: Any, context: dict[str, Any]) -> Any:
    parameters = body.get("Parameters")
    effective = _input(body, data)
    if parameters is None:
        return effective
    applied = _apply(parameters, effective, context)
    return applied["Payload"] if ":states:::lambda:invoke" in str(body.get("Resource")) else applied


def _input(body: dict[str, Any], data: Any) -> Any:
    if "InputPath" not in body:
        return data
    return {} if body["InputPath"] is None else _select(body["InputPath"], data)


def _apply(template: Any, data: Any, context: dict[str, Any]) -> Any:
    """A payload template: each "key.$" field takes the value its path selects from the input ($) or the context
    object ($$); every other value as written."""
    if isinstance(template, dict):
        return {
            key.removesuffix(".$"): _path(value, data, context) if key.endswith(".$") else _apply(value, data, context)
            for key, value in template.items()
        }
    if isinstance(template, list):
        return [_apply(value, data, context) for value in template]
    return template


def _path(expression: str, data: Any, context: dict[str, Any]) -> Any:
    if expression.startswith("$$"):
        return _select("$" + expression[2:], context)
    if expression.startswith("$"):
        return _select(expression, data)
    raise NotModelled(f"the intrinsic function {expression}")


def _select(path: str, data: Any) -> Any:
    """The one value a reference path selects (jsonpath-ng evaluates it); paths that select several are refused."""
    from jsonpath_ng import parse

    if any(marker in path for marker in ("*", "?", "..", ":", ",")):
        raise NotModelled(f"the path {path}, which may select several values")
    matches = parse(path).find(data)
    if not matches:
        raise KeyError(f"the path {path} selects nothing from {json.dumps(data)[:200]} (States.Runtime)")
    return matches[0].value
