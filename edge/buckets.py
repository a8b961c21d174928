"""The cache bucket and the bucket that receives CloudFront's and S3's access logs."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from edge.config import EdgeConfig
from quality.declare import acknowledge, skip_check
from shared.policies import removal_policy
from stage.config_base import StageFacts

# Key prefixes: pages the publisher writes and CloudFront reads (the pages origin's path); assets beside them.
PAGES_PREFIX = "pages/"


class CacheBuckets(Construct):
    """Private, SSL-only, S3-encrypted buckets; prod keeps them, sandbox deletes the cache with its objects.

    The log bucket stays in every stage: CloudFront delivers standard logs up to 24 hours late, so a bucket
    emptied at delete time fills again and its delete fails (BucketNotEmpty); its lifecycle rule empties it.

    S3-managed keys rather than KMS: CloudFront reads through OAC, and a KMS key would need its grants for
    pages that are public anyway.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: EdgeConfig, facts: StageFacts) -> None:
        super().__init__(scope, construct_id)
        common: dict[str, Any] = {
            "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
            "encryption": s3.BucketEncryption.S3_MANAGED,
            "enforce_ssl": True,
            "minimum_tls_version": 1.2,
        }
        # CloudFront's standard logs are written with ACLs, so this bucket alone keeps them enabled.
        self.logs = s3.Bucket(
            self,
            "AccessLogs",
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(config.access_log_expiry_days),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
            **common,
        )
        acknowledge(
            self.logs,
            "AwsSolutions-S1",
            "This is the access-log bucket itself; logging it into itself would loop.",
        )
        acknowledge(
            self.logs,
            "DeployReadiness-DisposableStageLeftover[Retained]",
            f"CloudFront and S3 logs keep arriving after the stack is gone; the bucket expires them after "
            f"{config.access_log_expiry_days} days and can then be removed (aws s3 rb).",
        )
        skip_check(self.logs, "CKV_AWS_18", "This is the access-log bucket itself; logging it into itself would loop.")
        skip_check(
            self.logs, "CKV_AWS_21", "Delivered logs are written once and expire; versions would only keep them."
        )
        self.cache = s3.Bucket(
            self,
            "Cache",
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.logs,
            server_access_logs_prefix="s3/cache/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-cached-pages",
                    prefix=PAGES_PREFIX,
                    expiration=Duration.days(config.cached_object_expiry_days),
                ),
                s3.LifecycleRule(id="abort-uploads", abort_incomplete_multipart_upload_after=Duration.days(1)),
            ],
            removal_policy=removal_policy(facts.removal),
            auto_delete_objects=facts.removal == "destroy",
            **common,
        )
        skip_check(
            self.cache,
            "CKV_AWS_21",
            "A cache: the publisher rewrites every page from the web origin, so old versions hold nothing to restore.",
        )
