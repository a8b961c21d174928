"""Reachability: every workload in a VPC can reach each AWS API it needs, and endpoints admit only their users.

What a workload needs comes from the template: an ECS task's secrets, image and log driver (Fargate
fetches them through the task's own network interface, platform 1.4.0+), and the actions its roles may
call; a VPC Lambda's role actions (its logs and traces are sent by the Lambda service, not through the
VPC); a secret-rotation application's Secrets Manager calls. A call reaches its API through an interface
endpoint whose security groups admit the caller (an endpoint with private DNS captures the service's name
for every caller in the VPC, so nothing else counts then), a gateway endpoint on the subnet's routes, or a
default route to a NAT (or an internet gateway with a public IP), with egress on 443 allowed each time.
Managed policies attached to roles are not read (their actions are not in the template).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from quality.readiness.base import Check, Context, Finding
from quality.readiness.template import Network, Rule, StackTemplate, as_list, refs, render, stack_outputs

HTTPS = 443
_ANYWHERE: Network = ipaddress.ip_network("0.0.0.0/0")
# Action prefixes whose API name differs from the endpoint's service name; None: no API call is made.
_SERVICE_OF_PREFIX: dict[str, str | None] = {"cloudwatch": "monitoring", "ecr": "ecr.api", "rds-db": None}
# What the Lambda service does for a VPC function from outside the VPC (its logs, traces and interfaces).
_LAMBDA_SERVICE_ACTIONS = re.compile(
    r"^(logs:.*|xray:.*|ec2:(Create|Delete|Describe)NetworkInterfaces?|ec2:(Assign|Unassign)PrivateIpAddresses)$"
)
_ENDPOINT_SERVICE = re.compile(r"^com\.amazonaws\.[^.]+\.(?P<service>.+)$")


@dataclass
class Workload:
    logical_id: str
    kind: str
    subnets: set[str]
    groups: set[str]
    public_ip: bool = False
    needs: dict[str, str] = field(default_factory=dict)  # service -> why
    endpoint_for: dict[str, str] = field(default_factory=dict)  # service -> endpoint it addresses by name
    # Subnets and groups another stack owns, read through Fn::GetStackOutput: (stack name, output name) pairs.
    imported: tuple[set[tuple[str, str]], set[tuple[str, str]]] = (set(), set())


def _services_of_actions(actions: set[str], *, exclude: re.Pattern[str] | None = None) -> dict[str, str]:
    needs: dict[str, str] = {}
    for action in sorted(actions):
        if ":" not in action or (exclude and exclude.match(action)):
            continue
        prefix = action.split(":", 1)[0].lower()
        service = _SERVICE_OF_PREFIX.get(prefix, prefix)
        if service:
            needs.setdefault(service, f"its role may call {action}")
    return needs


def _role_ids(stack: StackTemplate, *values: object) -> set[str]:
    return {lid for value in values for lid in refs(value) if stack.type_of(lid) == "AWS::IAM::Role"}


def _ecs_service(stack: StackTemplate, logical_id: str) -> Workload | None:
    props = stack.props(logical_id)
    vpc = props.get("NetworkConfiguration", {}).get("AwsvpcConfiguration")
    if not vpc:
        return None
    workload = Workload(
        logical_id,
        "ECS service",
        subnets=refs(vpc.get("Subnets")),
        groups=refs(vpc.get("SecurityGroups")),
        public_ip=vpc.get("AssignPublicIp") == "ENABLED",
    )
    task = stack.props(next(iter(refs(props.get("TaskDefinition"))), ""))
    for container in as_list(task.get("ContainerDefinitions")):
        name = container.get("Name", "?")
        if ".dkr.ecr." in (render(container.get("Image")) or ""):
            for service in ("ecr.api", "ecr.dkr", "s3"):
                workload.needs.setdefault(service, f"container {name} pulls its image from ECR")
        if container.get("LogConfiguration", {}).get("LogDriver") == "awslogs":
            workload.needs.setdefault("logs", f"container {name} logs with the awslogs driver")
        for secret in as_list(container.get("Secrets")):
            value = secret.get("ValueFrom")
            named = {stack.type_of(lid) for lid in refs(value)}
            text = render(value) or ""
            if ":secretsmanager:" in text or named & {
                "AWS::SecretsManager::Secret",
                "AWS::SecretsManager::SecretTargetAttachment",
            }:
                workload.needs.setdefault("secretsmanager", f"ECS fetches secret {secret.get('Name')} at task start")
            elif ":ssm:" in text or "AWS::SSM::Parameter" in named:
                workload.needs.setdefault("ssm", f"ECS fetches parameter {secret.get('Name')} at task start")
    for role in _role_ids(stack, task.get("ExecutionRoleArn"), task.get("TaskRoleArn")):
        for service, why in _services_of_actions(stack.allowed_actions(role)).items():
            workload.needs.setdefault(service, why)
    return workload


def _vpc_workload(
    stack: StackTemplate,
    logical_id: str,
    kind: str,
    *,
    vpc: dict[str, object] | None,
    keys: tuple[str, str],
    role: object,
    exclude: re.Pattern[str] | None = None,
) -> Workload | None:
    """A workload whose VPC settings (subnets, groups: `keys`) and role are properties of the resource."""
    subnets, groups = keys
    if not vpc or not vpc.get(subnets):
        return None
    workload = Workload(logical_id, kind, refs(vpc.get(subnets)), refs(vpc.get(groups)))
    workload.imported = (stack_outputs(vpc.get(subnets)), stack_outputs(vpc.get(groups)))
    for role_id in _role_ids(stack, role):
        workload.needs.update(_services_of_actions(stack.allowed_actions(role_id), exclude=exclude))
    return workload


def _lambda_function(stack: StackTemplate, logical_id: str) -> Workload | None:
    props = stack.props(logical_id)
    keys = ("SubnetIds", "SecurityGroupIds")
    vpc, role = props.get("VpcConfig"), props.get("Role")
    return _vpc_workload(
        stack, logical_id, "Lambda function", vpc=vpc, keys=keys, role=role, exclude=_LAMBDA_SERVICE_ACTIONS
    )


def _rotator(logical_id: str, kind: str, subnets: object, groups: object) -> Workload:
    workload = Workload(logical_id, kind, refs(subnets), refs(groups))
    workload.needs["secretsmanager"] = "it rotates a secret"
    return workload


def _rotation_application(stack: StackTemplate, logical_id: str) -> Workload | None:
    """A Secrets Manager rotation function from the Serverless Application Repository, placed in a VPC."""
    parameters = stack.props(logical_id).get("Parameters", {})
    if "vpcSubnetIds" not in parameters:
        return None
    workload = _rotator(
        logical_id, "rotation function", parameters["vpcSubnetIds"], parameters.get("vpcSecurityGroupIds")
    )
    # Called with the endpoint's own DNS name, it goes to that endpoint whatever the private DNS says.
    endpoint = [lid for lid in refs(parameters.get("endpoint")) if stack.type_of(lid) == "AWS::EC2::VPCEndpoint"]
    if endpoint:
        workload.endpoint_for["secretsmanager"] = endpoint[0]
    return workload


def _hosted_rotation(stack: StackTemplate, logical_id: str) -> Workload | None:
    hosted = stack.props(logical_id).get("HostedRotationLambda", {})
    if not hosted.get("VpcSubnetIds"):
        return None
    return _rotator(logical_id, "hosted rotation function", hosted["VpcSubnetIds"], hosted.get("VpcSecurityGroupIds"))


def _codebuild_project(stack: StackTemplate, logical_id: str) -> Workload | None:
    props = stack.props(logical_id)
    keys = ("Subnets", "SecurityGroupIds")
    vpc, role = props.get("VpcConfig"), props.get("ServiceRole")
    return _vpc_workload(stack, logical_id, "CodeBuild project", vpc=vpc, keys=keys, role=role)


_WORKLOADS = {
    "AWS::ECS::Service": _ecs_service,
    "AWS::Lambda::Function": _lambda_function,
    "AWS::Serverless::Application": _rotation_application,
    "AWS::SecretsManager::RotationSchedule": _hosted_rotation,
    "AWS::CodeBuild::Project": _codebuild_project,
}


def workloads(stack: StackTemplate) -> dict[str, Workload]:
    """Every workload of the stack that runs in a VPC, by logical id (computed once per stack)."""
    if "workloads" not in stack.cache:
        found: dict[str, Workload] = {}
        for resource_type, read in _WORKLOADS.items():
            for logical_id, _ in stack.of_type(resource_type):
                workload = read(stack, logical_id)
                if workload is not None:
                    found[logical_id] = workload
        stack.cache["workloads"] = found
    return stack.cache["workloads"]  # type: ignore[no-any-return]


# --- endpoints and paths ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    logical_id: str
    service: str
    interface: bool
    private_dns: bool
    groups: frozenset[str]
    subnets: frozenset[str]
    route_tables: frozenset[str]


def endpoints(stack: StackTemplate) -> list[Endpoint]:
    found = []
    for logical_id, resource in stack.of_type("AWS::EC2::VPCEndpoint"):
        props = resource["Properties"]
        match = _ENDPOINT_SERVICE.match((render(props.get("ServiceName")) or "").replace("{region}", "region"))
        if not match:
            continue
        interface = props.get("VpcEndpointType", "Gateway") == "Interface"
        found.append(
            Endpoint(
                logical_id,
                match["service"],
                interface,
                private_dns=interface and props.get("PrivateDnsEnabled") is True,
                groups=frozenset(refs(props.get("SecurityGroupIds"))),
                subnets=frozenset(refs(props.get("SubnetIds"))),
                route_tables=frozenset(refs(props.get("RouteTableIds"))),
            )
        )
    return found


def _networks(stack: StackTemplate, subnets: set[str] | frozenset[str]) -> list[Network]:
    """The subnets' address ranges; none when one of them is known only at deploy time."""
    cidrs = [stack.subnet_cidr(subnet) for subnet in subnets]
    known = [c for c in cidrs if c is not None]
    return known if len(known) == len(cidrs) else []


