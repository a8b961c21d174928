"""The VPC of the web service: public, private-with-egress and isolated subnets over the stage's zones."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.common.nag import acknowledge
from stacks.common.policies import log_group
from stacks.web.config import WebConfig

VPC_CIDR = "10.0.0.0/16"  # a literal, not the VPC's attribute, so rules on it can be checked at synth
_NAT_PACKAGE_INSTALL = "yum install iptables-services -y"


def nat_instance_user_data() -> ec2.UserData:
    """CDK's NAT instance set-up with its package install retried (bounded).

    On Amazon Linux 2023 the install can race dnf's first-boot cache clean-up and fail, leaving an instance
    that forwards nothing (aws/aws-cdk#36717, still open for the pinned aws-cdk-lib). The rules are also
    written with iptables-save, which needs no `service` command, so a reboot (EC2 auto recovery) keeps NAT.
    """
    retried = (
        f"for attempt in $(seq 1 30); do {_NAT_PACKAGE_INSTALL} && break; "
        'echo "install failed (attempt $attempt), retrying in 10 s"; sleep 10; done',
        "rpm -q iptables-services || exit 1",
    )
    user_data = ec2.UserData.for_linux()
    for command in ec2.NatInstanceProviderV2.DEFAULT_USER_DATA_COMMANDS:
        user_data.add_commands(*(retried if command == _NAT_PACKAGE_INSTALL else (command,)))
    user_data.add_commands("/sbin/iptables-save > /etc/sysconfig/iptables")
    return user_data


class Network(Construct):
    """Three subnet tiers: the ALB in public, tasks in private (egress via NAT), the database isolated.

    Zones come from the stage config so synth never looks them up. Flow logs record rejected and
    accepted traffic to a log group with the stage's retention. Egress goes through one NAT gateway,
    one per zone, or (sandbox) one NAT instance: a t4g.nano costs about a tenth of a NAT gateway
    idle, at the price of a single instance that a zone outage or a reboot takes down.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: WebConfig, zones: tuple[str, ...]) -> None:
        super().__init__(scope, construct_id)
        nat_instances = (
            # Amazon Linux 2023 for the type's architecture, resolved from its public SSM parameter at deploy time.
            ec2.NatProvider.instance_v2(
                instance_type=ec2.InstanceType(config.nat_instance_type),
                default_allowed_traffic=ec2.NatTrafficDirection.OUTBOUND_ONLY,
                user_data=nat_instance_user_data(),
            )
            if config.nat == "instance"
            else None
        )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(VPC_CIDR),
            availability_zones=list(zones),
            nat_gateways=len(zones) if config.nat == "gateway_per_az" else 1,
            nat_gateway_provider=nat_instances,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(name="App", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22),
                ec2.SubnetConfiguration(name="Data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24),
            ],
            # Image layers come from S3: a free gateway endpoint keeps them off the NAT gateways.
            gateway_endpoints={"S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)},
        )
        if nat_instances:
            self._harden(nat_instances)
        self.flow_logs_group = log_group(self, "FlowLogs", retention_days=config.log_retention_days)
        role = iam.Role(self, "FlowLogsRole", assumed_by=iam.ServicePrincipal("vpc-flow-logs.amazonaws.com"))
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_logs_group, role),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )

    def _harden(self, provider: ec2.NatInstanceProviderV2) -> None:
        """Inbound only what the tasks send (HTTPS from inside the VPC), IMDSv2, an encrypted root volume."""
        provider.connections.allow_from(
            ec2.Peer.ipv4(VPC_CIDR), ec2.Port.tcp(443), "HTTPS from the VPC, forwarded to AWS APIs"
        )
        for instance in provider.gateway_instances:
            cfn = instance.node.default_child
            assert isinstance(cfn, ec2.CfnInstance)
            cfn.metadata_options = ec2.CfnInstance.MetadataOptionsProperty(http_tokens="required")
            cfn.block_device_mappings = [
                ec2.CfnInstance.BlockDeviceMappingProperty(
                    device_name="/dev/xvda", ebs=ec2.CfnInstance.EbsProperty(encrypted=True, volume_type="gp3")
                )
            ]
            acknowledge(
                instance,
                "AwsSolutions-EC28",
                "Low-cost NAT instance: basic monitoring suffices and EC2 automatic recovery handles host faults.",
            )
            acknowledge(
                instance,
                "AwsSolutions-EC29",
                "Low-cost NAT instance holds no data and a deploy replaces it; prod stages use NAT gateways.",
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
