"""The CloudFormation execution policy `make bootstrap EXECUTION_POLICY=1` creates: every action the
CloudFormation registry says each resource type of a stage needs, within IAM's size of a managed policy."""

from __future__ import annotations

import json
import re
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


def test_the_sizes_docs_ci_gives_are_the_stages_policies(synth: Synthesized) -> None:
    """docs/ci.md states each stage's policy size on this commit: a change to the stacks that moves it fails here."""
    from tests.support.synth import ROOT

    text = " ".join((ROOT / "docs" / "ci.md").read_text().split())
    stated = re.search(
        r"the sandbox (\d+) actions for (\d+) resource types, prod (\d+) for (\d+), each in (\d+) policies", text
    )
    prefixes = re.search(r"so (\d+) service prefixes appear in the sandbox's and (\d+) in prod's", text)
    assert stated and prefixes, "docs/ci.md no longer states the sizes this test reads"
    measured = []
    for stage in ("sandbox", "prod"):
        stacks = _stage(synth, stage)
        granted = execution_policy.actions(stacks)
        measured.append(
            (
                len(granted),
                len(execution_policy.resource_types(stacks)),
                len(execution_policy.documents(stacks)),
                len({a.split(":")[0] for a in granted}),
            )
        )
    (sandbox, prod) = measured
    assert [int(n) for n in stated.groups()] == [sandbox[0], sandbox[1], prod[0], prod[1], sandbox[2]], measured
    assert sandbox[2] == prod[2], measured
    assert [int(n) for n in prefixes.groups()] == [sandbox[3], prod[3]], measured


@pytest.mark.parametrize(
    ("stage", "cdk_args", "error"),
    [
        ("qa", "", "error: Unknown stage 'qa'; known stages: prod, sandbox"),
        ("sandbox", "-c chat.throttle_rate_limit=0", "error: Invalid configuration for stage 'sandbox': chat."),
        ("sandbox", "--foo 'unterminated", "error: CDK_ARGS: No closing quotation"),
    ],
)
def test_a_bad_stage_or_setting_stops_in_one_line_before_a_synth(
    stage: str, cdk_args: str, error: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CDK_ARGS", cdk_args)
    monkeypatch.setattr(execution_policy.cdk, "synth", _no_synth)
    assert execution_policy.main(["--stage", stage]) == 2
    err = capsys.readouterr().err
    assert err.startswith(error) and err.count("\n") == 1, err


def _no_synth(*_: object) -> float:
    raise AssertionError("a synth started before the stage and its settings were checked")