def _sends_https_to(
    stack: StackTemplate,
    workload: Workload,
    *,
    groups: frozenset[str],
    networks: list[Network],
    prefix_list: bool = False,
) -> bool:
    """Whether one of the workload's groups lets HTTPS out to `groups`, `networks` or (optionally) a prefix list."""
    for group_id in workload.groups:
        group = stack.security_groups.get(group_id)
        if group is None:
            continue
        if not group.egress_declared:
            return True  # EC2's default egress rule: everything
        for rule in group.egress:
            if rule.allows_tcp(HTTPS) and (
                rule.group in groups or rule.covers(networks) or (prefix_list and rule.prefix_list)
            ):
                return True
    return False


def _ingress(stack: StackTemplate, group_id: str) -> list[Rule]:
    group = stack.security_groups.get(group_id)
    return group.ingress if group else []


def _admits(stack: StackTemplate, groups: frozenset[str] | set[str], workload: Workload) -> bool:
    sources = _networks(stack, workload.subnets)
    for group_id in groups:
        for rule in _ingress(stack, group_id):
            if rule.allows_tcp(HTTPS) and (rule.group in workload.groups or rule.covers(sources)):
                return True
    return False


def endpoints_used(stack: StackTemplate, workload: Workload, service: str) -> list[Endpoint]:
    """The interface endpoints the workload's calls to `service` must go through (none: any path will do)."""
    same = [e for e in endpoints(stack) if e.service == service and e.interface]
    named = workload.endpoint_for.get(service)
    if named:
        return [e for e in same if e.logical_id == named]
    return [e for e in same if e.private_dns]


