"""The one builder: every stack of a stage, used by app.py and by the tests alike."""

from __future__ import annotations

from dataclasses import dataclass, replace

from aws_cdk import App, Environment, Stack, Stage, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from stacks.chat.stack import ChatStack
from stacks.config import StageConfig
from stacks.deploy.access import regions_of
from stacks.deploy.stack import GitHubDeployStack
from stacks.edge.stack import EdgeFunctionsStack, EdgeStack
from stacks.edge.waf import EDGE_REGION
from stacks.web.stack import WebStack

# Construct ids of the stacks every stage holds ("<stage>/<id>" in the CLI).
STACK_IDS = ("Chat", "Web", "EdgeFunctions", "Edge")
# Only in a stage whose config has a `github` section.
GITHUB_DEPLOY_ID = "GitHubDeploy"


def stack_ids(config: StageConfig) -> tuple[str, ...]:
    """The stacks a stage holds: the us-east-1 one only when the stage has something there (its web ACL)."""
    return tuple(s for s in STACK_IDS if s != "EdgeFunctions" or config.edge.waf_enabled)


@dataclass(frozen=True)
class StageStacks:
    """The stacks built for one stage, by role."""

    stage: Stage
    chat: ChatStack
    web: WebStack
    edge_functions: EdgeFunctionsStack | None
    edge: EdgeStack
    github_deploy: GitHubDeployStack | None = None

    @property
    def all(self) -> list[Stack]:
        stacks = (self.chat, self.web, self.edge_functions, self.edge, self.github_deploy)
        return [stack for stack in stacks if stack is not None]


def build_stage(app: App, config: StageConfig, *, account: str | None = None) -> StageStacks:
    """Add a CDK Stage named after `config.name` holding every stack of the app for that stage."""
    env = Environment(account=account, region=config.region)
    stage = Stage(app, config.name, env=env)
    Tags.of(stage).add("app", "cdk-reference-app")
    Tags.of(stage).add("stage", config.name)
    chat = ChatStack(stage, "Chat", stage=config, description=f"Chat API ({config.name})")
    web = WebStack(
        stage, "Web", stage=config, description=f"Web service: ALB -> ECS on Fargate -> Aurora ({config.name})"
    )
    # A CLOUDFRONT web ACL lives in us-east-1: the edge stack places it here.
    edge_functions = (
        EdgeFunctionsStack(
            stage,
            "EdgeFunctions",
            env=Environment(account=account, region=EDGE_REGION),
            description=f"us-east-1 part of the edge cache: the CLOUDFRONT web ACL ({config.name})",
        )
        if "EdgeFunctions" in stack_ids(config)
        else None
    )
    edge = EdgeStack(
        stage,
        "Edge",
        stage=config,
        edge_functions=edge_functions,
        web_origin=web.origin,  # the edge cache fronts this app's own web service
        description=f"Edge cache: CloudFront, S3 cache, publisher ({config.name})",
    )
    built = StageStacks(stage=stage, chat=chat, web=web, edge_functions=edge_functions, edge=edge)
    if config.github:
        built = replace(
            built,
            github_deploy=GitHubDeployStack(
                stage,
                GITHUB_DEPLOY_ID,
                stage=config,
                regions=regions_of(built.all),  # the deploy role reaches exactly the regions used
                description=f"GitHub Actions deploy access (OIDC) for {config.name}",
            ),
        )
    return built


def build_app(app: App, configs: list[StageConfig], *, account: str | None = None) -> list[StageStacks]:
    """Build every requested stage and attach the cdk-nag AwsSolutions checks to the whole app."""
    built = [build_stage(app, config, account=account) for config in configs]
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return built
