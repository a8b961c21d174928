"""Generated keys: a random value in Secrets Manager that no resource depends on beyond its own users."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from quality.declare import acknowledge


def generated_key(
    scope: Construct, construct_id: str, *, description: str, length: int, unrotated_because: str
) -> secretsmanager.Secret:
    """A random alphanumeric key of `length`, deleted with its stack (not data: a new deploy generates a new
    one). `unrotated_because` is the acknowledgement of cdk-nag's rotation rule: why Secrets Manager does not
    rotate it on a schedule."""
    secret = secretsmanager.Secret(
        scope,
        construct_id,
        description=description,
        generate_secret_string=secretsmanager.SecretStringGenerator(password_length=length, exclude_punctuation=True),
        removal_policy=RemovalPolicy.DESTROY,
    )
    acknowledge(secret, "AwsSolutions-SMG4", unrotated_because)
    return secret
