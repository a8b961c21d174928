"""Rules for roles GitHub Actions may assume: each flags a role built the wrong way and passes the right one.

Stages: `sandbox` and `prod` in accounts of their own, `dev` and `test` sharing one, `qa` naming none.
"""

from __future__ import annotations

from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam

from tests.support.readiness import Findings, findings_fixture, stage_stack

TOKEN = "token.actions.githubusercontent.com"
REPO = "repo:my-org/my-app"
SANDBOX, PROD, SHARED = "111111111111", "222222222222", "333333333333"
PR_RULE, DEPLOY_RULE, STAGE_RULE = (
    "GitHubPullRequestRoleReadsOnlyStacks",
    "GitHubDeployRoleBoundToEnvironment",
    "GitHubRoleStaysInItsStage",
)


def _github_role(stack: Stack, name: str, *, sub: str | None, like: bool = False, ref: bool = False) -> iam.Role:
    """A role GitHub's provider may assume for tokens whose `sub` is (or, `like`, matches) `sub`."""
    conditions: dict[str, dict[str, str]] = {"StringEquals": {f"{TOKEN}:aud": "sts.amazonaws.com"}}
    if sub is not None:
        conditions["StringLike" if like else "StringEquals"] = {f"{TOKEN}:sub": sub}
    if ref:
        conditions.setdefault("StringLike", {})[f"{TOKEN}:ref"] = "refs/heads/main"
    provider = f"arn:aws:iam::{stack.account}:oidc-provider/{TOKEN}"
    return iam.Role(stack, name, assumed_by=iam.WebIdentityPrincipal(provider, conditions=conditions))


def _stack(stack: Stack, name: str, region: str = "eu-west-1") -> str:
    return f"arn:aws:cloudformation:{region}:{stack.account}:stack/{name}/*"


def _bootstrap_role(account: str, kind: str) -> str:
    return f"arn:aws:iam::{account}:role/cdk-hnb659fds-{kind}-role-{account}-eu-west-1"


def _may(role: iam.Role, actions: list[str], resources: list[str]) -> None:
    role.add_to_policy(iam.PolicyStatement(actions=actions, resources=resources))


DIFF = ["cloudformation:DescribeStacks", "cloudformation:GetTemplate"]


def _pull_request_roles(stack: Stack) -> None:
    own = _stack(stack, "sandbox-Access")
    _may(_github_role(stack, "DiffGood", sub=f"{REPO}:pull_request"), DIFF, [own])
    _may(
        _github_role(stack, "DiffLookup", sub=f"{REPO}:pull_request"),
        ["sts:AssumeRole"],
        [_bootstrap_role(SANDBOX, "lookup")],
    )
    read_only = _github_role(stack, "DiffReadOnly", sub=f"{REPO}:pull_request")
    read_only.add_managed_policy(iam.ManagedPolicy.from_aws_managed_policy_name("ReadOnlyAccess"))
    _may(_github_role(stack, "DiffRules", sub=f"{REPO}:pull_request"), ["elasticloadbalancing:DescribeRules"], ["*"])
    _may(_github_role(stack, "DiffAnyStack", sub=f"{REPO}:pull_request"), DIFF, ["*"])
    _may(_github_role(stack, "NoSubject", sub=None), DIFF, [own])
    _may(
        _github_role(stack, "BranchReader", sub=f"{REPO}:ref:refs/heads/main"),
        ["cloudfront:GetDistributionConfig"],
        ["*"],
    )


def _deploy_roles(stack: Stack) -> None:
    deploy = [_bootstrap_role(SANDBOX, kind) for kind in ("deploy", "file-publishing", "lookup")]
    _may(_github_role(stack, "DeployGood", sub=f"{REPO}:environment:sandbox", ref=True), ["sts:AssumeRole"], deploy)
    _may(_github_role(stack, "DeployOnMain", sub=f"{REPO}:ref:refs/heads/main"), ["sts:AssumeRole"], deploy)
    _may(
        _github_role(stack, "DeployAnyEnvironment", sub=f"{REPO}:environment:*", like=True, ref=True),
        ["sts:AssumeRole"],
        deploy,
    )
    _may(_github_role(stack, "DeployAnyBranch", sub=f"{REPO}:environment:sandbox"), ["sts:AssumeRole"], deploy)
    admin = _github_role(stack, "AdminOnMain", sub=f"{REPO}:ref:refs/heads/main")
    admin.add_managed_policy(iam.ManagedPolicy.from_aws_managed_policy_name("AdministratorAccess"))


