"""Roles that GitHub Actions may assume: what a run that anyone with push access can start may read, which
runs may deploy, and that a stage's roles stay in that stage.

Who gets a role is decided by the token's `sub` claim. GitHub (OpenID Connect reference, "Example subject
claims"): a job that references an environment gets `repo:ORG/REPO:environment:NAME`; a pull-request job
without one `repo:ORG/REPO:pull_request`; any other job `repo:ORG/REPO:ref:refs/heads/BRANCH` (a
`pull_request_target`, `issue_comment`, `workflow_run` or scheduled run on main included). A `pull_request`
run executes the pull request's own workflow file, so whatever a role with a non-environment subject may
read, anyone who can push a branch can read; environments are the one subject GitHub gates with protection
rules (required reviewers, deployment branches).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from quality.readiness.base import Check, Context, Finding
from quality.readiness.template import StackTemplate, as_list, refs, render

GITHUB_ISSUER = "token.actions.githubusercontent.com"  # the issuer of GitHub Actions OIDC tokens
_SUB = f"{GITHUB_ISSUER}:sub"
_REF = f"{GITHUB_ISSUER}:ref"
_PROVIDER_TYPES = ("AWS::IAM::OIDCProvider", "Custom::AWSCDKOpenIdConnectProvider")
# All `cdk diff --method=template` calls (deploy/access.py cites the CLI source): the only reads a
# role that pull requests can reach may hold, and only on stack ARNs.
READ_ALLOWLIST = frozenset({"cloudformation:describestacks", "cloudformation:gettemplate"})
# A subject IAM matches exactly one environment with: no wildcard, no other context.
_ENVIRONMENT_SUBJECT = re.compile(r"^repo:[^:*?]+:environment:[^:*?]+$")
_STACK_ARN = re.compile(r"^arn:[^:]+:cloudformation:[^:]*:(?P<account>[^:]*):stack/(?P<name>[^/*?]+)/")
_ROLE_ARN = re.compile(r"^arn:[^:]+:iam::(?P<account>[^:]*):role/(?P<name>.+)$")
# The bootstrap roles that change an account (cdk bootstrap template): assuming one is deploying.
_CHANGING_ROLE = re.compile(r"cdk-[^-]+-(deploy|cfn-exec|file-publishing|image-publishing)-role-")
_CHANGING_ACTIONS = frozenset(
    {
        "*",
        "cloudformation:*",
        "cloudformation:createstack",
        "cloudformation:updatestack",
        "cloudformation:deletestack",
        "cloudformation:createchangeset",
        "cloudformation:executechangeset",
        "iam:*",
        "iam:passrole",
    }
)
_ASSUME_ACTIONS = frozenset({"*", "sts:*", "sts:assumerole"})
_CHANGING_MANAGED = frozenset({"AdministratorAccess", "PowerUserAccess", "AWSCloudFormationFullAccess"})
_UNKNOWN_ACCOUNT = "unknown-account"
_SAME_ACCOUNT = "{token}"  # ${AWS::AccountId} of the role's own stack, as `render` prints it


@dataclass(frozen=True)
class _Grant:
    action: str  # lower case
    resource: str  # rendered, deploy-time parts as {token}


@dataclass(frozen=True)
class _GitHubRole:
    subjects: tuple[str, ...]  # the `sub` patterns the trust admits; empty: no sub condition (any repository)
    ref_bound: bool  # the trust also conditions the token's `ref` claim
    grants: tuple[_Grant, ...]
    managed: tuple[str, ...]  # AWS-managed (or other stacks') policies attached by ARN: their names
    not_actions: bool  # a statement grants by NotAction (everything but)

    @property
    def environment_bound(self) -> bool:
        return bool(self.subjects) and all(_ENVIRONMENT_SUBJECT.fullmatch(s) for s in self.subjects)


def _trusts_github(stack: StackTemplate, principal: Any) -> bool:
    federated = principal.get("Federated") if isinstance(principal, dict) else None
    for value in as_list(federated):
        if GITHUB_ISSUER in (render(value) or ""):
            return True
        for provider in refs(value):
            if stack.type_of(provider) in _PROVIDER_TYPES and GITHUB_ISSUER in str(stack.props(provider).get("Url")):
                return True
    return False


def _condition_values(statement: dict[str, Any], key: str) -> list[str]:
    """Values a statement's positive string conditions require of `key` (StringEquals/StringLike, any
    set operator or IfExists form)."""
    values: list[str] = []
    for operator, conditions in (statement.get("Condition") or {}).items():
        base = operator.split(":")[-1].removesuffix("IfExists")
        if base not in ("StringEquals", "StringLike") or not isinstance(conditions, dict):
            continue
        for condition_key, value in conditions.items():
            if condition_key.lower() == key:
                values += [str(v) for v in as_list(value)]
    return values


def github_role(stack: StackTemplate, role_id: str) -> _GitHubRole | None:
    """How GitHub may assume the role and what it may then do; None when GitHub's provider is not trusted."""
    trust = as_list(stack.props(role_id).get("AssumeRolePolicyDocument", {}).get("Statement"))
    trusting = [
        s
        for s in trust
        if s.get("Effect") == "Allow"
        and any(a in ("*", "sts:*", "sts:AssumeRoleWithWebIdentity") for a in as_list(s.get("Action")))
        and _trusts_github(stack, s.get("Principal"))
    ]
    if not trusting:
        return None
    subjects = tuple(v for s in trusting for v in _condition_values(s, _SUB))
    ref_bound = all(_condition_values(s, _REF) for s in trusting)
    statements = list(stack.role_statements(role_id))
    managed: list[str] = []
    for name, policy_statements in stack.managed_policies(role_id).items():
        statements += policy_statements
        if not policy_statements:
            managed.append(name.rsplit("/", 1)[-1])
    grants = tuple(
        _Grant(str(action).lower(), render(resource, "{token}") or "{token}")
        for s in statements
        if s.get("Effect") == "Allow"
        for action in as_list(s.get("Action"))
        for resource in as_list(s.get("Resource"))
    )
    not_actions = any(s.get("Effect") == "Allow" and "NotAction" in s for s in statements)
    return _GitHubRole(subjects, ref_bound, grants, tuple(managed), not_actions)


