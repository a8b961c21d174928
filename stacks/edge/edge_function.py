"""The origin-request Lambda@Edge function, deployed in us-east-1 and referenced by numbered version."""

from __future__ import annotations

from typing import cast

from aws_cdk import Aws, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.common.nag import acknowledge
from stacks.common.policies import log_group
from stacks.common.python_function import bundle_code
from stacks.edge.config import EdgeConfig

EDGE_REGION = "us-east-1"
HANDLER = "edge_cache.origin_request.handler"
# Lambda@Edge supports x86_64 only, and no layers: the handler uses the standard library only.
RUNTIME = lambda_.Runtime.PYTHON_3_13


class OriginRequestFunction(Construct):
    """An EdgeFunction whose function, role and us-east-1 log groups live in `function_stack`.

    The function decides where a page request goes (lambda/edge_cache origin_request.py) and reads nothing:
    its role may write its logs, nothing else.

    `function_stack` is the stage's us-east-1 stack; EdgeFunction finds it by id and places the function
    there, then hands this stack the numbered version's ARN through an SSM parameter read at deploy time.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EdgeConfig,
        function_stack: Stack,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            function_stack,
            "OriginRequestRole",
            assumed_by=iam.CompositePrincipal(
                iam.ServicePrincipal("lambda.amazonaws.com"), iam.ServicePrincipal("edgelambda.amazonaws.com")
            ),
            description="Lambda@Edge origin-request function of the edge cache",
        )
        # Replicas log in every region they run in, to log groups named after the function.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"arn:{Aws.PARTITION}:logs:*:{Aws.ACCOUNT_ID}:log-group:/aws/lambda/us-east-1.*"],
            )
        )
        self.function = cloudfront.experimental.EdgeFunction(
            self,
            "OriginRequest",
            stack_id=function_stack.node.id,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.X86_64,
            handler=HANDLER,
            code=bundle_code("edge_cache"),
            role=self.role,
            memory_size=config.edge_memory_mb,
            timeout=Duration.seconds(config.edge_timeout_s),
            description="Edge cache: send what S3 can serve to the bucket, the rest to the web origin",
        )
        acknowledge(
            self.function.lambda_,
            "AwsSolutions-L1",
            f"Pinned to {RUNTIME.name}, the interpreter the handler tests run on; upgrade both together.",
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:*:<AWS::AccountId>:log-group:/aws/lambda/us-east-1.*]",
            "Edge replicas write to log groups named /aws/lambda/us-east-1.<function> in whichever regions run them "
            "(the Origin Shield region when it is on); the function name is generated, so the groups are matched "
            "by that prefix.",
        )
        fn = self.function.lambda_
        # CloudFormation cannot delete a Lambda@Edge function or version while CloudFront still holds
        # replicas of it, which it removes only hours after the distribution lets go. Retained, the stack
        # deletes cleanly; `make destroy` (tools/cdk_stage) deletes the function once CloudFront has let go.
        function = cast(lambda_.Function, fn)  # what EdgeFunction builds in the us-east-1 stack
        for replicated in (function, function.current_version):
            replicated.apply_removal_policy(RemovalPolicy.RETAIN)
        acknowledge(
            fn,
            "DeployReadiness-DisposableStageLeftover[EdgeReplicas]",
            "CloudFront deletes Lambda@Edge replicas hours after the distribution lets go; the stack retains the "
            "function and its versions, and make destroy (or make destroy-edge-functions later) deletes them.",
        )
        # Log groups in the regions we can name. us-east-1: the function's own group (managed by the
        # library, given our retention) and its replica group; the stage region's replica group is below.
        managed = fn.node.find_child("LogGroup")
        managed.node.default_child.add_property_override(  # type: ignore[union-attr]
            "RetentionInDays", config.log_retention_days
        )
        managed.apply_removal_policy(RemovalPolicy.DESTROY)  # type: ignore[attr-defined]
        log_group(
            function_stack,
            "OriginRequestReplicaLogs",
            retention_days=config.log_retention_days,
            log_group_name=f"/aws/lambda/us-east-1.{fn.function_name}",
        )
        # The name comes from the version ARN that EdgeFunction reads at deploy time (arn:...:function:NAME:N).
        function_name = Fn.select(6, Fn.split(":", self.function.edge_arn))
        self.regional_logs = log_group(
            self,
            "RegionalLogs",
            retention_days=config.log_retention_days,
            log_group_name=f"/aws/lambda/us-east-1.{function_name}",
        )
