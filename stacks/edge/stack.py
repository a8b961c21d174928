"""The edge cache stacks: CloudFront + Lambda@Edge (origin request) + S3 cache + Step Functions publisher."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from stacks.common.alarms import AlarmTopic
from stacks.common.origin import WebOrigin
from stacks.common.python_function import powertools_layer
from stacks.config import StageConfig
from stacks.edge.buckets import CacheBuckets
from stacks.edge.distribution import CacheDistribution
from stacks.edge.edge_function import EDGE_REGION, OriginRequestFunction
from stacks.edge.monitoring import EdgeAlarms
from stacks.edge.origin_secret import OriginSecretRotation
from stacks.edge.publisher import CachePublisher, PublishKey
from stacks.edge.waf import EdgeWebAcl


class EdgeFunctionsStack(Stack):
    """The stage's us-east-1 stack: the Lambda@Edge function, its role and us-east-1 log groups, and (prod) the
    distribution's CLOUDFRONT web ACL, which AWS requires in us-east-1 too.

    Built explicitly (not left for EdgeFunction to create) so it has a stable id, sits in the stage's
    stack list and passes the same cdk-nag, cfn-lint and snapshot gates as every other stack.
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        if self.region != EDGE_REGION:
            raise ValueError(f"Lambda@Edge functions deploy from {EDGE_REGION}, not {self.region}")


class EdgeStack(Stack):
    """Serves the web app through CloudFront, answering from an S3 cache that a state machine fills.

    Design around the Lambda@Edge limits (docs/edge-cache.md has the figures, bench/capacity.py the model):
    - Pages come from an origin group (the bucket through OAC, then the web origin); the origin-request
      function only picks between them and reads nothing, so it runs for well under a millisecond and each
      execution environment serves its 10 requests/s: concurrency is the fill rate / 10.
    - It runs once per fill that leaves the last cache, and again when S3 fails over. With Origin Shield it
      runs in the shield's region only, whose concurrency it shares with every function of the account there:
      prod puts the shield beside the origin's region, not in it, so the chat API's functions do not take it.
    - A deploy-wide refresh goes through the publisher (batches, each invalidated on its own); the publisher
      refuses wildcards, so nothing purges the whole site at once.
    - No environment variables: the web origin's address rides on the bucket origin's custom headers, which
      the function removes. Deployed in us-east-1 by numbered version; x86_64, no layers.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        edge_functions: EdgeFunctionsStack,
        web_origin: WebOrigin | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        config = stage.edge
        origin = web_origin or WebOrigin.of_domain(config.origin_domain)
        buckets = CacheBuckets(self, "Storage", stage=stage, config=config)
        edge = OriginRequestFunction(self, "Edge", config=config, function_stack=edge_functions)
        acl = EdgeWebAcl(self, "Waf", config=config, acl_stack=edge_functions) if config.waf_enabled else None
        web_acl_arn = acl.arn if acl else config.web_acl_arn
        publish_key = PublishKey(self, "PublishKey").secret
        cdn = CacheDistribution(
            self,
            "Cdn",
            config=config,
            web_origin=origin,
            cache_bucket=buckets.cache,
            log_bucket=buckets.logs,
            web_acl_arn=web_acl_arn,
            edge_function=edge.function,
            publish_key=publish_key,
        )
        # The stage-region log group must exist before the first request creates it without retention.
        cdn.distribution.node.add_dependency(edge.regional_logs)
        rotation = None
        if origin.verification and config.origin_secret_rotation_days:
            rotation = OriginSecretRotation(
                self,
                "OriginSecretRotation",
                verification=origin.verification,
                distribution=cdn.distribution,
                days=config.origin_secret_rotation_days,
                log_retention_days=config.log_retention_days,
                edge_version_arns=[edge.function.current_version.edge_arn],
                web_acl_arn=web_acl_arn,
            )
        # The origin admits only CloudFront, so the publisher fetches through it (past both caches, see publishing.py).
        publisher = CachePublisher(
            self,
            "Publisher",
            config=config,
            origin_url=f"https://{cdn.distribution.distribution_domain_name}",
            bucket=buckets.cache,
            distribution=cdn.distribution,
            publish_key=publish_key,
            layers=[powertools_layer(self, "Powertools")],
        )
        topic = AlarmTopic(self, "Alarms", email=stage.alarm_email, email_parameter=stage.alarm_email_parameter)
        EdgeAlarms(self, "Monitoring", topic=topic, publisher=publisher, rotation=rotation)

        CfnOutput(self, "DistributionDomainName", value=cdn.distribution.distribution_domain_name)
        CfnOutput(self, "DistributionId", value=cdn.distribution.distribution_id)
        CfnOutput(self, "CacheBucketName", value=buckets.cache.bucket_name)
        CfnOutput(self, "PublisherArn", value=publisher.state_machine.state_machine_arn)
        CfnOutput(self, "AlarmTopicArn", value=topic.topic.topic_arn)
