"""Read a synthesized CloudFormation template the way the deploy-readiness rules need it.

Rules judge what CloudFormation will be given, so they read the template CDK wrote, not the constructs.
Values that only exist at deploy time (Ref, GetAtt, Join) are followed to the resources they name.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

# What StartExecution, a state and a task accept at most, in bytes (UTF-8).
PAYLOAD_LIMIT = 262_144
RETAINING_POLICIES = {"Retain", "RetainExceptOnCreate"}
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
DEPLOY_TIME = "<deploy-time>"


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def refs(value: Any) -> set[str]:
    """Logical ids that `value` names through Ref, Fn::GetAtt or Fn::Sub."""
    found: set[str] = set()
    if isinstance(value, dict):
        if "Ref" in value and isinstance(value["Ref"], str) and not value["Ref"].startswith("AWS::"):
            found.add(value["Ref"])
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            found.add(target[0] if isinstance(target, list) else str(target).split(".")[0])
        for item in value.values():
            found |= refs(item)
    elif isinstance(value, list):
        for item in value:
            found |= refs(item)
    return found


def render(value: Any, placeholder: str = "{token}") -> str | None:
    """A string value with every deploy-time part replaced by `placeholder`; None when it is not a string."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            rendered = [render(part, placeholder) for part in as_list(parts)]
            texts = [part for part in rendered if part is not None]
            return separator.join(texts) if len(texts) == len(rendered) else None
        if "Ref" in value and value["Ref"] == "AWS::Region":
            return "{region}"
        if "Ref" in value or "Fn::GetAtt" in value or "Fn::ImportValue" in value or "Fn::GetStackOutput" in value:
            return placeholder
        if "Fn::Sub" in value:
            text = value["Fn::Sub"]
            return (text[0] if isinstance(text, list) else text) if isinstance(text, (str, list)) else None
    return None


def _within(network: Network, range_: Network) -> bool:
    if isinstance(network, ipaddress.IPv4Network) and isinstance(range_, ipaddress.IPv4Network):
        return network.subnet_of(range_)
    if isinstance(network, ipaddress.IPv6Network) and isinstance(range_, ipaddress.IPv6Network):
        return network.subnet_of(range_)
    return False


@dataclass(frozen=True)
class Rule:
    """One security-group rule, as CloudFormation holds it (inline or as its own resource)."""

    protocol: str
    from_port: int
    to_port: int
    cidr: str | None = None  # DEPLOY_TIME when the range is known only at deploy time
    group: str | None = None  # logical id of the peer security group
    prefix_list: bool = False

    def covers(self, networks: list[Network]) -> bool:
        """Whether this rule's address range holds every one of `networks`."""
        if self.cidr is None or self.cidr == DEPLOY_TIME or not networks:
            return False
        range_ = ipaddress.ip_network(self.cidr, strict=False)
        return all(_within(network, range_) for network in networks)

    def allows_tcp(self, port: int) -> bool:
        if self.protocol in ("-1", "all"):
            return True
        return self.protocol in ("tcp", "6") and self.from_port <= port <= self.to_port


@dataclass
class SecurityGroup:
    logical_id: str
    ingress: list[Rule] = field(default_factory=list)
    egress: list[Rule] = field(default_factory=list)
    egress_declared: bool = False  # no egress declared at all: EC2 keeps its default allow-all rule


def _port(value: Any) -> int:
    """A literal port; -1 for one known only at deploy time (e.g. a database's endpoint port), which matches none."""
    return int(value) if isinstance(value, (int, str)) and str(value).lstrip("-").isdigit() else -1


def _rule(properties: dict[str, Any], peer_keys: tuple[str, str, str]) -> Rule:
    cidr_key, group_key, prefix_key = peer_keys
    protocol = str(properties.get("IpProtocol", "-1"))
    group = refs(properties.get(group_key)) if group_key in properties else set()
    cidr = properties.get(cidr_key, properties.get(cidr_key + "v6"))
    whole = protocol in ("-1", "all")
    return Rule(
        protocol=protocol,
        from_port=0 if whole else _port(properties.get("FromPort", 0)),
        to_port=65_535 if whole else _port(properties.get("ToPort", 65_535)),
        cidr=None if cidr is None else cidr if isinstance(cidr, str) else DEPLOY_TIME,
        group=next(iter(group)) if group else None,
        prefix_list=prefix_key in properties,
    )


_INGRESS_PEERS = ("CidrIp", "SourceSecurityGroupId", "SourcePrefixListId")
_EGRESS_PEERS = ("CidrIp", "DestinationSecurityGroupId", "DestinationPrefixListId")


def stack_outputs(value: Any) -> set[tuple[str, str]]:
    """(stack name, output name) pairs that `value` reads through Fn::GetStackOutput (CDK's weak cross-stack
    references)."""
    found: set[tuple[str, str]] = set()
    if isinstance(value, dict):
        reference = value.get("Fn::GetStackOutput")
        if isinstance(reference, dict) and isinstance(reference.get("StackName"), str):
            found.add((reference["StackName"], str(reference.get("OutputName"))))
        for item in value.values():
            found |= stack_outputs(item)
    elif isinstance(value, list):
        for item in value:
            found |= stack_outputs(item)
    return found


