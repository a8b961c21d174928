"""Security properties of every resource of a type, in every stage (`synth`) and every variant (`variants`).

Each test walks all resources of its type in every template, so a resource added later is covered without a
new test: buckets, topics and queues refuse requests without TLS; buckets block all four kinds of public
access and name their encryption; every log group has a retention, and so does every group a service writes
to; every grant on "*" is of actions that cannot name a resource; only listed AWS managed policies are
attached; each secret is read by the roles that use it and no other; a service's permission to invoke a
function names its source; every KMS key rotates.

Log groups that a service creates by itself at run time (a function's /aws/lambda/<name>, CodeBuild's
/aws/codebuild/<project>, API Gateway's execution logs, RDS's exported logs) are covered by the writer test
below: each writer must name a group of its own template (by reference or by the exact name the service
uses), so the service finds the group there, with its retention, instead of creating one without. The one
exception is Lambda@Edge's replica groups (/aws/lambda/us-east-1.<name> in each region a replica runs in),
which no stack of one region can create; the edge stacks own that question (issue 20, finding 6).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any, cast

import pytest

from tests.support.iam import aws_managed_policies, policy_documents
from tests.support.synth import Synthesized

APPS = ("synth", "variants")
DENY_WITHOUT_TLS = {"Bool": {"aws:SecureTransport": "false"}}
# What a topic policy may name (SNS Developer Guide, "Valid Amazon SNS policy actions"): all of them over TLS.
# Listed from the documentation here, not imported from shared/alarms.py: the code is checked against it.
TOPIC_ACTIONS = {
    "sns:AddPermission",
    "sns:DeleteTopic",
    "sns:GetDataProtectionPolicy",
    "sns:GetTopicAttributes",
    "sns:ListSubscriptionsByTopic",
    "sns:ListTagsForResource",
    "sns:Publish",
    "sns:RemovePermission",
    "sns:SetTopicAttributes",
    "sns:Subscribe",
}
PUBLIC_ACCESS_BLOCK = {"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"}


@pytest.fixture(params=APPS)
def app(request: pytest.FixtureRequest) -> Synthesized:
    """Each app in turn: the shipped stages, then the variants."""
    synthesized: Synthesized = request.getfixturevalue(request.param)
    return synthesized


def _resources(app: Synthesized, *types: str) -> Iterator[tuple[str, dict[str, Any], str, dict[str, Any]]]:
    """(stack, template, logical id, resource) of every resource of `types` in every template."""
    for key, template in app.templates.items():
        for logical_id, resource in template.get("Resources", {}).items():
            if resource["Type"] in types:
                yield key, template, logical_id, resource


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _refers(value: Any, logical_id: str) -> bool:
    return value in ({"Ref": logical_id}, {"Fn::GetAtt": [logical_id, "Arn"]})


def _tls_denials(template: dict[str, Any], policy_type: str, target_key: str, target: str) -> list[dict[str, Any]]:
    """Deny-without-TLS statements for everyone, in the resource policies of `target`."""
    found = []
    for resource in template["Resources"].values():
        if resource["Type"] != policy_type:
            continue
        props = resource["Properties"]
        if not any(_refers(t, target) for t in _as_list(props[target_key])):
            continue
        for statement in props["PolicyDocument"]["Statement"]:
            if (
                statement.get("Effect") == "Deny"
                and statement.get("Principal") in ("*", {"AWS": "*"})
                and statement.get("Condition") == DENY_WITHOUT_TLS
            ):
                found.append(statement)
    return found


def test_every_bucket_denies_requests_without_tls(app: Synthesized) -> None:
    buckets = list(_resources(app, "AWS::S3::Bucket"))
    assert buckets
    for key, template, bucket, _ in buckets:
        arn = {"Fn::GetAtt": [bucket, "Arn"]}
        covered = [
            s
            for s in _tls_denials(template, "AWS::S3::BucketPolicy", "Bucket", bucket)
            if s["Action"] in ("s3:*", ["s3:*"])
            and arn in _as_list(s["Resource"])
            and {"Fn::Join": ["", [arn, "/*"]]} in _as_list(s["Resource"])
        ]
        assert covered, f"{key}: bucket {bucket} has no policy denying every s3 action without TLS"


def test_every_topic_denies_every_action_without_tls(app: Synthesized) -> None:
    topics = list(_resources(app, "AWS::SNS::Topic"))
    assert topics
    for key, template, topic, _ in topics:
        denied = {
            action
            for s in _tls_denials(template, "AWS::SNS::TopicPolicy", "Topics", topic)
            if {"Ref": topic} in _as_list(s["Resource"]) or "*" in _as_list(s["Resource"])
            for action in _as_list(s["Action"])
        }
        assert denied >= TOPIC_ACTIONS, f"{key}: topic {topic} allows {sorted(TOPIC_ACTIONS - denied)} without TLS"


def test_every_queue_denies_requests_without_tls(app: Synthesized) -> None:
    queues = list(_resources(app, "AWS::SQS::Queue"))
    assert queues
    for key, template, queue, _ in queues:
        covered = [
            s
            for s in _tls_denials(template, "AWS::SQS::QueuePolicy", "Queues", queue)
            if s["Action"] in ("sqs:*", ["sqs:*"])
            and ({"Fn::GetAtt": [queue, "Arn"]} in _as_list(s["Resource"]) or "*" in _as_list(s["Resource"]))
        ]
        assert covered, f"{key}: queue {queue} has no policy denying every sqs action without TLS"


def test_every_bucket_blocks_all_public_access(app: Synthesized) -> None:
    for key, _, bucket, resource in _resources(app, "AWS::S3::Bucket"):
        block = resource["Properties"].get("PublicAccessBlockConfiguration", {})
        assert {k for k in PUBLIC_ACCESS_BLOCK if block.get(k) is True} == PUBLIC_ACCESS_BLOCK, f"{key}: {bucket}"


def test_every_log_group_has_a_retention(app: Synthesized) -> None:
    groups = list(_resources(app, "AWS::Logs::LogGroup"))
    assert groups
    for key, _, group, resource in groups:
        assert isinstance(resource["Properties"].get("RetentionInDays"), int), f"{key}: log group {group}"


# --- where each service writes its logs --------------------------------------------------------------------


def _name(value: Any) -> str:
    """A log group name with each deploy-time reference written as ${LogicalId}."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return f"${{{value['Ref']}}}"
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_name(p) for p in parts)
    return repr(value)


