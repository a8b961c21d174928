"""The edge cache stacks: CloudFront + S3 page cache (Origin Shield, web origin fallback) + Step Functions publisher."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from constructs import Construct

from stacks.common.alarms import AlarmTopic
from stacks.common.nag import acknowledge
from stacks.common.origin import WebOrigin
from stacks.common.python_function import powertools_layer
from stacks.config import StageConfig
from stacks.edge.buckets import CacheBuckets
from stacks.edge.distribution import CacheDistribution
from stacks.edge.origin_secret import OriginSecretRotation
from stacks.edge.publisher import CachePublisher
from stacks.edge.waf import EDGE_REGION, EdgeWebAcl


class EdgeFunctionsStack(Stack):
    """The stage's us-east-1 stack: (prod) the distribution's CLOUDFRONT web ACL, which AWS requires there.

    Its id is the one it had when it also held the Lambda@Edge function (now gone: the pages come from an
    origin group); keeping it keeps the deployed stack. It sits in the stage's stack list and passes the same
    cdk-nag, cfn-lint and snapshot gates as every other stack.
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        if self.region != EDGE_REGION:
            raise ValueError(f"the edge cache's us-east-1 stack deploys to {EDGE_REGION}, not {self.region}")


class EdgeStack(Stack):
    """Serves the web app through CloudFront, answering from an S3 cache that a state machine fills.

    Pages come from an origin group: the cache bucket first, the web origin when S3 has no copy or fails,
    both behind Origin Shield in prod. No function runs per request: after an invalidation every page is
    filled again at once, and Lambda@Edge's scaling (10 requests/s per environment, 1,000 new environments
    per 10 s, all of them in the Origin Shield region) is the first thing such a burst would break
    (docs/edge-cache.md has the figures).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        edge_functions: EdgeFunctionsStack | None,
        web_origin: WebOrigin | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        config = stage.edge
        origin = web_origin or WebOrigin(domain_name=config.origin_domain, https=True)
        buckets = CacheBuckets(self, "Storage", stage=stage, config=config)
        if config.waf_enabled and edge_functions is None:
            raise ValueError("edge.waf_enabled needs the stage's us-east-1 stack for its CLOUDFRONT web ACL")
        acl = EdgeWebAcl(self, "Waf", config=config, acl_stack=edge_functions) if edge_functions else None
        cdn = CacheDistribution(
            self,
            "Cdn",
            config=config,
            web_origin=origin,
            cache_bucket=buckets.cache,
            log_bucket=buckets.logs,
            web_acl_arn=acl.arn if acl else config.web_acl_arn,
        )
        if origin.verification and config.origin_secret_rotation_days:
            OriginSecretRotation(
                self,
                "OriginSecretRotation",
                verification=origin.verification,
                distribution=cdn.distribution,
                days=config.origin_secret_rotation_days,
                log_retention_days=config.log_retention_days,
            )
        # The origin admits only CloudFront, so the publisher fetches through it (past both caches, see publishing.py).
        publisher = CachePublisher(
            self,
            "Publisher",
            config=config,
            origin_url=f"https://{cdn.distribution.distribution_domain_name}",
            bucket=buckets.cache,
            distribution=cdn.distribution,
            layers=[powertools_layer(self, "Powertools")],
        )
        pages = f"Resource::<{self.get_logical_id(buckets.cache.node.default_child)}.Arn>/pages/*"  # type: ignore[arg-type]
        fetcher = f"Resource::<{self.get_logical_id(publisher.fetcher.function.node.default_child)}.Arn>:*"  # type: ignore[arg-type]
        for construct, rule, reason in (
            (
                publisher.fetcher.role,
                f"AwsSolutions-IAM5[{pages}]",
                "The publisher writes cached pages under pages/ only.",
            ),
            (
                publisher.fetcher.role,
                "AwsSolutions-IAM5[Action::s3:Abort*]",
                "grant_put adds AbortMultipartUpload so large uploads can be cleaned up; scoped to pages/.",
            ),
            (
                publisher.state_machine,
                f"AwsSolutions-IAM5[{pages}]",
                "The not-found branch deletes the cached copy of a page, under pages/ only.",
            ),
            (
                publisher.state_machine,
                f"AwsSolutions-IAM5[{fetcher}]",
                "Step Functions invokes the fetch function by any of its versions; it is one function.",
            ),
            (
                publisher.state_machine,
                "AwsSolutions-IAM5[Resource::*]",
                "X-Ray PutTraceSegments/GetSamplingRules accept no resource but '*'; nothing else is granted on '*'.",
            ),
        ):
            acknowledge(construct, rule, reason)

        topic = AlarmTopic(self, "Alarms", email=stage.alarm_email)
        topic.alarm(
            self,
            "PublisherFailed",
            metric=cw.MathExpression(
                expression="failed + timedOut + aborted",
                using_metrics={
                    "failed": publisher.state_machine.metric_failed(statistic="Sum"),
                    "timedOut": publisher.state_machine.metric_timed_out(statistic="Sum"),
                    "aborted": publisher.state_machine.metric_aborted(statistic="Sum"),
                },
                period=Duration.minutes(5),
                label="Failed publisher executions",
            ),
            threshold=1,
            description="A cache publisher execution failed (see its output for the failed paths)",
        )

        CfnOutput(self, "DistributionDomainName", value=cdn.distribution.distribution_domain_name)
        CfnOutput(self, "DistributionId", value=cdn.distribution.distribution_id)
        CfnOutput(self, "CacheBucketName", value=buckets.cache.bucket_name)
        CfnOutput(self, "PublisherArn", value=publisher.state_machine.state_machine_arn)
        CfnOutput(self, "AlarmTopicArn", value=topic.topic.topic_arn)
