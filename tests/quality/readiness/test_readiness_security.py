"""Security rules: each flags a construct that breaks it and passes one that keeps it.

- "TableAccessDeclared": DynamoDB grants beyond what the construct declared (grant_table_access declares).
- "ModelBoundsBody": a REST API model with a string, array or object left unbounded.
- "DatabaseForcesTls": an Aurora PostgreSQL cluster whose parameter group does not set rds.force_ssl to 1.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import App, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_rds as rds

from shared.grants import TableAccess, grant_table_access
from tests.support.readiness import Findings, findings_fixture, stage_stack

STACK = "prod/Security"
EXACT = TableAccess(table=("dynamodb:PutItem", "dynamodb:Query"), indexes={"by-room": ("dynamodb:Query",)})


def _function(stack: Stack, name: str) -> lambda_.Function:
    return lambda_.Function(
        stack,
        name,
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
    )


def _table(stack: Stack) -> dynamodb.Table:
    table = dynamodb.Table(
        stack,
        "Comments",
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        stream=dynamodb.StreamViewType.NEW_IMAGE,
    )
    for index in ("by-room", "by-user"):
        table.add_global_secondary_index(
            index_name=index, partition_key=dynamodb.Attribute(name=index, type=dynamodb.AttributeType.STRING)
        )
    return table


def _grants(stack: Stack, table: dynamodb.Table) -> None:
    grant_table_access(_function(stack, "Exact"), table, EXACT)
    over = _function(stack, "Over")  # declared, then CDK's read-write grant on top
    grant_table_access(over, table, EXACT)
    table.grant_read_write_data(over)
    table.grant_read_data(_function(stack, "Undeclared"))
    consumer = _function(stack, "StreamConsumer")  # stream reads come with its event source mapping
    consumer.add_event_source(sources.DynamoEventSource(table, starting_position=lambda_.StartingPosition.LATEST))
    grant_table_access(consumer, table, TableAccess(table=("dynamodb:GetItem",)))
    table.grant_stream_read(_function(stack, "StreamWithoutMapping"))


def _model(api: apigw.RestApi, name: str, properties: dict[str, apigw.JsonSchema], **extra: Any) -> None:
    schema = apigw.JsonSchema(type=apigw.JsonSchemaType.OBJECT, properties=properties, **extra)
    api.add_model(name, content_type="application/json", schema=schema)


def _models(stack: Stack) -> None:
    api = apigw.RestApi(stack, "Api", cloud_watch_role=False, deploy=False)
    api.root.add_method("GET", apigw.MockIntegration())
    text = apigw.JsonSchemaType.STRING
    _model(api, "Unbounded", {"comment": apigw.JsonSchema(type=text)}, additional_properties=False)
    _model(api, "Open", {"comment": apigw.JsonSchema(type=text, max_length=10)})
    _model(
        api,
        "UnboundedList",
        {"tags": apigw.JsonSchema(type=apigw.JsonSchemaType.ARRAY, items=apigw.JsonSchema(type=text, max_length=5))},
        additional_properties=False,
    )
    _model(api, "Bounded", {"comment": apigw.JsonSchema(type=text, max_length=10)}, additional_properties=False)


def _cluster(stack: Stack, name: str, parameters: dict[str, str] | None) -> None:
    group = None
    if parameters is not None:
        group = rds.CfnDBClusterParameterGroup(
            stack, f"{name}Parameters", family="aurora-postgresql17", description="test", parameters=parameters
        ).ref
    rds.CfnDBCluster(
        stack,
        name,
        engine="aurora-postgresql",
        engine_version="17.9",
        db_cluster_parameter_group_name=group,
        master_username="admin_user",
        manage_master_user_password=True,
        storage_encrypted=True,
    )


def _build(app: object) -> dict[str, str]:
    assert isinstance(app, App)
    stack = stage_stack(app, "prod", "Security")
    table = _table(stack)
    _grants(stack, table)
    _models(stack)
    _cluster(stack, "DefaultParameters", None)
    _cluster(stack, "TlsOptional", {"rds.force_ssl": "0"})
    _cluster(stack, "TlsRequired", {"rds.force_ssl": "1"})
    # The logical id the findings' tokens name.
    return {"table": stack.get_logical_id(table.node.default_child)}  # type: ignore[arg-type]


findings = findings_fixture(_build)


def test_a_role_granted_more_than_its_construct_declared_is_flagged(findings: Findings) -> None:
    table = findings.facts["table"]
    assert findings.rule_of(f"{STACK}/Exact", "TableAccessDeclared") == set()
    # grant_read_write_data adds Scan, DeleteItem, BatchWriteItem... on the table and every index (/index/*).
    assert findings.rule_of(f"{STACK}/Over", "TableAccessDeclared") == {table, f"{table}/index/*"}
    assert findings.rule_of(f"{STACK}/Undeclared", "TableAccessDeclared") == {table, f"{table}/index/*"}


def test_stream_reads_are_admitted_only_with_the_functions_own_event_source_mapping(findings: Findings) -> None:
    table = findings.facts["table"]
    assert findings.rule_of(f"{STACK}/StreamConsumer", "TableAccessDeclared") == set()
    assert findings.rule_of(f"{STACK}/StreamWithoutMapping", "TableAccessDeclared") == {f"{table}.stream", "*"}


def test_a_model_that_leaves_a_string_an_array_or_an_object_open_is_flagged(findings: Findings) -> None:
    api = f"{STACK}/Api"
    assert findings.rule_of(f"{api}/Unbounded", "ModelBoundsBody") == {"comment"}
    assert findings.rule_of(f"{api}/Open", "ModelBoundsBody") == {"$"}
    assert findings.rule_of(f"{api}/UnboundedList", "ModelBoundsBody") == {"tags"}
    assert findings.rule_of(f"{api}/Bounded", "ModelBoundsBody") == set()


def test_an_aurora_postgresql_cluster_must_force_tls_in_its_parameter_group(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/DefaultParameters", "DatabaseForcesTls") == {"rds.force_ssl"}
    assert findings.rule_of(f"{STACK}/TlsOptional", "DatabaseForcesTls") == {"rds.force_ssl"}
    assert findings.rule_of(f"{STACK}/TlsRequired", "DatabaseForcesTls") == set()
