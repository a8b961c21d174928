"""The one builder: every stack of a stage, used by app.py and by the tests alike."""

from __future__ import annotations

from dataclasses import dataclass, replace

from aws_cdk import App, Environment, Stack, Stage, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from stacks.chat.stack import ChatStack
from stacks.common.policies import own_function_log_groups
from stacks.common.readiness import DeployReadinessChecks
from stacks.config import StageConfig
from stacks.deploy.stack import GitHubDeployStack
from stacks.edge.edge_function import EDGE_REGION
from stacks.edge.stack import EdgeFunctionsStack, EdgeStack
from stacks.web.stack import WebStack

# Construct ids of the stacks every stage holds ("<stage>/<id>" in the CLI).
STACK_IDS = ("Chat", "Web", "EdgeFunctions", "Edge")
# Only in a stage whose config has a `github` section.
GITHUB_DEPLOY_ID = "GitHubDeploy"


@dataclass(frozen=True)
class StageStacks:
    """The stacks built for one stage, by role."""

    stage: Stage
    chat: ChatStack
    web: WebStack
    edge_functions: EdgeFunctionsStack
    edge: EdgeStack
    github_deploy: GitHubDeployStack | None = None

    @property
    def all(self) -> list[Stack]:
        optional = [self.github_deploy] if self.github_deploy else []
        return [self.chat, self.web, self.edge_functions, self.edge, *optional]


def build_stage(app: App, config: StageConfig, *, account: str | None = None) -> StageStacks:
    """Add a CDK Stage named after `config.name` holding every stack of the app for that stage; in the
    stage's own account when its config names one, else in `account` (the CLI's, or unknown)."""
    account = config.account or account
    env = Environment(account=account, region=config.region)
    stage = Stage(app, config.name, env=env)
    Tags.of(stage).add("app", "cdk-reference-app")
    Tags.of(stage).add("stage", config.name)
    chat = ChatStack(stage, "Chat", stage=config, description=f"Chat API ({config.name})")
    web = WebStack(
        stage, "Web", stage=config, description=f"Web service: ALB -> ECS on Fargate -> Aurora ({config.name})"
    )
    # Lambda@Edge deploys from us-east-1, and a CLOUDFRONT web ACL lives there: the edge stack places both here.
    edge_functions = EdgeFunctionsStack(
        stage,
        "EdgeFunctions",
        env=Environment(account=account, region=EDGE_REGION),
        description=f"us-east-1 part of the edge cache: Lambda@Edge function, CLOUDFRONT web ACL ({config.name})",
    )
    edge = EdgeStack(
        stage,
        "Edge",
        stage=config,
        edge_functions=edge_functions,
        web_origin=web.origin,  # the edge cache fronts this app's own web service
        description=f"Edge cache: CloudFront, S3 cache, publisher ({config.name})",
    )
    for stack, retention_days in (
        (chat, config.chat.log_retention_days),
        (web, config.web.log_retention_days),
        (edge_functions, config.edge.log_retention_days),
        (edge, config.edge.log_retention_days),
    ):
        own_function_log_groups(stack, retention_days=retention_days)
    built = StageStacks(stage=stage, chat=chat, web=web, edge_functions=edge_functions, edge=edge)
    if config.github:
        built = replace(
            built,
            github_deploy=GitHubDeployStack(
                stage,
                GITHUB_DEPLOY_ID,
                stage=config,
                stage_stacks=built.all,  # the roles reach exactly these stacks and their regions
                description=f"GitHub Actions deploy access (OIDC) for {config.name}",
            ),
        )
    return built


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
