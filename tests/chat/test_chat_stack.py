"""Fine-grained assertions on the chat stack: data safety, security, contracts with the handler code."""

from __future__ import annotations

import json
from importlib.metadata import version
from typing import Any

import jsonschema
import pytest
from aws_cdk.assertions import Capture, Match

from chat.api import LIVE_ALIAS
from chat.data import ROOM_POSITION_INDEX, ROOM_TIME_INDEX
from chat_api.limits import COMMENT_MAX_LENGTH, MAX_POSITION, NAME_MAX_LENGTH
from quality.readiness.rendering import SAMPLE_MESSAGES, substitute
from shared.python_function import POWERTOOLS_VERSION
from shared.waf import MANAGED_RULE_GROUPS, RATE_RULE
from stage.config import load_stage
from tests.support.chat_backend import COMMENTS, IDEMPOTENCY, STATS
from tests.support.iam import role_of_function, statements_of_role, tls_only_policy
from tests.support.lambda_packages import POWERTOOLS_LAYER, distribution_version
from tests.support.synth import Synthesized, resources_of_type

STAGES = ("sandbox", "prod")
CURSOR_SECRET, DEAD_LETTERS = "CommentsCursorKey292248F6", "RoomStatsDeadLetters3B38E34D"


def _template(synth: Synthesized, stage: str) -> dict[str, Any]:
    return synth.templates[f"{stage}/Chat"]


def _function_id(template: dict[str, Any], bundle_handler: str) -> str:
    (logical_id,) = [
        k
        for k, v in resources_of_type(template, "AWS::Lambda::Function").items()
        if v["Properties"]["Handler"] == bundle_handler
    ]
    return logical_id


@pytest.mark.parametrize("stage", STAGES)
def test_comments_table_keys_and_indexes_serve_every_query(synth: Synthesized, stage: str) -> None:
    synth.template(f"{stage}/Chat").has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [{"AttributeName": "name", "KeyType": "HASH"}, {"AttributeName": "time", "KeyType": "RANGE"}],
            "GlobalSecondaryIndexes": Match.array_equals(
                [
                    {
                        "IndexName": ROOM_TIME_INDEX,
                        "KeySchema": [
                            {"AttributeName": "chat_room", "KeyType": "HASH"},
                            {"AttributeName": "time", "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": "ALL"},
                    },
                    {
                        "IndexName": ROOM_POSITION_INDEX,
                        "KeySchema": [
                            {"AttributeName": "chat_room", "KeyType": "HASH"},
                            {"AttributeName": "position", "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": "ALL"},
                    },
                ]
            ),
            "AttributeDefinitions": Match.array_with([{"AttributeName": "position", "AttributeType": "N"}]),
            "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
        },
    )


@pytest.mark.parametrize("stage", STAGES)
def test_every_table_is_on_demand_encrypted_and_recoverable(synth: Synthesized, stage: str) -> None:
    tables = resources_of_type(_template(synth, stage), "AWS::DynamoDB::Table")
    assert set(tables) == {COMMENTS, STATS, IDEMPOTENCY}
    for table in tables.values():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["SSESpecification"] == {"SSEEnabled": True}  # KMS with the AWS managed key
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


@pytest.mark.parametrize(("stage", "protected", "policy"), [("sandbox", False, "Delete"), ("prod", True, "Retain")])
def test_prod_keeps_data_and_sandbox_is_disposable(
    synth: Synthesized, stage: str, protected: bool, policy: str
) -> None:
    for table in resources_of_type(_template(synth, stage), "AWS::DynamoDB::Table").values():
        assert table["Properties"]["DeletionProtectionEnabled"] is protected
        assert table["DeletionPolicy"] == policy
        assert table["UpdateReplacePolicy"] == policy


