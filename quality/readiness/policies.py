"""Settings that replace a default keep what the default gave: publishers of topics, users of keys, method
settings; and a role that updates a distribution may read what the distribution's config names.

An SNS topic policy replaces the topic's default policy, a key policy is all a KMS key allows, and an API
Gateway method setting replaces the stage-wide one for that method. Each must still grant or set what the
services around it need: alarms and rules publish to topics, services encrypt with keys, and a throttling
override must keep the stage's logging and metrics.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Any

from quality.readiness.base import Check, Context, Finding
from quality.readiness.template import StackTemplate, as_list, refs, render

# Service principals that publish to a topic, by what in the template makes them do so.
_ALARM_ACTIONS = ("AlarmActions", "OKActions", "InsufficientDataActions")
_CLOUDWATCH = "cloudwatch.amazonaws.com"
_EVENTS = "events.amazonaws.com"
_S3 = "s3.amazonaws.com"
_SNS = "sns.amazonaws.com"
# What a service principal must be allowed on a key to encrypt for a topic or queue, or for a log group.
_PUBLISHER_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
_LOGS_KEY_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:GenerateDataKey", "kms:DescribeKey")


def alarm_topics(stack: StackTemplate) -> set[str]:
    """Topics that a CloudWatch alarm of the stack notifies."""
    found: set[str] = set()
    for _, alarm in stack.of_type("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"):
        for key in _ALARM_ACTIONS:
            found |= refs(alarm["Properties"].get(key))
    return {t for t in found if stack.type_of(t) == "AWS::SNS::Topic"}


def publishers(stack: StackTemplate, target: str) -> dict[str, str]:
    """Service principals that deliver to `target` (a topic or queue), with what makes them do so."""
    found: dict[str, str] = {}
    if target in alarm_topics(stack):
        found[_CLOUDWATCH] = "CloudWatch alarms notify it"
    for rule_id, rule in stack.of_type("AWS::Events::Rule"):
        if any(target in refs(t.get("Arn")) for t in as_list(rule["Properties"].get("Targets"))):
            found[_EVENTS] = f"EventBridge rule {rule_id} targets it"
    for bucket_id, bucket in stack.of_type("AWS::S3::Bucket"):
        notifications = bucket.get("Properties", {}).get("NotificationConfiguration", {})
        for key, field in (("TopicConfigurations", "Topic"), ("QueueConfigurations", "Queue")):
            if any(target in refs(c.get(field)) for c in as_list(notifications.get(key))):
                found[_S3] = f"bucket {bucket_id} sends it notifications"
    for _, subscription in stack.of_type("AWS::SNS::Subscription"):
        if target in refs(subscription["Properties"].get("Endpoint")):
            found[_SNS] = "an SNS topic delivers to it"
    return found


def _principal_matches(principal: Any, service: str, region: str) -> bool:
    if principal == "*" or (isinstance(principal, dict) and principal.get("AWS") == "*"):
        return True
    if not isinstance(principal, dict):
        return False
    for value in as_list(principal.get("Service")):
        text = render(value)
        if text and text.replace("{region}", region) == service:
            return True
    return False


def _covers(patterns: Iterable[Any], action: str) -> bool:
    return any(isinstance(p, str) and fnmatchcase(action.lower(), p.lower()) for p in patterns)


def _allowed(statements: list[dict[str, Any]], service: str, action: str, region: str, resource: str | None) -> bool:
    allowed = denied = False
    for statement in statements:
        if not _principal_matches(statement.get("Principal"), service, region):
            continue
        if not _covers(as_list(statement.get("Action")), action):
            continue
        resources = as_list(statement.get("Resource"))
        if resource and not any(r == "*" or resource in refs(r) for r in resources):
            continue
        if statement.get("Effect") == "Allow":
            allowed = True
        elif "Condition" not in statement:  # a conditional deny (e.g. without TLS) leaves service calls alone
            denied = True
    return allowed and not denied


def _topic_policy(context: Context, logical_id: str) -> list[Finding]:
    props = context.stack.props(logical_id)
    statements = as_list(props.get("PolicyDocument", {}).get("Statement"))
    findings = []
    for topic in sorted(refs(props.get("Topics"))):
        for service, why in sorted(publishers(context.stack, topic).items()):
            if service == _SNS:
                continue
            if not _allowed(statements, service, "sns:Publish", context.stack.region, topic):
                findings.append(
                    Finding(service, f"{why}, but this policy (which replaces the default) lets {service} not publish.")
                )
    return findings


def _key_users(stack: StackTemplate, key: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    users: dict[str, tuple[str, tuple[str, ...]]] = {}
    for resource_type in ("AWS::SNS::Topic", "AWS::SQS::Queue"):
        for target, _ in stack.of_type(resource_type):
            if key in refs(stack.props(target).get("KmsMasterKeyId")):
                for service, why in publishers(stack, target).items():
                    users[service] = (f"{why} ({target}, encrypted with this key)", _PUBLISHER_KEY_ACTIONS)
    for group, _ in stack.of_type("AWS::Logs::LogGroup"):
        if key in refs(stack.props(group).get("KmsKeyId")):
            users[f"logs.{stack.region}.amazonaws.com"] = (f"log group {group} is encrypted with it", _LOGS_KEY_ACTIONS)
    return users


def _key_policy(context: Context, logical_id: str) -> list[Finding]:
    statements = as_list(context.stack.props(logical_id).get("KeyPolicy", {}).get("Statement"))
    findings = []
    for service, (why, actions) in sorted(_key_users(context.stack, logical_id).items()):
        missing = [a for a in actions if not _allowed(statements, service, a, context.stack.region, None)]
        if missing:
            findings.append(
                Finding(service, f"{why}, but the key policy does not allow {service} {', '.join(missing)}.")
            )
    return findings


def _topic_subscribed(context: Context, logical_id: str) -> list[Finding]:
    if logical_id not in alarm_topics(context.stack):
        return []
    inline = as_list(context.stack.props(logical_id).get("Subscription"))
    attached = list(context.stack.referencing(logical_id, "AWS::SNS::Subscription"))
    if inline or attached:
        return []
    return [Finding("subscription", "alarms notify this topic, but nobody is subscribed to it.")]


_STAGE_WIDE = ("/*", "*")
_INHERITED = ("LoggingLevel", "MetricsEnabled", "DataTraceEnabled")


def _method_settings(context: Context, logical_id: str) -> list[Finding]:
    settings = as_list(context.stack.props(logical_id).get("MethodSettings"))
    base = next((s for s in settings if (s.get("ResourcePath"), s.get("HttpMethod")) == _STAGE_WIDE), None)
    if base is None:
        return []
    findings = []
    for setting in settings:
        if setting is base:
            continue
        lost = [key for key in _INHERITED if key in base and key not in setting]
        if lost:
            where = f"{setting.get('HttpMethod')}{setting.get('ResourcePath')}"
            findings.append(
                Finding(
                    where, f"the setting for {where} replaces the stage-wide one but does not set {', '.join(lost)}."
                )
            )
    return findings


# What calling UpdateDistribution (which sends the whole config back) takes besides cloudfront:UpdateDistribution.
_ASSOCIATE_FUNCTION = ("lambda:GetFunction", "lambda:EnableReplication")
_ASSOCIATE_ACL = ("wafv2:GetWebACL",)


def _role_statements(stack: StackTemplate, roles: set[str]) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for _, policy in stack.of_type("AWS::IAM::Policy"):
        if roles & refs(policy["Properties"].get("Roles")):
            statements += as_list(policy["Properties"].get("PolicyDocument", {}).get("Statement"))
    return statements


def _grants(statements: list[dict[str, Any]], action: str, resource: Any) -> bool:
    """An Allow of `action` on `resource` (the same template value, or a pattern covering its rendered text)."""
    text = render(resource, "*")
    for statement in statements:
        if statement.get("Effect") != "Allow" or not _covers(as_list(statement.get("Action")), action):
            continue
        for granted in as_list(statement.get("Resource")):
            if granted == resource or (isinstance(granted, str) and text and fnmatchcase(text, granted)):
                return True
    return False


def _associated(distribution: dict[str, Any]) -> list[tuple[str, Any]]:
    """(kind, resource) pairs an updater of the distribution needs: its functions' versions, its web ACL."""
    config = distribution.get("Properties", {}).get("DistributionConfig", {})
    needs: list[tuple[str, Any]] = []
    behaviors = [config.get("DefaultCacheBehavior", {}), *as_list(config.get("CacheBehaviors"))]
    for behavior in behaviors:
        for association in as_list(behavior.get("LambdaFunctionAssociations")):
            arn = association.get("LambdaFunctionARN")
            if arn is not None and ("function", arn) not in needs:
                needs.append(("function", arn))
    if config.get("WebACLId") is not None:
        needs.append(("acl", config["WebACLId"]))
    return needs