def _unreachable_because(stack: StackTemplate, workload: Workload, service: str) -> str | None:
    forced = endpoints_used(stack, workload, service)
    if forced:
        for endpoint in forced:
            if not _admits(stack, endpoint.groups, workload):
                continue
            if _sends_https_to(stack, workload, groups=endpoint.groups, networks=_networks(stack, endpoint.subnets)):
                return None
        names = ", ".join(e.logical_id for e in forced)
        return (
            f"its calls to {service} go to interface endpoint {names} (private DNS or by name), whose security "
            f"groups do not admit its groups on {HTTPS}, or its groups send nothing there"
        )
    anywhere = _sends_https_to(stack, workload, groups=frozenset(), networks=[_ANYWHERE])
    to_gateway = _sends_https_to(stack, workload, groups=frozenset(), networks=[_ANYWHERE], prefix_list=True)
    gateways = [e for e in endpoints(stack) if e.service == service and not e.interface]
    missing = []
    for subnet in sorted(workload.subnets):
        table = stack.route_table_of(subnet)
        if table and to_gateway and any(table in e.route_tables for e in gateways):
            continue
        if not _default_route_works(stack, workload, table) or not anywhere:
            missing.append(subnet)
    if not missing:
        return None
    if not anywhere and not (to_gateway and gateways):
        return f"its security groups allow no HTTPS out to {service}'s public addresses and no endpoint serves it"
    return (
        f"subnet(s) {', '.join(missing)} have no working default route (NAT, or internet gateway with a public IP) "
        f"and no endpoint for {service} serves them"
    )


