"""`make hotswap`: which stages may, which stacks are ready, and what a hotswap can push for each stack.

`cdk deploy --hotswap` publishes the assets, then updates the changed resources it knows through their own
APIs with the caller's credentials, not through CloudFormation; a change it cannot make that way is skipped
("hotswap-only" mode), and named only when it is a property of a type it supports: a changed resource of
another type (a custom resource, such as the web image's build) goes unmentioned (logRejectedChanges and
nonHotswappableResource in the CLI), hence `reach`. What it knows, in the pinned CLI (aws-cdk 2.1148.1, README "Hotswap
deployments for faster development"): Lambda code, environment and description, versions and aliases; ECS
task definitions' container definitions, then UpdateService with minimumHealthyPercent 0 unless
--hotswap-ecs-minimum-healthy-percent says otherwise; Step Functions definitions; and, through the Cloud
Control API, more types (DynamoDB tables, SQS queues, alarms, API Gateway methods and deployments).
The stack keeps its old template: "This command deliberately introduces drift in CloudFormation stacks".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tools.cdk_stage.assembly import StackArtifact

# A stack in one of these states holds what its last deployment made, which is what a hotswap updates.
READY = frozenset(
    {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE"}
)
IMAGE_BUILD = "Custom::CDKContainerImageBuild"  # cdklabs-deploy-time-build: CodeBuild builds the image
IMAGE_ASSET_REPOSITORY = "container-assets"  # the bootstrap's repository for Docker image assets


def refusal(stage: str) -> str:
    return (
        f"make hotswap STAGE={stage} refused: stage {stage} sets allow_hotswap=false (stage/config.py). A hotswap "
        "updates resources outside CloudFormation, so the stacks drift from their templates, and ECS replaces the "
        "web tasks with a minimum healthy percent of 0, so the task count can drop to 0; use "
        f"`make deploy STAGE={stage}`"
    )


def not_ready(stacks: dict[str, str | None], stage: str) -> str:
    """The error for stacks a hotswap cannot update: `stacks` maps each to its status (None: not deployed)."""
    listed = ", ".join(f"{name} ({status or 'not deployed'})" for name, status in stacks.items())
    names = " ".join(name.split("/", 1)[-1] for name in stacks)
    return (
        f"a hotswap updates the resources of deployed stacks, and these are not deployed and stable: {listed}; "
        f"run `make deploy STAGE={stage} STACKS='{names}'` first"
    )


def reach(stack: StackArtifact) -> list[str]:
    """What a hotswap of `stack` can push and what it cannot, one line each, read from its template."""
    resources: dict[str, Any] = stack.template.get("Resources", {})
    lines = []
    functions = [k for k, r in resources.items() if r["Type"] == "AWS::Lambda::Function"]
    if functions:
        names = ", ".join(_path(stack, resources, k) for k in functions)
        lines.append(f"the code and environment of {len(functions)} Lambda function(s): {names}")
    machines = [
        _path(stack, resources, k) for k, r in resources.items() if r["Type"] == "AWS::StepFunctions::StateMachine"
    ]
    if machines:
        lines.append(f"the definition of {len(machines)} state machine(s): {', '.join(machines)}")
    lines += [_image_line(stack, resources, task, image) for task, image in _task_images(resources)]
    return [f"{stack.display_name}: {line}" for line in lines or ["nothing a hotswap can push"]]


def _image_line(stack: StackArtifact, resources: dict[str, Any], task: str, image: Any) -> str:
    task_path = _path(stack, resources, task)
    builds = [ref for ref in _references(image) if resources.get(ref, {}).get("Type") == IMAGE_BUILD]
    if builds:
        return (
            f"NOT the image of {task_path}: CodeBuild builds it while CloudFormation deploys the stack "
            f"({IMAGE_BUILD} {_path(stack, resources, builds[0])}, web.image_build='codebuild'), which a hotswap "
            f"never does; a change under web/container/ reaches the service with `make deploy STAGE={stack.stage} "
            f"STACKS={stack.stack_id}`, or with web.image_build='docker' and a Docker engine here"
        )
    if IMAGE_ASSET_REPOSITORY in json.dumps(image):
        return (
            f"the image of {task_path} (a Docker image asset: your Docker engine builds it, the CLI pushes it), as a "
            "new task definition revision; ECS then replaces the tasks with a minimum healthy percent of 0, so the "
            "service may run no task for a while (CDK_ARGS='--hotswap-ecs-minimum-healthy-percent 100' keeps them)"
        )
    return f"the image of {task_path} only when its name changes in the template"


def _task_images(resources: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::ECS::TaskDefinition":
            for container in resource.get("Properties", {}).get("ContainerDefinitions", []):
                yield logical_id, container.get("Image")


def _references(value: Any) -> Iterator[str]:
    """The logical ids an expression names with Ref or Fn::GetAtt."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                yield inner
            elif key == "Fn::GetAtt" and isinstance(inner, list) and inner:
                yield str(inner[0])
            else:
                yield from _references(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _references(inner)


def _path(stack: StackArtifact, resources: dict[str, Any], logical_id: str) -> str:
    """The construct path without the stage and the trailing /Resource ('Chat/Comments/Handler/Function'), as
    the CLI's synth records it; the logical id in an assembly synthesized without path metadata."""
    path = str(resources[logical_id].get("Metadata", {}).get("aws:cdk:path", logical_id))
    return path.removeprefix(f"{stack.stage}/").removesuffix("/Resource")
