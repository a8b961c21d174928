"""The optional PowerTuning stack: AWS Lambda Power Tuning, from the Serverless Application Repository, for one
function of the stage at a time (`make power-tune`, tools/power_tune).

Built only when asked (`-c power_tuning=true`). The application is the project's own SAR release, pinned:
"You can find this app in the Serverless Application Repository ... You can also integrate the SAR app in your
existing CloudFormation stacks" (README-DEPLOY.md, https://github.com/alexcasalboni/aws-lambda-power-tuning).
Its `lambdaResource` parameter is "the `Resource` used in IAM policies; it's `*` by default but you could
restrict it to a prefix or a specific function ARN" (README-INPUT-OUTPUT.md): here it is the one function
being tuned, its ARN as a deploy-time parameter that admits only an unqualified function of this stage's own
stacks, followed by `*` for the versions and aliases the tool publishes on it. What it leaves broad: the
application's state machine role has the AWS managed policy AWSLambdaRole (invoke any function), which no
parameter narrows; its definition invokes only the application's own functions (docs/benchmarks.md).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, CfnParameter, Fn, Stack
from aws_cdk import aws_sam as sam
from constructs import Construct

from stage.config_base import StageFacts
from tools.power_tune import POWER_VALUES

APPLICATION_ID = "arn:aws:serverlessrepo:us-east-1:451282441545:applications/aws-lambda-power-tuning"
# CHANGELOG.md (SAR versioning): "4.4.0 (2025-11-19): upgrade Lambda runtime to Nodejs22.x".
SEMANTIC_VERSION = "4.4.0"
TOTAL_EXECUTION_TIMEOUT_S = 900  # the application's maximum: num x the slowest size's duration must fit in it
LOG_RETENTION_DAYS = 7
# The stacks whose functions may be tuned: those in the stage region (the us-east-1 stack runs no function).
TUNABLE_STACKS = ("Chat", "Edge")


def function_arn_pattern(stage: StageFacts) -> str:
    """The ARNs the TunedFunctionArn parameter admits: an unqualified function of this stage's stacks in its region
    (CloudFormation names a function `<stack name>-<logical id>-<suffix>`; the stage's stack names are
    `<stage>-<stack id>`). No wildcard, no alias or version, no other stage's function."""
    stacks = "|".join(TUNABLE_STACKS)
    return rf"^arn:aws[a-z-]*:lambda:{stage.region}:[0-9]{{12}}:function:{stage.name}-({stacks})-[A-Za-z0-9_-]+$"


class PowerTuningStack(Stack):
    """The Power Tuning state machine, allowed to invoke and reconfigure exactly one function of the stage."""

    def __init__(self, scope: Construct, construct_id: str, *, facts: StageFacts, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        tuned = CfnParameter(
            self,
            "TunedFunctionArn",
            type="String",
            description="ARN of the one function of this stage the state machine may invoke and reconfigure "
            "(make power-tune FUNCTION=... passes it)",
            allowed_pattern=function_arn_pattern(facts),
            constraint_description=f"an unqualified function ARN of {facts.name}'s {', '.join(TUNABLE_STACKS)} stacks",
        )
        application = sam.CfnApplication(
            self,
            "PowerTuning",
            location=sam.CfnApplication.ApplicationLocationProperty(
                application_id=APPLICATION_ID, semantic_version=SEMANTIC_VERSION
            ),
            parameters={
                "lambdaResource": Fn.join("", [tuned.value_as_string, "*"]),
                "PowerValues": ",".join(str(v) for v in POWER_VALUES),
                "totalExecutionTimeout": str(TOTAL_EXECUTION_TIMEOUT_S),
                "logGroupRetentionInDays": str(LOG_RETENTION_DAYS),
            },
        )
        CfnOutput(self, "StateMachineArn", value=application.get_att("Outputs.StateMachineARN").to_string())
        CfnOutput(self, "TunedFunctionArnOutput", value=tuned.value_as_string)
