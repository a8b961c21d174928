"""The one builder: every stack of a stage, used by app.py and by the tests alike."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from aws_cdk import App, Environment, Stack, Stage, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from chat.stack import ChatStack
from deploy.stack import GitHubDeployStack
from edge.config import EDGE_REGION
from edge.stack import EdgeStack, EdgeUsEast1Stack
from quality.readiness.pack import DeployReadinessChecks
from shared.policies import own_function_log_groups
from stage.config import StageConfig, stages_sharing_account
from tools.power_tune.stack import PowerTuningStack
from web.stack import WebStack

# Construct ids of the stacks a stage may hold ("<stage>/<id>" in the CLI), in dependency order; stack_ids()
# says which a stage holds. "EdgeFunctions" (the us-east-1 part of the edge cache) exists only with a web ACL.
STACK_IDS = ("Chat", "Web", "EdgeFunctions", "Edge")
EDGE_US_EAST_1_ID = "EdgeFunctions"
# Only in a stage whose config has a `github` section.
GITHUB_DEPLOY_ID = "GitHubDeploy"
# Only in a stage built with power_tuning on (-c power_tuning=true; make power-tune).
POWER_TUNING_ID = "PowerTuning"


@dataclass(frozen=True)
class StageStacks:
    """The stacks built for one stage, by role."""

    stage: Stage
    chat: ChatStack
    web: WebStack
    edge_us_east_1: EdgeUsEast1Stack | None
    edge: EdgeStack
    github_deploy: GitHubDeployStack | None = None
    power_tuning: PowerTuningStack | None = None

    @property
    def all(self) -> list[Stack]:
        stacks: tuple[Stack | None, ...] = (
            self.chat,
            self.web,
            self.edge_us_east_1,
            self.edge,
            self.github_deploy,
            self.power_tuning,
        )
        return [stack for stack in stacks if stack is not None]


def stack_ids(config: StageConfig) -> tuple[str, ...]:
    """The ids of the stacks build_stage makes for `config` (GitHubDeploy and PowerTuning aside), in dependency
    order."""
    return tuple(i for i in STACK_IDS if i != EDGE_US_EAST_1_ID or config.edge.waf_enabled)


def build_stage(app: App, config: StageConfig, *, account: str | None = None) -> StageStacks:
    """Add a CDK Stage named after `config.name` holding every stack of the app for that stage; in the
    stage's own account when its config names one, else in `account` (the CLI's, or unknown)."""
    account = config.account or account
    env = Environment(account=account, region=config.region)
    stage = Stage(app, config.name, env=env)
    Tags.of(stage).add("app", "cdk-reference-app")
    Tags.of(stage).add("stage", config.name)
    facts = config.facts
    chat = ChatStack(stage, "Chat", config=config.chat, facts=facts, description=f"Chat API ({config.name})")
    web = WebStack(
        stage,
        "Web",
        config=config.web,
        facts=facts,
        description=f"Web service: ALB -> ECS on Fargate -> Aurora ({config.name})",
    )
    # A CLOUDFRONT web ACL must be created in us-east-1: the edge stack places it in this stack.
    edge_us_east_1 = (
        EdgeUsEast1Stack(
            stage,
            EDGE_US_EAST_1_ID,
            env=Environment(account=account, region=EDGE_REGION),
            description=f"us-east-1 part of the edge cache: CLOUDFRONT web ACL ({config.name})",
        )
        if config.edge.waf_enabled
        else None
    )
    edge = EdgeStack(
        stage,
        "Edge",
        config=config.edge,
        facts=facts,
        acl_stack=edge_us_east_1,
        web_origin=web.origin,  # the edge cache fronts this app's own web service
        description=f"Edge cache: CloudFront, S3 cache, publisher ({config.name})",
    )
    for stack, retention_days in (
        (chat, config.chat.log_retention_days),
        (web, config.web.log_retention_days),
        (edge_us_east_1, config.edge.log_retention_days),
        (edge, config.edge.log_retention_days),
    ):
        if stack is not None:
            own_function_log_groups(stack, retention_days=retention_days)
    built = StageStacks(stage=stage, chat=chat, web=web, edge_us_east_1=edge_us_east_1, edge=edge)
    if config.power_tuning:
        description = f"AWS Lambda Power Tuning for one function of {config.name} (make power-tune)"
        built = replace(
            built, power_tuning=PowerTuningStack(stage, POWER_TUNING_ID, facts=facts, description=description)
        )
    if config.github:
        # The roles reach exactly these stacks and their regions.
        description = f"GitHub Actions deploy access (OIDC) for {config.name}"
        deploy = github_deploy_stack(stage, config, stage_stacks=built.all, description=description)
        built = replace(built, github_deploy=deploy)
    return built


def github_deploy_stack(
    stage: Stage, config: StageConfig, *, stage_stacks: list[Stack], **kwargs: Any
) -> GitHubDeployStack:
    """The GitHubDeploy stack of a stage whose config has a `github` section: its deploy config, the stage's
    facts, and what it reads of the rest (whether deploys publish the web image, who shares the account)."""
    assert config.github is not None
    return GitHubDeployStack(
        stage,
        GITHUB_DEPLOY_ID,
        config=config.github,
        facts=config.facts,
        stage_stacks=stage_stacks,
        publishes_images=config.web.image_build == "docker",
        shares_account_with=stages_sharing_account(config),
        **kwargs,
    )


def add_checks(app: App, configs: list[StageConfig]) -> None:
    """Attach the cdk-nag packs to the whole app: AwsSolutions and ours; unacknowledged findings fail `cdk synth`.

    Our deploy-readiness pack judges what AWS does at deploy and destroy time; stages that delete their data
    (removal=destroy) must also destroy without leftovers other than acknowledged ones.
    """
    disposable = [config.name for config in configs if config.removal == "destroy"]
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), DeployReadinessChecks(app, disposable_stages=disposable))


def build_app(app: App, configs: list[StageConfig], *, account: str | None = None) -> list[StageStacks]:
    """Build every requested stage and attach the cdk-nag packs to the whole app (add_checks)."""
    built = [build_stage(app, config, account=account) for config in configs]
    add_checks(app, configs)
    return built