def _roles(context: Context, logical_id: str) -> _GitHubRole | None:
    return github_role(context.stack, logical_id)


# --- 1. what a run of any branch or pull request may read ----------------------------------------------


def _pull_request_reads(context: Context, logical_id: str) -> list[Finding]:
    role = _roles(context, logical_id)
    if role is None or role.environment_bound:
        return []
    findings = []
    if not role.subjects:
        findings.append(Finding("sub", "its trust has no `sub` condition: a workflow of any repository may assume it."))
    for name in role.managed:
        findings.append(Finding(f"managed:{name}", f"it holds the managed policy {name}."))
    if role.not_actions:
        findings.append(Finding("NotAction", "a statement grants everything but some actions (NotAction)."))
    for action in sorted({g.action for g in role.grants if g.action not in READ_ALLOWLIST}):
        findings.append(Finding(action, f"it may call {action}."))
    for resource in sorted({g.resource for g in role.grants if g.action in READ_ALLOWLIST}):
        if not _STACK_ARN.match(resource):
            findings.append(Finding(f"resource:{resource}", f"it may read {resource}, not only named stacks."))
    return findings


# --- 2. which runs may deploy ---------------------------------------------------------------------------


def _changes_the_account(role: _GitHubRole) -> bool:
    if any(name in _CHANGING_MANAGED for name in role.managed) or role.not_actions:
        return True
    for grant in role.grants:
        if grant.action in _CHANGING_ACTIONS:
            return True
        if grant.action in _ASSUME_ACTIONS and (grant.resource == "*" or _CHANGING_ROLE.search(grant.resource)):
            return True
    return False


def _deploy_binding(context: Context, logical_id: str) -> list[Finding]:
    role = _roles(context, logical_id)
    if role is None or not _changes_the_account(role):
        return []
    findings = [
        Finding(subject, f"it may deploy, and its trust admits `sub` {subject}, which names no single environment.")
        for subject in role.subjects
        if not _ENVIRONMENT_SUBJECT.fullmatch(subject)
    ]
    if not role.subjects:
        findings.append(Finding("sub", "it may deploy, and its trust has no `sub` condition."))
    if not role.ref_bound:
        findings.append(
            Finding(
                "ref",
                "it may deploy, and its trust does not condition the token's `ref`: a run of any branch (or a "
                "pull request) whose job names the environment gets it wherever the environment has no "
                "deployment-branch rule, and a workflow that names an environment that does not exist creates "
                "it without any.",
            )
        )
    return findings


