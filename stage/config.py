"""Stages as typed, validated data.

Every setting that differs between stages lives here. `load_stage` is the only way in: it merges
optional overrides (dotted keys, e.g. from `-c chat.throttle_rate_limit=50`) into a known stage and
validates the result, so an invalid value fails before any construct is built, with a message that
names the field and the allowed range.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from chat.config import ChatConfig
from deploy.config import GitHubDeployConfig, shared_account_warning
from edge.config import EdgeConfig
from quality.declare import snap_start_region_problem
from stage.config_base import LOG_RETENTION_DAYS, ConfigError, ConfigModel, RemovalMode, StageFacts
from web.config import WebConfig

__all__ = [
    "LOG_RETENTION_DAYS",
    "STAGES",
    "ChatConfig",
    "ConfigError",
    "EdgeConfig",
    "GitHubDeployConfig",
    "RemovalMode",
    "StageConfig",
    "StageFacts",
    "WebConfig",
    "load_stage",
    "shared_account_warning",
    "stage_overrides",
    "stages_sharing_account",
]


# Where CodeBuild offers the ARM_CONTAINER environment the deploy-time image build runs in (AWS CodeBuild
# API reference, ProjectEnvironment.type).
ARM_CODEBUILD_REGIONS = frozenset(
    {
        "us-east-1",
        "us-east-2",
        "us-west-2",
        "eu-west-1",
        "eu-central-1",
        "ap-south-1",
        "ap-northeast-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "sa-east-1",
    }
)


class StageConfig(ConfigModel):
    """One deployment stage: where it goes, how it treats data, and each stack's settings."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{1,20}$")
    region: str = Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    account: str | None = Field(
        default=None,
        pattern=r"^\d{12}$",
        description="the AWS account the stage deploys to; None: the account of the credentials that deploy it",
    )
    availability_zones: tuple[str, ...] = Field(min_length=2, max_length=6)
    removal: RemovalMode = Field(description="what happens to data when a stateful resource leaves the stack")
    deletion_protection: bool
    alarm_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    alarm_email_parameter: str | None = Field(
        default=None,
        pattern=r"^/[A-Za-z0-9_.\-/]{1,1010}$",
        description="SSM String parameter holding the address alarms mail (read at deploy time; must exist)",
    )
    chat: ChatConfig
    web: WebConfig
    edge: EdgeConfig
    # Optional: who may deploy this stage from GitHub Actions (adds the GitHubDeploy stack); None: nobody.
    github: GitHubDeployConfig | None = None
    # `make hotswap` (cdk deploy --hotswap) updates Lambda code, task definitions and the like outside
    # CloudFormation: the stacks drift from their templates, and ECS replaces the web tasks with a minimum
    # healthy percent of 0 (docs/local-sandbox.md, README "Deploying to an AWS account").
    allow_hotswap: bool = Field(
        default=False,
        strict=True,
        description="whether `make hotswap` may update this stage's resources outside CloudFormation",
    )
    # Optional: AWS Lambda Power Tuning for one function at a time (adds the PowerTuning stack; make power-tune).
    power_tuning: bool = False

    @property
    def facts(self) -> StageFacts:
        """The stage-wide settings the stacks read beside their own section."""
        # Each fact is the stage field of its name.
        return StageFacts(**{fact.name: getattr(self, fact.name) for fact in fields(StageFacts)})

    @field_validator("account", mode="before")
    @classmethod
    def _account_digits(cls, value: Any) -> Any:
        """`-c account=123456789012` arrives as a number (read as JSON); an account id is its 12 digits."""
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="before")
    @classmethod
    def _github_environment(cls, data: Any) -> Any:
        """A stage's GitHub environment is named after the stage unless the config names one."""
        github = data.get("github") if isinstance(data, dict) else None
        if isinstance(github, dict) and github.get("environment") is None:
            return {**data, "github": {**github, "environment": data.get("name")}}
        return data

    @model_validator(mode="after")
    def _rules(self) -> StageConfig:
        for az in self.availability_zones:
            if not az.startswith(self.region) or len(az) != len(self.region) + 1:
                raise ValueError(f"availability_zones: {az!r} is not a zone of region {self.region!r}")
        if len(set(self.availability_zones)) != len(self.availability_zones):
            raise ValueError("availability_zones: must not repeat a zone")
        if self.deletion_protection and self.removal == "destroy":
            raise ValueError("removal: 'destroy' contradicts deletion_protection=true; allowed: 'retain' or 'snapshot'")
        if self.deletion_protection and not (self.alarm_email or self.alarm_email_parameter):
            raise ValueError(
                "alarm_email: a stage that protects its data must alert someone; "
                "set alarm_email or alarm_email_parameter"
            )
        if self.chat.snap_start and (problem := snap_start_region_problem(self.region)):
            raise ValueError(f"chat.snap_start: {problem}; set chat.snap_start=false for this stage")
        if self.allow_hotswap and self.deletion_protection:
            raise ValueError(
                "allow_hotswap: a stage that protects its data (deletion_protection=true) is a production stage; "
                "a hotswap drifts its stacks from their templates and may stop every web task at once; allowed: false"
            )
        if self.web.image_build == "codebuild" and self.region not in ARM_CODEBUILD_REGIONS:
            raise ValueError(
                f"web.image_build: 'codebuild' builds on CodeBuild's ARM_CONTAINER, which {self.region} does not offer "
                f"(offered in {', '.join(sorted(ARM_CODEBUILD_REGIONS))}); use 'docker'"
            )
        if self.github is not None and not self.github.shared_account:
            self._own_account()
        return self

    def _own_account(self) -> None:
        """A stage GitHub deploys has an account of its own. CDK's bootstrap roles exist once per account and
        region (and qualifier), and its deploy role may create, update and delete any stack there, so a
        stage that shares its account with another could deploy or destroy the other's stacks."""
        if self.account is None:
            raise ValueError(
                "account: a stage that GitHub deploys (github is set) must name its own AWS account, or its "
                "deploy role could reach another stage's stacks (CDK's bootstrap roles are per account and "
                "region); set account, or github.shared_account=true to accept the risk (docs/ci.md)"
            )
        for other in stages_sharing_account(self):
            raise ValueError(
                f"account: {self.account} is also stage {other!r}'s; in one account this stage's deploy "
                f"role could deploy or destroy {other!r}'s stacks; give each stage its own account, or set "
                "github.shared_account=true to accept the risk (docs/ci.md)"
            )