class StackTemplate:
    """One synthesized stack: its template, and where it goes."""

    def __init__(
        self, *, path: str, template: dict[str, Any], account: str, region: str, stage: str, stack_name: str = ""
    ) -> None:
        self.path = path
        self.template = template
        self.account = account  # "unknown-account" when the stack is deployed where the credentials are
        self.region = region
        self.stage = stage
        self.stack_name = stack_name or path.replace("/", "-")  # the CloudFormation name
        self.cache: dict[str, Any] = {}  # per-stack results the rules share (e.g. its workloads)

    @classmethod
    def load(
        cls, template_file: Path, *, path: str, account: str, region: str, stage: str, stack_name: str = ""
    ) -> StackTemplate:
        return cls(
            path=path,
            template=json.loads(template_file.read_text()),
            account=account,
            region=region,
            stage=stage,
            stack_name=stack_name,
        )

    def output_refs(self, output_name: str) -> set[str]:
        """Logical ids an output of this stack names (what another stack's Fn::GetStackOutput reads)."""
        return refs(self.template.get("Outputs", {}).get(output_name, {}).get("Value"))

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template.get("Resources", {})  # type: ignore[no-any-return]

    def props(self, logical_id: str) -> dict[str, Any]:
        return self.resources.get(logical_id, {}).get("Properties", {})  # type: ignore[no-any-return]

    def type_of(self, logical_id: str) -> str | None:
        resource = self.resources.get(logical_id)
        return resource["Type"] if resource else None

    def of_type(self, *types: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for logical_id, resource in self.resources.items():
            if resource["Type"] in types:
                yield logical_id, resource

    def retained(self, logical_id: str) -> bool:
        return self.resources.get(logical_id, {}).get("DeletionPolicy") in RETAINING_POLICIES

    def depends_on(self, logical_id: str) -> set[str]:
        resource = self.resources.get(logical_id, {})
        return set(as_list(resource.get("DependsOn"))) | refs(resource.get("Properties", {}))

    def transitive_dependencies(self, logical_id: str) -> set[str]:
        """Everything CloudFormation creates before `logical_id`: its references and DependsOn, transitively."""
        seen: set[str] = set()
        pending = [logical_id]
        while pending:
            for dependency in self.depends_on(pending.pop()):
                if dependency not in seen and dependency in self.resources:
                    seen.add(dependency)
                    pending.append(dependency)
        return seen

    def referencing(self, logical_id: str, *types: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Resources (of `types`) whose properties name `logical_id`."""
        for other, resource in self.of_type(*types):
            if logical_id in refs(resource.get("Properties", {})):
                yield other, resource

    # --- IAM ---------------------------------------------------------------------------------

    def role_statements(self, role_id: str) -> list[dict[str, Any]]:
        """Statements of the role's inline policies and of every AWS::IAM::Policy attached to it."""
        statements: list[dict[str, Any]] = []
        for policy in as_list(self.props(role_id).get("Policies")):
            statements += as_list(policy.get("PolicyDocument", {}).get("Statement"))
        for _, policy in self.of_type("AWS::IAM::Policy"):
            if role_id in refs(policy["Properties"].get("Roles", [])):
                statements += as_list(policy["Properties"]["PolicyDocument"].get("Statement"))
        return statements

    def managed_policies(self, role_id: str) -> dict[str, list[dict[str, Any]]]:
        """The managed policies attached to the role, each with the statements the template shows: its
        ManagedPolicyArns (AWS's or another stack's: no statements here) and the template's own
        AWS::IAM::ManagedPolicy resources that name it."""
        attached: dict[str, list[dict[str, Any]]] = {
            render(arn, "{token}") or "{token}": [] for arn in as_list(self.props(role_id).get("ManagedPolicyArns"))
        }
        for policy_id, policy in self.of_type("AWS::IAM::ManagedPolicy"):
            if role_id in refs(policy["Properties"].get("Roles", [])):
                attached[policy_id] = as_list(policy["Properties"]["PolicyDocument"].get("Statement"))
        return attached

    def allowed_actions(self, role_id: str) -> set[str]:
        return {
            action
            for statement in self.role_statements(role_id)
            if statement.get("Effect") == "Allow"
            for action in as_list(statement.get("Action"))
            if isinstance(action, str)
        }

    # --- network -----------------------------------------------------------------------------

    @cached_property
    def security_groups(self) -> dict[str, SecurityGroup]:
        groups: dict[str, SecurityGroup] = {}
        for logical_id, resource in self.of_type("AWS::EC2::SecurityGroup"):
            properties = resource.get("Properties", {})
            group = SecurityGroup(logical_id, egress_declared="SecurityGroupEgress" in properties)
            group.ingress = [_rule(rule, _INGRESS_PEERS) for rule in as_list(properties.get("SecurityGroupIngress"))]
            group.egress = [_rule(rule, _EGRESS_PEERS) for rule in as_list(properties.get("SecurityGroupEgress"))]
            groups[logical_id] = group
        for resource_type, peers, attribute in (
            ("AWS::EC2::SecurityGroupIngress", _INGRESS_PEERS, "ingress"),
            ("AWS::EC2::SecurityGroupEgress", _EGRESS_PEERS, "egress"),
        ):
            for _, resource in self.of_type(resource_type):
                properties = resource["Properties"]
                owner = refs(properties.get("GroupId"))
                for group_id in owner & groups.keys():
                    getattr(groups[group_id], attribute).append(_rule(properties, peers))
        return groups

    def subnet_cidr(self, subnet_id: str) -> Network | None:
        cidr = self.props(subnet_id).get("CidrBlock")
        return ipaddress.ip_network(cidr) if isinstance(cidr, str) else None

    def route_table_of(self, subnet_id: str) -> str | None:
        for _, association in self.of_type("AWS::EC2::SubnetRouteTableAssociation"):
            properties = association["Properties"]
            if subnet_id in refs(properties.get("SubnetId")):
                return next(iter(refs(properties.get("RouteTableId"))), None)
        return None

    def routes(self, route_table_id: str) -> list[dict[str, Any]]:
        return [
            route["Properties"]
            for _, route in self.of_type("AWS::EC2::Route")
            if route_table_id in refs(route["Properties"].get("RouteTableId"))
        ]
