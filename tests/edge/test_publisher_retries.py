"""The publisher's retry policy, read from the synthesized state machine of every stage.

A bad path list is refused at once: no retrier of a state that invokes the validating function matches
InvalidPath (the error name Lambda reports is the exception's class name), neither by name nor by a wildcard
("States.ALL: A wildcard that matches any known error name", and States.TaskFailed, which matches every error
a Task reports but States.Timeout: https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
Every state machine of every stack is read, so a state that moves or a new one is covered without a new test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from edge_cache.pages import InvalidPath
from tests.support.stepfunctions import Definition, State, definitions
from tests.support.synth import Synthesized, resources_of_type

STAGES = ("sandbox", "prod")
VALIDATING_HANDLER = "edge_cache.publisher.handler"  # checks a request's paths when invoked with {"validate": [...]}
INVALID_PATH = InvalidPath.__name__
MATCH_INVALID_PATH = {INVALID_PATH, "States.ALL", "States.TaskFailed"}
INVALIDATION = ":states:::aws-sdk:cloudfront:createInvalidation"


def _tasks(synth: Synthesized, stage: str) -> Iterator[tuple[str, Definition, State]]:
    """Every Task state of every state machine of the stage's stacks, with where it is."""
    for key, template in synth.templates.items():
        if key.startswith(f"{stage}/"):
            for definition in definitions(template):
                for state in definition.states():
                    if state.body.get("Type") == "Task":
                        yield key, definition, state


def _validating_functions(synth: Synthesized, key: str) -> set[str]:
    functions = resources_of_type(synth.templates[key], "AWS::Lambda::Function")
    return {lid for lid, f in functions.items() if f["Properties"].get("Handler") == VALIDATING_HANDLER}


def _invokes(definition: Definition, state: State, functions: set[str]) -> bool:
    """Through its Resource (the function's ARN) or lambda:invoke's FunctionName."""
    target = [
        state.body.get("Resource"),
        *(state.body.get(k, {}).get("FunctionName") for k in ("Parameters", "Arguments")),
    ]
    return bool(definition.names(target) & functions)


def _validates(state: State) -> bool:
    """Its payload asks the function to check paths ({"validate": ...}), directly or as lambda:invoke's Payload."""
    for key in ("Parameters", "Arguments"):
        payload: dict[str, Any] = state.body.get(key) or {}
        for fields in (payload, payload.get("Payload") if isinstance(payload.get("Payload"), dict) else {}):
            if {"validate", "validate.$"} & set(fields):
                return True
    return False


def _invoking_validator(synth: Synthesized, stage: str) -> list[tuple[str, State, bool]]:
    found = []
    for key, definition, state in _tasks(synth, stage):
        if _invokes(definition, state, _validating_functions(synth, key)):
            found.append((f"{key}:{state.scope}/{state.name}", state, _validates(state)))
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_no_retrier_of_the_validating_function_matches_an_invalid_path(synth: Synthesized, stage: str) -> None:
    """InvalidPath is the same on every attempt: a retrier that matches it only delays the refusal (and retries
    of a fetch whose path is invalid would spend its attempts for nothing)."""
    invoking = _invoking_validator(synth, stage)
    assert any(validates for _, _, validates in invoking), f"{stage}: no Task state validates the paths"
    for where, state, _ in invoking:
        for retrier in state.body.get("Retry", []):
            assert not MATCH_INVALID_PATH & set(retrier["ErrorEquals"]), f"{where}: {retrier} retries {INVALID_PATH}"


@pytest.mark.parametrize("stage", STAGES)
def test_a_bad_path_list_fails_the_execution_at_once(synth: Synthesized, stage: str) -> None:
    """The state that validates runs at the top level, and its first catcher that matches InvalidPath (catchers
    are tried in order) leads straight to a Fail state, which ends the execution: nothing is fetched or
    invalidated, and the error and cause name the bad paths."""
    validating = [(where, state) for where, state, validates in _invoking_validator(synth, stage) if validates]
    assert validating
    for where, state in validating:
        assert state.scope == "", f"{where}: runs inside a Map or Parallel, so a failure there ends only its branch"
        assert not MATCH_INVALID_PATH & {e for r in state.body.get("Retry", []) for e in r["ErrorEquals"]}
        catchers = [c for c in state.body.get("Catch", []) if MATCH_INVALID_PATH & set(c["ErrorEquals"])]
        if catchers:  # with none, the error itself fails the execution
            target = state.siblings[catchers[0]["Next"]]
            assert target["Type"] == "Fail", f"{where}: {INVALID_PATH} goes on to {catchers[0]['Next']}: {target}"


# CloudFront refuses a new invalidation while too many are in progress on the distribution
# (TooManyInvalidationsInProgress); a retried call sends the same CallerReference (the batch's execution name),
# so CloudFront does not start a second one.
INVALIDATION_RETRY = [
    {
        "ErrorEquals": ["CloudFront.TooManyInvalidationsInProgressException", "CloudFront.CloudFrontException"],
        "IntervalSeconds": 30,
        "BackoffRate": 2,
        "MaxAttempts": 5,
        "MaxDelaySeconds": 300,
        "JitterStrategy": "FULL",
    }
]


@pytest.mark.parametrize("stage", STAGES)
def test_every_invalidation_retries_as_pinned(synth: Synthesized, stage: str) -> None:
    invalidations = [
        (f"{key}:{state.scope}/{state.name}", state.body)
        for key, _, state in _tasks(synth, stage)
        if str(state.body.get("Resource", "")).endswith(INVALIDATION)
    ]
    assert invalidations, f"{stage}: no state creates an invalidation"
    for where, body in invalidations:
        assert body.get("Retry") == INVALIDATION_RETRY, where
