"""The web stack's database-role function (web/runtime/db_roles) run as deployed, against the tests' PostgreSQL.

Its stand-ins: the template's secrets in moto's Secrets Manager, built as CloudFormation builds them (the
SecretStringTemplate with its references resolved, the generated password under GenerateStringKey), the
cluster's Data API in front of a real PostgreSQL (tests/support/data_api.py), and in that server the
database and admin role the cluster would have (the template's names: the SQL names them). The custom
resource's event carries the template's ResourceProperties, resolved the same way.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.support.data_api import data_api
from tests.support.lambda_environment import ACCOUNT, Resolver, Unresolved, deployed_function
from tests.support.lambda_worker import LambdaWorker
from tests.support.postgres import Postgres, postgres_server
from tests.support.servers import local_client, moto_server
from tests.support.synth import Synthesized

if TYPE_CHECKING:  # imported where a connection is made (pytest's controller process loads this module too)
    import psycopg

HANDLER = "db_roles.handler.handler"
_PASSWORD_FIELDS = ("PasswordLength", "ExcludeCharacters", "ExcludePunctuation", "ExcludeNumbers")


@dataclass
class DbRolesBackend:
    worker: LambdaWorker
    properties: dict[str, str]  # the custom resource's, resolved
    secrets: Any
    server: Postgres

    def event(self, request_type: str, **extra: Any) -> dict[str, Any]:
        """A CloudFormation custom-resource event as the provider framework hands it to the function."""
        return {
            "RequestType": request_type,
            "RequestId": str(uuid.uuid4()),
            "LogicalResourceId": "DatabaseAppRole",
            "ResourceType": "Custom::AppDatabaseRole",
            "ResourceProperties": self.properties,
            **extra,
        }

    def login(self, secret_arn: str) -> dict[str, str]:
        return json.loads(self.secrets.get_secret_value(SecretId=secret_arn)["SecretString"])  # type: ignore[no-any-return]

    def connect_as(self, secret_arn: str) -> psycopg.Connection[Any]:
        import psycopg

        login = self.login(secret_arn)
        return psycopg.connect(
            host=self.server.host,
            port=self.server.port,
            dbname=self.properties["Database"],
            user=login["username"],
            password=login["password"],
            autocommit=True,
        )


def _secrets(template: dict[str, Any], resolver: Resolver, secrets: Any) -> None:
    """Each secret of the template in moto, in an order its references allow; attachments resolve to their
    secret (Ref of an AWS::SecretsManager::SecretTargetAttachment is the secret's ARN)."""
    resources = template["Resources"]
    pending = [k for k, r in resources.items() if r["Type"] == "AWS::SecretsManager::Secret"]
    while pending:
        progress = False
        for logical_id in list(pending):
            generate = resources[logical_id]["Properties"].get("GenerateSecretString", {})
            try:
                value = json.loads(resolver.resolve(generate.get("SecretStringTemplate", "{}")))
            except Unresolved:
                continue
            password = secrets.get_random_password(**{k: v for k, v in generate.items() if k in _PASSWORD_FIELDS})
            if "GenerateStringKey" in generate:
                value[generate["GenerateStringKey"]] = password["RandomPassword"]
            arn = secrets.create_secret(Name=f"{logical_id}-{uuid.uuid4().hex[:8]}", SecretString=json.dumps(value))[
                "ARN"
            ]
            resolver.resources[logical_id] = {"Ref": arn, "Arn": arn}
            for attachment, resource in resources.items():
                if resource["Type"] == "AWS::SecretsManager::SecretTargetAttachment" and resource["Properties"][
                    "SecretId"
                ] == {"Ref": logical_id}:
                    resolver.resources[attachment] = {"Ref": arn}
            pending.remove(logical_id)
            progress = True
        if not progress:
            raise Unresolved(f"secrets whose templates reference what has no stand-in: {pending}")


@contextmanager
def local_db_roles(synth: Synthesized, stack: str) -> Iterator[DbRolesBackend]:
    """The function of `stack` with its stand-ins, on a PostgreSQL server of its own."""
    template = synth.templates[stack]
    (cluster,) = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::RDS::DBCluster"]
    (resource,) = [r for r in template["Resources"].values() if r["Type"] == "Custom::AppDatabaseRole"]
    resolver = Resolver(template, synth.regions[stack], {cluster: {"Ref": f"local-{cluster.lower()}"}}, account=ACCOUNT)
    with ExitStack() as running:
        moto = running.enter_context(moto_server())
        secrets = local_client("secretsmanager", moto, synth.regions[stack])
        _secrets(template, resolver, secrets)
        properties = {k: resolver.resolve(v) for k, v in resource["Properties"].items() if k != "ServiceToken"}
        admin = json.loads(secrets.get_secret_value(SecretId=properties["AdminSecretArn"])["SecretString"])
        postgres = running.enter_context(postgres_server())
        _cluster_database(postgres, admin["username"], admin["password"], properties)
        endpoint = running.enter_context(data_api(postgres, secrets))
        function = deployed_function(synth, stack, HANDLER)
        worker = LambdaWorker(function, resolver, {"secrets manager": moto, "rds data": endpoint})
        running.enter_context(closing(worker.start()))
        yield DbRolesBackend(worker, properties, secrets, postgres)


def _cluster_database(server: Postgres, admin: str, password: str, properties: dict[str, str]) -> None:
    """What the cluster starts with: its admin (CREATEROLE, no superuser, as Aurora's) owning its database. The
    server is the backend's own: the template's names (database `app`) are the SQL's, not to be shared."""
    import psycopg

    with psycopg.connect(
        host=server.host,
        port=server.port,
        dbname="postgres",
        user=server.user,
        password=server.password,
        autocommit=True,
    ) as conn:
        conn.execute(f"CREATE ROLE {admin} LOGIN CREATEROLE CREATEDB PASSWORD '{password}'")
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (properties["Database"],)).fetchone():
            conn.execute(f"CREATE DATABASE {properties['Database']}")
        conn.execute(f"ALTER DATABASE {properties['Database']} OWNER TO {admin}")
