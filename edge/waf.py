"""The distribution's web ACL: CLOUDFRONT scope, so it must live in us-east-1.

It is built in the stage's us-east-1 stack and its ARN handed to the edge stack through an SSM parameter read
at deploy time, as EdgeFunction hands over its version: no cross-region export, nothing looked up at synth.
"""

from __future__ import annotations

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm
from aws_cdk import custom_resources as cr
from constructs import Construct

from edge.config import EDGE_REGION, EdgeConfig
from shared.custom_resources import acknowledge_aws_custom_resource_function
from shared.policies import log_group
from shared.waf import managed_rules_web_acl


class EdgeWebAcl(Construct):
    """AWS managed rule groups plus a per-IP rate limit (`edge.waf_rate_limit_per_5min`)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EdgeConfig, acl_stack: Stack) -> None:
        super().__init__(scope, construct_id)
        if acl_stack.region != EDGE_REGION:
            raise ValueError(f"a CLOUDFRONT web ACL is created in {EDGE_REGION}, not {acl_stack.region}")
        self.acl = managed_rules_web_acl(
            acl_stack,
            "WebAcl",
            acl_scope="CLOUDFRONT",
            metric_name="edge-cache",
            rate_limit_per_5min=config.waf_rate_limit_per_5min,
        )
        # A name both stacks know at synth; the stack name makes it unique per stage.
        name = f"/{acl_stack.stack_name}/web-acl-arn"
        ssm.StringParameter(acl_stack, "WebAclArn", parameter_name=name, string_value=self.acl.attr_arn)
        read = cr.AwsSdkCall(
            service="SSM",
            action="getParameter",
            parameters={"Name": name},
            region=EDGE_REGION,
            physical_resource_id=cr.PhysicalResourceId.of(name),
        )
        reader = cr.AwsCustomResource(
            self,
            "ArnReader",
            on_create=read,
            on_update=read,
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        actions=["ssm:GetParameter"],
                        resources=[
                            Stack.of(self).format_arn(
                                service="ssm", region=EDGE_REGION, resource="parameter", resource_name=name[1:]
                            )
                        ],
                    )
                ]
            ),
            install_latest_aws_sdk=False,
            log_group=log_group(self, "ArnReaderLogs", retention_days=config.log_retention_days),
        )
        reader.node.add_dependency(acl_stack)
        # The read runs again when the ACL would be replaced (a new logical id, hence a new ARN), as
        # EdgeFunction's reader does for a new version: unchanged properties would keep the old ARN.
        resource = reader.node.find_child("Resource").node.default_child
        assert isinstance(resource, CfnResource)
        resource.add_property_override("RefreshToken", acl_stack.get_logical_id(self.acl))
        acknowledge_aws_custom_resource_function(self)
        self.arn = reader.get_response_field("Parameter.Value")
