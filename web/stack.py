"""The web service stack: a thin composition of the web constructs."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from shared.alarms import AlarmTopic
from shared.origin import OriginFetchAccess, WebOrigin
from stage.config_base import StageFacts
from web.cloudfront_access import CloudFrontAccess
from web.config import WebConfig
from web.database import PORT, Database
from web.load_balancer import LoadBalancer
from web.monitoring import WebAlarms
from web.network import Network
from web.service import WebService


class WebStack(Stack):
    """ALB -> ECS on Fargate -> Aurora PostgreSQL Serverless v2, with a security-group chain between them."""

    @property
    def availability_zones(self) -> list[str]:
        """The stage's zones: with a concrete account the VPC would otherwise look them up at synth."""
        return self._zones

    def __init__(
        self, scope: Construct, construct_id: str, *, config: WebConfig, facts: StageFacts, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self._zones = list(facts.availability_zones)
        network = Network(
            self, "Network", config=config, zones=facts.availability_zones, retain=facts.removal != "destroy"
        )
        database = Database(self, "Database", config=config, facts=facts, network=network)
        access = CloudFrontAccess(self, "OriginAccess", log_retention_days=config.log_retention_days)
        load_balancer = LoadBalancer(self, "LoadBalancer", config=config, facts=facts, network=network, access=access)
        topic = AlarmTopic(self, "Alarms", email=facts.alarm_email, email_parameter=facts.alarm_email_parameter)
        alarms = WebAlarms(
            self,
            "Monitoring",
            topic=topic,
            alb=load_balancer.alb,
            target_group=load_balancer.target_group,
            cluster=database.cluster,
            green_target_group=load_balancer.green_target_group,
        )
        web = WebService(  # "App": the Fargate service, its cluster, task and scaling
            self,
            "App",
            config=config,
            network=network,
            load_balancer=load_balancer,
            db_secret=database.app_role.attached_secret,
            deployment_alarms=alarms.deployment_alarms,
        )
        # The chain: CloudFront's VPC origin and the page fetchers -> ALB (80 or 443), ALB -> tasks (container
        # port, added by the target group), tasks -> database (5432). Each rule names its peer security group.
        database.cluster.connections.allow_from(web.service, ec2.Port.tcp(PORT), "PostgreSQL from the web tasks")
        database.allow_secret_reads_from(web.service, "HTTPS from the web tasks (ECS fetches their secrets)")
        web.service.node.add_dependency(database.app_role.resource)  # tasks log in as the app role

        # What the edge cache needs: the internal load balancer (its VPC origin) and where fetchers may run.
        self.origin = WebOrigin(
            domain_name=load_balancer.alb.load_balancer_dns_name,
            https=config.https,
            revision=load_balancer.revision,
            load_balancer=load_balancer.alb,
            tls_name=config.origin_domain_name,
            fetch_access=OriginFetchAccess(
                vpc=network.vpc, subnets=network.private, security_group=load_balancer.fetchers
            ),
        )

        # Internal: it answers inside the VPC only (CloudFront's VPC origin, the publisher).
        CfnOutput(self, "Url", value=self.origin.url)
        CfnOutput(self, "ClusterName", value=web.cluster.cluster_name)
        CfnOutput(self, "ServiceName", value=web.service.service_name)
        CfnOutput(self, "DatabaseSecretArn", value=database.secret.secret_arn)
        CfnOutput(self, "AppDatabaseSecretArn", value=database.app_role.secret.secret_arn)
        CfnOutput(self, "AlarmTopicArn", value=topic.topic.topic_arn)
