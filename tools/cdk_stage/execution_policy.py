"""A CloudFormation execution policy for `cdk bootstrap` narrower than AdministratorAccess: the actions
CloudFormation needs to create, read, update and delete the resource types the stage's stacks hold.

    python -m tools.cdk_stage.execution_policy --stage sandbox [--assembly DIR] [--output FILE]

`cdk bootstrap` gives the CloudFormation execution role AdministratorAccess unless
`--cloudformation-execution-policies` names other managed policies ("Customize AWS CDK bootstrapping", CDK
Developer Guide). Each resource type's actions come from its CloudFormation registry schema (the handlers'
`permissions`, as cfn-lint ships them); the few types without handlers are listed here by hand. Offline: it
reads the synthesized templates only. `make bootstrap EXECUTION_POLICY=1` creates the policies and
bootstraps with them (docs/ci.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from stage.config import ConfigError, load_stage, stage_overrides
from tools.cdk_stage import assembly, cdk
from tools.cdk_stage.assembly import StackArtifact

HANDLERS = ("create", "read", "update", "delete", "list")
# A managed policy holds at most 6,144 characters, whitespace not counted (IAM and AWS STS quotas).
POLICY_CHARACTERS = 6_144
# Types whose schema has no handlers (CloudFormation's own implementations), with what they call.
WITHOUT_HANDLERS: dict[str, tuple[str, ...]] = {
    "AWS::CDK::Metadata": (),  # no AWS resource
    # CodeBuild API reference: CreateProject, UpdateProject, DeleteProject, BatchGetProjects; the service role.
    "AWS::CodeBuild::Project": (
        "codebuild:BatchGetProjects",
        "codebuild:CreateProject",
        "codebuild:DeleteProject",
        "codebuild:UpdateProject",
        "iam:PassRole",
    ),
    # AWS SAM: the transform turns an application into a nested stack from the Serverless Application
    # Repository (the Secrets Manager rotation functions); its own resources need their own types' actions.
    "AWS::Serverless::Application": (
        "serverlessrepo:CreateCloudFormationTemplate",
        "serverlessrepo:GetApplication",
        "serverlessrepo:GetCloudFormationTemplate",
    ),
}
# A custom resource's provider function is invoked by CloudFormation, which acts with the stack's role ("If you
# specify a service role, CloudFormation uses that role's credentials", CloudFormation service role).
CUSTOM_RESOURCE = ("lambda:InvokeFunction",)


class PolicyError(RuntimeError):
    """A resource type whose actions are not known; the message names it."""


def _handler_actions(resource_type: str, region: str) -> set[str] | None:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, ResourceNotFoundError  # noqa: PLC0415 - only its users pay

    try:
        schema: dict[str, Any] = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    except ResourceNotFoundError:
        return None
    handlers = schema.get("handlers")
    if not handlers:
        return None
    return {action for name in HANDLERS for action in handlers.get(name, {}).get("permissions", [])}


def actions_for(resource_type: str, region: str) -> set[str]:
    """What CloudFormation calls to manage one resource type in `region`."""
    if resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource":
        return set(CUSTOM_RESOURCE)
    if resource_type in WITHOUT_HANDLERS:
        extra = set(WITHOUT_HANDLERS[resource_type])
        if resource_type == "AWS::Serverless::Application":
            extra |= actions_for("AWS::CloudFormation::Stack", region)
        return extra
    found = _handler_actions(resource_type, region)
    if found is None:
        raise PolicyError(
            f"{resource_type} has no handler permissions in the CloudFormation schemas of {region}; add what it "
            "calls to WITHOUT_HANDLERS in tools/cdk_stage/execution_policy.py"
        )
    return found


def resource_types(stacks: Iterable[StackArtifact]) -> dict[str, str]:
    """Each resource type of the stacks, with a region it is deployed in (schemas differ little by region)."""
    found: dict[str, str] = {}
    for stack in stacks:
        for resource in stack.template.get("Resources", {}).values():
            found.setdefault(resource["Type"], stack.region)
    return dict(sorted(found.items()))


def actions(stacks: Iterable[StackArtifact]) -> list[str]:
    return sorted({a for t, region in resource_types(stacks).items() for a in actions_for(t, region)})


def documents(stacks: Iterable[StackArtifact]) -> list[dict[str, Any]]:
    """The actions as policy documents, each within a managed policy's size."""
    chunks: list[list[str]] = [[]]
    for action in actions(stacks):
        candidate = [*chunks[-1], action]
        if len(_compact(_document(candidate))) > POLICY_CHARACTERS:
            chunks.append([action])
        else:
            chunks[-1] = candidate
    return [_document(chunk) for chunk in chunks if chunk]


def _document(chunk: list[str]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": chunk, "Resource": "*"}]}


def _compact(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.cdk_stage.execution_policy", description=__doc__)
    parser.add_argument("--stage", default="sandbox")
    parser.add_argument("--assembly", type=Path, help="the stage already synthesized here")
    parser.add_argument("--output", type=Path, help="write the documents (a JSON list) here instead of stdout")
    args = parser.parse_args(argv)
    folder = args.assembly or cdk.ROOT / f"cdk.out.{args.stage}"
    try:
        if not args.assembly:
            # The stage and CDK_ARGS' settings as the stage targets take them, before a synth is started.
            settings = cdk.CdkArgs.parse(os.environ.get("CDK_ARGS", ""))
            load_stage(args.stage, stage_overrides(settings.overrides()))
            cdk.synth(args.stage, folder, settings.context)
        stacks = assembly.select(assembly.read_assembly(folder), args.stage).chosen
        found = documents(stacks)
    except (PolicyError, assembly.SelectionError, cdk.CliError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    text = json.dumps(found, indent=2) + "\n"
    if args.output:
        args.output.write_text(text)
        count = sum(len(d["Statement"][0]["Action"]) for d in found)
        print(f"{args.output}: {count} actions for {len(resource_types(stacks))} resource types, {len(found)} policies")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
