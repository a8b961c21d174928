"""Readers of the web stack's template: subnets by tier, security-group rules as plain tuples."""

from __future__ import annotations

from typing import Any

from tests.support.synth import resources_of_type


def subnets(template: dict[str, Any], tier: str) -> set[str]:
    """Logical ids of the subnets of one tier ('Public', 'App' or 'Data')."""
    return {
        logical_id
        for logical_id, subnet in resources_of_type(template, "AWS::EC2::Subnet").items()
        if {"Key": "aws-cdk:subnet-name", "Value": tier} in subnet["Properties"]["Tags"]
    }


def refs(values: list[Any]) -> set[str]:
    return {value["Ref"] for value in values}


def _group(value: Any) -> str:
    """A security group reference as the logical id of its group."""
    return str(value["Fn::GetAtt"][0]) if isinstance(value, dict) else str(value)


def _port(value: Any) -> Any:
    # The rotation function's rule reads the cluster's port from the cluster (same number).
    if isinstance(value, dict) and value.get("Fn::GetAtt", [None, None])[1] == "Endpoint.Port":
        return "db-port"
    return value


def _peer(rule: dict[str, Any], key: str) -> str:
    if key in rule:
        return _group(rule[key])
    prefix_list = rule.get("SourcePrefixListId") or rule.get("DestinationPrefixListId")
    if isinstance(prefix_list, dict):  # looked up at deploy time: named by the resource that looks it up
        return f"prefix-list:{prefix_list['Fn::GetAtt'][0]}"
    return str(rule.get("CidrIp") or rule.get("CidrIpv6") or prefix_list)


def _rules(template: dict[str, Any], inline: str, resource: str, peer: str) -> set[tuple[str, str, str, Any, Any]]:
    rules = [
        (logical_id, rule)
        for logical_id, group in resources_of_type(template, "AWS::EC2::SecurityGroup").items()
        for rule in group["Properties"].get(inline, [])
    ]
    separate = resources_of_type(template, resource).values()
    rules += [(_group(rule["Properties"]["GroupId"]), rule["Properties"]) for rule in separate]
    return {
        (group, rule["IpProtocol"], _peer(rule, peer), _port(rule.get("FromPort")), _port(rule.get("ToPort")))
        for group, rule in rules
    }


def ingress_rules(template: dict[str, Any]) -> set[tuple[str, str, str, Any, Any]]:
    """(group, protocol, source, from port, to port) for every ingress rule, inline or separate."""
    return _rules(template, "SecurityGroupIngress", "AWS::EC2::SecurityGroupIngress", "SourceSecurityGroupId")


def egress_rules(template: dict[str, Any]) -> set[tuple[str, str, str, Any, Any]]:
    """(group, protocol, destination, from port, to port) for every egress rule, inline or separate."""
    return _rules(template, "SecurityGroupEgress", "AWS::EC2::SecurityGroupEgress", "DestinationSecurityGroupId")


def one(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    (item,) = resources_of_type(template, resource_type).items()
    return item[0], item[1]["Properties"]
