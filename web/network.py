"""The VPC of the web service: public, private-with-egress and isolated subnets over the stage's zones."""

from __future__ import annotations

from aws_cdk import CfnResource, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from quality.declare import acknowledge
from shared.policies import log_group
from web.config import WebConfig

VPC_CIDR = "10.0.0.0/16"  # a literal, not the VPC's attribute, so rules on it can be checked at synth
# The NAT set-up, written here rather than CDK's NatInstanceProviderV2 default (aws-cdk-lib 2.275), which on
# Amazon Linux 2023 can lose its package install to a dnf race at first boot (aws/aws-cdk#36717), finds the
# interface with `route` (net-tools) and saves the rules with `service` (initscripts). Any failure exits
# non-zero so cloud-init logs it instead of leaving an instance that silently forwards nothing.
NAT_INSTANCE_SETUP = (
    "for attempt in $(seq 1 30); do dnf install -y iptables-services && break; "
    'echo "install failed (attempt $attempt), retrying in 10 s"; sleep 10; done',
    "rpm -q iptables-services || exit 1",
    "systemctl enable --now iptables",
    'echo "net.ipv4.ip_forward=1" > /etc/sysctl.d/90-nat.conf',
    "sysctl -p /etc/sysctl.d/90-nat.conf",
    "IFACE=$(ip route show default | awk '{print $5; exit}')",
    '[ -n "$IFACE" ] || exit 1',
    'iptables -t nat -A POSTROUTING -o "$IFACE" -j MASQUERADE',
    "iptables -F FORWARD",
    "iptables-save > /etc/sysconfig/iptables",  # restored by iptables.service after a reboot
)


class Network(Construct):
    """Three subnet tiers: NAT in public, the internal ALB and the tasks in private (egress via NAT), the database
    isolated.

    Zones come from the stage config so synth never looks them up. Flow logs record rejected and
    accepted traffic to a log group with the stage's retention. Egress goes through one NAT gateway,
    one per zone, or (sandbox) one NAT instance: a t4g.micro costs less than a third of a NAT gateway
    idle, at the price of a single instance that a zone outage or a reboot takes down.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: WebConfig, zones: tuple[str, ...], retain: bool = False
    ) -> None:
        super().__init__(scope, construct_id)
        nat_instances = (
            # Amazon Linux 2023 for the type's architecture, resolved from its public SSM parameter at deploy time.
            ec2.NatProvider.instance_v2(
                instance_type=ec2.InstanceType(config.nat_instance_type),
                default_allowed_traffic=ec2.NatTrafficDirection.NONE,  # rules added in _harden
                user_data=ec2.UserData.custom("#!/bin/bash\n" + "\n".join(NAT_INSTANCE_SETUP)),
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
        acknowledge(
            self.vpc,
            "CloudFormation-Validate::W3010",
            "Each stage pins its availability zones in stage/config.py, so synth never looks them up.",
        )
        if nat_instances:
            self._harden(nat_instances)
        if retain:
            self._retain_what_retained_resources_use()
        self.flow_logs_group = log_group(self, "FlowLogs", retention_days=config.log_retention_days)
        role = iam.Role(self, "FlowLogsRole", assumed_by=iam.ServicePrincipal("vpc-flow-logs.amazonaws.com"))
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_logs_group, role),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )

    def _retain_what_retained_resources_use(self) -> None:
        """A retained database and load balancer keep their network interfaces in the isolated and private
        subnets, so deleting those fails: they stay too, with the VPC and its internet gateway (which VPC origins
        require: "The internet gateway is required to denote that the VPC can receive traffic from the internet",
        Restrict access with VPC origins). The public subnets hold the NAT gateways' addresses only, and go."""
        kept = [self.vpc.node.default_child, self.vpc.node.find_child("IGW"), self.vpc.node.find_child("VPCGW")]
        kept += [subnet.node.default_child for subnet in [*self.vpc.private_subnets, *self.vpc.isolated_subnets]]
        for resource in kept:
            assert isinstance(resource, CfnResource)
            resource.apply_removal_policy(RemovalPolicy.RETAIN)

    def _harden(self, provider: ec2.NatInstanceProviderV2) -> None:
        """Only what the tasks send (HTTPS from inside the VPC, out to anywhere), IMDSv2, an encrypted root."""
        provider.connections.allow_from(
            ec2.Peer.ipv4(VPC_CIDR), ec2.Port.tcp(443), "HTTPS from the VPC, forwarded to AWS APIs"
        )
        # Also the instance's own package install (HTTPS); DNS and NTP go to link-local addresses no group filters.
        provider.connections.allow_to(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS out, as the tasks send")
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