def _distribution_updater(context: Context, logical_id: str) -> list[Finding]:
    props = context.stack.props(logical_id)
    statements = as_list(props.get("PolicyDocument", {}).get("Statement"))
    roles = refs(props.get("Roles"))
    everything = _role_statements(context.stack, roles) if roles else statements
    findings = []
    for distribution, resource in context.stack.of_type("AWS::CloudFront::Distribution"):
        updates = any(
            s.get("Effect") == "Allow"
            and _covers(as_list(s.get("Action")), "cloudfront:UpdateDistribution")
            and any(r == "*" or distribution in refs(r) for r in as_list(s.get("Resource")))
            for s in statements
        )
        if not updates:
            continue
        for kind, needed in _associated(resource):
            actions = _ASSOCIATE_FUNCTION if kind == "function" else _ASSOCIATE_ACL
            missing = [a for a in actions if not _grants(everything, a, needed)]
            if missing:
                what = "a Lambda@Edge version it runs" if kind == "function" else "its web ACL"
                findings.append(
                    Finding(
                        f"{distribution}.{kind}",
                        f"it may update {distribution}, whose config names {what}, but not {', '.join(missing)} "
                        "on it: every UpdateDistribution is refused.",
                    )
                )
    return findings


CHECKS = [
    Check(
        name="TopicPolicyKeepsPublishers",
        info="An SNS topic policy shuts out a service that publishes to the topic:",
        explanation=(
            "A topic policy replaces SNS's default policy. Services that publish (CloudWatch alarms, EventBridge "
            "rules, S3 notifications) need an Allow for their service principal, or every notification is refused "
            "('not authorized to perform: SNS:Publish') and the alarm history is the only place it shows."
        ),
        resource_types=frozenset({"AWS::SNS::TopicPolicy"}),
        findings=_topic_policy,
    ),
    Check(
        name="KeyPolicyKeepsServiceUsers",
        info="A KMS key policy does not let a service that encrypts with the key use it:",
        explanation=(
            "Services that write to an encrypted topic, queue or log group call KMS as their own principal; the "
            "key policy must allow it (e.g. cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey* for an "
            "alarm topic, logs.<region>.amazonaws.com for a log group), or deliveries fail silently."
        ),
        resource_types=frozenset({"AWS::KMS::Key"}),
        findings=_key_policy,
    ),
    Check(
        name="AlarmTopicHasSubscriber",
        info="An SNS topic that alarms notify has no subscription:",
        explanation="An alarm that notifies a topic nobody subscribes to reaches nobody.",
        resource_types=frozenset({"AWS::SNS::Topic"}),
        findings=_topic_subscribed,
    ),
    Check(
        name="MethodSettingKeepsStageSettings",
        info="An API Gateway method setting drops what the stage-wide setting enables:",
        explanation=(
            "A MethodSetting for one method replaces the stage-wide /*/* setting for that method, so a throttling "
            "override that leaves out logging, metrics or data tracing turns them off for that method."
        ),
        resource_types=frozenset({"AWS::ApiGateway::Stage"}),
        findings=_method_settings,
    ),
    Check(
        name="DistributionUpdaterCanAssociate",
        info="A role may update a CloudFront distribution but not read what its config associates:",
        explanation=(
            "UpdateDistribution sends the whole distribution config back, so its caller needs what associating "
            "it takes: lambda:GetFunction and lambda:EnableReplication* on each Lambda@Edge version (CloudFront "
            "Developer Guide, Set up IAM permissions and roles for Lambda@Edge) and wafv2:GetWebACL on the web "
            "ACL ('Unable to verify read permissions on Web ACL'). A function that rotates a header through it "
            "would fail at its first run."
        ),
        resource_types=frozenset({"AWS::IAM::Policy"}),
        findings=_distribution_updater,
    ),
]
