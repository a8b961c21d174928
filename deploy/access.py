"""GitHub Actions -> AWS without stored keys: the OIDC provider, a deploy role bound to a GitHub environment,
and a pull-request role that may read the stage's stacks and nothing else.

Who gets which role is decided by the token's `sub` claim (GitHub's OIDC reference): a job that references
an environment gets `repo:O/N:environment:E`, a pull-request job without one `repo:O/N:pull_request`. AWS STS
also checks GitHub's `ref` claim in a trust policy (AWS What's New, 2026-01: "AWS STS supports validation of
identity provider claims"), so the deploy role admits only runs of the one branch as well.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws, DefaultStackSynthesizer, Duration, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from deploy.config import GITHUB_OIDC_URL, GitHubDeployConfig
from quality.declare import acknowledge, printed_account

AUDIENCE = "sts.amazonaws.com"  # what aws-actions/configure-aws-credentials asks GitHub for
TOKEN = GITHUB_OIDC_URL.removeprefix("https://")  # the prefix of the token's condition keys
# The bootstrap roles `cdk deploy` assumes (cdk bootstrap creates them per account, region and qualifier);
# the CloudFormation execution role is passed to CloudFormation by the deploy role, never assumed by CI.
DEPLOY_ROLES = ("deploy", "file-publishing", "lookup")
IMAGE_ROLE = "image-publishing"  # only where a stack has a Docker image asset to publish
# Every AWS call `cdk diff --method=template` makes (aws/aws-cdk-cli, toolkit-lib: readCurrentTemplate ->
# CloudFormationStack.lookup = DescribeStacks, then GetTemplate; sts:GetCallerIdentity needs no permission).
# Not the lookup role: it holds ReadOnlyAccess, which returns secrets that resources echo to readers.
DIFF_ACTIONS = ("cloudformation:DescribeStacks", "cloudformation:GetTemplate")


def bootstrap_role_arn(kind: str, region: str, account: str) -> str:
    """ARN of a CDK bootstrap role (default qualifier, as the app's synthesizer uses)."""
    qualifier = DefaultStackSynthesizer.DEFAULT_QUALIFIER
    return f"arn:{Aws.PARTITION}:iam::{account}:role/cdk-{qualifier}-{kind}-role-{account}-{region}"


def stack_arn(stack: Stack, account: str) -> str:
    """ARN of a stack by its name (every stack id it has had: CloudFormation appends one per creation)."""
    return f"arn:{Aws.PARTITION}:cloudformation:{stack.region}:{account}:stack/{stack.stack_name}/*"


class GitHubDeployAccess(Construct):
    """The deploy role for the jobs of one GitHub environment (on one branch) and, optionally, the diff role
    for pull requests. The deploy role may only assume the CDK bootstrap roles of the stage's regions in
    its own account; the diff role may only read the stage's own stacks.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: GitHubDeployConfig,
        stage_stacks: Sequence[Stack],
        publishes_images: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        if config.oidc_provider_arn:
            self.provider_arn = config.oidc_provider_arn
        else:
            provider = iam.OidcProviderNative(self, "Provider", url=GITHUB_OIDC_URL, client_ids=[AUDIENCE])
            self.provider_arn = provider.oidc_provider_arn
        self.session = Duration.minutes(config.max_session_minutes)
        account = Stack.of(self).account  # the stage's own account (a literal when the stage names it)
        stacks = [*stage_stacks, Stack.of(self)]
        kinds = (*DEPLOY_ROLES, IMAGE_ROLE) if publishes_images else DEPLOY_ROLES
        self.deploy_role = self._build_role(
            "DeployRole",
            subject=config.deploy_subject,
            ref=config.deploy_ref,
            description=f"GitHub Actions: deploy from {config.repository} environment {config.environment}",
        )
        self.deploy_role.add_to_policy(
            iam.PolicyStatement(
                actions=["sts:AssumeRole"],
                resources=[
                    bootstrap_role_arn(kind, region, account) for region in regions_of(stacks) for kind in kinds
                ],
            )
        )
        self.diff_role = None
        if config.pull_request_diff:
            self.diff_role = self._build_role(
                "DiffRole",
                subject=config.pull_request_subject,
                ref=None,
                description=f"GitHub Actions: diff of the stage's stacks for pull requests of {config.repository}",
            )
            self.diff_role.add_to_policy(
                iam.PolicyStatement(actions=list(DIFF_ACTIONS), resources=[stack_arn(s, account) for s in stacks])
            )
            self._acknowledge(self.diff_role, stacks)

    @staticmethod
    def _acknowledge(diff_role: iam.Role, stacks: Sequence[Stack]) -> None:
        for stack in stacks:
            acknowledge(
                diff_role,
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:{stack.region}:"
                f"{printed_account(diff_role)}:stack/{stack.stack_name}/*]",
                "A stack's ARN ends in the id CloudFormation gives each creation of the stack; the wildcard "
                "stands for that id only, the stack is named.",
            )

    def _build_role(self, construct_id: str, *, subject: str, ref: str | None, description: str) -> iam.Role:
        conditions: dict[str, dict[str, str]] = {"StringEquals": {f"{TOKEN}:aud": AUDIENCE, f"{TOKEN}:sub": subject}}
        if ref is not None:
            conditions["StringLike"] = {f"{TOKEN}:ref": ref}  # StringLike so that release/* works
        role = iam.Role(
            self,
            construct_id,
            assumed_by=iam.WebIdentityPrincipal(self.provider_arn, conditions=conditions),
            description=description,
            max_session_duration=self.session,
        )
        return role


def regions_of(stacks: Sequence[Stack]) -> list[str]:
    """The regions the stage's stacks deploy to, in a stable order."""
    return sorted({stack.region for stack in stacks})
