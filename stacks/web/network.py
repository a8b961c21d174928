"""The VPC of the web service: public, private-with-egress and isolated subnets over the stage's zones."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.common.policies import log_group
from stacks.web.config import WebConfig


class Network(Construct):
    """Three subnet tiers: the ALB in public, tasks in private (egress via NAT), the database isolated.

    Zones come from the stage config so synth never looks them up. Flow logs record rejected and
    accepted traffic to a log group with the stage's retention.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: WebConfig, zones: tuple[str, ...]) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr("10.0.0.0/16"),
            availability_zones=list(zones),
            nat_gateways=1 if config.nat_gateways == "one" else len(zones),
            subnet_configuration=[
                ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(name="App", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22),
                ec2.SubnetConfiguration(name="Data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24),
            ],
            # Image layers come from S3: a free gateway endpoint keeps them off the NAT gateways.
            gateway_endpoints={"S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)},
        )
        self.flow_logs_group = log_group(self, "FlowLogs", retention_days=config.log_retention_days)
        role = iam.Role(self, "FlowLogsRole", assumed_by=iam.ServicePrincipal("vpc-flow-logs.amazonaws.com"))
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_logs_group, role),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )

    @property
    def public(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)

    @property
    def private(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)

    @property
    def isolated(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