def _named(value: Any) -> set[str]:
    """Logical ids that `value` names through Ref or Fn::GetAtt, anywhere inside it (an ARN built with a Join)."""
    if isinstance(value, list):
        return set().union(*(_named(v) for v in value)) if value else set()
    if not isinstance(value, dict):
        return set()
    found = {value["Ref"]} if isinstance(value.get("Ref"), str) else set()
    if "Fn::GetAtt" in value:
        found.add(value["Fn::GetAtt"][0])
    return found.union(*(_named(v) for v in value.values()))


def _group(template: dict[str, Any], reference: Any = None, name: str | None = None) -> dict[str, Any] | None:
    """The template's log group that `reference` names (its name, its ARN), or whose name is `name`."""
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Logs::LogGroup":
            continue
        if reference is not None and logical_id in _named(reference):
            return dict(resource)
        if name is not None and _name(resource["Properties"].get("LogGroupName")) == name:
            return dict(resource)
    return None


def _function_groups(template: dict[str, Any], logical_id: str, props: dict[str, Any]) -> list[Any]:
    own = props.get("LoggingConfig", {}).get("LogGroup")
    return [_group(template, own) if own else _group(template, name=f"/aws/lambda/${{{logical_id}}}")]


def _task_groups(template: dict[str, Any], _: str, props: dict[str, Any]) -> list[Any]:
    configs = [c.get("LogConfiguration") for c in props["ContainerDefinitions"]]
    return [_group(template, (c or {}).get("Options", {}).get("awslogs-group")) for c in configs]


