"""Every stack of the stage that the emulator can run is deployed, whole, by `make deploy`; the ones left out
(STACKS=) are exactly those it cannot run, for the reasons LEFT_OUT states: derived here from the templates,
and each checked against the running emulator (a strict xfail that passes only on that very refusal).
"""

from __future__ import annotations

import contextlib
import io
import json
import uuid
import zipfile
from typing import Any

import botocore.exceptions
import pytest

from tools.cdk_stage.assembly import StackArtifact

from .conftest import DEPLOYED, LEFT_OUT, NODE_FUNCTIONS, STACK_IDS, STACKS, STAGE, Deployment, local_client

# Services of resource types (AWS::<Service>::...) that LocalStack's free edition does not offer, each with
# a call that shows it: the API answers "not included in your current license plan".
NOT_IN_FREE_EDITION: dict[str, tuple[str, str, dict[str, Any]]] = {
    "CloudFront": ("cloudfront", "list_distributions", {}),
    "CodeBuild": ("codebuild", "list_projects", {}),
    "ECR": ("ecr", "describe_repositories", {}),
    "ECS": ("ecs", "list_clusters", {}),
    "ElasticLoadBalancingV2": ("elbv2", "describe_load_balancers", {}),
    "RDS": ("rds", "describe_db_clusters", {}),
    "WAFv2": ("wafv2", "list_web_acls", {"Scope": "REGIONAL"}),
}
LICENSE = "is either not included in your current license plan"
PYTHON_ONLY = "The host executor runs Python functions only"
# Every Lambda function of the deployed stacks, and the test that exercises it on the emulator.
EXERCISED = {
    "Chat/Comments/Handler/Function": "test_1 (every route over HTTP)",
    "Chat/RoomStats/Handler/Function": "test_1 (test_stream_consumer_counts_comments)",
}


def _reasons(stack: StackArtifact, left_out: set[str]) -> tuple[str, ...]:
    resources = stack.template.get("Resources", {}).values()
    services = {r["Type"].split("::")[1] for r in resources if r["Type"].startswith("AWS::")}
    found = [f"{s} is not in LocalStack's free edition" for s in sorted(services & NOT_IN_FREE_EDITION.keys())]
    if any(str(r.get("Properties", {}).get("Runtime", "")).startswith("nodejs") for r in resources):
        found.append(NODE_FUNCTIONS)
    found += [f"depends on {d}, which is left out" for d in stack.dependencies if d.split("/")[-1] in left_out]
    return tuple(found)


def test_the_stacks_left_out_are_exactly_those_the_emulator_cannot_run(deployment: Deployment) -> None:
    stacks = deployment.stacks
    derived: dict[str, tuple[str, ...]] = {}
    for stack_id in STACK_IDS:  # dependency order: a stack's reasons may name one left out before it
        reasons = _reasons(stacks[f"{STAGE}/{stack_id}"], set(derived))
        if reasons:
            derived[stack_id] = reasons
    assert derived == LEFT_OUT


def test_make_deploy_acted_on_exactly_the_other_stacks(deployment: Deployment) -> None:
    plan = [f"  {STAGE}/{i} ({deployment.stack(i).stack_name}, {deployment.stack(i).region})" for i in DEPLOYED]
    header = f"deploy in account 000000000000, {len(DEPLOYED)} stack(s) of {STAGE}, in this order:"
    assert "\n".join([header, *plan]) in deployment.deploy.output, deployment.deploy
    left = ", ".join(f"{STAGE}/{i}" for i in STACK_IDS if i in LEFT_OUT)
    assert f"left out (STACKS='{STACKS}'): {left}\n" in deployment.deploy.output, deployment.deploy


def test_make_deploy_printed_the_outputs(deployment: Deployment) -> None:
    printed = [
        f"  {STAGE}/{i} {key} = {value}"
        for i in DEPLOYED
        for key, value in sorted(deployment.outputs.get(deployment.stack(i).stack_name, {}).items())
    ]
    assert any(line.startswith(f"  {STAGE}/Chat ApiUrl = http") for line in printed)
    assert "\n".join(printed) in deployment.deploy.output, deployment.deploy


