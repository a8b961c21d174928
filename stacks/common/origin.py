"""How one stack hands its public HTTP endpoint to another (the web service to the edge cache)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WebOrigin:
    """A web origin CloudFront can reach: a DNS name (may be a CDK token) and whether it speaks HTTPS."""

    domain_name: str
    https: bool
