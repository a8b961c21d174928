"""Apps the tests synthesize besides the shipped one, each once per set of inputs (tests/support/assemblies.py).

- `variants`: settings neither stage uses by default, all in one app. Each stage is a shipped stage with
  overrides, so every rule it exercises is one a stage can switch on.
- `canary`: constructs the quality gates must flag, through the same cdk-nag attachment as the app.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

WEB_CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
WEB_ORIGIN_NAME = "origin.news.example.com"  # a name WEB_CERTIFICATE covers
EDGE_WEB_ACL = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/news/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"
EDGE_CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"

# Every chat setting set to a value no stage uses, so each one is seen to reach the template.
CHAT_TUNED: dict[str, Any] = {
    "chat.lambda_memory_mb": 1536,
    "chat.lambda_timeout_s": 20,
    "chat.reserved_concurrency": 50,
    "chat.idempotency_ttl_s": 7200,
    "chat.stream_batch_size": 25,
    "chat.waf_rate_limit_per_5min": 500,
    "chat.alarm_latency_p99_ms": 1500,
    "chat.log_retention_days": 90,
}
# HTTPS + gRPC + gradual migration to a legacy fleet.
WEB_MIGRATE: dict[str, Any] = {
    "web.https": True,
    "web.certificate_arn": WEB_CERTIFICATE,
    "web.origin_domain_name": WEB_ORIGIN_NAME,
    "web.protocol": "grpc",
    "web.legacy_target_ips": ["192.168.10.11", "192.168.10.12"],
    "web.legacy_port": 8443,
    "web.legacy_health_check_path": "/status",
    "web.service_weight": 1,
    "web.legacy_weight": 3,
}
# A web ACL shared across apps instead of the stage's own, a certificate and aliases, no origin shield.
EDGE_OPTIONS: dict[str, Any] = {
    "edge.waf_enabled": "false",
    "edge.web_acl_arn": EDGE_WEB_ACL,
    "edge.minimum_tls_version": "TLSv1.3_2025",
    "edge.certificate_arn": EDGE_CERTIFICATE,
    "edge.aliases": '["news.example.com"]',
    "edge.origin_shield_region": "null",
}
# GitHub deploy access: on for the sandbox stage in an account of its own (as `cdk synth -c
# github.repository=... -c account=...` builds it), and the stack alone with every option the other way round
# (an existing provider, the immutable subject, a named environment, a branch pattern, no pull-request role,
# the local Docker build, and the explicit choice of an account it may share).
REPOSITORY = "my-org/my-app"
SANDBOX_ACCOUNT = "111111111111"
PROVIDER = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
GITHUB_OPTIONS: dict[str, Any] = {
    "github.repository": REPOSITORY,
    "github.owner_id": 1234,
    "github.repository_id": 56789,
    "github.environment": "production",
    "github.branch": "release/*",
    "github.pull_request_diff": False,
    "github.oidc_provider_arn": PROVIDER,
    "github.max_session_minutes": 120,
    "github.shared_account": True,
    "web.image_build": "docker",
}
GITHUB_OPTIONS_REGIONS = ("eu-west-1",)  # the stack alone: its own region


@dataclass(frozen=True)
class Variant:
    """A stage of the variants app: `base` stage with `overrides`; `stacks` says what is built: "all"
    through the app's builder, or one stack ("Web", "GitHubDeploy") alone; `account` as a deploy knows it."""

    overrides: dict[str, Any]
    stacks: str = "all"
    base: str = "prod"
    account: str | None = None


