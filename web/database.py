"""Aurora PostgreSQL Serverless v2 in the isolated subnets, credentials in Secrets Manager."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from quality.declare import acknowledge, skip_check
from shared.policies import log_group, removal_policy
from stage.config_base import RemovalMode, StageFacts
from web.app_role import AppDatabaseRole
from web.config import WebConfig
from web.network import Network

ENGINE_VERSION = rds.AuroraPostgresEngineVersion.VER_17_9
# Every connection must use TLS: "By default, the rds.force_ssl parameter is set to 0 (off). If the
# rds.force_ssl parameter is set to 1 (on), clients are required to use SSL/TLS for connections" (Aurora User
# Guide, Updating applications to connect to Aurora PostgreSQL DB clusters using new SSL/TLS certificates).
CLUSTER_PARAMETERS = {"rds.force_ssl": "1"}
# The CA that signs the instances' server certificates, named rather than left to the account's default, so
# the app's trust store (web/container/certs, verify-full) holds its root: "rds-ca-rsa2048-g1" (RDS User
# Guide, Using SSL/TLS to encrypt a connection to a DB instance or cluster: Certificate authorities).
SERVER_CA = rds.CaCertificate.RDS_CA_RSA2048_G1
DATABASE_NAME = "app"
PORT = 5432


class Database(Construct):
    """The writer (and readers) share one ACU range; the secret holds host, port, dbname, username, password.

    In prod the secret rotates from the isolated subnets, reaching Secrets Manager through an interface
    endpoint there (the rotation function has no route to the internet, by design). The endpoint has
    private DNS, so every caller of Secrets Manager in the VPC goes through it: `allow_secret_reads_from`
    admits one (ECS fetches the task's secrets through the task's own network interface).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: WebConfig, facts: StageFacts, network: Network
    ) -> None:
        super().__init__(scope, construct_id)
        self.security_group = self._build_security_group(network, retain=facts.removal == "retain")
        # Our own secret (not Credentials.from_generated_secret): a logical id without the stage in it, and
        # prod keeps the credentials of a retained cluster.
        self.secret = rds.DatabaseSecret(self, "Secret", username="app_admin")
        self.secret.apply_removal_policy(removal_policy(facts.removal))
        self.cluster = self._build_cluster(
            config, network, removal=facts.removal, deletion_protection=facts.deletion_protection
        )
        self._build_exported_logs(config.db_log_retention_days)
        assert self.cluster.secret is not None
        # The attached secret: its host and port fields are filled in from the cluster.
        self.attached_secret: secretsmanager.ISecret = self.cluster.secret
        self.secrets_endpoint: ec2.InterfaceVpcEndpoint | None = None
        self.app_role = AppDatabaseRole(
            self,
            "AppRole",
            cluster=self.cluster,
            writer=self.cluster.node.find_child("Writer"),
            admin_secret=self.attached_secret,
            database=DATABASE_NAME,
            removal=removal_policy(facts.removal),
            log_retention_days=config.log_retention_days,
        )
        if config.db_rotation_days:
            self._build_rotation(network, every=Duration.days(config.db_rotation_days))
        self._acknowledge(rotates=bool(config.db_rotation_days), deletion_protection=facts.deletion_protection)

    def _build_security_group(self, network: Network, *, retain: bool) -> ec2.SecurityGroup:
        group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=network.vpc,
            description="Aurora: PostgreSQL from the web service only",
            allow_all_outbound=False,
        )
        if retain:
            group.apply_removal_policy(RemovalPolicy.RETAIN)  # the retained cluster keeps using it
        return group

    def _build_cluster(
        self, config: WebConfig, network: Network, *, removal: RemovalMode, deletion_protection: bool
    ) -> rds.DatabaseCluster:
        """The writer and its readers, with the TLS-only parameter group (kept with a retained cluster, which
        cannot be left without the group it uses)."""
        engine = rds.DatabaseClusterEngine.aurora_postgres(version=ENGINE_VERSION)
        parameters = rds.ParameterGroup(
            self,
            "ClusterParameters",
            engine=engine,
            parameters=CLUSTER_PARAMETERS,
            description="Aurora PostgreSQL: TLS required",
            removal_policy=removal_policy(removal),
        )
        scales_to_zero = config.db_min_acu == 0
        return rds.DatabaseCluster(
            self,
            "Cluster",
            engine=engine,
            credentials=rds.Credentials.from_secret(self.secret),
            default_database_name=DATABASE_NAME,
            port=PORT,
            writer=rds.ClusterInstance.serverless_v2("Writer", publicly_accessible=False, ca_certificate=SERVER_CA),
            readers=[
                rds.ClusterInstance.serverless_v2(
                    f"Reader{n}", publicly_accessible=False, scale_with_writer=True, ca_certificate=SERVER_CA
                )
                for n in range(1, config.db_readers + 1)
            ],
            parameter_group=parameters,
            serverless_v2_min_capacity=config.db_min_acu,
            serverless_v2_max_capacity=config.db_max_acu,
            serverless_v2_auto_pause_duration=Duration.minutes(config.db_auto_pause_minutes)
            if scales_to_zero
            else None,
            vpc=network.vpc,
            vpc_subnets=network.isolated,
            security_groups=[self.security_group],
            storage_encrypted=True,
            iam_authentication=True,
            backup=rds.BackupProps(retention=Duration.days(config.db_backup_retention_days)),
            cloudwatch_logs_exports=["postgresql"],
            deletion_protection=deletion_protection,
            removal_policy=removal_policy(removal, supports_snapshot=True),
            copy_tags_to_snapshot=True,
            enable_data_api=True,  # how the deploy-time role set-up reaches it (app_role.py)
        )

    def _build_rotation(self, network: Network, *, every: Duration) -> None:
        """Both secrets rotate from the isolated subnets, through a Secrets Manager endpoint only they may use."""
        vpc = network.vpc
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
        self.secrets_endpoint = endpoint
        self.cluster.add_rotation_single_user(
            automatically_after=every,
            vpc_subnets=network.isolated,
            endpoint=endpoint,
            security_group=rotation_sg,
        )
        # The first rotation runs as soon as the schedule exists: only once the instances are there, and once
        # the role set-up (which logs in with this secret) is done, not between its setSecret and finishSecret.
        schedule = self.attached_secret.node.find_child("RotationSchedule")
        schedule.node.add_dependency(self.app_role.resource, *self._instances())
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
            automatically_after=every,
        )
        # Its first run logs in as the role, so the role (and every instance) must exist first.
        app_rotation.node.add_dependency(self.app_role.resource, *self._instances())

    def _acknowledge(self, *, rotates: bool, deletion_protection: bool) -> None:
        """What cdk-nag and checkov flag here on purpose, and why."""
        if not rotates:
            for secret in (self.secret, self.app_role.secret):
                acknowledge(
                    secret,
                    "AwsSolutions-SMG4",
                    "Sandbox is disposable; rotation would add a Lambda and a paid interface endpoint to each sandbox.",
                )
        if not deletion_protection:
            acknowledge(
                self.cluster,
                "AwsSolutions-RDS10",
                "Sandbox is disposable by design (removal=destroy); prod turns deletion protection on in its config.",
            )
        for instance in self._instances():
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

    def allow_secret_reads_from(self, peer: ec2.IConnectable, description: str) -> None:
        """Let `peer` reach Secrets Manager where the VPC's calls to it go (the private-DNS endpoint, if any)."""
        if self.secrets_endpoint is not None:
            self.secrets_endpoint.connections.allow_default_port_from(peer, description)

    def _instances(self) -> list[rds.CfnDBInstance]:
        return [c for c in self.cluster.node.find_all() if isinstance(c, rds.CfnDBInstance)]

    def _build_exported_logs(self, retention_days: int) -> None:
        """The group RDS exports PostgreSQL logs to, owned by the stack (retention, deleted with it) and created
        before the instances start exporting, instead of created by RDS and given a retention afterwards."""
        logs = log_group(
            self,
            "PostgresqlLogs",
            retention_days=retention_days,
            log_group_name=f"/aws/rds/cluster/{self.cluster.cluster_identifier}/postgresql",
        )
        for instance in self._instances():
            instance.node.add_dependency(logs)