def test_make_bootstrap_bootstrapped_the_regions_of_the_stacks(deployment: Deployment) -> None:
    for stack_id in DEPLOYED:
        region = deployment.stack(stack_id).region
        assert f"aws://000000000000/{region} (for " in deployment.bootstrap.output, deployment.bootstrap
        status = local_client("cloudformation", region).describe_stacks(StackName="CDKToolkit")["Stacks"][0]
        assert status["StackStatus"] in {"CREATE_COMPLETE", "UPDATE_COMPLETE"}


@pytest.mark.parametrize("stack_id", DEPLOYED)
def test_every_resource_of_the_stack_is_created(deployment: Deployment, stack_id: str) -> None:
    stack = deployment.stack(stack_id)
    cfn = local_client("cloudformation", stack.region)
    assert cfn.describe_stacks(StackName=stack.stack_name)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    created = {
        r["LogicalResourceId"]: r["ResourceStatus"]
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack.stack_name)
        for r in page["StackResourceSummaries"]
    }
    assert created == dict.fromkeys(stack.template["Resources"], "CREATE_COMPLETE")


class KnownLimitation(Exception):
    """The emulator refused for the reason LEFT_OUT gives."""


@pytest.mark.xfail(raises=KnownLimitation, strict=True, reason="the free edition lacks the service")
@pytest.mark.parametrize(
    "service", sorted({r.split()[0] for rs in LEFT_OUT.values() for r in rs if "free edition" in r})
)
def test_the_emulator_offers(localstack: None, service: str) -> None:
    """Each service a left-out stack needs really is missing: its API refuses with the licence message.
    Any other error fails the test, and so does an answer (strict), which means the stack could come back."""
    name, operation, kwargs = NOT_IN_FREE_EDITION[service]
    try:
        getattr(local_client(name, "eu-west-1"), operation)(**kwargs)
    except botocore.exceptions.ClientError as error:
        if LICENSE in str(error):
            raise KnownLimitation(str(error)) from None
        raise


@pytest.mark.xfail(raises=KnownLimitation, strict=True, reason=NODE_FUNCTIONS)
def test_the_emulator_runs_node_functions(localstack: None) -> None:
    """The custom-resource providers of the left-out stacks are Node.js functions: the host executor must
    refuse one for exactly that reason. Any other outcome fails the test."""
    lam = local_client("lambda", "eu-west-1")
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("index.js", "exports.handler = async () => 'ran';\n")
    name = f"e2e-node-{uuid.uuid4().hex[:8]}"
    role = f"arn:aws:iam::000000000000:role/{name}"
    lam.create_function(FunctionName=name, Runtime="nodejs22.x", Role=role, Handler="index.handler",
                        Code={"ZipFile": code.getvalue()})  # fmt: skip
    try:
        try:
            lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        except botocore.exceptions.WaiterError:
            reason = lam.get_function(FunctionName=name)["Configuration"].get("StateReason", "")
            if PYTHON_ONLY in reason:
                raise KnownLimitation(reason) from None
            raise
        assert json.loads(lam.invoke(FunctionName=name)["Payload"].read()) == "ran"
    finally:
        # The emulator cannot delete a function it failed to create ("Unable to find version manager");
        # the session's LocalStack and its state go at the end anyway.
        with contextlib.suppress(botocore.exceptions.ClientError):
            lam.delete_function(FunctionName=name)


def test_every_deployed_function_is_exercised(deployment: Deployment) -> None:
    functions = {
        resource["Metadata"]["aws:cdk:path"].removeprefix(f"{STAGE}/").removesuffix("/Resource")
        for stack_id in DEPLOYED
        for resource in deployment.stack(stack_id).template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    assert functions == set(EXERCISED)
