"""Aurora PostgreSQL Serverless v2 in the isolated subnets, credentials in Secrets Manager."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from stacks.common.checkov import skip_check
from stacks.common.nag import acknowledge
from stacks.common.policies import removal_policy, retention
from stacks.config import StageConfig
from stacks.web.app_role import AppDatabaseRole
from stacks.web.network import Network

ENGINE_VERSION = rds.AuroraPostgresEngineVersion.VER_17_9
DATABASE_NAME = "app"
PORT = 5432


class Database(Construct):
    """The writer (and readers) share one ACU range; the secret holds host, port, dbname, username, password.

    In prod the secret rotates from the isolated subnets, reaching Secrets Manager through an interface
    endpoint there (the rotation function has no route to the internet, by design).
    """

    def __init__(self, scope: Construct, construct_id: str, *, stage: StageConfig, network: Network) -> None:
        super().__init__(scope, construct_id)
        config = stage.web
        vpc = network.vpc
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Aurora: PostgreSQL from the web service only",
            allow_all_outbound=False,
        )
        scales_to_zero = config.db_min_acu == 0
        # Our own secret (not Credentials.from_generated_secret): a logical id without the stage in it, and
        # prod keeps the credentials of a retained cluster.
        self.secret = rds.DatabaseSecret(self, "Secret", username="app_admin")
        self.secret.apply_removal_policy(removal_policy(stage.removal))
        self.cluster = rds.DatabaseCluster(
            self,
            "Cluster",
            engine=rds.DatabaseClusterEngine.aurora_postgres(version=ENGINE_VERSION),
            credentials=rds.Credentials.from_secret(self.secret),
            default_database_name=DATABASE_NAME,
            port=PORT,
            writer=rds.ClusterInstance.serverless_v2("Writer", publicly_accessible=False),
            readers=[
                rds.ClusterInstance.serverless_v2(f"Reader{n}", publicly_accessible=False, scale_with_writer=True)
                for n in range(1, config.db_readers + 1)
            ],
            serverless_v2_min_capacity=config.db_min_acu,
            serverless_v2_max_capacity=config.db_max_acu,
            serverless_v2_auto_pause_duration=Duration.minutes(config.db_auto_pause_minutes)
            if scales_to_zero
            else None,
            vpc=vpc,
            vpc_subnets=network.isolated,
            security_groups=[self.security_group],
            storage_encrypted=True,
            iam_authentication=True,
            backup=rds.BackupProps(retention=Duration.days(config.db_backup_retention_days)),
            cloudwatch_logs_exports=["postgresql"],
            cloudwatch_logs_retention=retention(config.db_log_retention_days),
            deletion_protection=stage.deletion_protection,
            removal_policy=removal_policy(stage.removal, supports_snapshot=True),
            copy_tags_to_snapshot=True,
            enable_data_api=True,  # how the deploy-time role set-up reaches it (app_role.py)
        )
        _acknowledge_log_retention_function(Stack.of(self))
        assert self.cluster.secret is not None
        # The attached secret: its host and port fields are filled in from the cluster.
        self.attached_secret: secretsmanager.ISecret = self.cluster.secret
        self.app_role = AppDatabaseRole(
            self,
            "AppRole",
            cluster=self.cluster,
            writer=self.cluster.node.find_child("Writer"),
            admin_secret=self.attached_secret,
            database=DATABASE_NAME,
            removal=removal_policy(stage.removal),
            log_retention_days=config.log_retention_days,
        )
        if config.db_rotation_days:
            rotation_sg = ec2.SecurityGroup(
                self, "RotationSecurityGroup", vpc=vpc, description="Secret rotation function", allow_all_outbound=False
            )
            endpoint_sg = ec2.SecurityGroup(
                self, "EndpointSecurityGroup", vpc=vpc, description="Secrets Manager endpoint", allow_all_outbound=False
            )
            endpoint = vpc.add_interface_endpoint(
                "SecretsManagerEndpoint",
                service=ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
                subnets=network.isolated,
                security_groups=[endpoint_sg],
                open=False,  # only the rotation function may use it
            )
            endpoint.connections.allow_default_port_from(rotation_sg, "HTTPS from the rotation function")
            self.cluster.add_rotation_single_user(
                automatically_after=Duration.days(config.db_rotation_days),
                vpc_subnets=network.isolated,
                endpoint=endpoint,
                security_group=rotation_sg,
            )
            # The app's secret: alternating users, so tasks started before a rotation keep working after it.
            app_rotation = secretsmanager.SecretRotation(
                self,
                "AppRoleRotation",
                application=secretsmanager.SecretRotationApplication.POSTGRES_ROTATION_MULTI_USER,
                secret=self.app_role.attached_secret,
                master_secret=self.attached_secret,
                target=self.cluster,
                vpc=vpc,
                vpc_subnets=network.isolated,
                endpoint=endpoint,
                security_group=rotation_sg,
                automatically_after=Duration.days(config.db_rotation_days),
            )
            # Its first run logs in as the role, so the role must exist first.
            app_rotation.node.add_dependency(self.app_role.resource)
        else:
            for secret in (self.secret, self.app_role.secret):
                acknowledge(
                    secret,
                    "AwsSolutions-SMG4",
                    "Sandbox is disposable; rotation would add a Lambda and a paid interface endpoint to each sandbox.",
                )
        if not stage.deletion_protection:
            acknowledge(
                self.cluster,
                "AwsSolutions-RDS10",
                "Sandbox is disposable by design (removal=destroy); prod turns deletion protection on in its config.",
            )
        for instance in self.cluster.node.children:
            if isinstance(instance.node.default_child, rds.CfnDBInstance):
                skip_check(
                    instance,
                    "CKV_AWS_118",
                    "Aurora's CloudWatch metrics and exported postgresql log cover the alarms; Enhanced Monitoring "
                    "writes to the region-wide RDSOSMetrics log group, which no stack can own or give a retention.",
                )
        acknowledge(
            self.cluster,
            "AwsSolutions-RDS11",
            "PostgreSQL's default port: a different port hides nothing; only the service's security group reaches it.",
        )


def _acknowledge_log_retention_function(stack: Stack) -> None:
    """The library's singleton that sets the exported logs' retention (created by cloudwatch_logs_retention)."""
    for child in stack.node.children:
        if child.node.id.startswith("LogRetention"):
            acknowledge(
                child,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                "aws-cdk-lib's log retention function; only its own logs use the managed basic execution policy.",
            )
            acknowledge(
                child,
                "AwsSolutions-IAM5[Resource::*]",
                "aws-cdk-lib's log retention function sets the retention of RDS's log groups (names unknown at synth).",
            )
            skip_check(
                child.node.find_child("ServiceRole").node.find_child("DefaultPolicy"),
                "CKV_AWS_111",
                "aws-cdk-lib's log retention function sets the retention of RDS's log groups (names unknown at synth).",
            )
