"""Only CloudFront reaches the load balancer: CloudFront's origin-facing prefix list in its security group,
and a secret header that this app's distribution adds and the listener requires.

The prefix list admits every CloudFront distribution, anyone's; the header tells ours apart. Both come from
AWS at deploy time: the prefix list's id (it differs per region) from a lookup, the header value from Secrets
Manager through a dynamic reference, so no template holds it.
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import custom_resources as cr
from constructs import Construct

from stacks.common.custom_resources import acknowledge_aws_custom_resource_function
from stacks.common.nag import acknowledge
from stacks.common.policies import log_group
from stacks.common.secrets import generated_key

ORIGIN_FACING_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"
# Amazon VPC User Guide, "AWS-managed prefix list weight": this list counts as 55 rules against the default
# quota of 60 rules per direction per security group, so one rule referencing it is all a group can hold
# beside 5 others.
PREFIX_LIST_WEIGHT = 55
SECURITY_GROUP_RULE_QUOTA = 60
VERIFY_HEADER = "x-origin-verify"
# ALB header conditions match case-insensitively and treat * and ? as wildcards: letters and digits only.
SECRET_LENGTH = 48


class CloudFrontAccess(Construct):
    """The prefix list id (looked up at deploy time) and the origin secret the listener checks."""

    def __init__(self, scope: Construct, construct_id: str, *, log_retention_days: int) -> None:
        super().__init__(scope, construct_id)
        call = cr.AwsSdkCall(
            service="EC2",
            action="describeManagedPrefixLists",
            parameters={"Filters": [{"Name": "prefix-list-name", "Values": [ORIGIN_FACING_PREFIX_LIST]}]},
            physical_resource_id=cr.PhysicalResourceId.of(ORIGIN_FACING_PREFIX_LIST),
            output_paths=["PrefixLists.0.PrefixListId"],
        )
        self._lookup = cr.AwsCustomResource(
            self,
            "PrefixList",
            on_create=call,
            on_update=call,
            # DescribeManagedPrefixLists supports no resource-level permissions.
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE),
            install_latest_aws_sdk=False,
            log_group=log_group(self, "LookupLogs", retention_days=log_retention_days),
        )
        self.prefix_list_id = self._lookup.get_response_field("PrefixLists.0.PrefixListId")
        acknowledge(
            self._lookup,
            "AwsSolutions-IAM5[Resource::*]",
            "ec2:DescribeManagedPrefixLists supports no resource-level permissions; it is the only action granted.",
        )
        acknowledge_aws_custom_resource_function(self)
        self.secret = generated_key(
            self,
            "Secret",
            description="Value of the x-origin-verify header CloudFront sends and the load balancer requires",
            length=SECRET_LENGTH,
            unrotated_because="Rotated by the edge stack (it owns the distribution whose header must change with "
            "it); the sandbox stage does not rotate it.",
        )

    @property
    def peer(self) -> ec2.IPeer:
        return ec2.Peer.prefix_list(self.prefix_list_id)

    @property
    def header_value(self) -> str:
        """`{{resolve:secretsmanager:...}}`: CloudFormation fills in the value at deploy time."""
        return self.secret.secret_value.unsafe_unwrap()

    def condition(self) -> elbv2.ListenerCondition:
        return elbv2.ListenerCondition.http_header(VERIFY_HEADER, [self.header_value])
