"""The web container image: built at deploy time in CodeBuild (default), or by `cdk deploy` with local Docker."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import DefaultStackSynthesizer, RemovalPolicy, Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from cdklabs.deploy_time_build import ContainerImageBuild
from constructs import Construct, IConstruct

from quality.declare import acknowledge, printed_account
from shared.policies import log_group
from web.config import WebConfig

CONTAINER_ROOT = Path(__file__).resolve().parent / "container"
PLATFORM = ecr_assets.Platform.LINUX_ARM64  # the task definition runs ARM64 (Graviton)
_EXCLUDE = ["**/__pycache__", "**/*.pyc", "tests", "*.md"]
# Images kept in the repository: the running one plus enough earlier ones to roll back to.
KEEP_IMAGES = 10
# Stack-level singletons the library creates once per stack (their ids carry a uuid of the library).
_HANDLER_PREFIX = "DeployTimeBuildCustomResourceHandler"
_ASSET_READ = (
    "CDK's Asset.grantRead for the source zip: read-only, on the bootstrap assets bucket, which holds only "
    "deployment assets."
)


def container_image(scope: Construct, construct_id: str, *, config: WebConfig) -> ecs.ContainerImage:
    """The app in web/container as the task's image, built the way `config.image_build` says."""
    if config.image_build == "docker":
        # An image asset: `cdk deploy` (cdk-assets) builds and pushes it with the local Docker engine.
        return ecs.ContainerImage.from_asset(str(CONTAINER_ROOT), platform=PLATFORM, exclude=_EXCLUDE)
    return DeployTimeImage(scope, construct_id, log_retention_days=config.log_retention_days).image


class DeployTimeImage(Construct):
    """The source folder is a plain file asset; a CodeBuild project (arm64) builds and pushes the image
    during the deployment, so the machine that runs `cdk deploy` needs no Docker.

    A custom resource of cdklabs-deploy-time-build starts the build whenever the source asset changes and
    returns the new tag, so the task definition changes exactly when the image does.
    """

    def __init__(self, scope: Construct, construct_id: str, *, log_retention_days: int) -> None:
        super().__init__(scope, construct_id)
        self.repository = self._build_repository()
        self.build = ContainerImageBuild(
            self,
            "Build",
            directory=str(CONTAINER_ROOT),
            platform=PLATFORM,
            repository=self.repository,
            exclude=_EXCLUDE,
        )
        self.image = self.build.to_ecs_docker_image_code()
        self.trigger = self.build.node.find_child("Resource")
        self.project = _project_of(self.trigger)
        self.handler = _stack_child(self, _HANDLER_PREFIX, lambda_.SingletonFunction, lambda_.Function)
        self._build_logs(log_retention_days)
        self._acknowledge()

    def _build_repository(self) -> ecr.Repository:
        return ecr.Repository(
            self,
            "Repository",
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,  # each build pushes a new random tag
            image_scan_on_push=True,
            # KMS with ECR's AWS managed key: no key to pay for or grant, pulls and pushes work unchanged.
            encryption=ecr.RepositoryEncryption.KMS,
            lifecycle_rules=[ecr.LifecycleRule(max_image_count=KEEP_IMAGES, description="keep recent builds")],
            # Images are rebuilt from the source on every deploy; they are not data.
            removal_policy=RemovalPolicy.DESTROY,
            empty_on_delete=True,
        )

    def _build_logs(self, retention_days: int) -> None:
        """The stage's retention on both log groups, and the trigger may write its own logs only."""
        # CodeBuild writes to /aws/codebuild/<project> and would create it with no expiry: made here first.
        build_logs = log_group(
            self,
            "BuildLogs",
            retention_days=retention_days,
            log_group_name=f"/aws/codebuild/{self.project.project_name}",
        )
        self.trigger.node.add_dependency(build_logs)
        handler_logs = self.handler.node.find_child("LogGroup")
        handler_logs.apply_removal_policy(RemovalPolicy.DESTROY)  # type: ignore[attr-defined]
        handler_logs.node.default_child.add_property_override(  # type: ignore[union-attr]
            "RetentionInDays", retention_days
        )
        # Instead of AWSLambdaBasicExecutionRole; a policy of its own (not the role's default policy, which
        # the function waits for), because the log group's name refers to the function.
        assert self.handler.role is not None
        self.handler.role.node.default_child.managed_policy_arns = []  # type: ignore[union-attr]
        logs_policy = iam.Policy(self, "TriggerLogs", roles=[self.handler.role])
        handler_logs.grant_write(logs_policy)  # type: ignore[attr-defined]
        self.trigger.node.add_dependency(logs_policy)

    def _acknowledge(self) -> None:
        project_role = self.project.role
        assert project_role is not None
        stack = Stack.of(self)
        region = stack.region
        account = printed_account(self)  # the grants name the account as the synth knows it
        project_id = stack.get_logical_id(self.project.node.default_child)  # type: ignore[arg-type]
        acknowledge(
            self.handler,
            "AwsSolutions-L1",
            "The build trigger is cdklabs-deploy-time-build's bundled handler, built and tested by the library for "
            "nodejs22.x; its runtime moves with the library version.",
        )
        acknowledge(
            self.project,
            "AwsSolutions-CB4",
            "The project has no artifacts (NO_ARTIFACTS) for a key to encrypt: it pushes the image to ECR, "
            "whose repository is KMS-encrypted.",
        )
        acknowledge(
            project_role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonElasticContainerRegistryPublicReadOnly]",
            "Read-only pulls from ECR Public, where the Dockerfile's base image lives (public.ecr.aws); "
            "added by cdklabs-deploy-time-build for its ecr-public login.",
        )
        for rule, reason in (
            (
                "Resource::*",
                "ecr:GetAuthorizationToken accepts no resource but '*'; pushes are scoped to this repository.",
            ),
            (
                f"Resource::arn:aws:logs:{region}:{account}:log-group:/aws/codebuild/<{project_id}>:*",
                "CodeBuild writes log streams under its own log group; the streams are named per build.",
            ),
            (
                f"Resource::arn:aws:codebuild:{region}:{account}:report-group/<{project_id}>-*",
                "CDK's default CodeBuild grant for report groups named after this project only.",
            ),
            *((f"Action::s3:{action}", _ASSET_READ) for action in ("GetBucket*", "GetObject*", "List*")),
            (
                f"Resource::arn:aws:s3:::cdk-{DefaultStackSynthesizer.DEFAULT_QUALIFIER}-assets-{account}-{region}/*",
                _ASSET_READ,
            ),
        ):
            acknowledge(project_role, f"AwsSolutions-IAM5[{rule}]", reason)


def _project_of(trigger: IConstruct) -> codebuild.Project:
    """The CodeBuild project the build's custom resource waits for (the library shares one per stack)."""
    projects = [d for d in trigger.node.dependencies if isinstance(d, codebuild.Project)]
    if len(projects) != 1:
        raise RuntimeError(f"expected one CodeBuild project behind {trigger.node.path}, found {len(projects)}")
    return projects[0]


def _stack_child(scope: Construct, prefix: str, *types: type) -> lambda_.Function:
    """The one stack-level construct whose id starts with `prefix` (a library singleton)."""
    found = [c for c in Stack.of(scope).node.children if c.node.id.startswith(prefix)]
    if len(found) != 1 or not isinstance(found[0], types):
        raise RuntimeError(f"expected one {prefix}* construct in {Stack.of(scope).node.path}, found {found}")
    return found[0]  # type: ignore[return-value]
