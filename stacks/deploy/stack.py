"""The optional deploy-access stack: GitHub Actions may deploy this stage without long-lived keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from stacks.config import StageConfig
from stacks.deploy.access import GitHubDeployAccess


class GitHubDeployStack(Stack):
    """The OIDC provider (or the account's existing one) and the roles the workflows assume.

    Deploy it once with your own credentials (it is what lets CI in); CI keeps it current after that.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, stage: StageConfig, regions: Sequence[str], **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        assert stage.github is not None
        access = GitHubDeployAccess(
            self,
            "Access",
            config=stage.github,
            regions=regions,
            publishes_images=stage.web.image_build == "docker",
        )
        # Repository variables of the workflows (.github/workflows/deploy.yml), not secrets: an ARN grants nothing.
        CfnOutput(self, "DeployRoleArn", value=access.deploy_role.role_arn)
        if access.diff_role is not None:
            CfnOutput(self, "DiffRoleArn", value=access.diff_role.role_arn)