STAGES: dict[str, dict[str, Any]] = {
    # Cheap and disposable: everything goes away with the stack.
    "sandbox": {
        "name": "sandbox",
        "region": "eu-west-1",
        "availability_zones": ("eu-west-1a", "eu-west-1b"),
        "removal": "destroy",
        "deletion_protection": False,
        "allow_hotswap": True,  # make hotswap: code changes in seconds, for verification only
        "chat": {
            "throttle_rate_limit": 50,
            "throttle_burst_limit": 100,
            "post_rate_limit": 20,
            "post_burst_limit": 40,
            "cors_allow_origins": ("http://localhost:3000",),
            "log_retention_days": 7,
            "execution_log_level": "INFO",
            # One shard: the talk's exact data model (an index partition per room).
            "room_shards": 1,
            "hot_room_comments_per_s": 20,
        },
        "web": {
            "nat": "instance",  # a t4g.micro instead of a NAT gateway: about $28 a month less when idle
            "desired_count": 1,
            "min_tasks": 1,
            "max_tasks": 2,
            "log_retention_days": 7,
            "access_log_retention_days": 30,
            "db_min_acu": 0,  # pauses when idle: no compute cost overnight
            "db_max_acu": 2,
            "db_auto_pause_minutes": 10,
            "db_backup_retention_days": 1,
            "db_log_retention_days": 7,
        },
        "edge": {
            # Used only when the edge stack is built without this app's web service (stage/builder.py).
            "origin_domain": "origin.sandbox.example.com",
            "default_ttl_s": 30,
            "default_max_ttl_s": 300,
            "behaviors": ({"path_pattern": "/news/*", "default_ttl_s": 10, "max_ttl_s": 60},),
            "publish_concurrency": 5,
            "cached_object_expiry_days": 7,
            "access_log_expiry_days": 7,
            "log_retention_days": 7,
        },
    },
    # Keeps data, protects it from deletion, throttles writes harder and alarms earlier.
    "prod": {
        "name": "prod",
        "region": "eu-west-1",
        "availability_zones": ("eu-west-1a", "eu-west-1b", "eu-west-1c"),
        "removal": "retain",
        "deletion_protection": True,
        # Create it once per account: aws ssm put-parameter --type String --name /cdk-reference-app/prod/alarm-email
        "alarm_email_parameter": "/cdk-reference-app/prod/alarm-email",
        "chat": {
            # A live event: one room takes 10,000 comments/s. That is API Gateway's default account quota
            # per region (10,000 requests/s, burst 5,000): reads on top of it need a quota increase.
            "throttle_rate_limit": 10_000,
            "throttle_burst_limit": 5_000,
            "post_rate_limit": 10_000,
            "post_burst_limit": 5_000,
            "room_shards": 16,
            "hot_room_comments_per_s": 10_000,
            "log_retention_days": 365,
            "execution_log_level": "ERROR",
            "stream_batch_size": 1_000,
            "stream_retry_attempts": 5,
            "stream_max_record_age_s": 21_600,
            "waf_enabled": True,
            "alarm_5xx_threshold": 1,
            "alarm_latency_p99_ms": 1_000,
            # New environments of a live event's burst restore a snapshot instead of importing the handler.
            "snap_start": True,
        },
        "web": {
            "nat": "gateway_per_az",
            "cpu": 512,
            "memory_mib": 1024,
            # No desired_count: auto scaling owns it, so a deploy at peak does not scale back to min_tasks.
            "min_tasks": 2,
            # Room for a deploy-wide republish at 30,000 page views/s at the lowest measured rate per task (set
            # when it was 29 req/s and 10 tasks left 2% of headroom; tests/bench/test_run_capacity.py checks it).
            "max_tasks": 20,
            "log_retention_days": 365,
            "access_log_retention_days": 365,
            "db_min_acu": 0.5,
            "db_max_acu": 16,
            "db_readers": 1,
            "db_backup_retention_days": 14,
            "db_rotation_days": 30,
            "db_log_retention_days": 365,
        },
        "edge": {
            "origin_domain": "origin.example.com",
            "price_class": "PriceClass_All",
            "behaviors": (
                {"path_pattern": "/news/*", "default_ttl_s": 10, "max_ttl_s": 60},
                {"path_pattern": "/live/*", "default_ttl_s": 1, "max_ttl_s": 5},
            ),
            # Fills go through one cache (bench/capacity.py: without it every regional cache fills on its own,
            # 4-13x the S3 reads). In the origins' own region: "Specify the AWS Region that has the lowest
            # latency to your origin" (CloudFront API Reference, OriginShield.OriginShieldRegion); no function
            # runs on a fill, so no Lambda concurrency decides where.
            "origin_shield_region": "eu-west-1",
            "waf_enabled": True,  # created in us-east-1 (CLOUDFRONT scope), attached to the distribution
            # A deploy-wide refresh fetches every page from the web origin (inside the VPC): 5 at a time keep it a
            # background job (the web origin holds tens of requests/s per task, reports/latest.md section 4: at 20
            # the publisher alone would take half of it).
            "publish_concurrency": 5,
            # The publisher keeps every page: the origin then sees only URLs that were never published.
            "cached_object_expiry_days": 3_650,
            "log_retention_days": 365,
            "access_log_expiry_days": 365,
        },
    },
}


