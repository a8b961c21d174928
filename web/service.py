"""The Fargate service: cluster, task definition from the container asset, deployments and scaling."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from quality.declare import acknowledge
from shared.policies import log_group
from web.config import WebConfig
from web.image import container_image
from web.load_balancer import LoadBalancer
from web.network import Network

CONTAINER_NAME = "web"
# The container reads these names; each comes from one field of the database secret.
SECRET_FIELDS = {
    "DB_HOST": "host",
    "DB_PORT": "port",
    "DB_NAME": "dbname",
    "DB_USER": "username",
    "DB_PASSWORD": "password",
}


class WebService(Construct):
    """Tasks in the private subnets, no public IP, registered in the ALB's target group.

    A deployment whose tasks fail health checks or trip the deployment alarms rolls back on its own
    instead of hanging; credentials arrive as ECS secrets (resolved by ECS at task start).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: WebConfig,
        network: Network,
        load_balancer: LoadBalancer,
        db_secret: secretsmanager.ISecret,
        deployment_alarms: list[cw.Alarm],
    ) -> None:
        super().__init__(scope, construct_id)
        self.cluster = ecs.Cluster(
            self, "Cluster", vpc=network.vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
        )
        self.log_group = log_group(self, "Logs", retention_days=config.log_retention_days)
        self.task_definition, self.container = self._build_task(config, db_secret)
        self.security_group = ec2.SecurityGroup(
            self, "SecurityGroup", vpc=network.vpc, description="Web tasks", allow_all_outbound=False
        )
        # AWS APIs (ECR, Secrets Manager, CloudWatch Logs) through the NAT gateways.
        self.security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to AWS APIs")
        self.blue_green = config.deployment_strategy == "blue_green"
        self.service = self._build_service(config, network, deployment_alarms)
        self._build_targets(config, load_balancer)
        self._build_scaling(config, load_balancer)
        self._acknowledge()

    def _build_task(
        self, config: WebConfig, db_secret: secretsmanager.ISecret
    ) -> tuple[ecs.FargateTaskDefinition, ecs.ContainerDefinition]:
        """An ARM64 task with one read-only container: the image, its port, its secrets, its logs."""
        task_definition = ecs.FargateTaskDefinition(
            self,
            "Task",
            cpu=config.cpu,
            memory_limit_mib=config.memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        container = task_definition.add_container(
            CONTAINER_NAME,
            image=container_image(self, "Image", config=config),
            # The port goes on the command line: the task has no plain environment values at all.
            command=["python", "-m", "web_app", "--port", str(config.container_port)],
            port_mappings=[ecs.PortMapping(container_port=config.container_port, name=CONTAINER_NAME)],
            secrets={name: ecs.Secret.from_secrets_manager(db_secret, field) for name, field in SECRET_FIELDS.items()},
            logging=ecs.LogDrivers.aws_logs(stream_prefix=CONTAINER_NAME, log_group=self.log_group),
            readonly_root_filesystem=True,
            essential=True,
        )
        return task_definition, container

    def _build_service(
        self, config: WebConfig, network: Network, deployment_alarms: list[cw.Alarm]
    ) -> ecs.FargateService:
        """Tasks in the private subnets; a deployment that fails health checks or trips an alarm rolls back."""
        return ecs.FargateService(
            self,
            "Service",
            cluster=self.cluster,
            task_definition=self.task_definition,
            desired_count=config.desired_count,
            vpc_subnets=network.private,
            assign_public_ip=False,
            security_groups=[self.security_group],
            health_check_grace_period=Duration.seconds(config.health_check_grace_s),
            min_healthy_percent=100,
            max_healthy_percent=200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            deployment_alarms=ecs.DeploymentAlarmConfig(
                alarm_names=[alarm.alarm_name for alarm in deployment_alarms],
                behavior=ecs.AlarmBehavior.ROLLBACK_ON_ALARM,
            ),
            deployment_strategy=ecs.DeploymentStrategy.BLUE_GREEN
            if self.blue_green
            else ecs.DeploymentStrategy.ROLLING,
            bake_time=Duration.minutes(config.bake_time_minutes) if self.blue_green else None,
        )

    def _build_targets(self, config: WebConfig, load_balancer: LoadBalancer) -> None:
        """The service in the load balancer's target group; under blue/green, the green group as its alternate."""
        if not self.blue_green:
            self.service.attach_to_application_target_group(load_balancer.target_group)
            return
        assert load_balancer.green_target_group is not None and load_balancer.production_rule is not None
        target = self.service.load_balancer_target(
            container_name=CONTAINER_NAME,
            container_port=config.container_port,
            alternate_target=ecs.AlternateTarget(
                "Green",
                alternate_target_group=load_balancer.green_target_group,
                production_listener=ecs.ListenerRuleConfiguration.application_listener_rule(
                    load_balancer.production_rule
                ),
            ),
        )
        target.attach_to_application_target_group(load_balancer.target_group)

    def _build_scaling(self, config: WebConfig, load_balancer: LoadBalancer) -> None:
        scaling = self.service.auto_scale_task_count(min_capacity=config.min_tasks, max_capacity=config.max_tasks)
        scaling.scale_on_cpu_utilization("Cpu", target_utilization_percent=config.cpu_target_percent)
        if not self.blue_green:
            # Under blue/green the serving target group alternates, so requests per target of one group
            # would mislead the scaler after the first deployment; CPU alone drives it there.
            scaling.scale_on_request_count(
                "Requests", requests_per_target=config.requests_per_target, target_group=load_balancer.target_group
            )

    def _acknowledge(self) -> None:
        """What cdk-nag flags here on purpose, and why."""
        if self.blue_green:
            acknowledge(
                self.service.node.find_child("GreenRole"),
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers]",
                "The policy AWS maintains for ECS blue/green traffic shifting; ECS may need new actions at any time.",
            )
        acknowledge(
            self.task_definition,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken accepts no resource but '*'; image pulls are scoped to the image repository.",
        )
