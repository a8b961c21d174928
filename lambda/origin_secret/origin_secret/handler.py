"""Secrets Manager rotation function for the origin header (see rotation.py). Settings come from the
environment the edge stack sets: the header name, the distribution and the listener rule."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import boto3

from origin_secret import rotation

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def targets_from_env(env: dict[str, str] | None = None) -> rotation.Targets:
    env = dict(os.environ) if env is None else env
    return rotation.Targets(
        header=env["HEADER_NAME"], distribution_id=env["DISTRIBUTION_ID"], listener_rule_arn=env["LISTENER_RULE_ARN"]
    )


def handler(event: dict[str, Any], _context: Any) -> None:
    secret_id, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    secrets = boto3.client("secretsmanager")
    rotation.check_rotatable(secrets, secret_id, token)
    targets = targets_from_env()
    logger.info(json.dumps({"event": "rotation_step", "step": step, "secret": secret_id}))
    if step == "createSecret":
        rotation.create_secret(secrets, secret_id, token)
    elif step in ("setSecret", "testSecret"):
        clients = rotation.Clients(secrets, boto3.client("elbv2"), boto3.client("cloudfront"))
        step_function = rotation.set_secret if step == "setSecret" else rotation.test_secret
        step_function(clients, targets, secret_id, token)
    elif step == "finishSecret":
        rotation.finish_secret(secrets, secret_id, token)
    else:
        raise rotation.RotationError(f"unknown rotation step {step!r}")
