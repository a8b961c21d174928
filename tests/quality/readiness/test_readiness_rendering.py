"""Rendering rules: each flags a template that renders invalid JSON for some message and passes one that cannot."""

from __future__ import annotations

import json

from aws_cdk import App, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_logs as logs

from quality.readiness.rendering import SAMPLE_MESSAGES, substitute
from tests.support.readiness import Findings, findings_fixture, stage_stack

STACK = "prod/Render"


def _api(stack: Stack, name: str, *, error_template: str, mapping: str, log_format: str) -> None:
    api = apigw.RestApi(
        stack,
        name,
        cloud_watch_role=False,
        deploy_options=apigw.StageOptions(
            access_log_destination=apigw.LogGroupLogDestination(logs.LogGroup(stack, f"{name}Logs")),
            access_log_format=apigw.AccessLogFormat.custom(log_format),
        ),
    )
    api.add_gateway_response(
        "Errors", type=apigw.ResponseType.DEFAULT_4_XX, templates={"application/json": error_template}
    )
    integration = apigw.MockIntegration(
        integration_responses=[
            apigw.IntegrationResponse(
                status_code="500", selection_pattern=".+", response_templates={"application/json": mapping}
            )
        ]
    )
    api.root.add_method("GET", integration, method_responses=[apigw.MethodResponse(status_code="500")])


def _build(app: object) -> None:
    assert isinstance(app, App)
    stack = stage_stack(app, "prod", "Render")
    _api(
        stack,
        "Broken",
        error_template='{"message": "$context.error.messageString"}',  # quotes an already quoted string
        mapping='{"error": "$util.escapeJavaScript($input.path(\'$.errorMessage\'))"}',  # escapes ' as \\'
        log_format='{"id": "$context.requestId", "error": "$context.error.message"}',  # raw message in quotes
    )
    _api(
        stack,
        "Sound",
        error_template='{"message": $context.error.messageString, "type": "$context.error.responseType"}',
        mapping="""#set($body = $input.path('$'))
{"error": $input.json('$.errorMessage'), "kind": "$body.errorType"}""",
        log_format='{"id": "$context.requestId", "error": $context.error.messageString}',
    )


findings = findings_fixture(_build)


def test_a_gateway_response_that_quotes_message_string_is_flagged(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/Broken", "TemplatesRenderValidJson") == {"DEFAULT_4XX:application/json"}
    assert findings.rule_of(f"{STACK}/Sound", "TemplatesRenderValidJson") == set()


def test_a_mapping_template_that_embeds_a_raw_or_js_escaped_message_is_flagged(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/Broken", "MappingTemplatesRenderValidJson") == {"500:application/json"}
    assert findings.rule_of(f"{STACK}/Sound", "MappingTemplatesRenderValidJson") == set()


def test_a_json_access_log_format_with_a_raw_message_in_quotes_is_flagged(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/Broken", "AccessLogFormatRendersValidJson") == {"AccessLog:application/json"}
    assert findings.rule_of(f"{STACK}/Sound", "AccessLogFormatRendersValidJson") == set()


def test_substitution_fills_both_variable_forms_and_quotes_message_string() -> None:
    for message in SAMPLE_MESSAGES:
        rendered = substitute('{"m": $context.error.messageString, "raw": "${context.error.message}"}', message)
        assert rendered.startswith('{"m": ' + json.dumps(message))
        assert rendered.endswith(f'"raw": "{message}"}}')
