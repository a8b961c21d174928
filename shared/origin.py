"""The seam between the web service and the edge cache: how one stack hands its origin to the other.

Nothing secret crosses it. The web service's load balancer is internal and reached by CloudFront through a VPC
origin ("Restrict access with VPC origins", CloudFront Developer Guide,
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-vpc-origins.html): no public
listener, so no shared header proves a request came from CloudFront. The publisher fetches pages inside the VPC,
from a security group the load balancer admits.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2


@dataclass(frozen=True)
class OriginFetchAccess:
    """Where a function must run to fetch pages from the load balancer: its VPC, subnets, and the security
    group the load balancer admits (and whose egress reaches it)."""

    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    security_group: ec2.ISecurityGroup


@dataclass(frozen=True)
class WebOrigin:
    """A web origin CloudFront can reach: a DNS name (may be a CDK token), whether it speaks HTTPS, and its
    revision; for this app's own service also the internal load balancer (a VPC origin), the name its
    certificate covers, and how a function inside the VPC reaches it.

    `revision` changes whenever the origin would be replaced (and its DNS name change). The name reaches
    the consumer through a weak reference (Fn::GetStackOutput), which CloudFormation resolves only when
    the consumer's stack is updated, and a stack whose template is unchanged is not updated: consumers
    put the revision into the resources that use the name, so a replacement changes their template.
    """

    domain_name: str
    https: bool
    revision: str
    load_balancer: elbv2.IApplicationLoadBalancer | None = None  # None: an origin outside this app
    tls_name: str | None = None  # the name the origin's certificate covers (what CloudFront and fetchers check)
    fetch_access: OriginFetchAccess | None = None

    @classmethod
    def of_domain(cls, domain_name: str) -> WebOrigin:
        """An origin outside this app, addressed by a fixed name over HTTPS."""
        return cls(domain_name=domain_name, https=True, revision=revision_of(domain_name), tls_name=domain_name)

    @property
    def url(self) -> str:
        """Where a fetcher sends requests (the load balancer's own name; it checks the certificate against
        `tls_name`)."""
        return f"{'https' if self.https else 'http'}://{self.domain_name}"


def revision_of(*identity: object) -> str:
    """A short, stable digest of what identifies an origin (what would replace it if it changed)."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:12]
