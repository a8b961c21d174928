"""Worst-case bounds of a Step Functions definition: execution history events and the size of collected results.

A Standard workflow's history holds at most 25,000 events, and every state's input and output at most
256 KiB. An inline Map adds its iterations' events to its own execution's history and collects their
outputs into one array; a distributed Map runs each batch as a child execution with its own history. The
bounds below are computed along the worst path (every retry used, the longest branch taken) from event
counts per state type, and they need the number of items a Map may get: declared by the construct (the
definition enforces it) or, inside a batched child workflow, its batch size.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from quality.readiness.template import PAYLOAD_LIMIT

HISTORY_LIMIT = 25_000
UNBOUNDED = math.inf
# Events per state type, per the execution history a state writes (entered/exited; per task attempt:
# scheduled, started, succeeded or failed; one more for .sync and callback tasks).
_ENTER_EXIT = 2
_PER_ATTEMPT = 3
_MAP_FRAME = 4  # MapStateEntered, MapStateStarted, MapStateSucceeded, MapStateExited
_ITERATION_FRAME = 2  # MapIterationStarted, MapIterationSucceeded
_DISTRIBUTED_FRAME = 6  # ... plus MapRunStarted, MapRunSucceeded; the items run in child executions
_EXECUTION_FRAME = 2  # ExecutionStarted, ExecutionSucceeded/Failed
_NUMBER = 20  # bytes of any JSON number an intrinsic returns
_INTRINSIC_SIZES = {"States.ArrayLength": _NUMBER, "States.MathAdd": _NUMBER, "States.MathRandom": _NUMBER}
_INTRINSIC_SIZES |= {"States.UUID": 38, "States.Hash": 132}
_CONTEXT_SIZES = {"$$.Map.Item.Index": _NUMBER, "$$.Execution.Name": 82, "$$.State.Name": 82}
_ERROR_SIZE = 256 + 32_768 + 32  # {"Error": <=256 characters, "Cause": <=32,768 characters}


@dataclass(frozen=True)
class Limits:
    """What the construct declares about an execution's input (the definition must enforce it)."""

    max_items: int | None = None
    max_input_bytes: int = PAYLOAD_LIMIT


@dataclass(frozen=True)
class MapBound:
    """One Map state's collected results against the 256 KiB limit."""

    path: str
    iterations: float
    item_output: float
    state_after: float


@dataclass(frozen=True)
class Workflow:
    """A definition (or a distributed Map's child workflow) with its bounds."""

    path: str
    standard: bool
    events: float
    maps: tuple[MapBound, ...]


def _attempts(state: dict[str, Any]) -> int:
    return 1 + sum(int(r.get("MaxAttempts", 3)) for r in state.get("Retry", []))


def _successors(state: dict[str, Any]) -> list[str]:
    names = [state.get("Next"), state.get("Default"), *[c.get("Next") for c in state.get("Choices", [])]]
    names += [c.get("Next") for c in state.get("Catch", [])]
    return [n for n in names if n]


def _processor(state: dict[str, Any]) -> dict[str, Any]:
    return state.get("ItemProcessor") or state.get("Iterator") or {}


