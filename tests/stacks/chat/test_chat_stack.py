"""Fine-grained assertions on the chat stack: data safety, security, contracts with the handler code."""

from __future__ import annotations

import json
from importlib.metadata import version
from typing import Any

import pytest
from aws_cdk.assertions import Capture, Match

from stacks.chat.data import ROOM_POSITION_INDEX, ROOM_TIME_INDEX
from stacks.common.python_function import POWERTOOLS_VERSION
from stacks.common.readiness.rendering import SAMPLE_MESSAGES, substitute
from stacks.config import load_stage
from tests.support.chat_backend import COMMENTS, IDEMPOTENCY, STATS
from tests.support.iam import actions_on, role_of_function, statements_of_role, tls_only_policy
from tests.support.synth import Synthesized, resources_of_type

STAGES = ("sandbox", "prod")


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
    for function in functions.values():
        props = function["Properties"]
        assert props["Runtime"] == "python3.13"
        assert props["Architectures"] == ["arm64"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["LoggingConfig"]["LogFormat"] == "JSON"
        assert props["Layers"] == [{"Ref": parameter}]
        assert "LogGroup" in props["LoggingConfig"]


def test_powertools_layer_matches_the_tested_release() -> None:
    assert version("aws-lambda-powertools") == POWERTOOLS_VERSION


@pytest.mark.parametrize("stage", STAGES)
def test_functions_have_least_privilege(synth: Synthesized, stage: str) -> None:
    template = _template(synth, stage)
    api_role = role_of_function(template, _function_id(template, "chat_api.handler.handler"))
    stream_role = role_of_function(template, _function_id(template, "chat_stream.handler.handler"))
    api, stream = statements_of_role(template, api_role), statements_of_role(template, stream_role)

    assert "dynamodb:PutItem" in actions_on(api, COMMENTS)
    assert "dynamodb:Query" in actions_on(api, COMMENTS)
    assert "dynamodb:PutItem" in actions_on(api, IDEMPOTENCY)
    stats_actions = actions_on(api, STATS)
    assert "dynamodb:GetItem" in stats_actions
    assert not {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} & stats_actions

    assert "dynamodb:UpdateItem" in actions_on(stream, STATS)
    assert actions_on(stream, IDEMPOTENCY) == set()
    comments_from_stream = actions_on(stream, COMMENTS)
    assert comments_from_stream and comments_from_stream <= {
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
    }
    # No role gets the broad AWS managed execution policy; each writes only to its own log group.
    for role_id in (api_role, stream_role):
        assert "ManagedPolicyArns" not in template["Resources"][role_id]["Properties"]


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
    for function in resources_of_type(_template(synth, stage), "AWS::Lambda::Function").values():
        variables = function["Properties"]["Environment"]["Variables"]
        for name, value in variables.items():
            assert "SECRET" not in name or name.endswith("_ARN"), name
            assert not isinstance(value, dict) or "Fn::GetAtt" not in value or "SecretString" not in str(value)


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
    template = synth.template(f"{stage}/Chat")
    template.has_resource_properties(
        "AWS::ApiGateway::RequestValidator", {"ValidateRequestBody": True, "ValidateRequestParameters": True}
    )
    template.has_resource_properties(
        "AWS::ApiGateway::Model",
        {
            "ContentType": "application/json",
            "Schema": Match.object_like({"required": ["name", "comment", "position"], "additionalProperties": False}),
        },
    )
    template.has_resource_properties(
        "AWS::ApiGateway::Method",
        {"HttpMethod": "POST", "RequestValidatorId": Match.any_value(), "RequestModels": Match.any_value()},
    )


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


@pytest.mark.parametrize("stage", STAGES)
def test_every_method_routes_to_the_api_function(synth: Synthesized, stage: str) -> None:
    template = _template(synth, stage)
    api_function = _function_id(template, "chat_api.handler.handler")
    methods = [
        m["Properties"]
        for m in resources_of_type(template, "AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] != "OPTIONS"
    ]
    assert len(methods) == 4
    for method in methods:
        assert method["Integration"]["Type"] == "AWS_PROXY"
        assert api_function in str(method["Integration"]["Uri"])


@pytest.mark.parametrize(("stage", "waf"), [("sandbox", False), ("prod", True)])
def test_waf_guards_prod(synth: Synthesized, stage: str, waf: bool) -> None:
    template = synth.template(f"{stage}/Chat")
    template.resource_count_is("AWS::WAFv2::WebACL", 1 if waf else 0)
    template.resource_count_is("AWS::WAFv2::WebACLAssociation", 1 if waf else 0)
    if waf:
        template.has_resource_properties(
            "AWS::WAFv2::WebACL",
            {
                "Scope": "REGIONAL",
                "Rules": Match.array_with(
                    [
                        Match.object_like(
                            {"Statement": {"RateBasedStatement": Match.object_like({"AggregateKeyType": "IP"})}}
                        )
                    ]
                ),
            },
        )


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
    threshold = load_stage(stage).chat.alarm_5xx_threshold
    assert any(
        a["Properties"].get("MetricName") == "5XXError" and a["Properties"]["Threshold"] == threshold
        for a in alarms.values()
    )


@pytest.mark.parametrize("stage", STAGES)
def test_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use(synth: Synthesized, stage: str) -> None:
    template = synth.template(f"{stage}/Chat")
    key = Capture()
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [key, "Arn"]}})
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "EnableKeyRotation": True,
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [Match.object_like({"Principal": {"Service": "cloudwatch.amazonaws.com"}})]
                )
            },
        },
    )


@pytest.mark.parametrize("stage", STAGES)
def test_outputs_name_the_api_url(synth: Synthesized, stage: str) -> None:
    synth.template(f"{stage}/Chat").has_output("ApiUrl", {"Value": Match.any_value()})
