"""Rules for settings that replace defaults: each flags a construct losing a default and passes one keeping it."""

from __future__ import annotations

from aws_cdk import App, Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs

from tests.support.readiness import Findings, findings_fixture, stage_stack

STACK = "prod/Policies"
CLOUDWATCH = iam.ServicePrincipal("cloudwatch.amazonaws.com")


def _alarm(stack: Stack, name: str, topic: sns.ITopic) -> None:
    metric = cw.Metric(namespace="Test", metric_name=name, period=Duration.minutes(5))
    metric.create_alarm(stack, f"{name}Alarm", threshold=1, evaluation_periods=1).add_alarm_action(
        actions.SnsAction(topic)
    )


def _topic(stack: Stack, name: str, *, allow_alarms: bool, key: kms.Key | None = None) -> sns.Topic:
    topic = sns.Topic(stack, name, enforce_ssl=True, master_key=key)  # enforce_ssl writes a topic policy
    if allow_alarms:
        topic.add_to_resource_policy(
            iam.PolicyStatement(principals=[CLOUDWATCH], actions=["sns:Publish"], resources=[topic.topic_arn])
        )
    topic.add_subscription(subs.EmailSubscription("ops@example.com"))
    _alarm(stack, name, topic)
    return topic


def _api(stack: Stack, name: str, *, keep_stage_settings: bool) -> None:
    kept = {"metrics_enabled": True, "logging_level": apigw.MethodLoggingLevel.ERROR} if keep_stage_settings else {}
    api = apigw.RestApi(
        stack,
        name,
        cloud_watch_role=False,
        deploy_options=apigw.StageOptions(
            metrics_enabled=True,
            logging_level=apigw.MethodLoggingLevel.ERROR,
            method_options={"/items/POST": apigw.MethodDeploymentOptions(throttling_rate_limit=10, **kept)},
        ),
    )
    api.root.add_resource("items").add_method("POST", apigw.MockIntegration())


EDGE_VERSION = "arn:aws:lambda:us-east-1:123456789012:function:edge:3"
WEB_ACL = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/0f1e2d3c"


def _distribution_updaters(stack: Stack) -> None:
    """A distribution with a Lambda@Edge version and a web ACL, and two roles that may update it."""
    cdn = cloudfront.CfnDistribution(
        stack,
        "Cdn",
        distribution_config=cloudfront.CfnDistribution.DistributionConfigProperty(
            enabled=True,
            web_acl_id=WEB_ACL,
            origins=[cloudfront.CfnDistribution.OriginProperty(id="web", domain_name="example.com")],
            default_cache_behavior=cloudfront.CfnDistribution.DefaultCacheBehaviorProperty(
                target_origin_id="web",
                viewer_protocol_policy="https-only",
                lambda_function_associations=[
                    cloudfront.CfnDistribution.LambdaFunctionAssociationProperty(
                        event_type="origin-request", lambda_function_arn=EDGE_VERSION
                    )
                ],
            ),
        ),
    )
    arn = stack.format_arn(service="cloudfront", region="", resource="distribution", resource_name=cdn.ref)
    for name, complete in (("UpdaterOnly", False), ("Updater", True)):
        role = iam.Role(stack, name, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        role.add_to_policy(iam.PolicyStatement(actions=["cloudfront:UpdateDistribution"], resources=[arn]))
        if complete:
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["lambda:GetFunction", "lambda:EnableReplication*"],
                    resources=["arn:aws:lambda:us-east-1:123456789012:function:edge:*"],
                )
            )
            role.add_to_policy(iam.PolicyStatement(actions=["wafv2:GetWebACL"], resources=[WEB_ACL]))


def _build(app: object) -> None:
    assert isinstance(app, App)
    stack = stage_stack(app, "prod", "Policies")
    _topic(stack, "ShutOut", allow_alarms=False)
    _topic(stack, "LetIn", allow_alarms=True)

    plain_key = kms.Key(stack, "PlainKey")
    _topic(stack, "Encrypted", allow_alarms=True, key=plain_key)
    granted_key = kms.Key(stack, "GrantedKey")
    granted_key.grant(CLOUDWATCH, "kms:Decrypt", "kms:GenerateDataKey*")
    _topic(stack, "EncryptedAndGranted", allow_alarms=True, key=granted_key)
    logs.LogGroup(stack, "EncryptedLogs", encryption_key=kms.Key(stack, "LogsKey"))

    silent = sns.Topic(stack, "Silent")
    _alarm(stack, "Silent", silent)

    _api(stack, "LosesMetrics", keep_stage_settings=False)
    _api(stack, "KeepsMetrics", keep_stage_settings=True)
    _distribution_updaters(stack)


findings = findings_fixture(_build)


def test_a_topic_policy_without_cloudwatch_refuses_alarm_notifications(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/ShutOut", "TopicPolicyKeepsPublishers") == {"cloudwatch.amazonaws.com"}
    assert findings.rule_of(f"{STACK}/LetIn", "TopicPolicyKeepsPublishers") == set()


def test_a_key_that_does_not_let_cloudwatch_encrypt_blocks_the_alarm_topic(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/PlainKey", "KeyPolicyKeepsServiceUsers") == {"cloudwatch.amazonaws.com"}
    assert findings.rule_of(f"{STACK}/GrantedKey", "KeyPolicyKeepsServiceUsers") == set()


def test_a_key_for_a_log_group_must_let_cloudwatch_logs_use_it(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/LogsKey", "KeyPolicyKeepsServiceUsers") == {"logs.eu-west-1.amazonaws.com"}


def test_an_alarm_topic_nobody_subscribes_to_is_flagged(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/Silent", "AlarmTopicHasSubscriber") == {"subscription"}
    assert findings.rule_of(f"{STACK}/LetIn", "AlarmTopicHasSubscriber") == set()


def test_a_method_setting_must_repeat_the_stage_logging_and_metrics(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/LosesMetrics", "MethodSettingKeepsStageSettings") == {"POST/~1items"}
    assert findings.rule_of(f"{STACK}/KeepsMetrics", "MethodSettingKeepsStageSettings") == set()


def test_a_role_that_updates_a_distribution_must_read_its_edge_functions_and_web_acl(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/UpdaterOnly", "DistributionUpdaterCanAssociate") == {"Cdn.function", "Cdn.acl"}
    assert findings.rule_of(f"{STACK}/Updater", "DistributionUpdaterCanAssociate") == set()
