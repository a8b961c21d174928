"""Every stack of the stage deploys; what the emulator cannot run is reported as skipped, with why.

Stacks come from the app's builder (stack_ids), so stacks added later are covered without edits here.
Their Lambda functions are invoked as ordinary functions with the test events registered in EVENTS (none
today: the publisher's stack does not deploy here); the chat functions are exercised over HTTP in test_1.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.app_builder import stack_ids
from stacks.config import load_stage
from tools.local_sandbox import deploy

from .conftest import STAGE, local_client

# Resource types LocalStack's free edition accepts (CFN_IGNORE_UNSUPPORTED_RESOURCE_TYPES) but does not run.
NOT_EMULATED = {
    "AWS::CloudFront::Distribution": "CloudFront distributions are not emulated (no edge, no caching)",
    "AWS::ECS::Service": "ECS/Fargate services do not run tasks without Docker",
    "AWS::ECS::Cluster": "ECS clusters are placeholders",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "load balancers are placeholders (outputs read 'unknown')",
    "AWS::RDS::DBCluster": "Aurora clusters are not emulated in the free edition",
    "AWS::RDS::DBInstance": "RDS instances are not emulated in the free edition",
    "AWS::WAFv2::WebACL": "WAF rules are not enforced",
}
# Test events for functions that are not behind the HTTP API, by a fragment of their construct path:
# (event, a subset the decoded result must contain). The result must not be a function error.
EVENTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
# Why a stack may fail to deploy here, recognised (case-insensitively) in the CLI's error output.
KNOWN_FAILURES = {
    "runs python functions only": "its Node.js functions (CDK custom resource providers) need a Node Lambda "
    "runtime with the AWS SDK, which the host executor does not provide",
    "docker": "its container image asset needs a Docker engine to build",
}

STACKS = [f"{STAGE}/{stack_id}" for stack_id in stack_ids(load_stage(STAGE))]


def _artifact(name: str) -> deploy.StackArtifact:
    return next(a for a in deploy.stacks() if a.display_name == name)


@pytest.mark.parametrize("stack", STACKS)
def test_stack_deploys(deployment: dict[str, deploy.StackResult], stack: str) -> None:
    result = deployment[stack]
    if result.status != "deployed":
        types = {r["Type"] for r in _artifact(stack).template["Resources"].values()}
        reasons = [f"{t}: {NOT_EMULATED[t]}" for t in sorted(types & NOT_EMULATED.keys())]
        reasons += [reason for marker, reason in KNOWN_FAILURES.items() if marker in result.error.lower()]
        if reasons:
            pytest.skip(f"{stack} does not deploy on LocalStack: {'; '.join(reasons)}")
    assert result.status == "deployed", result.error


@pytest.mark.parametrize("stack", STACKS)
def test_services_the_emulator_cannot_run(deployment: dict[str, deploy.StackResult], stack: str) -> None:
    resources = _artifact(stack).template["Resources"]
    found = sorted({r["Type"] for r in resources.values()} & NOT_EMULATED.keys())
    if found:
        pytest.skip("; ".join(f"{t}: {NOT_EMULATED[t]}" for t in found))


@pytest.mark.parametrize("stack", STACKS)
def test_functions_invoke_with_test_events(deployment: dict[str, deploy.StackResult], stack: str) -> None:
    result = deployment[stack]
    if result.status != "deployed":
        pytest.skip(f"{stack} is not deployed")
    artifact = _artifact(stack)
    functions = {
        logical_id: resource
        for logical_id, resource in artifact.template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    cfn, lam = local_client("cloudformation", artifact.region), local_client("lambda", artifact.region)
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn.describe_stack_resources(StackName=artifact.stack_name)["StackResources"]
    }
    untested = []
    for logical_id, resource in functions.items():
        path = resource.get("Metadata", {}).get("aws:cdk:path", logical_id)
        registered = next((e for fragment, e in EVENTS.items() if fragment in path), None)
        if registered is None:
            untested.append(path)
            continue
        event, expected = registered
        reply = lam.invoke(FunctionName=physical[logical_id], Payload=json.dumps(event).encode())
        payload = reply["Payload"].read()
        assert "FunctionError" not in reply, payload
        assert json.loads(payload).items() >= expected.items(), payload
    if untested:
        covered = " (the chat functions are covered over HTTP by test_1)" if stack.endswith("/Chat") else ""
        pytest.skip(f"no test event registered in EVENTS for {', '.join(untested)}{covered}")