def _distributed(state: dict[str, Any]) -> bool:
    return bool(_processor(state).get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED")


def _batch_size(state: dict[str, Any]) -> int | None:
    size = state.get("ItemBatcher", {}).get("MaxItemsPerBatch")
    return int(size) if isinstance(size, int) else None


class _Analysis:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.maps: list[MapBound] = []

    # --- history --------------------------------------------------------------------------------

    def events(self, workflow: dict[str, Any], items: float) -> float:
        """Worst-case events along the longest path of `workflow`; inline Maps iterate at most `items` times."""
        states = workflow.get("States", {})
        memo: dict[str, float] = {}
        visiting: set[str] = set()

        def longest(name: str) -> float:
            if name in memo:
                return memo[name]
            if name in visiting:
                return UNBOUNDED  # a loop: nothing bounds the history
            visiting.add(name)
            state = states[name]
            after = max((longest(n) for n in _successors(state)), default=0.0)
            visiting.discard(name)
            memo[name] = self._state_events(state, items) + after
            return memo[name]

        return longest(workflow["StartAt"]) if workflow.get("StartAt") in states else UNBOUNDED

    def _state_events(self, state: dict[str, Any], items: float) -> float:
        kind = state.get("Type")
        if kind == "Task":
            waits = str(state.get("Resource", "")).endswith((".sync", ".sync:2", ".waitForTaskToken"))
            return _ENTER_EXIT + _attempts(state) * (_PER_ATTEMPT + int(waits))
        if kind == "Fail":
            return 1
        if kind == "Parallel":
            branches = sum(self.events(b, items) for b in state.get("Branches", []))
            return _ENTER_EXIT + _attempts(state) * (_ENTER_EXIT + branches)
        if kind == "Map":
            if _distributed(state):
                return _DISTRIBUTED_FRAME
            inner = self.events(_processor(state), items)
            return _ENTER_EXIT + _attempts(state) * (_ENTER_EXIT + items * (_ITERATION_FRAME + inner))
        return _ENTER_EXIT

    # --- payload --------------------------------------------------------------------------------

    def output(self, workflow: dict[str, Any], path: str, input_bound: float, items: float) -> float:
        """The largest output a terminal state of `workflow` can produce, given its input's bound."""
        states = workflow.get("States", {})
        best = 0.0
        seen: set[tuple[str, float]] = set()
        pending = [(workflow.get("StartAt", ""), input_bound)]
        while pending:
            name, bound = pending.pop()
            if (name, bound) in seen or name not in states:
                continue
            seen.add((name, bound))
            state = states[name]
            out = self._state_output(state, f"{path}/{name}", bound, items)
            following = _successors(state)
            for catcher in state.get("Catch", []):
                pending.append((catcher["Next"], _with_result_path(catcher, bound, _ERROR_SIZE)))
            following = [n for n in following if n not in {c.get("Next") for c in state.get("Catch", [])}]
            if state.get("Type") == "Fail":
                continue
            if not following or state.get("End") or state.get("Type") == "Succeed":
                best = max(best, out)
            pending += [(n, out) for n in following]
        return best

    def _state_output(self, state: dict[str, Any], path: str, bound: float, items: float) -> float:
        kind = state.get("Type")
        if kind == "Pass":
            if "Result" in state:
                result = float(len(json.dumps(state["Result"])))
            elif "Parameters" in state:
                result = template_size(state["Parameters"])
            else:
                result = bound
        elif kind in ("Task", "Parallel"):
            result = template_size(state["ResultSelector"]) if "ResultSelector" in state else UNBOUNDED
        elif kind == "Map":
            result = self._map_results(state, path, bound, items)
        else:
            return bound
        return _with_result_path(state, bound, result)

    def _map_results(self, state: dict[str, Any], path: str, bound: float, items: float) -> float:
        if "ResultWriter" in state or ("ResultPath" in state and state["ResultPath"] is None):
            return 0.0
        distributed = _distributed(state)
        iterations = float(self.limits.max_items) if distributed and self.limits.max_items else items
        if distributed:
            batch = state.get("ItemBatcher", {})
            child_input = float(batch.get("MaxInputBytesPerBatch", PAYLOAD_LIMIT)) + 1_024
            child_items = float(_batch_size(state) or self.limits.max_items or UNBOUNDED)
            outer, self.maps = self.maps, []  # the child's own Maps are judged with the child workflow
            item_output = self.output(_processor(state), path, child_input, child_items)
            self.maps = outer
        else:
            item_input = template_size(state["ItemSelector"]) if "ItemSelector" in state else bound
            item_output = self.output(_processor(state), path, min(item_input, bound), items)
        results = iterations * (item_output + 1) + 2
        after = _with_result_path(state, bound, results)
        self.maps.append(MapBound(path, iterations, item_output, after))
        return results

    # --- child workflows ------------------------------------------------------------------------

    def workflows(self, workflow: dict[str, Any], path: str, *, standard: bool) -> Iterator[Workflow]:
        """The workflow and the child workflow of every distributed Map in it, each with its bounds."""
        items = float(self.limits.max_items) if self.limits.max_items else UNBOUNDED
        yield from self._workflows(workflow, path, standard, items, float(self.limits.max_input_bytes))

    def _workflows(
        self, workflow: dict[str, Any], path: str, standard: bool, items: float, input_bound: float
    ) -> Iterator[Workflow]:
        self.maps = []
        events = _EXECUTION_FRAME + self.events(workflow, items)
        self.output(workflow, path, input_bound, items)
        yield Workflow(path, standard, events, tuple(self.maps))
        for name, state in _all_states(workflow):
            if state.get("Type") == "Map" and _distributed(state):
                child = _processor(state)
                child_standard = child.get("ProcessorConfig", {}).get("ExecutionType", "STANDARD") == "STANDARD"
                batch = state.get("ItemBatcher", {})
                child_items = float(_batch_size(state) or items)
                child_input = float(batch.get("MaxInputBytesPerBatch", PAYLOAD_LIMIT)) + 1_024
                yield from self._workflows(child, f"{path}/{name}", child_standard, child_items, child_input)


def _all_states(workflow: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in workflow.get("States", {}).items():
        yield name, state
        if state.get("Type") == "Map" and not _distributed(state):
            yield from _all_states(_processor(state))
        for branch in state.get("Branches", []):
            yield from _all_states(branch)


def _with_result_path(state: dict[str, Any], bound: float, result: float) -> float:
    if "ResultPath" not in state or state["ResultPath"] == "$":
        return result
    if state["ResultPath"] is None:
        return bound
    return bound + result + len(state["ResultPath"]) + 4


def template_size(template: Any) -> float:
    """An upper bound of the JSON a Parameters/ResultSelector/ItemSelector template produces."""
    if isinstance(template, dict):
        size = 2.0
        for key, value in template.items():
            dynamic = key.endswith(".$")
            name = key[:-2] if dynamic else key
            size += len(json.dumps(name)) + 2 + (_dynamic_size(value) if dynamic else template_size(value))
        return size
    if isinstance(template, list):
        return 2.0 + sum(template_size(v) + 1 for v in template)
    return float(len(json.dumps(template)))


def _dynamic_size(expression: Any) -> float:
    text = str(expression)
    if text.startswith("States."):
        return float(_INTRINSIC_SIZES.get(text.split("(", 1)[0], UNBOUNDED))
    return float(_CONTEXT_SIZES.get(text, UNBOUNDED))


def analyse(definition: dict[str, Any], limits: Limits, *, standard: bool = True) -> list[Workflow]:
    """Bounds of the definition and of each of its distributed Maps' child workflows."""
    return list(_Analysis(limits).workflows(definition, "", standard=standard))
