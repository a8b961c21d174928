"""Custom resource handler (CDK's provider framework): create the app role and set its privileges.

Delete leaves the role in place: the database outlives the stack in prod, and goes with it in sandbox.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3

from db_roles.data_api import DataApi
from db_roles.roles import AppRole, scram_sha256, statements

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def role_password(secrets: Any, secret_arn: str, role: str) -> str:
    """The password of `role` in its secret: the current version, or the previous one once multi-user
    rotation has moved the current version to the role's clone."""
    for stage in ("AWSCURRENT", "AWSPREVIOUS"):
        try:
            value = json.loads(secrets.get_secret_value(SecretId=secret_arn, VersionStage=stage)["SecretString"])
        except secrets.exceptions.ResourceNotFoundException:
            continue
        if value.get("username") == role:
            return str(value["password"])
    raise ValueError(f"no version of the app secret holds the password of {role!r}")


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    props = event["ResourceProperties"]
    role = AppRole(name=props["Role"], database=props["Database"], schema=props["Schema"])
    physical_id = f"{role.database}/{role.name}"
    if event["RequestType"] == "Delete":
        return {"PhysicalResourceId": event.get("PhysicalResourceId", physical_id)}
    password = role_password(boto3.client("secretsmanager"), props["AppSecretArn"], role.name)
    api = DataApi(
        boto3.client("rds-data"),
        cluster_arn=props["ClusterArn"],
        secret_arn=props["AdminSecretArn"],
        database=role.database,
    )
    api.run(statements(role, scram_sha256(password)))
    logger.info(json.dumps({"event": "role_applied", "role": role.name, "database": role.database}))
    return {"PhysicalResourceId": physical_id}
