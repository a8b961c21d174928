"""Settings of the optional GitHub deploy-access stack (OIDC provider and deploy roles)."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from stacks.config_base import ConfigModel

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
# A GitHub owner (user or organization: letters, digits, single hyphens inside) and a repository name.
_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}/[A-Za-z0-9._-]{1,100}$")
# What git refuses in a branch name (git check-ref-format); `*` stays: IAM's StringLike reads it as a wildcard.
_BAD_REF = re.compile(r"[\x00-\x20\x7f~^:?\[\\]|\.\.|@\{|//|/\.|^[/.-]|[/.]$|\.lock$")
_PROVIDER_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$")


class GitHubDeployConfig(ConfigModel):
    """Who may deploy the stage from GitHub Actions: one repository, one branch (pattern), no stored keys."""

    repository: str = Field(description="OWNER/NAME of the GitHub repository whose workflows may deploy")
    branch: str = Field(
        default="main", description="branch whose pushes may deploy; `*` matches any characters (release/*)"
    )
    pull_request_diff: bool = Field(
        default=True, description="a second, read-only role for pull requests: may assume the lookup roles only"
    )
    oidc_provider_arn: str | None = Field(
        default=None,
        description="reuse the account's GitHub OIDC provider (IAM allows one per URL per account); None creates one",
    )
    max_session_minutes: int = Field(default=60, ge=60, le=720, description="longest a workflow's session lasts")

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str) -> str:
        if not _REPOSITORY.fullmatch(value) or value.split("/")[1] in (".", ".."):
            raise ValueError("must be OWNER/NAME of a GitHub repository, e.g. my-org/my-app")
        return value

    @field_validator("branch")
    @classmethod
    def _branch(cls, value: str) -> str:
        if value.startswith("refs/"):
            raise ValueError("give the branch name without refs/heads/")
        if not value or _BAD_REF.search(value):
            raise ValueError("not a valid git branch name or pattern (git check-ref-format)")
        if not value.replace("*", "").replace("/", ""):
            raise ValueError("would let every branch deploy; name one branch, or a pattern such as release/*")
        return value

    @field_validator("oidc_provider_arn")
    @classmethod
    def _provider(cls, value: str | None) -> str | None:
        if value is not None and not _PROVIDER_ARN.fullmatch(value):
            raise ValueError(
                "must be the ARN of the account's GitHub provider, "
                "arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com"
            )
        return value

    @property
    def deploy_subject(self) -> str:
        """The `sub` claim of a workflow run on a push to the branch (GitHub's default subject format)."""
        return f"repo:{self.repository}:ref:refs/heads/{self.branch}"

    @property
    def pull_request_subject(self) -> str:
        """The `sub` claim of a workflow run for a pull request."""
        return f"repo:{self.repository}:pull_request"