def _reaching_roles(stack: Stack) -> None:
    environment = f"{REPO}:environment:sandbox"
    _may(
        _github_role(stack, "ReadsProd", sub=environment, ref=True),
        DIFF,
        [_stack(stack, "prod-Chat").replace(SANDBOX, PROD)],
    )
    _may(
        _github_role(stack, "OtherAccount", sub=environment, ref=True),
        ["sts:AssumeRole"],
        [_bootstrap_role(PROD, "deploy")],
    )
    _may(_github_role(stack, "AnyRole", sub=environment, ref=True), ["sts:AssumeRole"], ["*"])


def _build(app: object) -> None:
    assert isinstance(app, App)
    sandbox = stage_stack(app, "sandbox", "Access", account=SANDBOX)
    _pull_request_roles(sandbox)
    _deploy_roles(sandbox)
    _reaching_roles(sandbox)
    stage_stack(app, "prod", "Chat", account=PROD)  # a stack of another stage, in its own account
    for stage in ("dev", "test"):
        shared = stage_stack(app, stage, "Access", account=SHARED)
        _may(
            _github_role(shared, "Deploy", sub=f"{REPO}:environment:{stage}", ref=True),
            ["sts:AssumeRole"],
            [_bootstrap_role(SHARED, "deploy")],
        )
    unpinned = stage_stack(app, "qa", "Access")
    _may(
        _github_role(unpinned, "Deploy", sub=f"{REPO}:environment:qa", ref=True),
        ["sts:AssumeRole"],
        [f"arn:aws:iam::{unpinned.account}:role/cdk-hnb659fds-deploy-role-{unpinned.account}-eu-west-1"],
    )


findings = findings_fixture(_build)
STACK = "sandbox/Access"


def test_the_pull_request_role_cdk_diff_needs_passes(findings: Findings) -> None:
    for rule in (PR_RULE, DEPLOY_RULE, STAGE_RULE):
        assert findings.rule_of(f"{STACK}/DiffGood", rule) == set()


def test_a_pull_request_role_may_not_reach_the_lookup_role(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/DiffLookup", PR_RULE) == {"sts:assumerole"}
    assert findings.rule_of(f"{STACK}/DiffLookup", DEPLOY_RULE) == set()  # reading, not deploying


def test_a_pull_request_role_may_not_hold_read_only_access(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/DiffReadOnly", PR_RULE) == {"managed:ReadOnlyAccess"}


def test_a_pull_request_role_may_not_read_what_resources_echo(findings: Findings) -> None:
    """Listener rule values (DescribeRules) and origin custom headers (GetDistributionConfig)."""
    assert findings.rule_of(f"{STACK}/DiffRules", PR_RULE) == {"elasticloadbalancing:describerules"}
    assert findings.rule_of(f"{STACK}/BranchReader", PR_RULE) == {"cloudfront:getdistributionconfig"}


def test_a_pull_request_role_reads_named_stacks_only(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/DiffAnyStack", PR_RULE) == {"resource:*"}


def test_a_role_without_a_subject_condition_admits_every_repository(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/NoSubject", PR_RULE) == {"sub"}


def test_a_deploy_role_bound_to_an_environment_and_a_branch_passes(findings: Findings) -> None:
    for rule in (PR_RULE, DEPLOY_RULE, STAGE_RULE):
        assert findings.rule_of(f"{STACK}/DeployGood", rule) == set()


def test_a_deploy_role_may_not_admit_every_workflow_on_main(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/DeployOnMain", DEPLOY_RULE) == {f"{REPO}:ref:refs/heads/main", "ref"}
    assert findings.rule_of(f"{STACK}/AdminOnMain", DEPLOY_RULE) == {f"{REPO}:ref:refs/heads/main", "ref"}


def test_a_deploy_role_may_not_admit_any_environment(findings: Findings) -> None:
    """A workflow that names an environment that does not exist creates it, without protection rules."""
    assert findings.rule_of(f"{STACK}/DeployAnyEnvironment", DEPLOY_RULE) == {f"{REPO}:environment:*"}


def test_a_deploy_role_must_check_the_branch_too(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/DeployAnyBranch", DEPLOY_RULE) == {"ref"}


def test_a_role_may_not_reach_another_stage_account_or_stack(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/ReadsProd", STAGE_RULE) == {f"account:{PROD}", "stack:prod-Chat"}
    assert findings.rule_of(f"{STACK}/OtherAccount", STAGE_RULE) == {f"account:{PROD}"}
    assert findings.rule_of(f"{STACK}/AnyRole", STAGE_RULE) == {"role:*"}


def test_stages_sharing_an_account_are_flagged_both_ways(findings: Findings) -> None:
    assert findings.rule_of("dev/Access/Deploy", STAGE_RULE) == {"shares-account:test"}
    assert findings.rule_of("test/Access/Deploy", STAGE_RULE) == {"shares-account:dev"}


def test_a_stage_that_names_no_account_is_flagged(findings: Findings) -> None:
    assert findings.rule_of("qa/Access/Deploy", STAGE_RULE) == {"unpinned"}