VARIANTS: dict[str, Variant] = {
    "tuned": Variant({**CHAT_TUNED, **WEB_MIGRATE, **EDGE_OPTIONS}),
    "bluegreen": Variant({"web.deployment_strategy": "blue_green", "web.bake_time_minutes": 15}, "Web"),
    "docker": Variant({"web.image_build": "docker"}, "Web"),
    # The defaults, with the account known as on every deploy (the CLI passes the credentials' account):
    # ARNs that hold the account are then literals, not tokens, in rules and acknowledgements alike.
    "account": Variant({}, "Web", account="123456789012"),
    # GitHub deploys and Power Tuning on, as `cdk synth -c github.repository=... -c power_tuning=true` builds them.
    "sandbox": Variant(
        {"github.repository": REPOSITORY, "account": SANDBOX_ACCOUNT, "power_tuning": True}, base="sandbox"
    ),
    "options": Variant(GITHUB_OPTIONS, "GitHubDeploy"),
}


def variant_keys() -> list[str]:
    """'stage/Stack' of every stack of the variants app, known without synthesizing (for parametrize)."""
    from stage.builder import GITHUB_DEPLOY_ID, POWER_TUNING_ID, stack_ids

    keys = []
    for name, variant in VARIANTS.items():
        if variant.stacks != "all":
            keys.append(f"{name}/{variant.stacks}")
            continue
        keys += [f"{name}/{stack}" for stack in stack_ids(variant_config(name))]
        if variant_config(name).github:
            keys.append(f"{name}/{GITHUB_DEPLOY_ID}")
        if variant_config(name).power_tuning:
            keys.append(f"{name}/{POWER_TUNING_ID}")
    return keys


def variant_config(name: str) -> Any:
    from stage.config import load_stage

    variant = VARIANTS[name]
    return load_stage(variant.base, {**variant.overrides, "name": name})


def build_variants(outdir: Path) -> dict[str, Any]:
    """Recipe 'variants': every variant stage in one app, cdk-nag attached to all of it."""
    from aws_cdk import App, Environment, Stage

    from shared.policies import own_function_log_groups
    from stage.builder import add_checks, build_stage, github_deploy_stack
    from tests.support.synth import cdk_context, readiness_facts, synth_reporting_nag
    from web.stack import WebStack

    app = App(outdir=str(outdir), context=cdk_context())
    for name, variant in VARIANTS.items():
        config = variant_config(name)
        if variant.stacks == "all":
            build_stage(app, config, account=variant.account)
            continue
        stage = Stage(app, name, env=Environment(account=variant.account, region=config.region))
        if variant.stacks == "Web":
            # As build_stage finishes every stack it builds: each function gets a log group of its own.
            web = WebStack(stage, "Web", config=config.web, facts=config.facts)
            own_function_log_groups(web, retention_days=config.web.log_retention_days)
        else:
            github_deploy_stack(stage, config, stage_stacks=[])
    add_checks(app, [variant_config(name) for name in VARIANTS])
    synth_reporting_nag(app)
    return readiness_facts(outdir)


# --- the canary: what the gates must flag --------------------------------------------------------

CANARY_WARNING = "a warning the gates must report"


def build_canary(outdir: Path) -> dict[str, Any]:
    """Recipe 'canary': the app's builder with no stage (so cdk-nag is attached exactly as for the app) and
    one small stack: a queue that breaks two AwsSolutions rules, a queue whose one finding is acknowledged,
    and a warning annotation."""
    from aws_cdk import Annotations, App, Stack
    from aws_cdk import aws_sqs as sqs

    from quality.declare import acknowledge
    from stage.builder import build_app
    from tests.support.synth import cdk_context, readiness_facts, synth_reporting_nag

    app = App(outdir=str(outdir), context=cdk_context())
    build_app(app, [])
    stack = Stack(app, "Canary")
    sqs.Queue(stack, "Open")  # no TLS-only policy (SQS4), no dead-letter queue (SQS3)
    acknowledged = sqs.Queue(stack, "Acknowledged", enforce_ssl=True)
    acknowledge(acknowledged, "AwsSolutions-SQS3", "The canary acknowledges this one finding on purpose.")
    Annotations.of(stack).add_warning_v2("canary:warning", CANARY_WARNING)
    synth_reporting_nag(app)
    return readiness_facts(outdir)
