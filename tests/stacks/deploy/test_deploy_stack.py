"""The GitHub deploy-access stack: who may assume its roles, and that they may only assume CDK's roles."""

from __future__ import annotations

from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from stacks.app_builder import GITHUB_DEPLOY_ID
from tests.stacks.deploy.conftest import OPTIONS_REGIONS, PROVIDER, REPOSITORY, DeploySynth
from tests.support.gates import cfn_lint_findings, gate_findings
from tests.support.iam import statements_of_role
from tests.support.snapshot import normalize
from tests.support.synth import Synthesized, resources_of_type

TOKEN = "token.actions.githubusercontent.com"
VARIANTS = ("default", "options")


def _role(template: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    (item,) = ((k, v) for k, v in resources_of_type(template, "AWS::IAM::Role").items() if k.startswith(name))
    return item


def _trust(role: dict[str, Any]) -> dict[str, Any]:
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    return statement  # type: ignore[no-any-return]


def _assumable(template: dict[str, Any], role_id: str) -> list[str]:
    """'<kind>@<region>' of every bootstrap role the role may assume; fails on any other permission."""
    (statement,) = statements_of_role(template, role_id)
    assert (statement["Effect"], statement["Action"]) == ("Allow", "sts:AssumeRole")
    account = {"Ref": "AWS::AccountId"}
    found = []
    resources = statement["Resource"]
    for arn in resources if isinstance(resources, list) else [resources]:
        # arn:<partition>:iam::<account>:role/cdk-hnb659fds-<kind>-role-<account>-<region>
        parts = arn["Fn::Join"][1]
        assert parts[:4] == ["arn:", {"Ref": "AWS::Partition"}, ":iam::", account] and parts[5] == account
        assert len(parts) == 7 and parts[4].startswith(":role/cdk-hnb659fds-") and parts[4].endswith("-role-")
        kind, region = parts[4].removeprefix(":role/cdk-hnb659fds-").removesuffix("-role-"), parts[6].removeprefix("-")
        found.append(f"{kind}@{region}")
    return sorted(found)


def test_snapshot(deploy_synth: DeploySynth, snapshot: SnapshotAssertion) -> None:
    assert normalize(deploy_synth.templates["default"]) == snapshot.use_extension(JSONSnapshotExtension)


def test_default_stages_have_no_deploy_access_stack(synth: Synthesized) -> None:
    assert [key for key in synth.templates if key.endswith(f"/{GITHUB_DEPLOY_ID}")] == []


def test_the_stack_is_part_of_its_stage(deploy_synth: DeploySynth) -> None:
    """So `make deploy STAGE=sandbox` (and STACKS=GitHubDeploy) select it like the stage's other stacks."""
    assert deploy_synth.keys["default"] == f"sandbox/{GITHUB_DEPLOY_ID}"
    assert deploy_synth.variants.stack_names[f"sandbox/{GITHUB_DEPLOY_ID}"] == f"sandbox-{GITHUB_DEPLOY_ID}"


def test_deploy_role_trusts_pushes_to_one_branch_of_one_repository(deploy_synth: DeploySynth) -> None:
    template = deploy_synth.templates["default"]
    (provider_id, provider), *others = resources_of_type(template, "AWS::IAM::OIDCProvider").items()
    assert others == []
    assert provider["Properties"]["Url"] == f"https://{TOKEN}"
    assert provider["Properties"]["ClientIdList"] == ["sts.amazonaws.com"]
    _, role = _role(template, "AccessDeployRole")
    assert _trust(role) == {
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Effect": "Allow",
        "Principal": {"Federated": {"Ref": provider_id}},
        "Condition": {
            "StringEquals": {f"{TOKEN}:aud": "sts.amazonaws.com"},
            "StringLike": {f"{TOKEN}:sub": f"repo:{REPOSITORY}:ref:refs/heads/main"},
        },
    }
    assert role["Properties"]["MaxSessionDuration"] == 3600


def test_deploy_role_may_only_assume_the_bootstrap_roles_of_the_stage_regions(deploy_synth: DeploySynth) -> None:
    template = deploy_synth.templates["default"]
    role_id, role = _role(template, "AccessDeployRole")
    regions = deploy_synth.regions["default"]
    assert regions == ["eu-west-1"]  # the sandbox's stacks all live in its region (no Lambda@Edge, no web ACL)
    assert _assumable(template, role_id) == sorted(
        f"{kind}@{region}" for kind in ("deploy", "file-publishing", "lookup") for region in regions
    )
    assert "ManagedPolicyArns" not in role["Properties"] and "Policies" not in role["Properties"]


def test_pull_requests_get_a_read_only_role(deploy_synth: DeploySynth) -> None:
    template = deploy_synth.templates["default"]
    role_id, role = _role(template, "AccessDiffRole")
    assert _trust(role)["Condition"]["StringLike"] == {f"{TOKEN}:sub": f"repo:{REPOSITORY}:pull_request"}
    assert _assumable(template, role_id) == ["lookup@eu-west-1"]


def test_outputs_name_the_roles_for_the_workflow_variables(deploy_synth: DeploySynth) -> None:
    outputs = deploy_synth.templates["default"]["Outputs"]
    assert outputs["DeployRoleArn"]["Value"] == {
        "Fn::GetAtt": [_role(deploy_synth.templates["default"], "AccessDeployRole")[0], "Arn"]
    }
    assert outputs["DiffRoleArn"]["Value"] == {
        "Fn::GetAtt": [_role(deploy_synth.templates["default"], "AccessDiffRole")[0], "Arn"]
    }


def test_options_reuse_the_provider_take_a_pattern_and_publish_images(deploy_synth: DeploySynth) -> None:
    template = deploy_synth.templates["options"]
    assert resources_of_type(template, "AWS::IAM::OIDCProvider") == {}
    role_id, role = _role(template, "AccessDeployRole")
    trust = _trust(role)
    assert trust["Principal"] == {"Federated": PROVIDER}
    assert trust["Condition"]["StringLike"] == {f"{TOKEN}:sub": f"repo:{REPOSITORY}:ref:refs/heads/release/*"}
    assert role["Properties"]["MaxSessionDuration"] == 7200
    kinds = ("deploy", "file-publishing", "image-publishing", "lookup")
    assert _assumable(template, role_id) == sorted(f"{k}@{r}" for k in kinds for r in OPTIONS_REGIONS)
    assert [k for k in resources_of_type(template, "AWS::IAM::Role") if k.startswith("AccessDiffRole")] == []
    assert "DiffRoleArn" not in template["Outputs"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_cdk_nag_and_cfn_lint_are_clean(deploy_synth: DeploySynth, variant: str) -> None:
    key = deploy_synth.keys[variant]
    assert [f for f in gate_findings(deploy_synth.variants) if f.endswith(f"(stack {key})")] == []
    assert cfn_lint_findings(deploy_synth.templates[variant], deploy_synth.variants.regions[key]) == []
