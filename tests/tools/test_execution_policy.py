"""The CloudFormation execution policy `make bootstrap EXECUTION_POLICY=1` creates: every action the
CloudFormation registry says each resource type of a stage needs, within IAM's size of a managed policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.synth import Synthesized
from tools.cdk_stage import assembly, execution_policy
from tools.cdk_stage.assembly import StackArtifact


def _stage(synth: Synthesized, stage: str) -> list[StackArtifact]:
    return assembly.select(assembly.read_assembly(synth.outdir), stage).chosen


@pytest.mark.parametrize("stage", ["sandbox", "prod"])
def test_every_resource_type_of_the_stage_gets_its_create_update_and_delete_actions(
    synth: Synthesized, stage: str
) -> None:
    stacks = _stage(synth, stage)
    documents = execution_policy.documents(stacks)
    granted = {a for d in documents for a in d["Statement"][0]["Action"]}
    types = execution_policy.resource_types(stacks)
    assert "AWS::Lambda::Function" in types and "AWS::DynamoDB::Table" in types
    for resource_type, region in types.items():
        assert execution_policy.actions_for(resource_type, region) <= granted, resource_type
    assert {"lambda:CreateFunction", "dynamodb:CreateTable", "dynamodb:DeleteTable", "iam:PassRole"} <= granted
    assert {"lambda:InvokeFunction", "codebuild:CreateProject"} <= granted  # custom resources, CodeBuild
    for document in documents:  # each fits a managed policy, and grants nothing but actions of those types
        assert len(json.dumps(document, separators=(",", ":"))) <= execution_policy.POLICY_CHARACTERS
        assert document["Statement"][0]["Effect"] == "Allow" and document["Statement"][0]["Resource"] == "*"
    assert not any(a == "*" or a.endswith(":*") for a in granted)
    assert "organizations:CreateAccount" not in granted and "iam:CreateUser" not in granted


def test_a_type_whose_actions_are_unknown_stops_the_policy(tmp_path: Path) -> None:
    template = tmp_path / "t.json"
    template.write_text(json.dumps({"Resources": {"Thing": {"Type": "AWS::Made::Up"}}}))
    stack = StackArtifact("qa/Thing", "qa-Thing", "eu-west-1", template)
    with pytest.raises(execution_policy.PolicyError, match=r"^AWS::Made::Up has no handler permissions"):
        execution_policy.documents([stack])


def test_make_execution_policy_prints_the_documents_offline(
    synth: Synthesized, capsys: pytest.CaptureFixture[str]
) -> None:
    assert execution_policy.main(["--stage", "prod", "--assembly", str(synth.outdir)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == execution_policy.documents(_stage(synth, "prod"))