def _default_route_works(stack: StackTemplate, workload: Workload, table: str | None) -> bool:
    if table is None:
        return False
    for route in stack.routes(table):
        if route.get("DestinationCidrBlock") != "0.0.0.0/0":
            continue
        if "NatGatewayId" in route or "TransitGatewayId" in route:
            return True
        if "GatewayId" in route and workload.public_ip:
            return True
        if "InstanceId" in route:  # a NAT instance: its security groups must admit the workload
            instance = stack.props(next(iter(refs(route["InstanceId"])), ""))
            groups = refs(instance.get("SecurityGroupIds")) | refs(
                [n.get("GroupSet") for n in as_list(instance.get("NetworkInterfaces"))]
            )
            if _admits(stack, groups, workload):
                return True
    return False


def _in_network_stack(context: Context, workload: Workload) -> tuple[StackTemplate, Workload] | None:
    """The stack that owns the workload's subnets and groups, and the workload in its logical ids: its own stack,
    or the one stack whose outputs it reads both from (its needs stay its own role's); None when they are split."""
    subnets, groups = workload.imported
    owners = {name for name, _ in subnets | groups}
    if not owners:
        return context.stack, workload
    owner = next((s for s in context.stacks if s.stack_name in owners), None)
    if owner is None or len(owners) > 1 or workload.subnets or workload.groups:
        return None
    mapped = Workload(
        workload.logical_id,
        workload.kind,
        subnets={i for _, output in subnets for i in owner.output_refs(output)},
        groups={i for _, output in groups for i in owner.output_refs(output)},
        public_ip=workload.public_ip,
        needs=workload.needs,
    )
    return owner, mapped


def _reachability(context: Context, logical_id: str) -> list[Finding]:
    found = workloads(context.stack).get(logical_id)
    if found is None:
        return []
    placed = _in_network_stack(context, found)
    unverifiable = Finding("groups", f"the {found.kind}'s security groups are not in this stack; cannot verify")
    if placed is None:
        return [unverifiable]
    stack, workload = placed
    if not workload.groups or any(g not in stack.security_groups for g in workload.groups):
        return [unverifiable]
    findings = []
    for service, why in sorted(workload.needs.items()):
        reason = _unreachable_because(stack, workload, service)
        if reason:
            findings.append(Finding(service, f"the {workload.kind} needs {service} ({why}) but {reason}."))
    return findings


def _endpoint_users(context: Context, logical_id: str) -> list[Finding]:
    endpoint = next((e for e in endpoints(context.stack) if e.logical_id == logical_id and e.interface), None)
    if endpoint is None:
        return []
    users = {
        group
        for workload in workloads(context.stack).values()
        if endpoint.service in workload.needs and endpoint in endpoints_used(context.stack, workload, endpoint.service)
        for group in workload.groups
    }
    findings = []
    for group_id in sorted(endpoint.groups):
        for rule in _ingress(context.stack, group_id):
            if rule.group is not None and rule.group not in users:
                findings.append(
                    Finding(rule.group, f"admits {rule.group}, whose workloads do not call {endpoint.service} here.")
                )
            elif rule.group is None:
                peer = "a prefix list" if rule.prefix_list else f"address range {rule.cidr}"
                findings.append(
                    Finding("range", f"admits {peer}; admit the security groups of the workloads that use it instead.")
                )
    return findings


CHECKS = [
    Check(
        name="VpcApiReachable",
        info="A workload in a VPC cannot reach an AWS API it needs:",
        explanation=(
            "Fargate fetches secrets, images and logs through the task's network interface; a VPC function calls "
            "AWS through its subnets. With an interface endpoint's private DNS on, every call to that service in "
            "the VPC goes to the endpoint, so its security group must admit the caller; otherwise the subnet needs "
            "a gateway endpoint or a NAT route. An unreachable API fails at run time (e.g. ResourceInitializationError "
            "at task start), never at deploy."
        ),
        resource_types=frozenset(_WORKLOADS),
        findings=_reachability,
    ),
    Check(
        name="EndpointAdmitsOnlyItsUsers",
        info="An interface endpoint admits more than the workloads that call its service through it:",
        explanation=(
            "Open an endpoint to the security groups of the workloads that need it, not to address ranges or "
            "unrelated groups: reachability should be exactly what the workloads use."
        ),
        resource_types=frozenset({"AWS::EC2::VPCEndpoint"}),
        findings=_endpoint_users,
    ),
]
