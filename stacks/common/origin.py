"""How one stack hands its public HTTP endpoint to another (the web service to the edge cache)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_secretsmanager as secretsmanager


@dataclass(frozen=True)
class OriginVerification:
    """The header the origin requires: CloudFront sends the secret's value, the listener rule checks it."""

    header: str
    secret: secretsmanager.ISecret
    listener_rule_arn: str  # the rule whose header condition a rotation of the secret rewrites


@dataclass(frozen=True)
class WebOrigin:
    """A web origin CloudFront can reach: a DNS name (may be a CDK token), whether it speaks HTTPS, and the
    secret header it requires (None for an origin outside this app)."""

    domain_name: str
    https: bool
    verification: OriginVerification | None = None
