"""The GitHub deploy-access stack: who may assume its roles, and what each may reach (the deploy role CDK's
bootstrap roles of its stage, the pull-request role its stage's stacks to read)."""

from __future__ import annotations

from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from stage.builder import GITHUB_DEPLOY_ID
from tests.deploy.conftest import OPTIONS_REGIONS, PROVIDER, REPOSITORY, SANDBOX_ACCOUNT, DeploySynth
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


def _arn(value: dict[str, Any], account: str | None) -> str:
    """An ARN of the template as text, its partition as {partition}; fails unless the account is `account`
    (a literal) or, when None, the stack's own (Ref AWS::AccountId)."""
    parts = value["Fn::Join"][1]
    assert parts[:2] == ["arn:", {"Ref": "AWS::Partition"}]
    text = "".join(p if isinstance(p, str) else "{account}" for p in parts[2:])
    if account is None:
        assert [p for p in parts[2:] if not isinstance(p, str)] == [{"Ref": "AWS::AccountId"}] * text.count("{account}")
        return text
    assert "{account}" not in text, text
    return text.replace(account, "{account}")


def _assumable(template: dict[str, Any], role_id: str, account: str | None) -> list[str]:
    """'<kind>@<region>' of every bootstrap role the role may assume; fails on any other permission."""
    (statement,) = statements_of_role(template, role_id)
    assert (statement["Effect"], statement["Action"]) == ("Allow", "sts:AssumeRole")
    found = []
    for value in statement["Resource"]:
        arn = _arn(value, account)
        # :iam::<account>:role/cdk-hnb659fds-<kind>-role-<account>-<region>
        assert arn.startswith(":iam::{account}:role/cdk-hnb659fds-"), arn
        kind, region = arn.removeprefix(":iam::{account}:role/cdk-hnb659fds-").split("-role-{account}-")
        found.append(f"{kind}@{region}")
    return sorted(found)


def test_snapshot(deploy_synth: DeploySynth, snapshot: SnapshotAssertion) -> None:
    assert normalize(deploy_synth.templates["default"]) == snapshot.use_extension(JSONSnapshotExtension)


def test_default_stages_have_no_deploy_access_stack(synth: Synthesized) -> None:
    assert [key for key in synth.templates if key.endswith(f"/{GITHUB_DEPLOY_ID}")] == []


def test_the_stack_is_part_of_its_stage_in_the_stage_account(deploy_synth: DeploySynth) -> None:
    """So `make deploy STAGE=sandbox` (and STACKS=GitHubDeploy) select it like the stage's other stacks, in
    the account the stage names."""
    assert deploy_synth.keys["default"] == f"sandbox/{GITHUB_DEPLOY_ID}"
    assert deploy_synth.variants.stack_names[f"sandbox/{GITHUB_DEPLOY_ID}"] == f"sandbox-{GITHUB_DEPLOY_ID}"
    sandbox = [k for k in deploy_synth.variants.accounts if k.startswith("sandbox/")]
    assert {deploy_synth.variants.accounts[k] for k in sandbox} == {SANDBOX_ACCOUNT}


def test_deploy_role_trusts_one_environment_of_one_repository_on_one_branch(deploy_synth: DeploySynth) -> None:
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
            "StringEquals": {
                f"{TOKEN}:aud": "sts.amazonaws.com",
                f"{TOKEN}:sub": f"repo:{REPOSITORY}:environment:sandbox",
            },
            "StringLike": {f"{TOKEN}:ref": "refs/heads/main"},
        },
    }
    assert role["Properties"]["MaxSessionDuration"] == 3600


def test_deploy_role_may_only_assume_the_bootstrap_roles_of_the_stage(deploy_synth: DeploySynth) -> None:
    template = deploy_synth.templates["default"]
    role_id, role = _role(template, "AccessDeployRole")
    regions = deploy_synth.regions["default"]
    assert regions == ["eu-west-1"]  # the sandbox's stacks all live in its region (no Lambda@Edge, no web ACL)
    assert _assumable(template, role_id, SANDBOX_ACCOUNT) == sorted(
        f"{kind}@{region}" for kind in ("deploy", "file-publishing", "lookup") for region in regions
    )
    assert "ManagedPolicyArns" not in role["Properties"] and "Policies" not in role["Properties"]


def test_pull_requests_may_only_describe_and_get_the_templates_of_the_stage_stacks(deploy_synth: DeploySynth) -> None:
    """What `cdk diff --method=template` calls; not the lookup role (ReadOnlyAccess), nothing else."""
    template = deploy_synth.templates["default"]
    role_id, role = _role(template, "AccessDiffRole")
    assert _trust(role)["Condition"] == {
        "StringEquals": {f"{TOKEN}:aud": "sts.amazonaws.com", f"{TOKEN}:sub": f"repo:{REPOSITORY}:pull_request"}
    }
    (statement,) = statements_of_role(template, role_id)
    assert statement["Action"] == ["cloudformation:DescribeStacks", "cloudformation:GetTemplate"]
    stacks = sorted(_arn(value, SANDBOX_ACCOUNT) for value in statement["Resource"])
    names = deploy_synth.variants.stack_names
    expected = sorted(
        f":cloudformation:{deploy_synth.variants.regions[k]}:{{account}}:stack/{names[k]}/*"
        for k in names
        if k.startswith("sandbox/")
    )
    # Chat, Web, Edge, PowerTuning (the variant builds it, -c power_tuning=true) and GitHubDeploy itself
    assert stacks == expected and len(expected) == 5
    assert "ManagedPolicyArns" not in role["Properties"] and "Policies" not in role["Properties"]


def test_outputs_name_the_roles_for_the_workflow_variables(deploy_synth: DeploySynth) -> None:
    outputs = deploy_synth.templates["default"]["Outputs"]
    assert outputs["DeployRoleArn"]["Value"] == {
        "Fn::GetAtt": [_role(deploy_synth.templates["default"], "AccessDeployRole")[0], "Arn"]
    }
    assert outputs["DiffRoleArn"]["Value"] == {
        "Fn::GetAtt": [_role(deploy_synth.templates["default"], "AccessDiffRole")[0], "Arn"]
    }


def test_options_reuse_the_provider_name_the_ids_and_environment_and_publish_images(deploy_synth: DeploySynth) -> None:
    template = deploy_synth.templates["options"]
    assert resources_of_type(template, "AWS::IAM::OIDCProvider") == {}
    role_id, role = _role(template, "AccessDeployRole")
    trust = _trust(role)
    assert trust["Principal"] == {"Federated": PROVIDER}
    assert trust["Condition"]["StringEquals"][f"{TOKEN}:sub"] == "repo:my-org@1234/my-app@56789:environment:production"
    assert trust["Condition"]["StringLike"] == {f"{TOKEN}:ref": "refs/heads/release/*"}
    assert role["Properties"]["MaxSessionDuration"] == 7200
    kinds = ("deploy", "file-publishing", "image-publishing", "lookup")
    assert _assumable(template, role_id, None) == sorted(f"{k}@{r}" for k in kinds for r in OPTIONS_REGIONS)
    assert [k for k in resources_of_type(template, "AWS::IAM::Role") if k.startswith("AccessDiffRole")] == []
    assert "DiffRoleArn" not in template["Outputs"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_cdk_nag_and_cfn_lint_are_clean(deploy_synth: DeploySynth, variant: str) -> None:
    key = deploy_synth.keys[variant]
    assert [f for f in gate_findings(deploy_synth.variants) if f.endswith(f"(stack {key})")] == []
    assert cfn_lint_findings(deploy_synth.templates[variant], deploy_synth.variants.regions[key]) == []
