"""The publisher within Step Functions' limits at the config's maxima, shown by computation.

A Standard execution's history holds 25,000 events and a state 256 KiB. The publisher is built here with
the largest values the edge config accepts (paths per execution, retries, concurrency); the worst-case
history of each execution and the size of what each Map collects are computed from the synthesized
definition and checked against the limits, and against the same numbers worked out by hand.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from annotated_types import Le
from aws_cdk import App
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_s3 as s3

from edge.config import EdgeConfig
from edge.publisher import BATCH_BYTES, BATCH_PATHS, CachePublisher
from quality.readiness.limits import declared_limits, definition
from quality.readiness.stepfunctions import HISTORY_LIMIT, Workflow, analyse
from quality.readiness.template import PAYLOAD_LIMIT, StackTemplate
from shared.origin import WebOrigin
from stage.config import load_stage
from tests.support.readiness import REGION, Findings, findings_fixture, stage_stack


def _maximum(field: str) -> int:
    (bound,) = [m for m in EdgeConfig.model_fields[field].metadata if isinstance(m, Le)]
    return int(bound.le)  # type: ignore[arg-type]


MAXIMA = {f"edge.{f}": _maximum(f) for f in ("publish_max_paths", "publish_retry_attempts", "publish_concurrency")}
CONFIG = load_stage("prod", MAXIMA).edge


def _build(app: object) -> None:
    assert isinstance(app, App)
    # A named account, as `-c account=...` gives: acknowledgements must not depend on it being unknown.
    stack = stage_stack(app, "prod", "Publisher", account="123456789012")
    CachePublisher(
        stack,
        "Publisher",
        config=CONFIG,
        web_origin=WebOrigin.of_domain("origin.example.com"),
        bucket=s3.Bucket(stack, "Cache"),
        distribution=cloudfront.Distribution.from_distribution_attributes(
            stack, "Distribution", distribution_id="E1234567890ABC", domain_name="d1234.cloudfront.net"
        ),
        layers=[],
    )


findings = findings_fixture(_build, aws_solutions=True)


@pytest.fixture(scope="module")
def built(findings: Findings) -> tuple[Findings, list[Workflow]]:
    assert findings.outdir is not None
    (template_file,) = (findings.outdir / "assembly-prod").glob("*.template.json")
    stack = StackTemplate.load(template_file, path="prod/Publisher", account="", region=REGION, stage="prod")
    (machine,) = [lid for lid, _ in stack.of_type("AWS::StepFunctions::StateMachine")]
    asl: dict[str, Any] = definition(stack, machine)  # type: ignore[assignment]
    return findings, analyse(asl, declared_limits(stack, machine))


def test_the_maxima_are_the_configs(built: tuple[Findings, list[Workflow]]) -> None:
    assert (CONFIG.publish_max_paths, CONFIG.publish_retry_attempts, CONFIG.publish_concurrency) == (3_000, 10, 40)


def test_neither_pack_finds_anything_at_the_maxima(built: tuple[Findings, list[Workflow]]) -> None:
    findings, _ = built
    assert findings.of("prod/Publisher/Publisher") == set()


def test_every_execution_history_stays_under_25000_events(built: tuple[Findings, list[Workflow]]) -> None:
    _, (parent, batch) = built
    retries = CONFIG.publish_retry_attempts
    # One path, worst case: fetch retried to the end and succeeding, then the delete failing after its
    # retries and caught: iteration (2) + fetch (2 + 3 per attempt) + choice (2) + delete (same) + record (2).
    per_path = 2 + (2 + 3 * (1 + retries)) + 2 + (2 + 3 * (1 + retries)) + 2
    invalidation = 2 + 3 * (1 + 5)  # five retries of TooManyInvalidationsInProgress
    by_hand = 2 + (2 + 2 + BATCH_PATHS * per_path) + invalidation + 2 + 2 + 2  # execution, map, then 3 states
    assert per_path == 76
    assert batch.events == by_hand == 7_632
    # The parent never sees a path: choice, the paths' check (retried to the end), distributed Map (a fixed
    # number of events), two states, end.
    validate = 2 + 3 * (1 + retries)
    assert parent.events == 2 + 2 + validate + 6 + 2 + 2 + 2 == 51
    assert max(parent.events, batch.events) < HISTORY_LIMIT


def _object(**value_sizes: int) -> int:
    """Bytes of a JSON object with these keys and values of these sizes: braces, and per key its quoted
    name, a colon and a comma (the bound counts one comma too many)."""
    return 2 + sum(len(json.dumps(key)) + 2 + size for key, size in value_sizes.items())


def test_no_state_outgrows_256_kib(built: tuple[Findings, list[Workflow]]) -> None:
    _, (parent, batch) = built
    (batches,) = parent.maps
    # Each batch reports {"result": "failed", "failed": <count>} (a number: 20 bytes at most), whatever its paths.
    assert batches.iterations == CONFIG.publish_max_paths  # at worst one path per batch
    assert batches.item_output == _object(result=len('"failed"'), failed=20) == 50
    assert batches.state_after == CONFIG.publish_max_paths * (50 + 1) + 2 == 153_002  # the array replaces the state
    (paths,) = batch.maps
    # A batch's input holds at most BATCH_BYTES of paths (+1 KiB for its wrapping); each path adds one word.
    assert paths.iterations == BATCH_PATHS
    assert paths.item_output == _object(result=len('"deleted"')) == 21
    merged = BATCH_BYTES + 1_024 + (BATCH_PATHS * (21 + 1) + 2) + len("$.results") + 4
    assert paths.state_after == merged == 68_775
    assert max(batches.state_after, paths.state_after) < PAYLOAD_LIMIT