def _project_groups(template: dict[str, Any], logical_id: str, props: dict[str, Any]) -> list[Any]:
    logs = props.get("LogsConfig", {}).get("CloudWatchLogs", {})
    if logs.get("Status") == "DISABLED":
        return []
    if "GroupName" in logs:
        return [_group(template, logs["GroupName"])]
    return [_group(template, name=f"/aws/codebuild/${{{logical_id}}}")]


def _state_machine_groups(template: dict[str, Any], _: str, props: dict[str, Any]) -> list[Any]:
    destinations = props.get("LoggingConfiguration", {}).get("Destinations", [])
    return [_group(template, d["CloudWatchLogsLogGroup"]["LogGroupArn"]) for d in destinations]


def _flow_log_groups(template: dict[str, Any], _: str, props: dict[str, Any]) -> list[Any]:
    if props.get("LogDestinationType", "cloud-watch-logs") != "cloud-watch-logs":
        return []
    return [_group(template, props.get("LogGroupName"))]


def _cluster_groups(template: dict[str, Any], logical_id: str, props: dict[str, Any]) -> list[Any]:
    exports = props.get("EnableCloudwatchLogsExports", [])
    return [_group(template, name=f"/aws/rds/cluster/${{{logical_id}}}/{log}") for log in exports]


def _stage_groups(template: dict[str, Any], _: str, props: dict[str, Any]) -> list[Any]:
    groups = []
    if "AccessLogSetting" in props:
        groups.append(_group(template, props["AccessLogSetting"]["DestinationArn"]))
    levels = {s.get("LoggingLevel", "OFF") for s in props.get("MethodSettings", [])}
    if levels - {"OFF"}:
        execution = f"API-Gateway-Execution-Logs_{_name(props['RestApiId'])}/{props['StageName']}"
        groups.append(_group(template, name=execution))
    return groups


# Every resource type here that writes to CloudWatch Logs, and how to find the groups it writes to.
WRITERS = {
    "AWS::Lambda::Function": _function_groups,
    "AWS::ECS::TaskDefinition": _task_groups,
    "AWS::CodeBuild::Project": _project_groups,
    "AWS::StepFunctions::StateMachine": _state_machine_groups,
    "AWS::EC2::FlowLog": _flow_log_groups,
    "AWS::RDS::DBCluster": _cluster_groups,
    "AWS::ApiGateway::Stage": _stage_groups,
}
# Types with logging properties that write elsewhere (S3), so need no log group.
WRITE_TO_S3 = {"AWS::S3::Bucket", "AWS::CloudFront::Distribution"}


def test_every_writer_of_logs_writes_to_a_group_of_its_stack_with_a_retention(app: Synthesized) -> None:
    """A function, task, build, workflow, flow log, database export or API stage writes to a log group its
    own template holds (so no service creates one without retention); a resource of another type with a
    logging property fails here until this test knows where it writes."""
    checked = 0
    for key, template in app.templates.items():
        for logical_id, resource in template["Resources"].items():
            props = resource.get("Properties", {})
            writer = WRITERS.get(resource["Type"])
            if writer is None:
                logging = [p for p in props if "Log" in p]
                assert not logging or resource["Type"] in WRITE_TO_S3 or resource["Type"].startswith("AWS::Logs::"), (
                    f"{key}: {logical_id} ({resource['Type']}) has {logging}: teach this test where it writes"
                )
                continue
            for group in writer(template, logical_id, props):
                checked += 1
                assert group is not None, f"{key}: {logical_id} writes to a log group its stack does not hold"
                assert isinstance(group["Properties"].get("RetentionInDays"), int), f"{key}: {logical_id}"
    assert checked > 0


def test_every_postgresql_cluster_requires_tls_and_its_instances_name_their_ca(app: Synthesized) -> None:
    """rds.force_ssl=1 in the cluster's own parameter group; each instance on the CA whose root the web
    container trusts (web/container/certs, tests/web/container/test_database_tls.py)."""
    clusters = list(_resources(app, "AWS::RDS::DBCluster"))
    assert clusters
    for key, template, cluster, resource in clusters:
        props = resource["Properties"]
        assert props["Engine"] == "aurora-postgresql", f"{key}: {cluster}"
        group = template["Resources"][props["DBClusterParameterGroupName"]["Ref"]]
        assert group["Properties"]["Parameters"]["rds.force_ssl"] == "1", f"{key}: {cluster}"
        instances = [
            r["Properties"]
            for r in template["Resources"].values()
            if r["Type"] == "AWS::RDS::DBInstance" and r["Properties"].get("DBClusterIdentifier") == {"Ref": cluster}
        ]
        assert instances, f"{key}: {cluster}"
        assert {i.get("CACertificateIdentifier") for i in instances} == {"rds-ca-rsa2048-g1"}, f"{key}: {cluster}"


