"""Security properties of every resource of a type, in every stage (`synth`) and every variant (`variants`).

Each test walks all resources of its type in every template, so a resource added later is covered without a
new test: buckets, topics and queues refuse requests without TLS; buckets block all four kinds of public
access; every log group has a retention, and so does every group a service writes to.

Log groups that a service creates by itself at run time (a function's /aws/lambda/<name>, CodeBuild's
/aws/codebuild/<project>, API Gateway's execution logs, RDS's exported logs) are covered by the writer test
below: each writer must name a group of its own template (by reference or by the exact name the service
uses), so the service finds the group there, with its retention, instead of creating one without. The one
exception is Lambda@Edge's replica groups (/aws/lambda/us-east-1.<name> in each region a replica runs in),
which no stack of one region can create; the edge stacks own that question (issue 20, finding 6).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

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
