"""Monthly cost of a synthesized stack, idle and at a stated load, from the dated price table.

Capacities come from the template itself (task sizes and counts, ACU range, memory, alarms, keys), so the
model prices whatever stacks the builder emits, in each stage, without knowing them by name.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

PRICES_FILE = Path(__file__).with_name("prices.json")
NAT_INSTANCE_ROOT_GB = 8  # the Amazon Linux 2023 image's root volume, when the template sets no size
# A CloudFront VPC origin has no line of its own: its network interface's private address comes at "no
# additional cost" (Restrict access with VPC origins, CloudFront Developer Guide), and data from AWS origins to
# CloudFront's edge locations is "free of charge" (AWS Storage Services Overview whitepaper, Cost Model). The
# pricing page was not at hand when this was written: verify before quoting. An internal load balancer behind
# it has no public IPv4 addresses to pay for (see the ALB line).
VPC_ORIGIN_MONTH = 0.0


@dataclass(frozen=True)
class Load:
    """The stated monthly load a stack is priced at (per stack that serves it)."""

    api_requests: float = 10_000_000  # chat API, 20 % writes
    api_write_share: float = 0.2
    api_lambda_ms: float = 60
    # Assumed, not measured: the share of API invocations that start a new execution environment, each one
    # a SnapStart restore where the function has SnapStart.
    api_new_environment_share: float = 0.01
    page_views: float = 259_200_000  # 100 page views/s averaged over the month (peaks are the capacity model's)
    page_kb: float = 50
    edge_hit_ratio: float = 0.9  # share of page views CloudFront answers from its caches, without a fill
    edge_lambda_ms: float = 60
    pages_published: float = 100_000
    transitions_per_publish: float = 6
    nat_gb: float = 100
    alb_lcu: float = 1.0
    logs_gb: float = 5
    at_max_capacity: bool = True  # Fargate tasks and Aurora ACUs at their configured maximum all month


def load_prices(path: Path = PRICES_FILE) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def _price(prices: dict[str, Any], key: str, region: str) -> float:
    entry = prices["prices"][key]
    return float(entry.get(region, entry["us-east-1"]))


def _resources(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r.get("Properties", {}) for r in template.get("Resources", {}).values() if r["Type"] == kind]


def _is_edge_function(template: dict[str, Any], function: dict[str, Any]) -> bool:
    """A Lambda@Edge function: its role trusts edgelambda.amazonaws.com."""
    role = function.get("Role")
    if not isinstance(role, dict) or "Fn::GetAtt" not in role:
        return False
    role_props = template["Resources"].get(role["Fn::GetAtt"][0], {}).get("Properties", {})
    return "edgelambda.amazonaws.com" in json.dumps(role_props.get("AssumeRolePolicyDocument", {}))


def _scaling(template: dict[str, Any], namespace: str) -> tuple[float, float] | None:
    for target in _resources(template, "AWS::ApplicationAutoScaling::ScalableTarget"):
        if target.get("ServiceNamespace") == namespace:
            return float(target["MinCapacity"]), float(target["MaxCapacity"])
    return None


def stack_cost(  # noqa: PLR0912, PLR0915 - one flat branch per priced resource type
    template: dict[str, Any], region: str, prices: dict[str, Any], load: Load | None = None
) -> dict[str, dict[str, float]]:
    """Line items {service: {"idle": usd, "load": usd}} for one stack's template (per month)."""
    load = load or Load()
    hours = float(prices["hours_per_month"])
    items: dict[str, dict[str, float]] = {}
    types = Counter(r["Type"] for r in template.get("Resources", {}).values())

    def add(service: str, idle: float, at_load: float) -> None:
        entry = items.setdefault(service, {"idle": 0.0, "load": 0.0})
        entry["idle"] += idle
        entry["load"] += at_load

    def p(key: str) -> float:
        return _price(prices, key, region)

    if nats := types["AWS::EC2::NatGateway"]:
        fixed = nats * hours * (p("nat_gateway_hour") + p("public_ipv4_hour"))
        add("NAT gateway", fixed, fixed + load.nat_gb * p("nat_gateway_gb"))
    for instance in _resources(template, "AWS::EC2::Instance"):
        if instance.get("SourceDestCheck") is not False:
            raise ValueError("the cost model prices NAT instances only; price this EC2 instance in bench/cost.py")
        kind = instance["InstanceType"]
        if f"ec2_{kind}_hour" not in prices["prices"]:
            raise KeyError(f"bench/prices.json has no price for instance type {kind} (add ec2_{kind}_hour)")
        root = next(iter(instance.get("BlockDeviceMappings", [])), {}).get("Ebs", {})
        root_gb = float(root.get("VolumeSize", NAT_INSTANCE_ROOT_GB))
        # Its hour, its public IPv4 and its gp3 root volume; unlike a NAT gateway, no per-GB processing fee.
        fixed = hours * (p(f"ec2_{kind}_hour") + p("public_ipv4_hour")) + root_gb * p("ebs_gp3_gb_month")
        add("NAT instance", fixed, fixed)
    for endpoint in _resources(template, "AWS::EC2::VPCEndpoint"):
        if endpoint.get("VpcEndpointType") == "Interface":
            azs = len(endpoint.get("SubnetIds", [])) or 2
            fixed = azs * hours * p("vpc_interface_endpoint_az_hour")
            add("VPC interface endpoints", fixed, fixed)
    for alb in _resources(template, "AWS::ElasticLoadBalancingV2::LoadBalancer"):
        azs = len(alb.get("Subnets", [])) or 2
        public = alb.get("Scheme", "internet-facing") == "internet-facing"
        fixed = hours * (p("alb_hour") + (azs * p("public_ipv4_hour") if public else 0))
        add("ALB", fixed + hours * p("alb_lcu_hour") * 0.0, fixed + hours * p("alb_lcu_hour") * load.alb_lcu)
    for task in _resources(template, "AWS::ECS::TaskDefinition"):
        if "FARGATE" not in task.get("RequiresCompatibilities", []):
            continue
        arch = "arm" if task.get("RuntimePlatform", {}).get("CpuArchitecture") == "ARM64" else "x86"
        per_task = (float(task.get("Cpu", 256)) / 1024) * p(f"fargate_{arch}_vcpu_hour") + (
            float(task.get("Memory", 512)) / 1024
        ) * p(f"fargate_{arch}_gb_hour")
        services = _resources(template, "AWS::ECS::Service")
        desired = float(services[0].get("DesiredCount", 1)) if services else 1.0
        low, high = _scaling(template, "ecs") or (desired, desired)
        add("Fargate", low * per_task * hours, (high if load.at_max_capacity else low) * per_task * hours)
    for cluster in _resources(template, "AWS::RDS::DBCluster"):
        scaling = cluster.get("ServerlessV2ScalingConfiguration", {})
        instances = max(1, sum(1 for i in _resources(template, "AWS::RDS::DBInstance")))
        low, high = float(scaling.get("MinCapacity", 0.5)), float(scaling.get("MaxCapacity", 1))
        acu = p("aurora_serverless_v2_acu_hour") * hours * instances
        storage = 1 * p("aurora_storage_gb_month")
        add("Aurora Serverless v2", low * acu + storage, (high if load.at_max_capacity else low) * acu + storage)
    tables = _resources(template, "AWS::DynamoDB::Table")
    if tables:
        pitr = sum(1 for t in tables if t.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"))
        writes = load.api_requests * load.api_write_share * 3  # comment, room counter, idempotency record
        reads = load.api_requests * (1 - load.api_write_share)
        add(
            "DynamoDB on-demand",
            0.0,
            writes / 1e6 * p("dynamodb_write_million")
            + reads / 1e6 * p("dynamodb_read_million")
            + len(tables) * p("dynamodb_storage_gb_month")
            + pitr * p("dynamodb_pitr_gb_month"),
        )
    apis = types["AWS::ApiGateway::RestApi"]
    if apis:
        add("API Gateway (REST)", 0.0, load.api_requests / 1e6 * p("apigw_rest_million"))
    for function in _resources(template, "AWS::Lambda::Function"):
        memory_gb = float(function.get("MemorySize", 128)) / 1024
        if _is_edge_function(template, function):
            calls = load.page_views * (1 - load.edge_hit_ratio)
            cost = calls / 1e6 * p("lambda_edge_request_million") + calls * load.edge_lambda_ms / 1000 * memory_gb * p(
                "lambda_edge_gb_second"
            )
            add("Lambda@Edge", 0.0, cost)
            continue
        if not apis:
            continue  # custom-resource and publisher helpers: a few calls a month
        arch = "arm" if function.get("Architectures") == ["arm64"] else "x86"
        calls = load.api_requests
        cost = calls / 1e6 * p("lambda_request_million") + calls * load.api_lambda_ms / 1000 * memory_gb * p(
            f"lambda_{arch}_gb_second"
        )
        add(
            "Lambda", 0.0, cost
        )  # every non-edge function at the API request count: an upper bound for the stream consumer
        if function.get("SnapStart", {}).get("ApplyOn") == "PublishedVersions":
            add("Lambda SnapStart", *_snap_start(memory_gb, calls, hours, load, p))
    if vpc_origins := types["AWS::CloudFront::VpcOrigin"]:
        add("CloudFront VPC origin", vpc_origins * VPC_ORIGIN_MONTH, vpc_origins * VPC_ORIGIN_MONTH)
    if types["AWS::CloudFront::Distribution"]:
        add(
            "CloudFront",
            0.0,
            load.page_views / 1e4 * p("cloudfront_https_10k")
            + load.page_views * load.page_kb / 1e6 * p("cloudfront_gb_out"),
        )
    if buckets := types["AWS::S3::Bucket"]:
        misses = load.page_views * (1 - load.edge_hit_ratio) if types["AWS::CloudFront::Distribution"] else 0
        add(
            "S3",
            buckets * 0.1 * p("s3_standard_gb_month"),
            buckets * 5 * p("s3_standard_gb_month")
            + misses / 1e3 * p("s3_get_1k")
            + load.pages_published / 1e3 * p("s3_put_1k"),
        )
    if types["AWS::StepFunctions::StateMachine"]:
        add(
            "Step Functions",
            0.0,
            load.pages_published * load.transitions_per_publish / 1e3 * p("stepfunctions_standard_1k_transitions"),
        )
    if keys := types["AWS::KMS::Key"]:
        add(
            "KMS keys",
            keys * p("kms_key_month"),
            keys * p("kms_key_month") + load.api_requests / 1e4 * 0.01 * p("kms_request_10k"),
        )
    if secrets := types["AWS::SecretsManager::Secret"]:
        add(
            "Secrets Manager",
            secrets * p("secret_month"),
            secrets * p("secret_month") + 1e5 / 1e4 * p("secret_api_10k"),
        )
    for acl in _resources(template, "AWS::WAFv2::WebACL"):
        fixed = p("waf_acl_month") + len(acl.get("Rules", [])) * p("waf_rule_month")
        requests = load.page_views if acl.get("Scope") == "CLOUDFRONT" else load.api_requests
        add("WAF", fixed, fixed + requests / 1e6 * p("waf_request_million"))
    if alarms := types["AWS::CloudWatch::Alarm"]:
        add("CloudWatch alarms", alarms * p("cloudwatch_alarm_month"), alarms * p("cloudwatch_alarm_month"))
    if types["AWS::Logs::LogGroup"]:
        add("CloudWatch Logs", 0.0, load.logs_gb * p("cloudwatch_logs_gb"))
    return items


def _snap_start(memory_gb: float, calls: float, hours: float, load: Load, p: Any) -> tuple[float, float]:
    """Python's SnapStart charges (https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html#snapstart-pricing):
    the live version's snapshot cached all month by its memory size, idle or not, and one restore of that
    memory per new execution environment. (A deploy's replaced version costs at least 3 hours of cache.)"""
    cache = memory_gb * hours * 3600 * p("lambda_snapstart_cache_gb_second")
    restores = calls * load.api_new_environment_share * memory_gb * p("lambda_snapstart_restore_gb")
    return cache, cache + restores


def total(items: dict[str, dict[str, float]]) -> dict[str, float]:
    return {"idle": sum(v["idle"] for v in items.values()), "load": sum(v["load"] for v in items.values())}


def describe_load(load: Load) -> dict[str, Any]:
    return asdict(load)