# --- least privilege -----------------------------------------------------------------------------------------


@cache
def _authorization() -> dict[str, Any]:
    """What AWS says each action may be scoped to (the Service Authorization Reference, as cfn-lint ships it:
    service -> action -> the resource types its "Resource types" column names; none = only "*" is possible).
    Found by the package's location, not imported: importing cfn-lint costs each worker's collection 0.8 s."""
    spec = find_spec("cfnlint")
    assert spec is not None and spec.submodule_search_locations, "cfn-lint is not installed"
    data = Path(spec.submodule_search_locations[0]) / "data" / "AdditionalSpecs" / "Policies.json"
    return cast(dict[str, Any], json.loads(data.read_text(encoding="utf-8")))


# AWS managed policies a role may carry, and why (none grants more than its service documents).
AWS_MANAGED = {
    "service-role/AWSLambdaBasicExecutionRole": "a function's own logs (CDK's custom resource providers)",
    "service-role/AWSLambdaENIManagementAccess": "the network interfaces Lambda attaches to a VPC function",
    "service-role/AmazonAPIGatewayPushToCloudWatchLogs": "API Gateway's account-wide logging role",
    "AmazonElasticContainerRegistryPublicReadOnly": "the image build pulls its base image from ECR Public",
    "AmazonECSInfrastructureRolePolicyForLoadBalancers": "ECS moves a blue/green deployment's traffic on the ALB",
}


def _resource_types(action: str) -> list[list[str]]:
    """For each action `action` names (wildcards expanded), the resource types it can be scoped to."""
    service, name = action.lower().split(":", 1)
    actions = _authorization().get(service, {}).get("Actions", {})
    matched = [spec for known, spec in actions.items() if fnmatch.fnmatchcase(known, name)]
    assert matched, f"{action}: not an action of the Service Authorization Reference"
    return [spec.get("Resources", []) for spec in matched]


def test_every_grant_on_every_resource_is_of_actions_that_cannot_name_one(app: Synthesized) -> None:
    """An Allow on "*" (every identity policy of every stack: policy resources, managed policies, inline)
    holds only actions that support no resource-level permission (xray:PutTraceSegments,
    dynamodb:ListStreams, logs:CreateLogDelivery, ...): one that could name its table, bucket or secret must."""
    checked = 0
    for key, template in app.templates.items():
        for roles, document in policy_documents(template):
            for statement in _as_list(document["Statement"]):
                where = f"{key}: {roles} {statement.get('Sid', '')}"
                if statement["Effect"] != "Allow":
                    continue
                assert "NotAction" not in statement and "NotResource" not in statement, where
                checked += 1
                if "*" not in _as_list(statement["Resource"]):
                    continue
                for action in _as_list(statement["Action"]):
                    scopable = [types for types in _resource_types(action) if types]
                    assert not scopable, f"{where}: {action} on '*' could name its resource ({scopable[0]})"
    assert checked > 0


def test_only_the_listed_aws_managed_policies_are_attached(app: Synthesized) -> None:
    attached = {
        name
        for template in app.templates.values()
        for names in aws_managed_policies(template).values()
        for name in names
    }
    assert attached, "no managed policy at all: is the reader still finding them?"
    assert attached <= set(AWS_MANAGED), sorted(attached - set(AWS_MANAGED))


READ_SECRET = "secretsmanager:GetSecretValue"


