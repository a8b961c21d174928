"""The cache publisher: a state machine that fetches pages from the web origin into the cache bucket."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks.common.policies import log_group
from stacks.common.python_function import PythonFunction
from stacks.edge.buckets import PAGES_PREFIX
from stacks.edge.config import EdgeConfig

# The query parameter the publisher adds to each fetch (lambda/edge_cache publishing.py): the only one in the
# page cache key, so a fetch misses every CloudFront cache.
BYPASS_PARAM = "edge-cache-publish"
# Error names raised by lambda/edge_cache publishing.py, and Lambda's own transient ones.
RETRYABLE_ERRORS = [
    "RetryableOriginError",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
]
_S3_THROTTLING = ["S3.S3Exception", "S3.SdkClientException"]


class CachePublisher(Construct):
    """{"paths": [...]} -> each page fetched and stored (or its copy deleted on 404/410) -> one invalidation.

    A path that still fails after the retries is recorded, the rest of the batch carries on, and the
    execution ends failed with the list of failed paths so the failed-executions alarm fires.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EdgeConfig,
        origin_url: str,
        bucket: s3.IBucket,
        distribution: cloudfront.IDistribution,
        layers: list[lambda_.ILayerVersion],
    ) -> None:
        super().__init__(scope, construct_id)
        self.fetcher = PythonFunction(
            self,
            "FetchAndStore",
            bundle="edge_cache",
            handler="edge_cache.publisher.handler",
            description="Fetch one page from the web origin and store it in the edge cache bucket",
            environment={
                "ORIGIN_URL": origin_url,
                "CACHE_BUCKET": bucket.bucket_name,
                "FETCH_TIMEOUT_S": str(config.fetch_timeout_s),
                "POWERTOOLS_SERVICE_NAME": "edge-cache-publisher",
            },
            log_retention_days=config.log_retention_days,
            layers=layers,
            memory_mb=512,
            timeout_s=config.fetch_timeout_s + 5,
        )
        bucket.grant_put(self.fetcher.function, f"{PAGES_PREFIX}*")
        # A publish takes the old copy out first (CloudFront fills from S3 before the web origin) and puts it
        # back if the fetch fails.
        self.fetcher.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:DeleteObject"], resources=[bucket.arn_for_objects(f"{PAGES_PREFIX}*")]
            )
        )

        record_failure = sfn.Pass(
            self,
            "RecordFailure",
            parameters={
                "path.$": "$.path",
                "result": "failed",
                "error.$": "$.failure.Error",
                "cause.$": "$.failure.Cause",
            },
        )
        fetch = tasks.LambdaInvoke(
            self,
            "FetchAndStorePage",
            lambda_function=self.fetcher.function,
            payload=sfn.TaskInput.from_object({"path": sfn.JsonPath.string_at("$.path")}),
            payload_response_only=True,
            retry_on_service_exceptions=False,
        )
        _retry_with_backoff(fetch, RETRYABLE_ERRORS, config)
        fetch.add_catch(record_failure, errors=["States.ALL"], result_path="$.failure")
        delete = tasks.CallAwsService(
            self,
            "DeleteCachedCopy",
            service="s3",
            action="deleteObject",
            parameters={"Bucket": bucket.bucket_name, "Key": sfn.JsonPath.string_at("$.key")},
            iam_resources=[bucket.arn_for_objects(f"{PAGES_PREFIX}*")],
            result_path=sfn.JsonPath.DISCARD,
        )
        _retry_with_backoff(delete, _S3_THROTTLING, config)
        delete.add_catch(record_failure, errors=["States.ALL"], result_path="$.failure")
        per_path = fetch.next(
            sfn.Choice(self, "FoundAtOrigin")
            .when(sfn.Condition.string_equals("$.result", "not_found"), delete)
            .otherwise(sfn.Pass(self, "Stored"))
        )

        each = sfn.Map(
            self,
            "PublishEach",
            items_path="$.paths",
            item_selector={"path": sfn.JsonPath.string_at("$$.Map.Item.Value")},
            max_concurrency=config.publish_concurrency,
            result_path="$.results",
        )
        each.item_processor(per_path)

        invalidate = tasks.CallAwsService(
            self,
            "InvalidateBatch",
            service="cloudfront",
            action="createInvalidation",
            parameters={
                "DistributionId": distribution.distribution_id,
                "InvalidationBatch": {
                    "CallerReference": sfn.JsonPath.string_at("$$.Execution.Name"),
                    "Paths": {
                        "Quantity": sfn.JsonPath.array_length(sfn.JsonPath.string_at("$.done")),
                        "Items": sfn.JsonPath.list_at("$.done"),
                    },
                },
            },
            iam_resources=[
                Stack.of(self).format_arn(
                    service="cloudfront",
                    region="",
                    resource="distribution",
                    resource_name=distribution.distribution_id,
                )
            ],
            iam_action="cloudfront:CreateInvalidation",
            result_path=sfn.JsonPath.DISCARD,
        )
        invalidate.add_retry(
            errors=["CloudFront.TooManyInvalidationsInProgressException", "CloudFront.CloudFrontException"],
            interval=Duration.seconds(30),
            backoff_rate=2,
            max_attempts=5,
            max_delay=Duration.minutes(5),
            jitter_strategy=sfn.JitterType.FULL,
        )
        check_failures = (
            sfn.Choice(self, "AnyPathFailed")
            .when(
                sfn.Condition.is_present("$.failed[0]"),
                sfn.Fail(
                    self,
                    "SomePathsFailed",
                    error="PublishFailed",
                    cause_path=sfn.JsonPath.json_to_string(sfn.JsonPath.object_at("$.failed")),
                ),
            )
            .otherwise(sfn.Succeed(self, "Published"))
        )
        definition = sfn.Pass(
            self,
            "CountPaths",
            parameters={"paths.$": "$.paths", "count.$": "States.ArrayLength($.paths)"},
        ).next(
            sfn.Choice(self, "BatchSizeAllowed")
            .when(
                sfn.Condition.number_greater_than("$.count", config.publish_max_paths),
                sfn.Fail(
                    self,
                    "TooManyPaths",
                    error="TooManyPaths",
                    cause=f"At most {config.publish_max_paths} paths per execution",
                ),
            )
            .otherwise(each)
            .afterwards()
        )
        each.next(
            sfn.Pass(
                self,
                "CollectResults",
                parameters={
                    "done.$": "$.results[?(@.result != 'failed')].path",
                    "failed.$": "$.results[?(@.result == 'failed')].path",
                },
            )
        ).next(
            sfn.Choice(self, "AnythingToInvalidate")
            .when(sfn.Condition.is_present("$.done[0]"), invalidate.next(check_failures))
            .otherwise(check_failures)
        )
        self.log_group = log_group(self, "Logs", retention_days=config.log_retention_days)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            comment="Publish pages into the edge cache and invalidate them",
            timeout=Duration.hours(1),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )


def _retry_with_backoff(task: sfn.TaskStateBase, errors: list[str], config: EdgeConfig) -> None:
    """The publisher's one retry policy: exponential backoff with full jitter, bounded by config."""
    task.add_retry(
        errors=errors,
        interval=Duration.seconds(config.publish_retry_interval_s),
        backoff_rate=config.publish_backoff_rate,
        max_attempts=config.publish_retry_attempts,
        max_delay=Duration.seconds(config.publish_max_delay_s),
        jitter_strategy=sfn.JitterType.FULL,
    )
