"""The one builder: every stack of a stage, used by app.py and by the tests alike."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import App, Environment, Stack, Stage, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from stacks.chat.stack import ChatStack
from stacks.config import StageConfig
from stacks.edge.stack import EdgeStack
from stacks.web.stack import WebStack

# Construct ids of the stacks every stage holds ("<stage>/<id>" in the CLI).
STACK_IDS = ("Chat", "Web", "Edge")


@dataclass(frozen=True)
class StageStacks:
    """The stacks built for one stage, by role."""

    stage: Stage
    chat: ChatStack
    web: WebStack
    edge: EdgeStack

    @property
    def all(self) -> list[Stack]:
        return [self.chat, self.web, self.edge]


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
    edge = EdgeStack(
        stage,
        "Edge",
        stage=config,
        web_origin=web.origin,  # the edge cache fronts this app's own web service
        description=f"Edge cache: CloudFront, S3 cache, publisher ({config.name})",
    )
    return StageStacks(stage=stage, chat=chat, web=web, edge=edge)


def build_app(app: App, configs: list[StageConfig], *, account: str | None = None) -> list[StageStacks]:
    """Build every requested stage and attach the cdk-nag AwsSolutions checks to the whole app."""
    built = [build_stage(app, config, account=account) for config in configs]
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return built
