"""The web image is built at deploy time in CodeBuild (arm64): nothing in the app needs Docker to deploy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.iam import role_of_function, statements_of_role
from tests.support.synth import Synthesized, resources_of_type
from tests.web.web_template import one
from web.image import KEEP_IMAGES

STAGES = ("sandbox", "prod")


def _template(synth: Synthesized, stage: str) -> dict[str, Any]:
    return synth.templates[f"{stage}/Web"]


def test_no_stack_of_any_stage_has_a_docker_image_asset(synth: Synthesized) -> None:
    """`cdk deploy` builds Docker image assets with a local Docker engine; the app has none to build."""
    manifests = sorted(synth.outdir.glob("assembly-*/*.assets.json"))
    assert len(manifests) == len(synth.templates)
    with_images = {path.name: json.loads(path.read_text())["dockerImages"] for path in manifests}
    assert {name: images for name, images in with_images.items() if images} == {}


@pytest.mark.parametrize("stage", STAGES)
def test_task_runs_the_image_the_deploy_time_build_pushed(synth: Synthesized, stage: str) -> None:
    template = _template(synth, stage)
    (repository_id,) = resources_of_type(template, "AWS::ECR::Repository")
    (build_id,) = resources_of_type(template, "Custom::CDKContainerImageBuild")
    _, task = one(template, "AWS::ECS::TaskDefinition")
    image = task["ContainerDefinitions"][0]["Image"]["Fn::Join"][1]
    assert image[-2:] == [":", {"Fn::GetAtt": [build_id, "ImageTag"]}]
    assert {"Ref": repository_id} in image


@pytest.mark.parametrize("stage", STAGES)
def test_codebuild_builds_for_arm64_from_the_source_asset(synth: Synthesized, stage: str) -> None:
    template = _template(synth, stage)
    (project_id, project), *others = resources_of_type(template, "AWS::CodeBuild::Project").items()
    assert others == []
    environment = project["Properties"]["Environment"]
    assert environment["Type"] == "ARM_CONTAINER"
    assert "aarch64" in environment["Image"]
    _, build = one(template, "Custom::CDKContainerImageBuild")
    assert build["codeBuildProjectName"] == {"Ref": project_id}
    assert "--platform linux/arm64" in build["buildCommand"]
    # The source folder travels as a zip file asset in the bootstrap bucket, published without Docker.
    assert build["sourceS3Url"]["Fn::Sub"].endswith(".zip")
    _, task = one(template, "AWS::ECS::TaskDefinition")
    assert task["RuntimePlatform"]["CpuArchitecture"] == "ARM64"


@pytest.mark.parametrize("stage", STAGES)
def test_repository_keeps_immutable_scanned_recent_images(synth: Synthesized, stage: str) -> None:
    (repository,) = resources_of_type(_template(synth, stage), "AWS::ECR::Repository").values()
    props = repository["Properties"]
    assert props["ImageTagMutability"] == "IMMUTABLE"
    assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert props["EncryptionConfiguration"] == {"EncryptionType": "KMS"}
    (rule,) = json.loads(props["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    assert rule["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": KEEP_IMAGES}
    # Images are rebuilt from source on every deploy: the repository goes with the stack, images included.
    assert (repository["DeletionPolicy"], props["EmptyOnDelete"]) == ("Delete", True)


def _trigger_function(template: dict[str, Any]) -> str:
    """The function behind the build's custom resource."""
    (build,) = resources_of_type(template, "Custom::CDKContainerImageBuild").values()
    return str(build["Properties"]["ServiceToken"]["Fn::GetAtt"][0])


def _log_group_of(template: dict[str, Any], prefix: str, owner: str) -> str:
    """The logical id of the log group named `<prefix><name of owner>`."""
    name = {"Fn::Join": ["", [prefix, {"Ref": owner}]]}
    (logical_id,) = (
        k
        for k, v in resources_of_type(template, "AWS::Logs::LogGroup").items()
        if v["Properties"].get("LogGroupName") == name
    )
    return logical_id


@pytest.mark.parametrize(("stage", "days"), [("sandbox", 7), ("prod", 365)])
def test_build_and_trigger_logs_keep_the_stage_retention_and_go_with_the_stack(
    synth: Synthesized, stage: str, days: int
) -> None:
    template = _template(synth, stage)
    (project_id,) = resources_of_type(template, "AWS::CodeBuild::Project")
    handler_id = _trigger_function(template)
    build_logs = _log_group_of(template, "/aws/codebuild/", project_id)
    for logical_id in (build_logs, _log_group_of(template, "/aws/lambda/", handler_id)):
        group = template["Resources"][logical_id]
        assert group["Properties"]["RetentionInDays"] == days
        assert group["DeletionPolicy"] == "Delete"
    # CodeBuild would create its group with no expiry: ours exists before the first build starts.
    (build,) = resources_of_type(template, "Custom::CDKContainerImageBuild").values()
    assert build_logs in build["DependsOn"]


def test_build_trigger_may_start_this_build_and_write_its_own_logs_only(synth: Synthesized) -> None:
    template = _template(synth, "prod")
    handler_id = _trigger_function(template)
    role_id = role_of_function(template, handler_id)
    assert template["Resources"][role_id]["Properties"].get("ManagedPolicyArns", []) == []
    (project_id,) = resources_of_type(template, "AWS::CodeBuild::Project")
    logs_id = _log_group_of(template, "/aws/lambda/", handler_id)
    statements = sorted(statements_of_role(template, role_id), key=lambda s: json.dumps(s["Action"]))
    assert statements == [
        {"Action": "codebuild:StartBuild", "Effect": "Allow", "Resource": {"Fn::GetAtt": [project_id, "Arn"]}},
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [logs_id, "Arn"]},
        },
    ]


def test_build_project_may_push_to_its_repository_only(synth: Synthesized) -> None:
    template = _template(synth, "prod")
    (project,) = resources_of_type(template, "AWS::CodeBuild::Project").values()
    role_id = project["Properties"]["ServiceRole"]["Fn::GetAtt"][0]
    (repository_id,) = resources_of_type(template, "AWS::ECR::Repository")
    pushes = [s for s in statements_of_role(template, role_id) if "ecr:PutImage" in s["Action"]]
    assert [s["Resource"] for s in pushes] == [{"Fn::GetAtt": [repository_id, "Arn"]}]
    wildcard = [s["Action"] for s in statements_of_role(template, role_id) if s["Resource"] == "*"]
    assert wildcard == ["ecr:GetAuthorizationToken"]
