"""The web app's own database role, created at deploy time, with its own secret (the admin's stays with rotation).

A custom resource runs web/runtime/db_roles through the RDS Data API, as the cluster's admin: the function needs no
network path into the VPC, and the admin secret is read by nothing else but the rotation functions.
"""

from __future__ import annotations

import hashlib

from aws_cdk import CustomResource, RemovalPolicy, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import custom_resources as cr
from constructs import Construct, IConstruct

from quality.declare import acknowledge
from shared.bundles import bundle_dir
from shared.policies import log_group
from shared.python_function import PythonFunction

APP_ROLE = "app_user"
APP_SCHEMA = "app"
# The statements live in this file of the bundle; a change to it re-applies them on the next deploy.
ROLES_MODULE = bundle_dir("db_roles") / "db_roles" / "roles.py"


class AppDatabaseRole(Construct):
    """The role (least privilege, see web/runtime/db_roles/db_roles/roles.py) and the secret the app connects with."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: rds.DatabaseCluster,
        writer: IConstruct,
        admin_secret: secretsmanager.ISecret,
        database: str,
        removal: RemovalPolicy,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        # Holds masterarn too, which multi-user rotation needs to create the role's clone as the admin.
        self.secret = rds.DatabaseSecret(self, "Secret", username=APP_ROLE, dbname=database, master_secret=admin_secret)
        self.secret.apply_removal_policy(removal)
        self.attached_secret = self.secret.attach(cluster)  # adds host and port
        function = PythonFunction(
            self,
            "Function",
            bundle="db_roles",
            handler="db_roles.handler.handler",
            description="Create the web app's database role and set its privileges (custom resource)",
            environment={},
            log_retention_days=log_retention_days,
            layers=[],
            memory_mb=256,
            timeout_s=120,  # a paused sandbox cluster takes about 15 s to resume
        )
        cluster.grant_data_api_access(function.function)  # and read access to the cluster's (admin) secret
        self.secret.grant_read(function.function)
        provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=function.function,
            log_group=log_group(self, "ProviderLogs", retention_days=log_retention_days),
        )
        self.resource = CustomResource(
            self,
            "Role",
            service_token=provider.service_token,
            resource_type="Custom::AppDatabaseRole",
            properties={
                "ClusterArn": cluster.cluster_arn,
                "AdminSecretArn": admin_secret.secret_arn,
                "AppSecretArn": self.secret.secret_arn,
                "Role": APP_ROLE,
                "Database": database,
                "Schema": APP_SCHEMA,
                "Statements": hashlib.sha256(ROLES_MODULE.read_bytes()).hexdigest()[:16],
            },
        )
        # The Data API needs a running instance; the cluster resource alone is not enough.
        self.resource.node.add_dependency(writer)
        self._acknowledge(provider, function.function)

    def _acknowledge(self, provider: cr.Provider, handler_function: lambda_.IFunction) -> None:
        """What cdk-nag flags on aws-cdk-lib's provider framework, and why."""
        handler = Stack.of(self).get_logical_id(handler_function.node.default_child)  # type: ignore[arg-type]
        acknowledge(
            provider,
            f"AwsSolutions-IAM5[Resource::<{handler}.Arn>:*]",
            "aws-cdk-lib's provider framework invokes the one handler function by any of its versions.",
        )
        acknowledge(
            provider,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "aws-cdk-lib's provider framework function writes only its own logs with the basic execution policy.",
        )
