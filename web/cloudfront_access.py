"""What lets CloudFront in: the load balancer is internal, and CloudFront reaches it through a VPC origin, whose
traffic the load balancer's security group admits from CloudFront's origin-facing prefix list.

"To allow traffic from CloudFront to reach your VPC origin, update the security group attached to your origin
resource [...] Option 1: Allow traffic from the CloudFront managed prefix list" (Restrict access with VPC origins,
CloudFront Developer Guide, https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-vpc-origins.html).
An internal load balancer has no public address, so only CloudFront's VPC origins of this account reach it
through that rule; no secret header tells distributions apart. The prefix list's id differs per region and comes
from a lookup at deploy time.
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import custom_resources as cr
from constructs import Construct

from quality.declare import acknowledge
from shared.custom_resources import acknowledge_aws_custom_resource_function
from shared.policies import log_group

ORIGIN_FACING_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"
# Amazon VPC User Guide, "AWS-managed prefix list weight": this list counts as 55 rules against the default
# quota of 60 rules per direction per security group, so one rule referencing it is all a group can hold
# beside 5 others.
PREFIX_LIST_WEIGHT = 55
SECURITY_GROUP_RULE_QUOTA = 60


class CloudFrontAccess(Construct):
    """The id of CloudFront's origin-facing prefix list, looked up at deploy time."""

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

    @property
    def peer(self) -> ec2.IPeer:
        return ec2.Peer.prefix_list(self.prefix_list_id)
