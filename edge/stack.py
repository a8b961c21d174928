"""The edge cache stacks: CloudFront + S3 cache (an origin group in front of the web service's VPC origin) +
Step Functions publisher, and (prod) the CLOUDFRONT web ACL in us-east-1."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from edge.buckets import CacheBuckets
from edge.config import EDGE_REGION, EdgeConfig
from edge.distribution import CacheDistribution
from edge.monitoring import EdgeAlarms
from edge.publisher import CachePublisher
from edge.waf import EdgeWebAcl
from shared.alarms import AlarmTopic
from shared.origin import WebOrigin
from shared.python_function import powertools_layer
from stage.config_base import StageFacts


class EdgeUsEast1Stack(Stack):
    """The stage's us-east-1 stack: the distribution's CLOUDFRONT web ACL, which AWS requires in us-east-1.

    Built only for a stage that creates a web ACL (`edge.waf_enabled`). Its construct id stays "EdgeFunctions"
    (it held the Lambda@Edge function before the web origin became a VPC origin): a new id would be a new stack,
    and a new web ACL.
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        if self.region != EDGE_REGION:
            raise ValueError(f"a CLOUDFRONT web ACL is created in {EDGE_REGION}, not {self.region}")


class EdgeStack(Stack):
    """Serves the web app through CloudFront, answering from an S3 cache that a state machine fills.

    Design (docs/edge-cache.md has the figures and the citations, bench/capacity.py the model):
    - Pages come from an origin group: the bucket through OAC, then the web origin, a VPC origin on the web
      service's internal load balancer (no public listener, no shared secret). VPC origins support no
      origin-facing Lambda@Edge, so the group routes on its own: a page missing from S3 (403) or an S3 error
      fails over to the web origin. No function runs on a fill, so no Lambda concurrency bounds the fill rate.
    - With Origin Shield one cache sits in front of both origins: one fill per page, not one per regional cache.
    - The publisher fetches each page from the load balancer inside the VPC (never through CloudFront, so no
      cache-busting parameter, no signing key, no web ACL rate limit), stores it under pages/ and invalidates it
      per batch; it refuses wildcards, so nothing purges the whole site at once.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EdgeConfig,
        facts: StageFacts,
        acl_stack: EdgeUsEast1Stack | None = None,
        web_origin: WebOrigin | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        origin = web_origin or WebOrigin.of_domain(config.origin_domain)
        # "Storage": the cache bucket and the bucket of CloudFront's access logs.
        buckets = CacheBuckets(self, "Storage", config=config, facts=facts)
        acl = EdgeWebAcl(self, "Waf", config=config, acl_stack=acl_stack) if acl_stack else None
        cdn = CacheDistribution(  # "Cdn": the distribution, its origins, policies and headers
            self,
            "Cdn",
            config=config,
            web_origin=origin,
            cache_bucket=buckets.cache,
            log_bucket=buckets.logs,
            web_acl_arn=acl.arn if acl else config.web_acl_arn,
        )
        publisher = CachePublisher(
            self,
            "Publisher",
            config=config,
            web_origin=origin,
            bucket=buckets.cache,
            distribution=cdn.distribution,
            layers=[powertools_layer(self, "Powertools")],
        )
        topic = AlarmTopic(self, "Alarms", email=facts.alarm_email, email_parameter=facts.alarm_email_parameter)
        EdgeAlarms(self, "Monitoring", topic=topic, publisher=publisher)

        CfnOutput(self, "DistributionDomainName", value=cdn.distribution.distribution_domain_name)
        CfnOutput(self, "DistributionId", value=cdn.distribution.distribution_id)
        CfnOutput(self, "CacheBucketName", value=buckets.cache.bucket_name)
        CfnOutput(self, "PublisherArn", value=publisher.state_machine.state_machine_arn)
        CfnOutput(self, "AlarmTopicArn", value=topic.topic.topic_arn)
