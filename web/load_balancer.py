"""The internal ALB: listener, target groups (service, blue/green alternate, legacy fleet) and access logs."""

from __future__ import annotations

from aws_cdk import CfnResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_elasticloadbalancingv2_targets as targets
from aws_cdk import aws_s3 as s3
from constructs import Construct

from quality.declare import acknowledge, skip_check
from shared.origin import revision_of
from stage.config_base import StageFacts
from web.cloudfront_access import CloudFrontAccess
from web.config import WebConfig
from web.network import Network

# What CloudFormation cannot update on a load balancer (its create-only properties): changing one replaces it.
CREATE_ONLY = ("name", "type", "scheme")


class AccessLogBucket(Construct):
    """Encrypted (SSE-S3: ALB access logs support no other), TLS-only, private, expiring bucket.

    Kept when its stack is deleted, in every stage: ELB delivers logs late and best effort, so a bucket
    emptied at delete time fills again and its delete fails (BucketNotEmpty). Its lifecycle rule empties it.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: WebConfig) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(config.access_log_retention_days))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.bucket,
            "AwsSolutions-S1",
            "This bucket is the access log destination; logging its own access would log forever into itself.",
        )
        acknowledge(
            self.bucket,
            "DeployReadiness-DisposableStageLeftover[Retained]",
            f"Load balancer logs keep arriving after the stack is gone; the bucket expires them after "
            f"{config.access_log_retention_days} days and can then be removed (aws s3 rb).",
        )
        skip_check(self.bucket, "CKV_AWS_18", "The access log destination; logging its own access would loop.")
        skip_check(
            self.bucket, "CKV_AWS_21", "Delivered logs are written once and expire; versions would only keep them."
        )


def _health_check(config: WebConfig, path: str) -> elbv2.HealthCheck:
    grpc = config.protocol == "grpc"
    return elbv2.HealthCheck(
        path=path,
        healthy_grpc_codes="0" if grpc else None,  # grpc.health.v1 answers OK (0) when serving
        healthy_http_codes=None if grpc else "200",
        interval=Duration.seconds(15),
        timeout=Duration.seconds(5),
        healthy_threshold_count=2,
        unhealthy_threshold_count=3,
    )


class LoadBalancer(Construct):
    """An internal ALB in the private subnets, reached by CloudFront through a VPC origin, forwarding to its target
    groups.

    Its security group admits one port (80, or 443 with a certificate) from CloudFront's origin-facing prefix list
    (the VPC origin's traffic) and from `fetchers` (the functions that fetch pages inside the VPC), and sends
    nothing anywhere except what the targets add (the service's port; the legacy fleet's port). It has no public
    address, so nothing on the internet reaches it, and no header secret is needed to tell distributions apart.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: WebConfig,
        facts: StageFacts,
        network: Network,
        access: CloudFrontAccess,
    ) -> None:
        super().__init__(scope, construct_id)
        vpc = network.vpc
        # One port only: the prefix list weighs 55 of the group's 60 rules (cloudfront_access.py).
        self.port = 443 if config.https else 80
        self._build_security_groups(vpc, access)
        self.alb = elbv2.ApplicationLoadBalancer(
            self,
            "Alb",
            vpc=vpc,
            internet_facing=False,  # CloudFront's VPC origin reaches it inside the VPC
            vpc_subnets=network.private,
            security_group=self.security_group,
            drop_invalid_header_fields=True,
            deletion_protection=facts.deletion_protection,
        )
        if facts.deletion_protection:
            # CloudFormation cannot delete a protected load balancer, so the stack lets go of it (and of its
            # security group, which the load balancer keeps using) instead of ending in DELETE_FAILED.
            self.alb.apply_removal_policy(RemovalPolicy.RETAIN)
            self.security_group.apply_removal_policy(RemovalPolicy.RETAIN)
        self.access_logs = AccessLogBucket(self, "AccessLogs", config=config)
        self.alb.log_access_logs(self.access_logs.bucket, "alb")

        # Target groups: the service's (blue), its green twin for blue/green, the old fleet's.
        self.target_group = self._service_target_group("Service", config, vpc)
        self.green_target_group = (
            self._service_target_group("Green", config, vpc) if config.deployment_strategy == "blue_green" else None
        )
        self.legacy_target_group = self._legacy_target_group(config, vpc) if config.has_legacy else None
        self.listener = self._build_listener(config)
        # The one rule that serves (every path). Under blue/green ECS shifts traffic between the two groups by
        # rewriting this rule's weights, which it cannot do on a listener's default action.
        self.origin_rule = elbv2.ApplicationListenerRule(
            self,
            "FromCloudFront",
            listener=self.listener,
            priority=1,
            conditions=[elbv2.ListenerCondition.path_patterns(["/*"])],
            action=self._forward(config),
        )
        self.production_rule = self.origin_rule if self.green_target_group is not None else None

    def _build_security_groups(self, vpc: ec2.IVpc, access: CloudFrontAccess) -> None:
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="ALB: from CloudFront and the page fetchers only",
            allow_all_outbound=False,
        )
        self.security_group.add_ingress_rule(
            access.peer, ec2.Port.tcp(self.port), "From CloudFront's VPC origin (origin-facing servers)"
        )
        self.fetchers = ec2.SecurityGroup(
            self,
            "Fetchers",
            vpc=vpc,
            description="Functions that fetch pages from the ALB inside the VPC (the edge cache publisher)",
            allow_all_outbound=False,
        )
        self.security_group.connections.allow_from(self.fetchers, ec2.Port.tcp(self.port), "Page fetches")
        # What a fetcher also calls: AWS APIs over HTTPS (S3 through the gateway endpoint, the rest through NAT).
        self.fetchers.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to AWS APIs")

    def _build_listener(self, config: WebConfig) -> elbv2.ApplicationListener:
        # No HTTP-to-HTTPS redirect listener: CloudFront's VPC origin and the fetchers use the one port there is.
        forbidden = elbv2.ListenerAction.fixed_response(403, content_type="text/plain", message_body="Forbidden")
        if config.https:
            assert config.certificate_arn is not None
            return self.alb.add_listener(
                "Https",
                port=443,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=[elbv2.ListenerCertificate.from_arn(config.certificate_arn)],
                ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
                open=False,
                default_action=forbidden,
            )
        listener = self.alb.add_listener("Http", port=80, open=False, default_action=forbidden)
        reason = (
            "HTTP without a certificate (web.https=false): the load balancer is internal, reached only by CloudFront's "
            "VPC origin and the publisher inside the VPC; set web.https, web.certificate_arn and "
            "web.origin_domain_name to encrypt those legs too."
        )
        skip_check(listener, "CKV_AWS_2", reason)
        skip_check(listener, "CKV_AWS_103", "An HTTP listener has no TLS policy; see CKV_AWS_2 on it.")
        return listener

    @property
    def revision(self) -> str:
        """Changes whenever CloudFormation would replace the load balancer (and so change its DNS name): a new
        logical id, or a new value of a property it cannot update (Name, Type, Scheme). Also when the origin
        rule's ARN changes: a new logical id of the rule or of its listener (each is replaced with its parent)."""
        cfn = self.alb.node.default_child
        assert isinstance(cfn, elbv2.CfnLoadBalancer)
        stack = Stack.of(self)
        resources = [cfn, self.listener.node.default_child, self.origin_rule.node.default_child]
        return revision_of(
            *(stack.resolve(r.logical_id) for r in resources if isinstance(r, CfnResource)),
            *(stack.resolve(getattr(cfn, name)) for name in CREATE_ONLY),
        )

    def _forward(self, config: WebConfig) -> elbv2.ListenerAction:
        if self.green_target_group is not None:
            return elbv2.ListenerAction.weighted_forward(
                [
                    elbv2.WeightedTargetGroup(target_group=self.target_group, weight=1),
                    elbv2.WeightedTargetGroup(target_group=self.green_target_group, weight=0),
                ]
            )
        if self.legacy_target_group is None:
            return elbv2.ListenerAction.forward([self.target_group])
        return elbv2.ListenerAction.weighted_forward(
            [
                elbv2.WeightedTargetGroup(target_group=self.target_group, weight=config.service_weight),
                elbv2.WeightedTargetGroup(target_group=self.legacy_target_group, weight=config.legacy_weight),
            ]
        )

    def _service_target_group(
        self, construct_id: str, config: WebConfig, vpc: ec2.IVpc
    ) -> elbv2.ApplicationTargetGroup:
        return elbv2.ApplicationTargetGroup(
            self,
            construct_id,
            vpc=vpc,
            target_type=elbv2.TargetType.IP,
            port=config.container_port,
            protocol=elbv2.ApplicationProtocol.HTTP,
            protocol_version=_protocol_version(config),
            health_check=_health_check(config, config.health_path),
            deregistration_delay=Duration.seconds(config.deregistration_delay_s),
        )

    def _legacy_target_group(self, config: WebConfig, vpc: ec2.IVpc) -> elbv2.ApplicationTargetGroup:
        # The old fleet lives outside this VPC (peering/VPN), hence availability zone "all".
        group = elbv2.ApplicationTargetGroup(
            self,
            "Legacy",
            vpc=vpc,
            target_type=elbv2.TargetType.IP,
            port=config.legacy_port,
            protocol=elbv2.ApplicationProtocol.HTTP,
            protocol_version=_protocol_version(config),
            targets=[targets.IpTarget(ip, config.legacy_port, "all") for ip in config.legacy_target_ips],
            health_check=_health_check(config, config.legacy_health_check_path or config.health_path),
            deregistration_delay=Duration.seconds(config.deregistration_delay_s),
        )
        for ip in config.legacy_target_ips:
            self.security_group.add_egress_rule(
                ec2.Peer.ipv4(f"{ip}/32"), ec2.Port.tcp(config.legacy_port), "To the legacy fleet"
            )
        return group


def _protocol_version(config: WebConfig) -> elbv2.ApplicationProtocolVersion:
    return (
        elbv2.ApplicationProtocolVersion.GRPC if config.protocol == "grpc" else elbv2.ApplicationProtocolVersion.HTTP1
    )
