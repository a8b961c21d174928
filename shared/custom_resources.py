"""aws-cdk-lib's AwsCustomResource: one function per stack behind every instance, acknowledged once."""

from __future__ import annotations

from aws_cdk import Stack
from constructs import IConstruct

from quality.declare import acknowledge

# aws-cdk-lib's construct id for the one function behind every AwsCustomResource of a stack.
SINGLETON_ID = "AWS679f53fac002430cb0da5b7982bd2287"


def acknowledge_aws_custom_resource_function(scope: IConstruct) -> None:
    """Call after creating an AwsCustomResource in `scope`'s stack."""
    acknowledge(
        Stack.of(scope).node.find_child(SINGLETON_ID),
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        "aws-cdk-lib's AwsCustomResource function writes only its own logs with the basic execution policy.",
    )
