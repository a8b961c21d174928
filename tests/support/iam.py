"""Read IAM grants out of a synthesized template."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match


def statements_of_role(template: dict[str, Any], role_logical_id: str) -> list[dict[str, Any]]:
    """Every statement of the inline policies attached to a role."""
    found: list[dict[str, Any]] = []
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        roles = resource["Properties"].get("Roles", [])
        if {"Ref": role_logical_id} in roles:
            found.extend(resource["Properties"]["PolicyDocument"]["Statement"])
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def actions_on(statements: list[dict[str, Any]], logical_id: str) -> set[str]:
    """Actions allowed on resources that reference `logical_id` (its Arn, or Arn/index/*)."""
    actions: set[str] = set()
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        if any(logical_id in str(resource) for resource in _as_list(statement["Resource"])):
            actions.update(_as_list(statement["Action"]))
    return actions


def role_of_function(template: dict[str, Any], function_logical_id: str) -> str:
    role = template["Resources"][function_logical_id]["Properties"]["Role"]
    return str(role["Fn::GetAtt"][0])


def tls_only_policy(statement: dict[str, Any] | None = None, **properties: Any) -> dict[str, Any]:
    """Properties for `Template.has_resource_properties` of a resource policy that denies requests without TLS.

    `statement` adds keys the deny statement must also have; `properties` adds properties of the policy.
    """
    deny = {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}, **(statement or {})}
    return {**properties, "PolicyDocument": {"Statement": Match.array_with([Match.object_like(deny)])}}
