"""Read IAM grants out of a synthesized template."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any


def policy_documents(template: dict[str, Any]) -> Iterator[tuple[list[str], dict[str, Any]]]:
    """(roles, document) of every identity policy the template holds: AWS::IAM::Policy and AWS::IAM::ManagedPolicy
    resources (the roles they name) and each role's inline `Policies`. AWS managed policies (a role's
    `ManagedPolicyArns`) are not in the template; `aws_managed_policies` lists them."""
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            roles = [role["Ref"] for role in props.get("Roles", []) if isinstance(role, dict) and "Ref" in role]
            yield roles, props["PolicyDocument"]
        elif resource["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                yield [logical_id], policy["PolicyDocument"]


def aws_managed_policies(template: dict[str, Any]) -> dict[str, set[str]]:
    """Role logical id -> the names of the AWS managed policies attached to it."""
    found: dict[str, set[str]] = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for arn in resource["Properties"].get("ManagedPolicyArns", []):
            text = json.dumps(arn)
            match = re.search(r":iam::aws:policy/([\w/+=,.@-]+)", text)
            assert match, f"{logical_id}: a managed policy that is not AWS's: {text}"
            found.setdefault(logical_id, set()).add(match[1])
    return found


def statements_of_role(template: dict[str, Any], role_logical_id: str) -> list[dict[str, Any]]:
    """Every statement of the policies the template attaches to a role (all three kinds above)."""
    return [
        statement
        for roles, document in policy_documents(template)
        if role_logical_id in roles
        for statement in _as_list(document["Statement"])
    ]


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
    from aws_cdk.assertions import Match  # here: role_policy reads this module, and it needs no CDK

    return {**properties, "PolicyDocument": {"Statement": Match.array_with([Match.object_like(deny)])}}