@pytest.mark.parametrize("stage", STAGES)
def test_stream_consumer_never_drops_a_record_silently(synth: Synthesized, stage: str) -> None:
    config = load_stage(stage).chat
    template = synth.template(f"{stage}/Chat")
    dlq = Capture()
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [COMMENTS, "StreamArn"]},
            "StartingPosition": "TRIM_HORIZON",
            "BisectBatchOnFunctionError": True,
            "MaximumRetryAttempts": config.stream_retry_attempts,
            "MaximumRecordAgeInSeconds": config.stream_max_record_age_s,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [dlq, "Arn"]}}},
            "FilterCriteria": {"Filters": [{"Pattern": '{"eventName":["INSERT"]}'}]},
        },
    )
    queue = _template(synth, stage)["Resources"][dlq.as_string()]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    template.has_resource_properties("AWS::SQS::QueuePolicy", tls_only_policy())


@pytest.mark.parametrize("stage", STAGES)
def test_functions_are_traced_json_logged_and_use_the_pinned_powertools_layer(synth: Synthesized, stage: str) -> None:
    template = _template(synth, stage)
    functions = resources_of_type(template, "AWS::Lambda::Function")
    assert len(functions) == 2
    (parameter,) = [k for k in template["Parameters"] if k.startswith("SsmParameterValueawsservicepowertools")]
    assert template["Parameters"][parameter]["Default"] == (
        f"/aws/service/powertools/python/arm64/python3.13/{POWERTOOLS_VERSION}"
    )
    # make tune's picks (bench/tune.py, reports/tune-*.md): each the cheapest size within its budget.
    memory = {f["Properties"]["Handler"]: f["Properties"]["MemorySize"] for f in functions.values()}
    assert memory == {"chat_api.handler.handler": 1024, "chat_stream.handler.handler": 256}
    assert memory["chat_api.handler.handler"] == load_stage(stage).chat.lambda_memory_mb
    for function in functions.values():
        props = function["Properties"]
        assert props["Runtime"] == "python3.13"
        assert props["Architectures"] == ["arm64"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["LoggingConfig"]["LogFormat"] == "JSON"
        assert props["Layers"] == [{"Ref": parameter}]
        assert "LogGroup" in props["LoggingConfig"]


def test_powertools_layer_matches_the_tested_release() -> None:
    """The handler tests import the functions with .lambda/layer's Powertools, and type-check against the
    venv's: both are the release whose layer the template deploys."""
    assert distribution_version(POWERTOOLS_LAYER, "aws-lambda-powertools") == POWERTOOLS_VERSION
    assert version("aws-lambda-powertools") == POWERTOOLS_VERSION


# The DynamoDB calls each function's code makes (chat/access.py says where each comes from).
API_COMMENTS = {"dynamodb:PutItem", "dynamodb:Query"}  # post a comment; a user's comments
API_IDEMPOTENCY = {"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}  # Powertools
API_STATS = {"dynamodb:BatchGetItem", "dynamodb:GetItem"}  # a room's view and counters
STREAM_STATS = {"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
XRAY = {"xray:PutTelemetryRecords", "xray:PutTraceSegments"}  # accept no resource but "*"
WRITE_LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}


def _grants(template: dict[str, Any], function_id: str) -> set[tuple[str, str]]:
    """(action, resource) for every Allow of the function's role; anything but a plain Allow fails here."""
    role_id = role_of_function(template, function_id)
    role = template["Resources"][role_id]["Properties"]
    assert set(role) == {"AssumeRolePolicyDocument", "Tags"}, "no managed or inline policies on the role itself"
    grants = set()
    for statement in statements_of_role(template, role_id):
        assert set(statement) == {"Action", "Effect", "Resource"}, statement  # no NotAction, NotResource, Condition
        assert statement["Effect"] == "Allow", statement
        for action in _as_list(statement["Action"]):
            grants |= {(action, _resource(r)) for r in _as_list(statement["Resource"])}
    return grants


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _resource(value: Any) -> str:
    """'*', 'Id' for a Ref, 'Id.Attr' for a GetAtt, and joins of those ('Id.Arn/index/*')."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return str(value["Ref"])
    if "Fn::GetAtt" in value:
        return ".".join(value["Fn::GetAtt"])
    separator, parts = value["Fn::Join"]
    return str(separator).join(_resource(part) for part in parts)


def _on(actions: set[str], *resources: str) -> set[tuple[str, str]]:
    return {(action, resource) for action in actions for resource in resources}


@pytest.mark.parametrize("stage", STAGES)
def test_functions_have_least_privilege(synth: Synthesized, stage: str) -> None:
    """Each role holds exactly these grants: one more action (a DeleteItem on the stats, say) or resource
    (a statement on "*") fails, as does one fewer."""
    template = _template(synth, stage)
    api_id = _function_id(template, "chat_api.handler.handler")
    stream_id = _function_id(template, "chat_stream.handler.handler")

    def log_group(function_id: str) -> str:
        return str(template["Resources"][function_id]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"])

    assert _grants(template, api_id) == (
        _on(WRITE_LOGS, f"{log_group(api_id)}.Arn")
        | _on(XRAY, "*")
        | _on({"secretsmanager:GetSecretValue"}, CURSOR_SECRET)
        | _on(API_COMMENTS, f"{COMMENTS}.Arn")
        | _on({"dynamodb:Query"}, *(f"{COMMENTS}.Arn/index/{i}" for i in (ROOM_TIME_INDEX, ROOM_POSITION_INDEX)))
        | _on(API_IDEMPOTENCY, f"{IDEMPOTENCY}.Arn")
        | _on(API_STATS, f"{STATS}.Arn")  # the counters and views are the stream consumer's to write
    )
    assert _grants(template, stream_id) == (
        _on(WRITE_LOGS, f"{log_group(stream_id)}.Arn")
        | _on(XRAY | {"dynamodb:ListStreams"}, "*")  # ListStreams takes no resource either
        | _on({"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}, f"{COMMENTS}.StreamArn")
        | _on({"sqs:SendMessage"}, f"{DEAD_LETTERS}.Arn")  # Lambda sends failed batches' records, nothing else
        | _on(STREAM_STATS, f"{STATS}.Arn")
    )


@pytest.mark.parametrize("stage", STAGES)
def test_both_functions_use_the_stage_shard_count_and_the_api_its_view_lag(synth: Synthesized, stage: str) -> None:
    config = load_stage(stage).chat
    template = _template(synth, stage)
    for handler in ("chat_api.handler.handler", "chat_stream.handler.handler"):
        variables = template["Resources"][_function_id(template, handler)]["Properties"]["Environment"]["Variables"]
        assert variables["ROOM_SHARDS"] == str(config.room_shards), handler
    api = template["Resources"][_function_id(template, "chat_api.handler.handler")]["Properties"]
    assert api["Environment"]["Variables"]["VIEW_MAX_LAG_MS"] == str(config.view_max_lag_s * 1000)


@pytest.mark.parametrize("stage", STAGES)
def test_secrets_stay_out_of_the_environment(synth: Synthesized, stage: str) -> None:
    """A secret's value in an environment variable renders as a dynamic reference ('{{resolve:secretsmanager:
    ...}}', inside an Fn::Join); the functions get the cursor key's ARN and read the value at run time."""
    template = _template(synth, stage)
    for function in resources_of_type(template, "AWS::Lambda::Function").values():
        for name, value in function["Properties"]["Environment"]["Variables"].items():
            rendered = json.dumps(value)
            assert "{{resolve:" not in rendered and "SecretString" not in rendered, name
    api = template["Resources"][_function_id(template, "chat_api.handler.handler")]["Properties"]
    assert api["Environment"]["Variables"]["CURSOR_SECRET_ARN"] == {"Ref": CURSOR_SECRET}  # Ref of a secret: its ARN


@pytest.mark.parametrize("stage", STAGES)
def test_api_stage_logs_traces_and_throttles(synth: Synthesized, stage: str) -> None:
    config = load_stage(stage).chat
    access_format = Capture()
    synth.template(f"{stage}/Chat").has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": "v1",
            "TracingEnabled": True,
            "AccessLogSetting": {"DestinationArn": Match.any_value(), "Format": access_format},
            "MethodSettings": Match.array_with(
                [
                    Match.object_like(
                        {
                            "HttpMethod": "*",
                            "ResourcePath": "/*",
                            "ThrottlingRateLimit": config.throttle_rate_limit,
                            "ThrottlingBurstLimit": config.throttle_burst_limit,
                            "LoggingLevel": config.execution_log_level,
                            "DataTraceEnabled": False,
                        }
                    ),
                    Match.object_like(
                        {
                            "HttpMethod": "POST",
                            "ResourcePath": "/~1rooms~1{room}~1comments",
                            "ThrottlingRateLimit": config.post_rate_limit,
                            "ThrottlingBurstLimit": config.post_burst_limit,
                        }
                    ),
                ]
            ),
        },
    )
    assert access_format.as_string().startswith("{") and '"requestId"' in access_format.as_string()


@pytest.mark.parametrize("stage", STAGES)
def test_post_is_validated_at_the_gateway(synth: Synthesized, stage: str) -> None:
    template = _template(synth, stage)
    ((validator_id, validator),) = resources_of_type(template, "AWS::ApiGateway::RequestValidator").items()
    assert validator["Properties"]["ValidateRequestBody"] is True
    assert validator["Properties"]["ValidateRequestParameters"] is True
    ((model_id, model),) = resources_of_type(template, "AWS::ApiGateway::Model").items()
    assert model["Properties"]["ContentType"] == "application/json"
    assert model["Properties"]["Schema"] == {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "required": ["name", "comment", "position"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX_LENGTH},
            "comment": {"type": "string", "minLength": 1, "maxLength": COMMENT_MAX_LENGTH},
            "position": {"type": "number", "minimum": 0, "maximum": MAX_POSITION},
        },
    }
    methods = {
        (m["Properties"]["HttpMethod"], k): m["Properties"]
        for k, m in resources_of_type(template, "AWS::ApiGateway::Method").items()
        if m["Properties"]["HttpMethod"] != "OPTIONS"
    }
    assert sorted(method for method, _ in methods) == ["GET", "GET", "GET", "POST"]
    for (method, _), props in methods.items():
        assert props["RequestValidatorId"] == {"Ref": validator_id}
        assert props.get("RequestModels") == ({"application/json": {"Ref": model_id}} if method == "POST" else None)


LARGEST = {"name": "é" * NAME_MAX_LENGTH, "comment": "😀" * COMMENT_MAX_LENGTH, "position": MAX_POSITION}
OVERSIZED = {
    "comment one character over": {**LARGEST, "comment": "x" * (COMMENT_MAX_LENGTH + 1)},
    "name one character over": {**LARGEST, "name": "x" * (NAME_MAX_LENGTH + 1)},
    "10 MB comment": {**LARGEST, "comment": "x" * 10_000_000},
    "position past the video": {**LARGEST, "position": MAX_POSITION + 1},
    "extra property": {**LARGEST, "padding": "x"},
}


@pytest.mark.parametrize("stage", STAGES)
def test_the_gateway_model_refuses_oversized_bodies_and_admits_the_largest_valid_one(
    synth: Synthesized, stage: str
) -> None:
    """API Gateway validates the body against the model (JSON Schema draft 4) before the function runs and
    answers a refusal with the DEFAULT_4XX response (JSON, test below): the same bodies through a draft-4
    validator. String lengths count characters, as the handler's pydantic model does."""
    ((_, model),) = resources_of_type(_template(synth, stage), "AWS::ApiGateway::Model").items()
    validator = jsonschema.Draft4Validator(model["Properties"]["Schema"])
    assert list(validator.iter_errors(LARGEST)) == []
    for why, body in OVERSIZED.items():
        assert not validator.is_valid(body), why


@pytest.mark.parametrize("stage", STAGES)
def test_gateway_errors_are_json_for_any_message(synth: Synthesized, stage: str) -> None:
    """Validator rejections, throttling (429) and WAF blocks (403): $context.error.messageString is already
    a quoted JSON string, so the template must not quote it again."""
    responses = resources_of_type(_template(synth, stage), "AWS::ApiGateway::GatewayResponse").values()
    assert {r["Properties"]["ResponseType"] for r in responses} == {"DEFAULT_4XX", "DEFAULT_5XX"}
    for response in responses:
        template = response["Properties"]["ResponseTemplates"]["application/json"]
        assert template == '{"message": $context.error.messageString}'
        for message in SAMPLE_MESSAGES:
            assert json.loads(substitute(template, message)) == {"message": message}


@pytest.mark.parametrize("stage", STAGES)
def test_the_post_override_keeps_the_stage_logging_and_metrics(synth: Synthesized, stage: str) -> None:
    """A method's setting replaces the stage-wide one for that method, so it must repeat them."""
    (stage_resource,) = resources_of_type(_template(synth, stage), "AWS::ApiGateway::Stage").values()
    settings = {(s["HttpMethod"], s["ResourcePath"]): s for s in stage_resource["Properties"]["MethodSettings"]}
    everywhere, post = settings[("*", "/*")], settings[("POST", "/~1rooms~1{room}~1comments")]
    assert everywhere["MetricsEnabled"] is True
    for key in ("MetricsEnabled", "LoggingLevel", "DataTraceEnabled"):
        assert post[key] == everywhere[key], key


@pytest.mark.parametrize("stage", STAGES)
def test_execution_logs_go_to_a_group_the_stack_owns(synth: Synthesized, stage: str) -> None:
    """API Gateway would create API-Gateway-Execution-Logs_<api>/<stage> itself, never expiring, never deleted."""
    template = _template(synth, stage)
    (api_id,) = resources_of_type(template, "AWS::ApiGateway::RestApi")
    (group_id,) = [
        lid
        for lid, group in resources_of_type(template, "AWS::Logs::LogGroup").items()
        if "API-Gateway-Execution-Logs_" in json.dumps(group["Properties"])
    ]
    group = template["Resources"][group_id]
    assert group["Properties"]["LogGroupName"] == {
        "Fn::Join": ["", ["API-Gateway-Execution-Logs_", {"Ref": api_id}, "/v1"]]
    }
    assert group["Properties"]["RetentionInDays"] == load_stage(stage).chat.log_retention_days
    assert group["DeletionPolicy"] == "Delete"
    ((stage_id, _),) = resources_of_type(template, "AWS::ApiGateway::Stage").items()
    assert group_id in template["Resources"][stage_id]["DependsOn"]  # exists before API Gateway writes to it


def test_each_stage_names_its_api_so_alarms_do_not_mix_stages(synth: Synthesized) -> None:
    """API Gateway's metrics are keyed by ApiName: two stages' APIs in one account must not share a name."""
    names = {}
    for stage in STAGES:
        template = _template(synth, stage)
        ((_, api),) = resources_of_type(template, "AWS::ApiGateway::RestApi").items()
        names[stage] = api["Properties"]["Name"]
        dimensions = [
            d
            for alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").values()
            for d in alarm["Properties"].get("Dimensions", [])
            if d["Name"] == "ApiName"
        ]
        assert dimensions and {d["Value"] for d in dimensions} == {names[stage]}
    assert names == {"sandbox": "sandbox-Chat-Comments", "prod": "prod-Chat-Comments"}


def _live_alias(template: dict[str, Any]) -> tuple[str, str, str]:
    """The API function, its one published version and the alias on that version, by logical id."""
    function = _function_id(template, "chat_api.handler.handler")
    versions = [
        k
        for k, v in resources_of_type(template, "AWS::Lambda::Version").items()
        if v["Properties"]["FunctionName"] == {"Ref": function}
    ]
    aliases = [
        k
        for k, v in resources_of_type(template, "AWS::Lambda::Alias").items()
        if v["Properties"]["FunctionName"] == {"Ref": function}
    ]
    assert len(versions) == 1 and len(aliases) == 1, (versions, aliases)
    return function, versions[0], aliases[0]


@pytest.mark.parametrize("stage", STAGES)
def test_the_api_invokes_the_live_alias_of_the_version_the_deploy_published(synth: Synthesized, stage: str) -> None:
    """Both stages: SnapStart applies to published versions and aliases of them, never to $LATEST
    (https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html), and the sandbox tests prod's wiring."""
    template = _template(synth, stage)
    function, version, alias = _live_alias(template)
    alias_props = template["Resources"][alias]["Properties"]
    assert alias_props["Name"] == LIVE_ALIAS
    assert alias_props["FunctionVersion"] == {"Fn::GetAtt": [version, "Version"]}
    assert "ProvisionedConcurrencyConfig" not in alias_props  # SnapStart does not support it
    # A version the alias has left goes with the deploy that replaces it (each would keep a cached snapshot).
    assert (
        template["Resources"][version]["DeletionPolicy"],
        template["Resources"][version]["UpdateReplacePolicy"],
    ) == (
        "Delete",
        "Delete",
    )
    methods = [
        m["Properties"]
        for m in resources_of_type(template, "AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] != "OPTIONS"
    ]
    assert len(methods) == 4
    for method in methods:
        assert method["Integration"]["Type"] == "AWS_PROXY"
        uri = json.dumps(method["Integration"]["Uri"])
        assert {"Ref": alias} in method["Integration"]["Uri"]["Fn::Join"][1] and function not in uri
    permissions = resources_of_type(template, "AWS::Lambda::Permission").values()
    invokers = [p["Properties"] for p in permissions if p["Properties"]["Principal"] == "apigateway.amazonaws.com"]
    assert len(invokers) == 4 and all(p["FunctionName"] == {"Ref": alias} for p in invokers)


@pytest.mark.parametrize(("stage", "snap_start"), [("sandbox", False), ("prod", True)])
def test_snap_start_is_the_stage_setting_on_the_api_function_only(
    synth: Synthesized, stage: str, snap_start: bool
) -> None:
    assert load_stage(stage).chat.snap_start is snap_start
    template = _template(synth, stage)
    function, _, _ = _live_alias(template)
    settings = {
        k: f["Properties"].get("SnapStart") for k, f in resources_of_type(template, "AWS::Lambda::Function").items()
    }
    assert settings.pop(function) == ({"ApplyOn": "PublishedVersions"} if snap_start else None)
    assert set(settings.values()) == {None}  # the stream consumer runs on its event source mapping's $LATEST
    props = template["Resources"][function]["Properties"]
    assert (props["Runtime"], props["Architectures"]) == ("python3.13", ["arm64"])
    assert "FileSystemConfigs" not in props and props.get("EphemeralStorage", {"Size": 512})["Size"] <= 512


@pytest.mark.parametrize("stage", STAGES)
def test_the_api_function_alarms_count_every_version_and_alias(synth: Synthesized, stage: str) -> None:
    """The FunctionName dimension alone aggregates all versions and aliases of a function
    (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics.html): the alarms see what the alias runs."""
    template = _template(synth, stage)
    function, _, _ = _live_alias(template)
    watched = {
        a["Properties"]["MetricName"]: a["Properties"]["Dimensions"]
        for a in resources_of_type(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == "AWS/Lambda"
        and {"Name": "FunctionName", "Value": {"Ref": function}} in a["Properties"].get("Dimensions", [])
    }
    assert watched == {
        "Errors": [{"Name": "FunctionName", "Value": {"Ref": function}}],
        "Throttles": [{"Name": "FunctionName", "Value": {"Ref": function}}],
    }


@pytest.mark.parametrize(("stage", "waf"), [("sandbox", False), ("prod", True)])
def test_waf_guards_prod(synth: Synthesized, stage: str, waf: bool) -> None:
    template = _template(synth, stage)
    acls = resources_of_type(template, "AWS::WAFv2::WebACL")
    associations = resources_of_type(template, "AWS::WAFv2::WebACLAssociation")
    assert (len(acls), len(associations)) == ((1, 1) if waf else (0, 0))
    if not waf:
        return
    ((acl_id, acl),) = acls.items()
    props = acl["Properties"]
    assert (props["Scope"], props["DefaultAction"]) == ("REGIONAL", {"Allow": {}})
    rules = {rule["Name"]: rule for rule in props["Rules"]}
    assert [rules[name]["Priority"] for name in (*MANAGED_RULE_GROUPS, RATE_RULE)] == [1, 2, 3]
    for name in MANAGED_RULE_GROUPS:
        assert rules[name]["Statement"] == {"ManagedRuleGroupStatement": {"Name": name, "VendorName": "AWS"}}
        assert rules[name]["OverrideAction"] == {"None": {}}  # the groups' own block actions apply
    assert rules[RATE_RULE]["Action"] == {"Block": {}}
    assert rules[RATE_RULE]["Statement"] == {
        "RateBasedStatement": {"AggregateKeyType": "IP", "Limit": load_stage(stage).chat.waf_rate_limit_per_5min}
    }
    (association,) = associations.values()
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    ((stage_id, _),) = resources_of_type(template, "AWS::ApiGateway::Stage").items()
    assert {"Ref": stage_id} in association["Properties"]["ResourceArn"]["Fn::Join"][1]


@pytest.mark.parametrize("stage", STAGES)
def test_cors_follows_config(synth: Synthesized, stage: str) -> None:
    config = load_stage(stage).chat
    template = _template(synth, stage)
    options = [
        m
        for m in resources_of_type(template, "AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == "OPTIONS"
    ]
    assert bool(options) == bool(config.cors_allow_origins)
    api_function = template["Resources"][_function_id(template, "chat_api.handler.handler")]
    assert api_function["Properties"]["Environment"]["Variables"]["CORS_ALLOW_ORIGINS"] == ",".join(
        config.cors_allow_origins
    )


@pytest.mark.parametrize("stage", STAGES)
def test_alarms_cover_5xx_errors_throttles_lag_and_dead_letters(synth: Synthesized, stage: str) -> None:
    template = _template(synth, stage)
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    (topic,) = resources_of_type(template, "AWS::SNS::Topic")
    metrics = []
    for alarm in alarms.values():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": topic}]
        assert props["TreatMissingData"] == "notBreaching"
        metrics.append(props.get("MetricName") or str(props.get("Metrics")))
    joined = " ".join(metrics)
    for metric in (
        "5XXError",
        "Latency",
        "Errors",
        "Throttles",
        "ReadThrottleEvents",
        "WriteThrottleEvents",
        "IteratorAge",
        "ApproximateNumberOfMessagesVisible",
    ):
        assert metric in joined, metric
    config = load_stage(stage).chat
    thresholds = {
        (
            a["Properties"].get("MetricName"),
            a["Properties"].get("Statistic") or a["Properties"].get("ExtendedStatistic"),
        ): a["Properties"]["Threshold"]
        for a in alarms.values()
    }
    assert thresholds[("5XXError", "Sum")] == config.alarm_5xx_threshold
    assert thresholds[("Latency", "p99")] == config.alarm_latency_p99_ms


@pytest.mark.parametrize("stage", STAGES)
def test_every_log_group_keeps_the_stage_retention(synth: Synthesized, stage: str) -> None:
    groups = resources_of_type(_template(synth, stage), "AWS::Logs::LogGroup")
    assert len(groups) == 4  # the two functions', the API's access and its execution logs
    assert {g["Properties"]["RetentionInDays"] for g in groups.values()} == {load_stage(stage).chat.log_retention_days}


@pytest.mark.parametrize("stage", STAGES)
def test_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use(synth: Synthesized, stage: str) -> None:
    template = _template(synth, stage)
    (topic,) = resources_of_type(template, "AWS::SNS::Topic").values()
    key_id, attribute = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"]
    key = template["Resources"][key_id]
    assert (key["Type"], attribute) == ("AWS::KMS::Key", "Arn")
    assert key["Properties"]["EnableKeyRotation"] is True
    cloudwatch = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert cloudwatch == [
        {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Resource": "*",
        }
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_outputs_name_the_api_url(synth: Synthesized, stage: str) -> None:
    synth.template(f"{stage}/Chat").has_output("ApiUrl", {"Value": Match.any_value()})