def stages_sharing_account(config: StageConfig) -> list[str]:
    """The other stages of STAGES that name the same account as `config`."""
    if config.account is None:
        return []
    return [
        name for name, declared in STAGES.items() if name != config.name and declared.get("account") == config.account
    ]


def _coerce(value: Any) -> Any:
    """Context values from the CLI arrive as strings; read JSON where it parses (numbers, lists, booleans)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _set_dotted(target: dict[str, Any], dotted: str, value: Any) -> None:
    *sections, leaf = dotted.split(".")
    node = target
    for section in sections:
        child = node.get(section) or {}  # an optional section that is off (None) starts empty
        if not isinstance(child, Mapping):
            raise ConfigError(f"Invalid override {dotted!r}: {section!r} is a value, not a section")
        node[section] = dict(child)
        node = node[section]
    coerced = _coerce(value)
    if isinstance(coerced, Mapping) or isinstance(node.get(leaf), Mapping):
        # A whole section would replace the stage's own settings of it with defaults (prod's WAF, sizes, ...).
        raise ConfigError(f"Invalid override {dotted!r}: a section; give its settings one by one ({dotted}.<setting>)")
    node[leaf] = coerced


_FIELD_PREFIX = re.compile(r"^(?P<field>[a-z][a-z0-9_.]*): (?P<rest>.*)$", re.DOTALL)


def _problems(error: ValidationError) -> tuple[str, ...]:
    problems = []
    for item in error.errors():
        loc = [str(p) for p in item["loc"]]
        message = item["msg"].removeprefix("Value error, ")
        prefixed = _FIELD_PREFIX.match(message)
        if prefixed:  # a cross-field rule names its own field
            loc.append(prefixed["field"])
            message = prefixed["rest"]
        elif item["type"] != "missing":
            message += f" (got {item['input']!r})"
        problems.append(f"{'.'.join(loc)}: {message}")
    return tuple(problems)


# A key shaped like a setting of a section ("chats.throttle_rate_limit", "chats.waf_rate_limit_per_5min"), a name
# as _FIELD_PREFIX reads one; CDK's own context keys are not ("@aws-cdk/...", "aws:cdk:...", "availability-zones:...").
_SETTING_SHAPE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")


def stage_overrides(context: Mapping[str, Any]) -> dict[str, Any]:
    """The context keys that name a stage setting ("region", "chat.throttle_rate_limit", ...), which
    override it: what app.py applies to every stage it builds, and the stage targets before they synthesize.
    A key shaped like a setting whose section no stage has is refused, not dropped (a misspelt section)."""
    unknown = sorted(
        key for key in context if _SETTING_SHAPE.fullmatch(key) and key.split(".")[0] not in StageConfig.model_fields
    )
    if unknown:
        sections = ", ".join(name for name, field in StageConfig.model_fields.items() if _is_section(field.annotation))
        raise ConfigError(f"Unknown setting {unknown[0]!r}: a stage's sections are {sections}")
    return {
        key: value for key, value in context.items() if key.split(".")[0] in StageConfig.model_fields and key != "name"
    }


def _is_section(annotation: Any) -> bool:
    """A field that holds a section's settings (a config model, or one that may be off)."""
    candidates = typing.get_args(annotation) or (annotation,)
    return any(isinstance(c, type) and issubclass(c, BaseModel) for c in candidates)


def load_stage(name: str, overrides: Mapping[str, Any] | None = None) -> StageConfig:
    """Return the validated config of stage `name`, with dotted-key `overrides` applied."""
    if name not in STAGES:
        raise ConfigError(f"Unknown stage {name!r}; known stages: {', '.join(sorted(STAGES))}")
    raw: dict[str, Any] = {k: dict(v) if isinstance(v, dict) else v for k, v in STAGES[name].items()}
    for key, value in (overrides or {}).items():
        _set_dotted(raw, key, value)
    try:
        return StageConfig.model_validate(raw)
    except ValidationError as error:
        problems = _problems(error)
        raise ConfigError(f"Invalid configuration for stage {name!r}: " + "; ".join(problems), problems) from None
