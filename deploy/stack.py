"""The optional deploy-access stack: GitHub Actions may deploy this stage without long-lived keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from deploy.access import GitHubDeployAccess
from deploy.config import GitHubDeployConfig, shared_account_warning
from quality.declare import acknowledge
from stage.config_base import StageFacts


class GitHubDeployStack(Stack):
    """The OIDC provider (or the account's existing one) and the roles the workflows assume.

    Deploy it once with your own credentials (it is what lets CI in); CI keeps it current after that.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: GitHubDeployConfig,
        facts: StageFacts,
        stage_stacks: Sequence[Stack],
        publishes_images: bool,
        shares_account_with: Sequence[str],
        **kwargs: Any,
    ) -> None:
        """`publishes_images`: the web service's image is built by `cdk deploy` (web.image_build=docker);
        `shares_account_with`: the other stages that name this stage's account."""
        super().__init__(scope, construct_id, **kwargs)
        access = GitHubDeployAccess(
            self, "Access", config=config, stage_stacks=stage_stacks, publishes_images=publishes_images
        )
        # Repository variables of the workflows (.github/workflows/deploy.yml), not secrets: an ARN grants nothing.
        CfnOutput(self, "DeployRoleArn", value=access.deploy_role.role_arn)
        if access.diff_role is not None:
            CfnOutput(self, "DiffRoleArn", value=access.diff_role.role_arn)
        self._acknowledge(config, facts, shares_account_with)

    def _acknowledge(self, github: GitHubDeployConfig, facts: StageFacts, sharing: Sequence[str]) -> None:
        """The two explicit choices a config can make, each acknowledged with what it gives up."""
        if github.branch is None:
            acknowledge(
                self,
                "DeployReadiness-GitHubDeployRoleBoundToEnvironment[ref]",
                "github.branch=null: the environment's deployment-branch rule is the only branch check, so the "
                "environment must exist with that rule before this stack is deployed (docs/ci.md).",
            )
        if not github.shared_account:
            return
        # The config accepts a shared account, and every synth warns (app.py).
        reason = f"github.shared_account=true, warned at every synth: {shared_account_warning(facts)}"
        tokens = [f"shares-account:{other}" for other in sharing] if facts.account else ["unpinned"]
        for token in tokens:
            acknowledge(self, f"DeployReadiness-GitHubRoleStaysInItsStage[{token}]", reason)
