"""How one stack hands its public HTTP endpoint to another (the web service to the edge cache)."""

from __future__ import annotations

import hashlib
import json
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
    """A web origin CloudFront can reach: a DNS name (may be a CDK token), whether it speaks HTTPS, the
    secret header it requires (None for an origin outside this app), and its revision.

    `revision` changes whenever the origin would be replaced (and its DNS name change). The name reaches
    the consumer through a weak reference (Fn::GetStackOutput), which CloudFormation resolves only when
    the consumer's stack is updated, and a stack whose template is unchanged is not updated: consumers
    put the revision into the resources that use the name, so a replacement changes their template.
    """

    domain_name: str
    https: bool
    revision: str
    verification: OriginVerification | None = None

    @classmethod
    def of_domain(cls, domain_name: str) -> WebOrigin:
        """An origin outside this app, addressed by a fixed name."""
        return cls(domain_name=domain_name, https=True, revision=revision_of(domain_name))


def revision_of(*identity: object) -> str:
    """A short, stable digest of what identifies an origin (what would replace it if it changed)."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:12]
