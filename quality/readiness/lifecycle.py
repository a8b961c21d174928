"""Lifecycle: what CloudFormation does at create and delete time leaves no failed stack and no surprise leftovers.

- A deletion-protected resource is retained: CloudFormation cannot delete it, so a stack that tries ends in
  DELETE_FAILED.
- A retained resource keeps what it cannot live without: the security groups, subnets, VPC, gateway
  attachment, parameter and subnet groups and keys it uses, which CloudFormation could not delete (or
  should not: a deleted key makes retained data unreadable).
- A bucket that receives delivered logs (load balancer, CloudFront, S3 server access, flow logs, trails)
  is retained and never auto-emptied: delivery is late and best effort, so objects keep arriving after
  the emptying and the delete fails with BucketNotEmpty.
- A disposable stage (removal=destroy) destroys without leftovers other than acknowledged ones: retained
  resources; Lambda@Edge functions, whose replicas CloudFront deletes only hours after the distribution
  lets go (the documented leftover that `make destroy` finishes); and log groups that a service creates
  at run time (a function's /aws/lambda group, API Gateway's execution logs, exported database logs),
  which the stack neither deletes nor gives a retention.
- A secret rotation whose first run is immediate starts only after every instance of its database exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quality.readiness.base import Check, Context, Finding
from quality.readiness.template import StackTemplate, as_list, refs, render

_SNAPSHOT = "Snapshot"
# Types CloudFormation cannot delete while a retained resource still uses them (or must not: keys).
_IN_USE_BLOCKS_DELETE = {
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::Subnet",
    "AWS::EC2::VPC",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::EC2::InternetGateway",
    "AWS::EC2::NetworkInterface",
    "AWS::RDS::DBSubnetGroup",
    "AWS::RDS::DBClusterParameterGroup",
    "AWS::RDS::DBParameterGroup",
    "AWS::RDS::OptionGroup",
    "AWS::ElastiCache::SubnetGroup",
    "AWS::KMS::Key",
}


def _attribute(props: dict[str, Any], key: str) -> Any:
    for attribute in as_list(props.get("LoadBalancerAttributes")):
        if attribute.get("Key") == key:
            return attribute.get("Value")
    return None


# How each type says its deletion protection is on.
_PROTECTED: dict[str, Callable[[dict[str, Any]], bool]] = {
    "AWS::ElasticLoadBalancingV2::LoadBalancer": lambda p: (
        str(_attribute(p, "deletion_protection.enabled")).lower() == "true"
    ),
    "AWS::RDS::DBCluster": lambda p: p.get("DeletionProtection") is True,
    "AWS::RDS::DBInstance": lambda p: p.get("DeletionProtection") is True,
    "AWS::DocDB::DBCluster": lambda p: p.get("DeletionProtection") is True,
    "AWS::Neptune::DBCluster": lambda p: p.get("DeletionProtection") is True,
    "AWS::DynamoDB::Table": lambda p: p.get("DeletionProtectionEnabled") is True,
    "AWS::Logs::LogGroup": lambda p: p.get("DeletionProtectionEnabled") is True,
    "AWS::DynamoDB::GlobalTable": lambda p: any(
        r.get("DeletionProtectionEnabled") is True for r in as_list(p.get("Replicas"))
    ),
    "AWS::EC2::Instance": lambda p: p.get("DisableApiTermination") is True,
    "AWS::Cognito::UserPool": lambda p: p.get("DeletionProtection") == "ACTIVE",
}


def _protected_retained(context: Context, logical_id: str) -> list[Finding]:
    resource = context.stack.resources[logical_id]
    if not _PROTECTED[resource["Type"]](resource.get("Properties", {})):
        return []
    if resource.get("DeletionPolicy") in {"Retain", "RetainExceptOnCreate", _SNAPSHOT}:
        return []
    return [
        Finding(
            "DeletionPolicy",
            f"deletion protection is on but DeletionPolicy is {resource.get('DeletionPolicy', 'Delete')}: deleting "
            "the stack fails (DELETE_FAILED); retain it (or snapshot it) where the stage protects its data.",
        )
    ]


def _retained_keeps_its_needs(context: Context, logical_id: str) -> list[Finding]:
    stack = context.stack
    if not stack.retained(logical_id):
        return []
    findings = []
    for dependency in sorted(stack.transitive_dependencies(logical_id)):
        kind = stack.type_of(dependency)
        if kind in _IN_USE_BLOCKS_DELETE and not stack.retained(dependency):
            findings.append(
                Finding(
                    dependency,
                    f"this retained resource uses {kind} {dependency}, which the stack deletes: that delete fails "
                    "while the resource still uses it (or, for a key, leaves retained data unreadable).",
                )
            )
    return findings


def _log_destinations(stack: StackTemplate) -> dict[str, str]:
    """Buckets that AWS services deliver logs into, with who delivers."""
    found: dict[str, str] = {}

    def mark(value: Any, who: str) -> None:
        for target in refs(value):
            if stack.type_of(target) == "AWS::S3::Bucket":
                found.setdefault(target, who)

    for lid, resource in stack.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer"):
        mark(_attribute(resource.get("Properties", {}), "access_logs.s3.bucket"), f"load balancer {lid}")
    for lid, resource in stack.of_type("AWS::CloudFront::Distribution"):
        mark(
            resource["Properties"].get("DistributionConfig", {}).get("Logging", {}).get("Bucket"), f"distribution {lid}"
        )
    for lid, resource in stack.of_type("AWS::S3::Bucket"):
        logging = resource.get("Properties", {}).get("LoggingConfiguration", {})
        mark(logging.get("DestinationBucketName"), f"S3 server access logging of {lid}")
    for lid, resource in stack.of_type("AWS::EC2::FlowLog"):
        if resource["Properties"].get("LogDestinationType") == "s3":
            mark(resource["Properties"].get("LogDestination"), f"flow log {lid}")
    for lid, resource in stack.of_type("AWS::CloudTrail::Trail"):
        mark(resource["Properties"].get("S3BucketName"), f"trail {lid}")
    for lid, resource in stack.of_type("AWS::ElasticLoadBalancing::LoadBalancer"):
        mark(resource["Properties"].get("AccessLoggingPolicy", {}).get("S3BucketName"), f"load balancer {lid}")
    return found


def _log_bucket_kept(context: Context, logical_id: str) -> list[Finding]:
    stack = context.stack
    who = _log_destinations(stack).get(logical_id)
    if who is None:
        return []
    findings = []
    emptied = [lid for lid, _ in stack.referencing(logical_id, "Custom::S3AutoDeleteObjects")]
    if emptied:
        findings.append(
            Finding(
                "AutoDelete",
                f"{who} delivers logs here, late and best effort, yet {emptied[0]} empties it at delete time: "
                "objects that arrive after the emptying make the delete fail with BucketNotEmpty.",
            )
        )
    if not stack.retained(logical_id):
        findings.append(
            Finding(
                "DeletionPolicy",
                f"{who} delivers logs here, so the bucket is not empty when the stack deletes it (BucketNotEmpty); "
                "retain it and let its lifecycle rule expire the logs.",
            )
        )
    return findings


def _trusts(stack: StackTemplate, role_id: str, service: str) -> bool:
    for statement in as_list(stack.props(role_id).get("AssumeRolePolicyDocument", {}).get("Statement")):
        principal = statement.get("Principal", {})
        services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
        if any(render(s) == service for s in services):
            return True
    return False


def _owned_function_log_group(stack: StackTemplate, function_id: str) -> bool:
    if refs(stack.props(function_id).get("LoggingConfig", {}).get("LogGroup")):
        return True
    for _, group in stack.of_type("AWS::Logs::LogGroup"):
        name = group.get("Properties", {}).get("LogGroupName")
        if function_id in refs(name) and (render(name) or "").startswith("/aws/lambda/{token}"):
            return True
    return False


def _execution_log_group_owned(stack: StackTemplate, stage_id: str) -> bool:
    props = stack.props(stage_id)
    api, stage_name = refs(props.get("RestApiId")), props.get("StageName")
    for _, group in stack.of_type("AWS::Logs::LogGroup"):
        name = group.get("Properties", {}).get("LogGroupName")
        text = render(name) or ""
        if api & refs(name) and text.startswith("API-Gateway-Execution-Logs_") and text.endswith(f"/{stage_name}"):
            return True
    return False


def _edge_function_or_version(stack: StackTemplate, logical_id: str) -> bool:
    """A function whose role Lambda@Edge may assume, or a version of one."""
    resource = stack.resources[logical_id]
    props = resource.get("Properties", {})
    if resource["Type"] == "AWS::Lambda::Version":
        return any(
            stack.type_of(f) == "AWS::Lambda::Function" and _edge_function_or_version(stack, f)
            for f in refs(props.get("FunctionName"))
        )
    return resource["Type"] == "AWS::Lambda::Function" and any(
        _trusts(stack, role, "edgelambda.amazonaws.com") for role in refs(props.get("Role"))
    )


def _leftovers(context: Context, logical_id: str) -> list[Finding]:
    if not context.disposable:
        return []
    stack = context.stack
    resource = stack.resources[logical_id]
    kind = resource["Type"]
    if _edge_function_or_version(stack, logical_id):
        # One documented leftover, retained or not: `make destroy` deletes it once CloudFront lets go.
        return [
            Finding(
                "EdgeReplicas",
                "a Lambda@Edge function or version: CloudFront deletes its replicas hours after the distribution "
                "lets go, and the function and its versions cannot be deleted before that.",
            )
        ]
    findings = []
    if resource.get("DeletionPolicy") in {"Retain", "RetainExceptOnCreate", _SNAPSHOT}:
        findings.append(
            Finding(
                "Retained", f"DeletionPolicy {resource['DeletionPolicy']} leaves it behind when the stage is destroyed."
            )
        )
    if kind == "AWS::Lambda::Function" and not _owned_function_log_group(stack, logical_id):
        findings.append(
            Finding(
                "LambdaLogGroup",
                "Lambda creates /aws/lambda/<function> at its first run, with no retention, and nothing deletes "
                "it; give the function a log group of its own (LoggingConfig.LogGroup).",
            )
        )
    elif kind == "AWS::ApiGateway::Stage":
        levels = {s.get("LoggingLevel") for s in as_list(resource.get("Properties", {}).get("MethodSettings"))}
        if levels & {"INFO", "ERROR"} and not _execution_log_group_owned(stack, logical_id):
            findings.append(
                Finding(
                    "ExecutionLogGroup",
                    "API Gateway creates API-Gateway-Execution-Logs_<api>/<stage> for execution logging, with no "
                    "retention, and nothing deletes it; create that log group in the stack.",
                )
            )
    elif kind == "Custom::LogRetention" and resource.get("Properties", {}).get("RemovalPolicy") != "destroy":
        findings.append(
            Finding("ExportedLogGroup", "the log group whose retention this sets is kept when the stack is deleted.")
        )
    return findings


def _rotation_after_database(context: Context, logical_id: str) -> list[Finding]:
    stack = context.stack
    props = stack.props(logical_id)
    if props.get("RotateImmediatelyOnUpdate") is False:
        return []
    depends = stack.transitive_dependencies(logical_id)
    clusters = {
        target
        for attachment in depends
        if stack.type_of(attachment) == "AWS::SecretsManager::SecretTargetAttachment"
        for target in refs(stack.props(attachment).get("TargetId"))
        if stack.type_of(target) == "AWS::RDS::DBCluster"
    }
    findings = []
    for cluster in sorted(clusters):
        for instance, _ in stack.referencing(cluster, "AWS::RDS::DBInstance"):
            if instance not in depends:
                findings.append(
                    Finding(
                        instance,
                        f"the first rotation runs as soon as this schedule exists, but it does not wait for instance "
                        f"{instance} of cluster {cluster}: the rotation function may find no database to connect to.",
                    )
                )
    return findings


CHECKS = [
    Check(
        name="DeletionProtectedIsRetained",
        info="A deletion-protected resource is not retained:",
        explanation="CloudFormation cannot delete a resource whose deletion protection is on: the stack delete fails.",
        resource_types=frozenset(_PROTECTED),
        findings=_protected_retained,
    ),
    Check(
        name="RetainedKeepsWhatItUses",
        info="A retained resource uses something the stack deletes:",
        explanation=(
            "A retained database or load balancer still holds network interfaces in its subnets and security "
            "groups (and public addresses behind the internet gateway), so deleting those fails with a "
            "dependency violation and the stack ends in DELETE_FAILED."
        ),
        resource_types=frozenset({"*"}),
        findings=_retained_keeps_its_needs,
    ),
    Check(
        name="DeliveredLogsBucketKept",
        info="A bucket that receives delivered logs is emptied or deleted with its stack:",
        explanation=(
            "Load balancer, CloudFront and S3 access logs are delivered late and best effort (CloudFront up to "
            "24 hours late), so the bucket cannot be emptied reliably before the stack deletes it."
        ),
        resource_types=frozenset({"AWS::S3::Bucket"}),
        findings=_log_bucket_kept,
    ),
    Check(
        name="DisposableStageLeftover",
        info="Destroying this disposable stage leaves this behind:",
        explanation=(
            "A sandbox must go away with `make destroy`; what stays must be acknowledged with the reason and how "
            "it goes (the Lambda@Edge function and its versions are the documented leftover that `make destroy` "
            "deletes once CloudFront has removed the replicas)."
        ),
        resource_types=frozenset({"*"}),
        findings=_leftovers,
    ),
    Check(
        name="RotationAfterDatabase",
        info="A secret rotation can start before its database exists:",
        explanation=(
            "A rotation schedule rotates immediately when created (RotateImmediatelyOnUpdate defaults to true). "
            "It depends on the secret's attachment to the cluster, not on the cluster's instances, so CloudFormation "
            "may start the first rotation while the instances are still being created."
        ),
        resource_types=frozenset({"AWS::SecretsManager::RotationSchedule"}),
        findings=_rotation_after_database,
    ),
]
