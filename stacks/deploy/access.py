"""GitHub Actions -> AWS without stored keys: the OIDC provider and roles that may only assume CDK's roles."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws, DefaultStackSynthesizer, Duration, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.deploy.config import GITHUB_OIDC_URL, GitHubDeployConfig

AUDIENCE = "sts.amazonaws.com"  # what aws-actions/configure-aws-credentials asks GitHub for
# The bootstrap roles `cdk deploy` assumes (cdk bootstrap creates them per account and region); the
# CloudFormation execution role is passed to CloudFormation by the deploy role, never assumed by CI.
DEPLOY_ROLES = ("deploy", "file-publishing", "lookup")
IMAGE_ROLE = "image-publishing"  # only where a stack has a Docker image asset to publish
DIFF_ROLES = ("lookup",)  # read-only (ReadOnlyAccess, KMS decrypt denied)


def bootstrap_role_arn(kind: str, region: str) -> str:
    """ARN of a CDK bootstrap role of this account (default qualifier, as the app's synthesizer uses)."""
    qualifier = DefaultStackSynthesizer.DEFAULT_QUALIFIER
    return f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/cdk-{qualifier}-{kind}-role-{Aws.ACCOUNT_ID}-{region}"


class GitHubDeployAccess(Construct):
    """A deploy role for pushes to one branch of one repository, and optionally a read-only role for its
    pull requests. Each may do one thing: assume the CDK bootstrap roles of the stage's regions.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: GitHubDeployConfig,
        regions: Sequence[str],
        publishes_images: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        if config.oidc_provider_arn:
            self.provider_arn = config.oidc_provider_arn
        else:
            provider = iam.OidcProviderNative(self, "Provider", url=GITHUB_OIDC_URL, client_ids=[AUDIENCE])
            self.provider_arn = provider.oidc_provider_arn
        self.session = Duration.minutes(config.max_session_minutes)
        kinds = (*DEPLOY_ROLES, IMAGE_ROLE) if publishes_images else DEPLOY_ROLES
        self.deploy_role = self._build_role(
            "DeployRole",
            subject=config.deploy_subject,
            targets=[bootstrap_role_arn(kind, region) for region in regions for kind in kinds],
            description=f"GitHub Actions: deploy from {config.repository} branch {config.branch}",
        )
        self.diff_role = (
            self._build_role(
                "DiffRole",
                subject=config.pull_request_subject,
                targets=[bootstrap_role_arn(kind, region) for region in regions for kind in DIFF_ROLES],
                description=f"GitHub Actions: read-only diff for pull requests of {config.repository}",
            )
            if config.pull_request_diff
            else None
        )

    def _build_role(self, construct_id: str, *, subject: str, targets: list[str], description: str) -> iam.Role:
        token = GITHUB_OIDC_URL.removeprefix("https://")
        principal = iam.WebIdentityPrincipal(
            self.provider_arn,
            conditions={
                "StringEquals": {f"{token}:aud": AUDIENCE},
                # StringLike so that a branch pattern (release/*) works; a plain name matches only itself.
                "StringLike": {f"{token}:sub": subject},
            },
        )
        role = iam.Role(
            self, construct_id, assumed_by=principal, description=description, max_session_duration=self.session
        )
        role.add_to_policy(iam.PolicyStatement(actions=["sts:AssumeRole"], resources=targets))
        return role


def regions_of(stacks: Sequence[Stack]) -> list[str]:
    """The regions the stage's stacks deploy to, in a stable order."""
    return sorted({stack.region for stack in stacks})
