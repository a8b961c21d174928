"""The optional PowerTuning stack (make power-tune): the pinned SAR application, its parameters, and the one
function of the stage it may invoke and reconfigure. Read from the variants app's sandbox stage, built with
power_tuning on as `cdk synth -c power_tuning=true` builds it; the shipped stages have no such stack."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bench.tune import SIZES
from stage.builder import POWER_TUNING_ID
from tests.support.synth import Synthesized, resources_of_type
from tests.support.variants import variant_config
from tools.power_tune import POWER_VALUES
from tools.power_tune.stack import APPLICATION_ID, SEMANTIC_VERSION, TUNABLE_STACKS

KEY = f"sandbox/{POWER_TUNING_ID}"


@pytest.fixture(scope="module")
def template(variants: Synthesized) -> dict[str, Any]:
    return variants.templates[KEY]


def _application(template: dict[str, Any]) -> dict[str, Any]:
    (application,) = resources_of_type(template, "AWS::Serverless::Application").values()
    return application["Properties"]  # type: ignore[no-any-return]


def _pattern(template: dict[str, Any]) -> re.Pattern[str]:
    return re.compile(template["Parameters"]["TunedFunctionArn"]["AllowedPattern"])


def test_the_shipped_stages_have_no_power_tuning_stack(synth: Synthesized) -> None:
    assert not [key for key in synth.templates if key.endswith(f"/{POWER_TUNING_ID}")]


def test_it_is_the_pinned_release_of_the_projects_sar_application(template: dict[str, Any]) -> None:
    assert _application(template)["Location"] == {"ApplicationId": APPLICATION_ID, "SemanticVersion": SEMANTIC_VERSION}
    assert re.fullmatch(r"\d+\.\d+\.\d+", SEMANTIC_VERSION)  # a release, never "latest"
    assert "AWS::Serverless-2016-10-31" in template["Transform"]
    # Nothing else: no function, role or policy of our own beside the application.
    assert {r["Type"] for r in template["Resources"].values()} <= {"AWS::Serverless::Application", "AWS::CDK::Metadata"}


def test_it_may_touch_only_the_function_passed_in(template: dict[str, Any]) -> None:
    """lambdaResource is the Resource of every Lambda permission the application's functions get: the
    tuned function's ARN and its qualifiers (versions and aliases the tool publishes), never '*'."""
    parameters = _application(template)["Parameters"]
    assert parameters["lambdaResource"] == {"Fn::Join": ["", [{"Ref": "TunedFunctionArn"}, "*"]]}
    assert template["Parameters"]["TunedFunctionArn"]["Type"] == "String"
    assert "Default" not in template["Parameters"]["TunedFunctionArn"]  # no deploy without naming the function


@pytest.mark.parametrize(
    ("arn", "admitted"),
    [
        ("arn:aws:lambda:eu-west-1:123456789012:function:sandbox-Chat-CommentsHandlerFunctionD9A5-AbC123", True),
        ("arn:aws:lambda:eu-west-1:123456789012:function:sandbox-Edge-PublisherFetchAndStoreFunc-XyZ9", True),
        ("*", False),
        ("arn:aws:lambda:eu-west-1:123456789012:function:*", False),
        ("arn:aws:lambda:eu-west-1:123456789012:function:sandbox-*", False),
        ("arn:aws:lambda:eu-west-1:123456789012:function:prod-Chat-CommentsHandlerFunctionD9A5-AbC123", False),
        ("arn:aws:lambda:eu-west-1:123456789012:function:sandbox-Web-DatabaseAppRoleFunction-AbC123", False),
        ("arn:aws:lambda:us-east-1:123456789012:function:sandbox-Chat-CommentsHandlerFunctionD9A5-AbC123", False),
        ("arn:aws:lambda:eu-west-1:123456789012:function:sandbox-Chat-CommentsHandlerFunctionD9A5-AbC123:1", False),
        ("arn:aws:lambda:eu-west-1:123456789012:function:sandbox-Chat-Comments-AbC123:live", False),
    ],
)
def test_the_function_parameter_pattern(template: dict[str, Any], arn: str, admitted: bool) -> None:
    """No wildcard, no version or alias, no other stage's, stack's or region's function: CloudFormation refuses
    the deploy before the application exists."""
    assert bool(_pattern(template).fullmatch(arn)) is admitted


def test_the_sizes_are_make_tunes_and_the_timeout_its_maximum(template: dict[str, Any]) -> None:
    parameters = _application(template)["Parameters"]
    assert POWER_VALUES == SIZES
    assert parameters["PowerValues"] == ",".join(str(size) for size in SIZES)
    assert parameters["totalExecutionTimeout"] == "900"
    assert int(parameters["logGroupRetentionInDays"]) in (1, 3, 5, 7, 14, 30)


def test_its_outputs_are_what_make_power_tune_reads(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    (application_id,) = resources_of_type(template, "AWS::Serverless::Application")
    assert outputs["StateMachineArn"]["Value"] == {"Fn::GetAtt": [application_id, "Outputs.StateMachineARN"]}
    assert outputs["TunedFunctionArnOutput"]["Value"] == {"Ref": "TunedFunctionArn"}


def test_it_deploys_to_the_stage_region_where_the_tunable_functions_are(variants: Synthesized) -> None:
    config = variant_config("sandbox")
    assert variants.regions[KEY] == config.region
    for stack in TUNABLE_STACKS:
        assert variants.regions[f"sandbox/{stack}"] == config.region