# --- 3. a stage's roles reach that stage only -----------------------------------------------------------


def _account_of(arn_account: str, own: str) -> str | None:
    """The account an ARN names, when it is not the role's own (None: the same account)."""
    if arn_account in (_SAME_ACCOUNT, own):
        return None
    return arn_account or "*"


def _reach(context: Context, role: _GitHubRole) -> list[Finding]:
    own = context.stack.account
    own_stacks = {t.stack_name for t in context.stacks if t.stage == context.stack.stage}
    findings: dict[str, Finding] = {}
    for grant in role.grants:
        stack = _STACK_ARN.match(grant.resource)
        if grant.action in _ASSUME_ACTIONS and grant.resource == "*":
            findings["role:*"] = Finding("role:*", "it may assume any role.")
        for match in (m for m in (stack, _ROLE_ARN.match(grant.resource)) if m):
            other = _account_of(match["account"], own)
            if other is not None:
                findings[f"account:{other}"] = Finding(f"account:{other}", f"it reaches account {other}.")
        if stack and stack["name"] not in own_stacks:
            name = stack["name"]
            findings[f"stack:{name}"] = Finding(f"stack:{name}", f"it reaches stack {name}, not one of its stage's.")
    return list(findings.values())


def _stage_isolation(context: Context, logical_id: str) -> list[Finding]:
    role = _roles(context, logical_id)
    if role is None:
        return []
    findings = _reach(context, role)
    own = context.stack.account
    if own == _UNKNOWN_ACCOUNT:
        findings.append(
            Finding(
                "unpinned",
                "its stage names no account: it deploys wherever the credentials are, where another stage may be.",
            )
        )
        return findings
    sharing = sorted({t.stage for t in context.stacks if t.account == own and t.stage != context.stack.stage})
    findings += [
        Finding(f"shares-account:{other}", f"stage {other} deploys to the same account {own}.") for other in sharing
    ]
    return findings


CHECKS = [
    Check(
        name="GitHubPullRequestRoleReadsOnlyStacks",
        info="A role GitHub runs of any branch or pull request may assume holds more than cdk diff needs:",
        explanation=(
            "A pull_request run executes the pull request's own workflow file, and a token's subject is "
            "repo:ORG/REPO:pull_request (or :ref:...) for any job that names no environment (GitHub, OpenID "
            "Connect reference). Whatever such a role may read, anyone who can push a branch can read: CDK's "
            "lookup role (ReadOnlyAccess) returns origin custom headers (cloudfront:GetDistributionConfig) and "
            "listener rule values (elasticloadbalancing:DescribeRules). `cdk diff --method=template` calls "
            "cloudformation:DescribeStacks and GetTemplate only; grant those on the stage's stack ARNs."
        ),
        resource_types=frozenset({"AWS::IAM::Role"}),
        findings=_pull_request_reads,
    ),
    Check(
        name="GitHubDeployRoleBoundToEnvironment",
        info="A role GitHub may assume can deploy but is not bound to one GitHub environment on one branch:",
        explanation=(
            "A subject of repo:ORG/REPO:ref:refs/heads/main admits every workflow on main: scheduled, "
            "workflow_dispatch, issue_comment, workflow_run and pull_request_target runs too. Bind a role that "
            "may assume CDK's deploy roles (whose execution role is AdministratorAccess unless bootstrapped "
            "otherwise) to `sub` repo:ORG/REPO:environment:NAME, whose protection rules (required reviewers, "
            "deployment branches) gate every job that names it, and to the token's `ref` (AWS STS validates "
            "GitHub's ref claim), because a workflow that names a missing environment creates it unprotected."
        ),
        resource_types=frozenset({"AWS::IAM::Role"}),
        findings=_deploy_binding,
    ),
    Check(
        name="GitHubRoleStaysInItsStage",
        info="A role GitHub may assume reaches beyond its own stage:",
        explanation=(
            "CDK's bootstrap roles exist once per account, region and qualifier, and the deploy role may create, "
            "update and delete any stack of its account (CloudFormation actions on '*' in the bootstrap "
            "template). A stage's GitHub roles must reach only its own stacks and bootstrap roles, in an "
            "account no other stage deploys to; a stage that names no account, or shares one, is a choice the "
            "config must make explicitly (github.shared_account)."
        ),
        resource_types=frozenset({"AWS::IAM::Role"}),
        findings=_stage_isolation,
    ),
]
