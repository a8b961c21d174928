"""After the deployed stacks have served test_1 and test_2, read what an on-call engineer would: every deployed
function's error count, every dead-letter queue, every function's log, and whether the stream consumer
processed every record it was given. A run that passed its HTTP checks but left one of these red fails here.

What the emulator records (LocalStack 2026.3.0, read in its source): each invocation puts `Invocations`, and
`Errors` when the function returned an error, into its CloudWatch under AWS/Lambda with the FunctionName
dimension (services/lambda_/invocation/metrics.py, version_manager.py); each invocation's log goes to the
group /aws/lambda/<function name> (execution_environment.get_log_group_name), whatever LoggingConfig names,
so both groups are read. The event source mapping sends a batch that exhausted its retries to its on-failure
destination (event_source_mapping/esm_worker_factory.py).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.exceptions
import pytest

from tools.cdk_stage.assembly import StackArtifact

from .conftest import DEPLOYED, Deployment, local_client

SETTLE_S = 90  # retries with bisection and the on-failure hand-off take this long at most here


def _physical(stack: StackArtifact) -> dict[str, str]:
    resources = local_client("cloudformation", stack.region).describe_stack_resources(StackName=stack.stack_name)
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources["StackResources"]}


def _deployed(deployment: Deployment, resource_type: str) -> list[tuple[StackArtifact, str, str]]:
    """(stack, logical id, physical id) of every resource of `resource_type` in the deployed stacks."""
    found = []
    for stack_id in DEPLOYED:
        stack = deployment.stack(stack_id)
        physical = _physical(stack)
        for logical_id, resource in stack.template["Resources"].items():
            if resource["Type"] == resource_type:
                found.append((stack, logical_id, physical[logical_id]))
    return found


def _dead_letter_queues(stack: StackArtifact) -> set[str]:
    """The logical ids of the queues the template makes failure destinations or dead-letter queues."""
    found: set[str] = set()

    def visit(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            if key in ("OnFailure", "DeadLetterConfig", "RedrivePolicy", "DeadLetterQueue") or "TargetArn" in value:
                for reference in json.dumps(value).split('"Fn::GetAtt": ["')[1:]:
                    found.add(reference.split('"', 1)[0])
            for k, v in value.items():
                visit(v, k)
        elif isinstance(value, list):
            for v in value:
                visit(v, key)

    for resource in stack.template["Resources"].values():
        visit(resource.get("Properties", {}))
    return {q for q in found if stack.template["Resources"].get(q, {}).get("Type") == "AWS::SQS::Queue"}


def _metric_sum(stack: StackArtifact, function: str, metric: str) -> float:
    now = datetime.now(UTC)
    datapoints = local_client("cloudwatch", stack.region).get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName=metric,
        Dimensions=[{"Name": "FunctionName", "Value": function}],
        StartTime=now - timedelta(hours=3),
        EndTime=now + timedelta(minutes=5),
        Period=60,
        Statistics=["Sum"],
    )["Datapoints"]
    return float(sum(point["Sum"] for point in datapoints))


def _error_lines(stack: StackArtifact, group: str) -> list[str]:
    logs = local_client("logs", stack.region)
    try:
        events = [
            e for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group) for e in page["events"]
        ]
    except logs.exceptions.ResourceNotFoundException:
        return []
    found = []
    for event in events:
        message = str(event["message"])
        try:
            level = str(json.loads(message).get("level", "")).upper()
        except (ValueError, AttributeError):
            level = "ERROR" if ("Traceback (most recent call last)" in message or "[ERROR]" in message) else ""
        if level in ("ERROR", "CRITICAL", "FATAL"):
            found.append(message)
    return found


@pytest.fixture(scope="module")
def settled(deployment: Deployment) -> Deployment:
    """Once the stream consumer has caught up with every comment (or SETTLE_S passed): counts per room."""
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline and _uncounted(deployment):
        time.sleep(3)
    return deployment


def _uncounted(deployment: Deployment) -> dict[str, tuple[int, int]]:
    """Rooms whose stored comments and counted comments differ: room -> (stored, counted)."""
    stack = deployment.stack("Chat")
    (comments,) = [
        k for k, r in stack.template["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table" and "Comments" in k
    ]
    (stats,) = [
        k for k, r in stack.template["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table" and "RoomStats" in k
    ]
    physical = _physical(stack)
    dynamodb = local_client("dynamodb", stack.region)
    stored: Counter[str] = Counter()
    for page in dynamodb.get_paginator("scan").paginate(TableName=physical[comments], ProjectionExpression="chat_room"):
        stored.update(item["chat_room"]["S"].split("#", 1)[0] for item in page["Items"])
    counted: Counter[str] = Counter()
    for page in dynamodb.get_paginator("scan").paginate(TableName=physical[stats]):
        for item in page["Items"]:
            key = item["pk"]["S"]
            if key.startswith("room#") and "comment_count" in item:
                counted[key.removeprefix("room#").split("#", 1)[0]] += int(item["comment_count"]["N"])
    return {room: (stored[room], counted[room]) for room in stored | counted if stored[room] != counted[room]}


def test_the_stream_consumer_counted_every_comment_it_was_given(settled: Deployment) -> None:
    assert _uncounted(settled) == {}


def test_no_dead_letter_queue_of_the_deployed_stacks_holds_a_message(settled: Deployment) -> None:
    checked = []
    for stack_id in DEPLOYED:
        stack = settled.stack(stack_id)
        physical = _physical(stack)
        sqs = local_client("sqs", stack.region)
        for queue in sorted(_dead_letter_queues(stack)):
            url = physical[queue]
            if not url.startswith("http"):  # an ARN or a name: the queue's name is its last part
                url = sqs.get_queue_url(QueueName=url.rsplit(":", 1)[-1])["QueueUrl"]
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            depth = int(attributes["ApproximateNumberOfMessages"]) + int(
                attributes["ApproximateNumberOfMessagesNotVisible"]
            )
            checked.append((stack.display_name, queue, depth))
    assert checked, "the templates name no dead-letter queue: the search found none"
    assert [c for c in checked if c[2]] == [], checked


def test_every_deployed_function_ran_without_an_error(settled: Deployment) -> None:
    """Errors is 0 while Invocations is not: the emulator did record this function's invocations."""
    counts = {
        f"{stack.display_name}/{logical_id}": (
            _metric_sum(stack, name, "Invocations"),
            _metric_sum(stack, name, "Errors"),
        )
        for stack, logical_id, name in _deployed(settled, "AWS::Lambda::Function")
    }
    assert counts
    assert {k: v for k, v in counts.items() if v[0] == 0 or v[1] != 0} == {}, counts


def test_no_deployed_function_logged_an_error(settled: Deployment) -> None:
    found: dict[str, list[str]] = {}
    for stack, logical_id, name in _deployed(settled, "AWS::Lambda::Function"):
        groups = {f"/aws/lambda/{name}"}
        try:
            configured = local_client("lambda", stack.region).get_function_configuration(FunctionName=name)
            groups.add(configured.get("LoggingConfig", {}).get("LogGroup") or f"/aws/lambda/{name}")
        except botocore.exceptions.ClientError:
            pass
        lines = [line for group in sorted(groups) for line in _error_lines(stack, group)]
        if lines:
            found[f"{stack.display_name}/{logical_id}"] = lines[:5]
    assert found == {}
