"""Short facts a node reads from its resources' synthesized properties (stage-independent wording: where the
stages differ, the picture names the stage)."""

from __future__ import annotations

import json
import re
from typing import Any

from tools.request_path.graph import Resource, StageGraph
from tools.request_path.model import Fact

_SUBNET_GROUP = re.compile(r"Vpc([A-Za-z]+?)Subnet\d")


def props(members: list[Resource], resource_type: str) -> list[Any]:
    return [r.properties for r in members if r.type == resource_type]


def subnets(members: list[Resource], graph: StageGraph) -> list[Fact]:
    """Where the members run: 'in the <group> subnets (<public|private|isolated>)'."""
    found = set()
    for member in members:
        for ref in graph.references(member):
            match = _SUBNET_GROUP.search(ref.logical_id)
            if graph.resources[ref].type == "AWS::EC2::Subnet" and match:
                found.add(f"in the {match.group(1)} subnets ({graph.subnet_kind(ref)})")
    return list(sorted(found))


def function(members: list[Resource], _: StageGraph) -> list[Fact]:
    facts: list[Fact] = []
    for p in props(members, "AWS::Lambda::Function"):
        facts += [p.get("Runtime", "container image"), ("memory", f"{p.get('MemorySize', 128)} MB")]
        if p.get("SnapStart", {}).get("ApplyOn") == "PublishedVersions":
            facts.append("SnapStart")
        if "VpcConfig" in p:
            facts.append("in the VPC")
    return facts


def alias(members: list[Resource], _: StageGraph) -> list[Fact]:
    return [("name", p["Name"]) for p in props(members, "AWS::Lambda::Alias")]


def web_acl(members: list[Resource], _: StageGraph) -> list[Fact]:
    facts: list[Fact] = []
    for p in props(members, "AWS::WAFv2::WebACL"):
        statements = [rule["Statement"] for rule in p.get("Rules", [])]
        managed = sum("ManagedRuleGroupStatement" in s for s in statements)
        facts.append(f"{managed} AWS managed rule groups")
        if any("RateBasedStatement" in s for s in statements):
            facts.append("per-IP rate limit")
    return facts


def table(members: list[Resource], _: StageGraph) -> list[Fact]:
    facts: list[Fact] = []
    for p in props(members, "AWS::DynamoDB::Table"):
        facts += sorted(f"GSI {index['IndexName']}" for index in p.get("GlobalSecondaryIndexes", []))
        if "StreamSpecification" in p:
            facts.append(f"stream: {p['StreamSpecification']['StreamViewType']}")
    return facts


def _route(resources: dict[str, Any], resource_id: Any) -> str:
    parts: list[str] = []
    while isinstance(resource_id, dict) and "Ref" in resource_id:
        resource = resources[resource_id["Ref"]]["Properties"]
        parts.insert(0, resource["PathPart"])
        resource_id = resource["ParentId"]
    return "/" + "/".join(parts)


def rest_api(members: list[Resource], graph: StageGraph) -> list[Fact]:
    facts: list[Fact] = [("stage", p["StageName"]) for p in props(members, "AWS::ApiGateway::Stage")]
    settings = [s for p in props(members, "AWS::ApiGateway::Stage") for s in p.get("MethodSettings", [])]
    if any("ThrottlingRateLimit" in s for s in settings):
        facts.append("throttling on the stage and per method")
    routes: dict[str, list[str]] = {}
    methods = [m for m in members if m.type == "AWS::ApiGateway::Method"]
    for method in (m for m in methods if m.properties["HttpMethod"] != "OPTIONS"):
        template = graph.templates[method.stack]["Resources"]
        routes.setdefault(_route(template, method.properties["ResourceId"]), []).append(method.properties["HttpMethod"])
    facts += [f"{' '.join(sorted(verbs))} {path}" for path, verbs in sorted(routes.items())]
    if any(m.properties["HttpMethod"] == "OPTIONS" for m in methods):
        facts.append("CORS preflight (OPTIONS)")
    return facts


def stream_consumer(members: list[Resource], graph: StageGraph) -> list[Fact]:
    facts = function(members, graph)
    for p in props(members, "AWS::Lambda::EventSourceMapping"):
        facts += [("batch size", str(p["BatchSize"])), ("retries", str(p.get("MaximumRetryAttempts", -1)))]
        if p.get("BisectBatchOnFunctionError"):
            facts.append("splits a failing batch")
    return facts


def load_balancer(members: list[Resource], graph: StageGraph) -> list[Fact]:
    facts: list[Fact] = [p["Scheme"] for p in props(members, "AWS::ElasticLoadBalancingV2::LoadBalancer")]
    facts += [
        ("listener", f"{p['Protocol']}:{p['Port']}") for p in props(members, "AWS::ElasticLoadBalancingV2::Listener")
    ]
    return facts + subnets([m for m in members if m.type.endswith("::LoadBalancer")], graph)


