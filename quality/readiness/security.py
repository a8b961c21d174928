"""Security: least-privilege table access, request bodies bounded at the gateway, databases that refuse plain text.

- A role may be granted DynamoDB actions on a table, an index or a stream only as its construct declared
  with `declare_table_access` (what the code calls), plus the stream reads its Lambda event source mappings
  need. Anything else (CDK's `grant_read_write_data` gives Scan, DeleteItem, BatchWriteItem...; `/index/*`;
  `dynamodb:*`; a resource of "*") is a finding.
- A REST API model bounds what it admits: every string a `maxLength`, every array a `maxItems`, every object
  `additionalProperties: false` (API Gateway validates bodies against the model before the integration runs,
  and without bounds a body of up to 10 MB passes to the function).
- An Aurora PostgreSQL cluster's parameter group sets `rds.force_ssl` to 1: otherwise the cluster accepts
  clients that never ask for TLS ("By default, the rds.force_ssl parameter is set to 0 (off)", Aurora User
  Guide, Updating applications to connect to Aurora PostgreSQL DB clusters using new SSL/TLS certificates).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from quality.declare import METADATA_KEY, TABLE_ACCESS_KEY
from quality.readiness.base import Check, Context, Finding
from quality.readiness.template import StackTemplate, as_list, refs, render

# What Lambda reads a DynamoDB stream with, for an event source mapping (DynamoDB Developer Guide, "IAM policy
# to allow an AWS Lambda function to access DynamoDB stream records"). ListStreams accepts no resource but "*".
STREAM_READ = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
LIST_STREAMS = "dynamodb:ListStreams"
_TABLE_TYPES = ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable")


def _declared(stack: StackTemplate, role_id: str) -> dict[tuple[str, str | None], set[str]]:
    entries = stack.resources[role_id].get("Metadata", {}).get(METADATA_KEY, {}).get(TABLE_ACCESS_KEY, [])
    declared: dict[tuple[str, str | None], set[str]] = {}
    for entry in entries:
        declared.setdefault((entry["Table"], entry.get("Index")), set()).update(entry["Actions"])
    return declared


def _streams_read(stack: StackTemplate, role_id: str) -> set[str]:
    """Tables whose stream a Lambda function with this role reads through an event source mapping."""
    functions = {f for f, r in stack.of_type("AWS::Lambda::Function") if role_id in refs(r["Properties"].get("Role"))}
    tables = set()
    for _, mapping in stack.of_type("AWS::Lambda::EventSourceMapping"):
        props = mapping["Properties"]
        if functions & refs(props.get("FunctionName")):
            source = props.get("EventSourceArn")
            if isinstance(source, dict) and as_list(source.get("Fn::GetAtt"))[1:] == ["StreamArn"]:
                tables.add(source["Fn::GetAtt"][0])
    return tables


def _indexes(stack: StackTemplate, table: str) -> set[str]:
    props = stack.props(table)
    found = props.get("GlobalSecondaryIndexes", []) + props.get("LocalSecondaryIndexes", [])
    return {i["IndexName"] for i in found if isinstance(i.get("IndexName"), str)}


def _target(stack: StackTemplate, resource: Any) -> tuple[str, str, str | None]:
    """What a policy resource names: ("table"|"index"|"stream", table id, index) or ("other", its text, None)."""
    if resource == "*":
        return "other", "*", None
    named = [t for t in refs(resource) if stack.type_of(t) in _TABLE_TYPES]
    if len(named) == 1:
        (table,) = named
        if resource == {"Fn::GetAtt": [table, "Arn"]}:
            return "table", table, None
        if resource == {"Fn::GetAtt": [table, "StreamArn"]}:
            return "stream", table, None
        text = render(resource, "{arn}") or ""
        if text.startswith("{arn}/index/"):
            return "index", table, text.removeprefix("{arn}/index/")
    return "other", render(resource, "*") or str(resource), None


def _is_dynamodb(action: Any) -> bool:
    return isinstance(action, str) and (action == "*" or action.lower().startswith("dynamodb:"))


def _allow_statements(stack: StackTemplate, role_id: str) -> Iterator[dict[str, Any]]:
    yield from stack.role_statements(role_id)
    for _, policy in stack.of_type("AWS::IAM::ManagedPolicy"):
        if role_id in refs(policy["Properties"].get("Roles")):
            yield from as_list(policy["Properties"].get("PolicyDocument", {}).get("Statement"))


def _beyond(declared: set[str], actions: Iterable[str]) -> list[str]:
    return sorted(a for a in actions if "*" in a or a not in declared)


def _table_access(context: Context, logical_id: str) -> list[Finding]:
    stack = context.stack
    declared = _declared(stack, logical_id)
    streams = _streams_read(stack, logical_id)
    extra: dict[str, set[str]] = {}
    for statement in _allow_statements(stack, logical_id):
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement or "NotResource" in statement:
            extra.setdefault("NotAction/NotResource", set()).add("an Allow with NotAction or NotResource")
            continue
        actions = [a for a in as_list(statement.get("Action")) if _is_dynamodb(a)]
        for resource in as_list(statement.get("Resource")) if actions else []:
            kind, name, index = _target(stack, resource)
            if kind == "table":
                where, allowed = name, declared.get((name, None), set())
            elif kind == "stream":
                where, allowed = f"{name}.stream", set(STREAM_READ) if name in streams else set()
            elif kind == "index" and index == "*":
                where = f"{name}/index/*"
                covered = [declared.get((name, i), set()) for i in _indexes(stack, name)]
                allowed = set.intersection(*covered) if covered else set()
            elif kind == "index":
                where, allowed = f"{name}/index/{index}", declared.get((name, index), set())
            else:
                where, allowed = name, {LIST_STREAMS} if name == "*" and streams else set()
            extra.setdefault(where, set()).update(_beyond(allowed, actions))
    for arn in as_list(stack.props(logical_id).get("ManagedPolicyArns")):
        text = render(arn, "*") or ""
        if "dynamodb" in text.lower():
            extra.setdefault("ManagedPolicyArns", set()).add(text.rsplit("/", 1)[-1])
    return [
        Finding(where, f"it may call {', '.join(sorted(actions))} on {where}, beyond what its construct declared.")
        for where, actions in sorted(extra.items())
        if actions
    ]


def _schema_bounds(schema: Any, path: str) -> Iterator[tuple[str, str]]:
    """(where, what is missing) for every unbounded part of a JSON schema (draft 4, as API Gateway reads it)."""
    if not isinstance(schema, dict):
        return
    types = set(as_list(schema.get("type")))
    if "enum" in schema:
        return  # bounded by its values
    if "string" in types and not isinstance(schema.get("maxLength"), int):
        yield path or "$", "maxLength"
    if "array" in types:
        if not isinstance(schema.get("maxItems"), int):
            yield path or "$", "maxItems"
        yield from _schema_bounds(schema.get("items"), f"{path}[]")
    if "object" in types:
        if schema.get("additionalProperties") is not False:
            yield path or "$", "additionalProperties: false"
        for name, child in (schema.get("properties") or {}).items():
            yield from _schema_bounds(child, f"{path}.{name}" if path else name)
    for key in ("allOf", "anyOf", "oneOf"):
        for n, child in enumerate(as_list(schema.get(key))):
            yield from _schema_bounds(child, f"{path}{key}[{n}]")


def _model_bounds(context: Context, logical_id: str) -> list[Finding]:
    schema = context.stack.props(logical_id).get("Schema")
    return [
        Finding(where, f"{where} has no {missing}, so the gateway passes a body of any size (up to 10 MB) on.")
        for where, missing in _schema_bounds(schema, "")
    ]


_AURORA_POSTGRES = "aurora-postgresql"


def _forces_ssl(parameters: Any) -> bool:
    value = parameters.get("rds.force_ssl") if isinstance(parameters, dict) else None
    return str(value).strip() in {"1", "true", "True"}


def _database_tls(context: Context, logical_id: str) -> list[Finding]:
    props = context.stack.props(logical_id)
    if not str(props.get("Engine", "")).startswith(_AURORA_POSTGRES):
        return []
    group = props.get("DBClusterParameterGroupName")
    named = [g for g in refs(group) if context.stack.type_of(g) == "AWS::RDS::DBClusterParameterGroup"]
    if named and _forces_ssl(context.stack.props(named[0]).get("Parameters")):
        return []
    where = named[0] if named else "default"
    return [
        Finding(
            "rds.force_ssl",
            f"its cluster parameter group ({where}) does not set rds.force_ssl to 1, so clients may connect "
            "without TLS.",
        )
    ]


CHECKS = [
    Check(
        name="TableAccessDeclared",
        info="A role may call DynamoDB actions beyond what its construct declared:",
        explanation=(
            "Grant a function exactly the DynamoDB actions its code calls, on the table and on each index it "
            "queries (declare_table_access): CDK's grant_read_write_data adds Scan, DeleteItem and BatchWriteItem, "
            "and /index/* every index to come. Stream reads are admitted for the function's own event source "
            "mapping only."
        ),
        resource_types=frozenset({"AWS::IAM::Role"}),
        findings=_table_access,
    ),
    Check(
        name="ModelBoundsBody",
        info="A REST API model leaves part of the body unbounded:",
        explanation=(
            "API Gateway validates a request body against its model before the integration runs (API Gateway "
            "Developer Guide, Request validation). A string without maxLength, an array without maxItems or an "
            "object open to more properties admits a body of any size up to API Gateway's 10 MB payload quota."
        ),
        resource_types=frozenset({"AWS::ApiGateway::Model"}),
        findings=_model_bounds,
    ),
    Check(
        name="DatabaseForcesTls",
        info="An Aurora PostgreSQL cluster accepts connections without TLS:",
        explanation=(
            "Aurora PostgreSQL requires SSL/TLS of every client only when the cluster parameter group sets "
            "rds.force_ssl to 1; by default it is 0 (Aurora User Guide, Securing Aurora PostgreSQL data with "
            "SSL/TLS), so a client that never asks for TLS sends its password in clear text."
        ),
        resource_types=frozenset({"AWS::RDS::DBCluster"}),
        findings=_database_tls,
    ),
]
