"""Settings of the optional GitHub deploy-access stack (OIDC provider, deploy and diff roles)."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from stage.config_base import ConfigModel, StageFacts

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
# A GitHub owner (user or organization: letters, digits, single hyphens inside) and a repository name.
_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}/[A-Za-z0-9._-]{1,100}$")
# What git refuses in a branch name (git check-ref-format); `*` stays: IAM's StringLike reads it as a wildcard.
_BAD_REF = re.compile(r"[\x00-\x20\x7f~^:?\[\\]|\.\.|@\{|//|/\.|^[/.-]|[/.]$|\.lock$")
_PROVIDER_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$")
# GitHub escapes ':' in the subject (%3A) and IAM reads '*' and '?' as wildcards: environment names here are
# plain words, so the subject the role trusts is exactly the one GitHub issues.
_ENVIRONMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")


class GitHubDeployConfig(ConfigModel):
    """Who may deploy the stage from GitHub Actions: the jobs of one repository that run in one GitHub
    environment, on one branch; and (optionally) who may read the stage's stacks to diff a pull request."""

    repository: str = Field(description="OWNER/NAME of the GitHub repository whose workflows may deploy")
    owner_id: int | None = Field(
        default=None, ge=1, description="numeric id of the owner, for GitHub's immutable subject (with repository_id)"
    )
    repository_id: int | None = Field(
        default=None, ge=1, description="numeric id of the repository, for GitHub's immutable subject (with owner_id)"
    )
    environment: str | None = Field(
        default=None,
        description="GitHub environment whose jobs may deploy (its protection rules gate them); None: the stage's name",
    )
    branch: str | None = Field(
        default="main",
        description="the only branch whose runs may deploy (IAM checks the token's ref claim; `*` matches any "
        "characters); None leaves it to the environment's deployment-branch rule alone",
    )
    pull_request_diff: bool = Field(
        default=True,
        description="a second role for pull requests: DescribeStacks and GetTemplate on the stage's stacks only",
    )
    oidc_provider_arn: str | None = Field(
        default=None,
        description="reuse the account's GitHub OIDC provider (IAM allows one per URL per account); None creates one",
    )
    max_session_minutes: int = Field(default=60, ge=60, le=720, description="longest a workflow's session lasts")
    shared_account: bool = Field(
        default=False,
        description="accept that this stage shares its AWS account with another stage (warned at every synth)",
    )

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str) -> str:
        if not _REPOSITORY.fullmatch(value) or value.split("/")[1] in (".", ".."):
            raise ValueError("must be OWNER/NAME of a GitHub repository, e.g. my-org/my-app")
        return value

    @field_validator("environment")
    @classmethod
    def _environment(cls, value: str | None) -> str | None:
        if value is not None and not _ENVIRONMENT.fullmatch(value):
            raise ValueError(
                "letters, digits, '.', '_' and '-' only (up to 255): GitHub escapes ':' in the token's subject "
                "and IAM reads '*' and '?' as wildcards"
            )
        return value

    @field_validator("branch")
    @classmethod
    def _branch(cls, value: str | None) -> str | None:
        if value is None:
            return None
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

    @model_validator(mode="after")
    def _immutable_subject(self) -> GitHubDeployConfig:
        if (self.owner_id is None) != (self.repository_id is None):
            raise ValueError(
                "owner_id: GitHub's immutable subject names both ids (repo:OWNER@OWNER_ID/NAME@REPO_ID); "
                "set owner_id and repository_id, or neither"
            )
        return self

    @property
    def repo_subject(self) -> str:
        """The `repo:` part of the `sub` claim: names only, or names with ids (repositories created from
        July 15, 2026 on, or opted in, get the immutable form; GitHub's OIDC reference)."""
        if self.owner_id is None or self.repository_id is None:
            return f"repo:{self.repository}"
        owner, name = self.repository.split("/")
        return f"repo:{owner}@{self.owner_id}/{name}@{self.repository_id}"

    @property
    def deploy_subject(self) -> str:
        """The `sub` claim of a job that references the environment (GitHub's default subject format)."""
        return f"{self.repo_subject}:environment:{self.environment}"

    @property
    def deploy_ref(self) -> str | None:
        """The `ref` claim a deploying run must carry: a push to (or a run on) the branch."""
        return None if self.branch is None else f"refs/heads/{self.branch}"

    @property
    def pull_request_subject(self) -> str:
        """The `sub` claim of a job run for a pull request that references no environment."""
        return f"{self.repo_subject}:pull_request"


def shared_account_warning(stage: StageFacts) -> str:
    """What a stage that GitHub deploys in a shared account accepts (github.shared_account=true)."""
    where = f"account {stage.account}" if stage.account else "whatever account its credentials are for"
    return (
        f"stage {stage.name!r} is deployed from GitHub into {where}, which it may share with another stage "
        "(github.shared_account=true): CDK's bootstrap deploy role there may create, update and delete every stack "
        "of the account, so this stage's GitHub deploy role could deploy or destroy the other stage's stacks; "
        "give each stage its own account (docs/ci.md)"
    )