def _secret_named(template: dict[str, Any], value: Any) -> str | None:
    """The secret a policy's resource names: the secret itself, or its attachment (whose Ref is the secret's ARN)."""
    if not isinstance(value, dict) or "Ref" not in value:
        return None
    resource = template["Resources"].get(value["Ref"], {})
    if resource.get("Type") == "AWS::SecretsManager::Secret":
        return str(value["Ref"])
    if resource.get("Type") == "AWS::SecretsManager::SecretTargetAttachment":
        return _secret_named(template, resource["Properties"]["SecretId"])
    return None


def secret_readers(template: dict[str, Any]) -> dict[str, set[str]]:
    """Secret logical id -> the roles whose policies (any kind) allow reading its value."""
    secrets = [lid for lid, r in template["Resources"].items() if r["Type"] == "AWS::SecretsManager::Secret"]
    readers: dict[str, set[str]] = {secret: set() for secret in secrets}
    for roles, document in policy_documents(template):
        for statement in _as_list(document["Statement"]):
            actions = _as_list(statement.get("Action", []))
            if statement["Effect"] != "Allow" or not any(
                fnmatch.fnmatchcase(READ_SECRET.lower(), a.lower()) for a in actions
            ):
                continue
            named = _as_list(statement["Resource"])
            for secret in secrets if "*" in named else filter(None, (_secret_named(template, r) for r in named)):
                readers[secret].update(roles)
    return readers


# Each secret (logical id, the same in every stage: tests pin them) -> the roles that may read it: the function or
# task that uses it and nothing else (the rotation functions are nested applications with roles of their own).
SECRET_READERS = {
    "CommentsCursorKey292248F6": {"CommentsHandlerRole407AF6D4"},  # the chat API signs its cursors with it
    "DatabaseSecret3B817195": {"DatabaseAppRoleFunctionRoleEF80A017"},  # the admin: only the role set-up
    "DatabaseAppRoleSecret4972C4D8": {  # the app's: its tasks, and the set-up that creates the role
        "AppTaskExecutionRoleD706CD0E",
        "DatabaseAppRoleFunctionRoleEF80A017",
    },
}


def test_every_secret_is_read_by_the_roles_that_use_it_and_no_other(app: Synthesized) -> None:
    """Who may read each secret's value, over every policy kind, and no secret's resource policy allows anyone."""
    seen = 0
    for key, template in app.templates.items():
        for secret, roles in secret_readers(template).items():
            seen += 1
            assert secret in SECRET_READERS, f"{key}: secret {secret}: say in SECRET_READERS who reads it"
            assert roles == SECRET_READERS[secret], f"{key}: {secret}"
        for policy, resource in template["Resources"].items():
            if resource["Type"] != "AWS::SecretsManager::ResourcePolicy":
                continue
            statements = _as_list(resource["Properties"]["ResourcePolicy"]["Statement"])
            assert all(s["Effect"] == "Deny" for s in statements), f"{key}: {policy} allows through the secret"
    assert seen > 0


def test_every_permission_a_service_gets_to_invoke_a_function_names_its_source(app: Synthesized) -> None:
    """A resource-based grant to a service principal carries the ARN (or account) of the caller it is for, so
    no other account's resource of that service can invoke the function (Lambda Developer Guide, "Working
    with resource-based IAM policies in Lambda")."""
    for key, _, permission, resource in _resources(app, "AWS::Lambda::Permission"):
        props = resource["Properties"]
        if str(props["Principal"]).endswith(".amazonaws.com"):
            assert "SourceArn" in props or "SourceAccount" in props, f"{key}: {permission}"


def test_every_key_rotates(app: Synthesized) -> None:
    keys = list(_resources(app, "AWS::KMS::Key"))
    assert keys
    for key, _, logical_id, resource in keys:
        assert resource["Properties"].get("EnableKeyRotation") is True, f"{key}: {logical_id}"


def test_every_bucket_encrypts_at_rest(app: Synthesized) -> None:
    for key, _, bucket, resource in _resources(app, "AWS::S3::Bucket"):
        rules = resource["Properties"].get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
        algorithms = {r.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules}
        assert algorithms and algorithms <= {"AES256", "aws:kms", "aws:kms:dsse"}, f"{key}: {bucket}"