def ecs_service(members: list[Resource], graph: StageGraph) -> list[Fact]:
    facts: list[Fact] = []
    for p in props(members, "AWS::ECS::Service"):
        deployment = p.get("DeploymentConfiguration", {})
        facts += [p.get("LaunchType", "capacity providers"), ("deployments", deployment.get("Strategy", "ROLLING"))]
        if deployment.get("DeploymentCircuitBreaker", {}).get("Rollback"):
            facts.append("circuit breaker with rollback")
    targets = props(members, "AWS::ApplicationAutoScaling::ScalableTarget")
    facts += [("tasks", f"{p['MinCapacity']}-{p['MaxCapacity']}") for p in targets]
    return facts + subnets([m for m in members if m.type == "AWS::ECS::Service"], graph)


def aurora(members: list[Resource], graph: StageGraph) -> list[Fact]:
    facts: list[Fact] = []
    for p in props(members, "AWS::RDS::DBCluster"):
        facts.append(f"{p['Engine']} {p.get('EngineVersion', '')}".strip())
        scaling = p.get("ServerlessV2ScalingConfiguration")
        if scaling:
            facts.append(("Serverless v2", f"{scaling['MinCapacity']}-{scaling['MaxCapacity']} ACU"))
    readers = len(props(members, "AWS::RDS::DBInstance")) - 1
    facts.append(("instances", "writer" + (f" + {readers} reader" if readers else "")))
    return facts + subnets([m for m in members if m.type == "AWS::RDS::DBSubnetGroup"], graph)


def secret(members: list[Resource], _: StageGraph) -> list[Fact]:
    return ["rotated"] if props(members, "AWS::SecretsManager::RotationSchedule") else []


def distribution(members: list[Resource], _: StageGraph) -> list[Fact]:
    facts: list[Fact] = []
    for p in props(members, "AWS::CloudFront::Distribution"):
        config = p["DistributionConfig"]
        patterns = sorted(b["PathPattern"] for b in config.get("CacheBehaviors", []))
        facts.append(("behaviours", " ".join(["default", *patterns])))
        for group in config.get("OriginGroups", {}).get("Items", []):
            codes = group["FailoverCriteria"]["StatusCodes"]["Items"]
            facts.append(f"origin group: fails over on {', '.join(map(str, sorted(codes)))}")
        if any(o.get("OriginShield", {}).get("Enabled") for o in config["Origins"]):
            facts.append("Origin Shield")
        if any(o.get("OriginAccessControlId") for o in config["Origins"]):
            facts.append("S3 read with origin access control")
    return facts


def vpc_origin(members: list[Resource], _: StageGraph) -> list[Fact]:
    return [p["VpcOriginEndpointConfig"]["OriginProtocolPolicy"] for p in props(members, "AWS::CloudFront::VpcOrigin")]


def state_machine(members: list[Resource], _: StageGraph) -> list[Fact]:
    facts: list[Fact] = []
    for p in props(members, "AWS::StepFunctions::StateMachine"):
        definition = json.dumps(p.get("DefinitionString", ""))
        if '\\"Mode\\":\\"DISTRIBUTED\\"' in definition:
            facts.append("distributed map over batches of paths")
        if '\\"Retry\\"' in definition:
            facts.append("retries with backoff")
    return facts


def _trust(role: dict[str, Any]) -> list[Fact]:
    """What a GitHub OIDC role's trust policy admits, without the repository's name."""
    facts: list[Fact] = []
    for statement in role.get("AssumeRolePolicyDocument", {}).get("Statement", []):
        conditions = {k: v for c in statement.get("Condition", {}).values() for k, v in c.items()}
        subject = conditions.get("token.actions.githubusercontent.com:sub", "")
        facts.append(("token subject", "repo:OWNER/NAME:" + subject.split(":", 2)[-1]))
        if "token.actions.githubusercontent.com:ref" in conditions:
            facts.append(("token ref", conditions["token.actions.githubusercontent.com:ref"]))
    return facts


def github_role(members: list[Resource], _: StageGraph) -> list[Fact]:
    facts = [fact for p in props(members, "AWS::IAM::Role") for fact in _trust(p)]
    for policy in props(members, "AWS::IAM::Policy"):
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            roles = sorted(set(re.findall(r"cdk-[a-z0-9]+-([a-z-]+)-role", json.dumps(statement["Resource"]))))
            facts.append(("may", ", ".join(actions) + (f" ({', '.join(roles)} roles)" if roles else "")))
    return facts


def oidc_provider(members: list[Resource], _: StageGraph) -> list[Fact]:
    return [
        f"{p['Url'].removeprefix('https://')}, audience {', '.join(p.get('ClientIdList', []))}"
        for p in props(members, "AWS::IAM::OIDCProvider")
    ]
