"""Does a function's execution role, as its template writes it, allow each AWS call the function made?

LocalStack's free edition does not enforce IAM, and DynamoDB Local and moto's servers do not either, so the
handler tests are the only place the grants meet the code: every call a worker records is turned into the
IAM actions and resource ARNs AWS authorizes it by (`required`), and each must be allowed by the policies
the template attaches to the role (`RolePolicy`), or the invocation fails naming call, resource and role.

Written by hand, small on purpose, after looking for a library: moto's `IAMPolicy` (moto.iam.access_control)
turns a policy pattern into a regular expression without escaping it, so `?` and `.` are not IAM's wildcards,
and it matches actions case-sensitively; policyuniverse and policy_sentry describe and expand policies but
evaluate no request. Evaluation here follows "Policy evaluation logic" within one account, identity policies
only (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html): an explicit
Deny wins, else an Allow is needed; `*` and `?` are the only wildcards ("IAM JSON policy elements: Resource");
action names are case-insensitive, ARNs are not. A statement with a Condition is not counted as an Allow
(its keys are not known here), so a grant that only a condition would allow fails loudly instead of passing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from tests.support.iam import policy_documents
from tests.support.lambda_environment import DeployedFunction, Resolver, Unresolved

# DynamoDB: what each part of a transaction is authorized as ("Using IAM with DynamoDB transactions",
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html: "Permissions for
# Put, Update, Delete, and Get actions are governed by the permissions used for the underlying PutItem,
# UpdateItem, DeleteItem, and GetItem operations. For the ConditionCheck action, you can use the
# dynamodb:ConditionCheckItem permission").
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
# S3 operations whose IAM action has another name ("Actions, resources, and condition keys for Amazon S3").
_S3_ACTIONS = {"HeadObject": "GetObject", "ListObjectsV2": "ListBucket", "HeadBucket": "ListBucket"}
# botocore signing names that are not the IAM service prefix.
_PREFIXES = {"monitoring": "cloudwatch"}
# RDS Data API calls read the database secret with the caller's permissions ("Data API transparently calls
# Secrets Manager, which allows (or denies) the user's request for the secret", "Authorizing access to the
# Amazon RDS Data API", https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/data-api.access.html).
_DATA_API_SECRET_OPERATIONS = {"BeginTransaction", "ExecuteStatement", "BatchExecuteStatement"}
# The AWS managed policies the app attaches to a function's role, whose documents are not in the template: each
# copied from its page in the AWS Managed Policy Reference. AWSLambdaENIManagementAccess (v2, the default
# version; https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaENIManagementAccess.html):
# "Provides minimum permissions for a Lambda function to manage ENIs (create, describe, delete) used by a
# VPC-enabled Lambda Function". Lambda uses it to attach the function to its VPC; the code calls none of it.
AWS_MANAGED_POLICIES: dict[str, list[dict[str, Any]]] = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaENIManagementAccess": [
        {
            "Effect": "Allow",
            "Action": [
                "ec2:CreateNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            "Resource": "*",
        }
    ],
}


@dataclass(frozen=True)
class Permission:
    action: str
    resource: str


@dataclass(frozen=True)
class Denied:
    call: str
    permission: Permission
    role: str

    def __str__(self) -> str:
        return (
            f"the call {self.call} needs {self.permission.action} on {self.permission.resource}, "
            f"which role {self.role} does not allow in the template"
        )


def required(call: dict[str, Any], account: str) -> list[Permission]:
    """The (action, resource ARN) pairs AWS authorizes one recorded call by."""
    service, operation, params, region = call["service"], call["operation"], call["params"], call["region"]
    prefix = _PREFIXES.get(call["signing_name"], call["signing_name"])
    if service == "dynamodb":
        return list(_dynamodb(operation, params, f"arn:aws:dynamodb:{region}:{account}:table/"))
    if service == "s3":
        bucket, key = params.get("Bucket", ""), params.get("Key")
        arn = f"arn:aws:s3:::{bucket}" + (f"/{key}" if key is not None else "")
        return [Permission(f"s3:{_S3_ACTIONS.get(operation, operation)}", arn)]
    if service == "secretsmanager":
        return [Permission(f"secretsmanager:{operation}", _secret_arn(params["SecretId"], region, account))]
    if service == "cloudfront" and "Id" in params:  # distributions are named by id, authorized by ARN
        return [Permission(f"cloudfront:{operation}", f"arn:aws:cloudfront::{account}:distribution/{params['Id']}")]
    if service == "rds-data":
        found = [Permission(f"rds-data:{operation}", params["resourceArn"])]
        if operation in _DATA_API_SECRET_OPERATIONS and "secretArn" in params:
            found.append(Permission("secretsmanager:GetSecretValue", params["secretArn"]))
        return found
    arns = sorted({v for v in params.values() if isinstance(v, str) and v.startswith("arn:")})
    if not arns:
        raise LookupError(f"no resource mapping for {prefix}:{operation}: add one to tests/support/role_policy.py")
    return [Permission(f"{prefix}:{operation}", arn) for arn in arns]


def _dynamodb(operation: str, params: dict[str, Any], table: str) -> Iterator[Permission]:
    if operation == "TransactWriteItems":
        for kind, name in params["TransactItems"]:
            yield Permission(f"dynamodb:{_TRANSACT_ACTIONS[kind]}", table + name)
    elif operation == "TransactGetItems":
        for _, name in params["TransactItems"]:
            yield Permission("dynamodb:GetItem", table + name)
    elif operation in ("BatchGetItem", "BatchWriteItem"):
        for name in params["RequestItems"]:
            yield Permission(f"dynamodb:{operation}", table + name)
    else:
        arn = table + params["TableName"]
        if params.get("IndexName"):
            arn += f"/index/{params['IndexName']}"
        yield Permission(f"dynamodb:{operation}", arn)


def _secret_arn(secret_id: str, region: str, account: str) -> str:
    # By name, a secret's ARN ends in a random six-character suffix ("Secret ARNs" in the Secrets Manager
    # User Guide); a grant written for the name must admit any suffix.
    return (
        secret_id
        if secret_id.startswith("arn:")
        else f"arn:aws:secretsmanager:{region}:{account}:secret:{secret_id}-XXXXXX"
    )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(patterns: Iterable[str], value: str, *, case_sensitive: bool) -> bool:
    for pattern in patterns:
        regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
        if re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE):
            return True
    return False


class RolePolicy:
    """Every statement the template attaches to a role: the policies it holds for the role
    (tests/support/iam.py policy_documents: AWS::IAM::Policy and ::ManagedPolicy resources naming it, its inline
    policies), and the AWS managed policies of AWS_MANAGED_POLICIES. Any other managed policy ARN is refused:
    its document is not in the template."""

    def __init__(self, role: str, statements: list[dict[str, Any]]) -> None:
        self.role = role
        self.statements = statements

    @classmethod
    def of(cls, function: DeployedFunction, resolver: Resolver) -> RolePolicy:
        resources = function.template["Resources"]
        role = resources[function.role]["Properties"]
        documents = [{"Statement": _managed(resolver, arn, function.role)} for arn in role.get("ManagedPolicyArns", [])]
        documents += [document for roles, document in policy_documents(function.template) if function.role in roles]
        statements = [
            {**statement, "Resource": [_resolved(resolver, r) for r in _as_list(statement.get("Resource", []))]}
            for document in documents
            for statement in _as_list(document["Statement"])
        ]
        return cls(function.role, statements)

    def allows(self, permission: Permission) -> bool:
        allowed = False
        for statement in self.statements:
            if not self._applies(statement, permission):
                continue
            if statement["Effect"] == "Deny":
                return False
            allowed = allowed or "Condition" not in statement
        return allowed

    @staticmethod
    def _applies(statement: dict[str, Any], permission: Permission) -> bool:
        if "NotAction" in statement:
            action = not _matches(_as_list(statement["NotAction"]), permission.action, case_sensitive=False)
        else:
            action = _matches(_as_list(statement.get("Action", [])), permission.action, case_sensitive=False)
        if "NotResource" in statement:
            return action and not _matches(_as_list(statement["NotResource"]), permission.resource, case_sensitive=True)
        return action and _matches(statement["Resource"], permission.resource, case_sensitive=True)

    def denied(self, calls: Iterable[dict[str, Any]], account: str) -> list[Denied]:
        found = []
        for call in calls:
            for permission in required(call, account):
                if not self.allows(permission):
                    found.append(Denied(f"{call['signing_name']}:{call['operation']}", permission, self.role))
        return found


def _managed(resolver: Resolver, arn: Any, role: str) -> list[dict[str, Any]]:
    resolved = resolver.resolve(arn)
    if resolved not in AWS_MANAGED_POLICIES:
        raise ValueError(
            f"{role} has the managed policy {resolved}, whose document neither the template nor "
            "tests/support/role_policy.py AWS_MANAGED_POLICIES holds"
        )
    return AWS_MANAGED_POLICIES[resolved]


def _resolved(resolver: Resolver, resource: Any) -> str:
    """A policy's resource with its tokens resolved to local ARNs; one with no local stand-in matches nothing."""
    try:
        return resolver.resolve(resource)
    except Unresolved:
        return "unresolved:no-local-stand-in"
