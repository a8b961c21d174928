"""The cache publisher: a state machine that fetches pages from the web origin (inside its VPC) into the cache
bucket."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from edge.buckets import PAGES_PREFIX
from edge.config import EdgeConfig
from quality.declare import acknowledge, declare_bounds, printed_account
from shared.origin import WebOrigin
from shared.policies import log_group
from shared.python_function import PythonFunction

# Error names raised by edge/runtime/edge_cache pages.py, and Lambda's own transient ones.
RETRYABLE_ERRORS = [
    "RetryableOriginError",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
]
_S3_THROTTLING = ["S3.S3Exception", "S3.SdkClientException"]
_INVALIDATION_RETRY = ["CloudFront.TooManyInvalidationsInProgressException", "CloudFront.CloudFrontException"]
# Each batch of paths is one child execution with a history of its own: at most this many paths, and this
# many bytes of them, so its history and its states stay within Step Functions' limits whatever the config's
# retries (a test computes both bounds for the config's maxima). Each batch is also one invalidation, whose
# pages are filled again together (the capacity model counts them).
BATCH_PATHS = 100
# Chosen by measurement (make tune, reports/tune-*.md): the cheapest size whose warm p99 keeps the fetch's 50 ms
# budget in every round, the pick of the last three runs (reports/memory-runs.json); a test keeps it there.
FETCH_MEMORY_MB = 1024
BATCH_BYTES = 64 * 1024


class CachePublisher(Construct):
    """{"paths": [...]} -> each page fetched and stored (or its copy deleted on 404/410) -> invalidated.

    Each page is fetched from the web origin itself, inside its VPC (`web_origin.fetch_access`), not through
    CloudFront: the fetch needs no cache-busting parameter, no key to sign it, and never meets the web ACL's
    per-IP rate limit.

    The paths are split into batches that run one after the other as child executions of a distributed
    Map, each fetching up to `publish_concurrency` pages at a time and invalidating its own paths once they
    are stored, so no execution's history or state grows with the number of paths. A path that still fails
    after the retries is recorded in its batch's execution (state input and logs: path, error and cause),
    the rest carry on, and the execution ends failed, naming how many batches had failures, so the
    failed-executions alarm fires.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EdgeConfig,
        web_origin: WebOrigin,
        bucket: s3.IBucket,
        distribution: cloudfront.IDistribution,
        layers: list[lambda_.ILayerVersion],
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.fetcher = PythonFunction(
            self,
            "FetchAndStore",
            bundle="edge_cache",
            handler="edge_cache.publisher.handler",
            description="Fetch one page from the web origin and store it in the edge cache bucket",
            environment={
                "ORIGIN_URL": web_origin.url,
                **({"ORIGIN_TLS_NAME": web_origin.tls_name} if web_origin.https and web_origin.tls_name else {}),
                "CACHE_BUCKET": bucket.bucket_name,
                "FETCH_TIMEOUT_S": str(config.fetch_timeout_s),
                "POWERTOOLS_SERVICE_NAME": "edge-cache-publisher",
            },
            log_retention_days=config.log_retention_days,
            layers=layers,
            memory_mb=FETCH_MEMORY_MB,
            # The fetch is cut at fetch_timeout_s (pages.within); the rest is for the write to S3.
            timeout_s=config.fetch_timeout_s + 15,
            placement=web_origin.fetch_access,
        )
        bucket.grant_put(self.fetcher.function, f"{PAGES_PREFIX}*")
        batch = self._build_batch(bucket, distribution)
        self.log_group = log_group(
            self,
            "Logs",
            retention_days=config.log_retention_days,
            # Under /aws/vendedlogs/ so log delivery does not grow the account's resource policy.
            log_group_name=f"/aws/vendedlogs/states/{Stack.of(self).stack_name}-{construct_id}",
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(self._build_definition(batch)),
            comment="Publish pages into the edge cache and invalidate them",
            timeout=Duration.hours(1),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        declare_bounds(self.state_machine, max_items=config.publish_max_paths)
        self._acknowledge(bucket)

    def _build_path(self, bucket: s3.IBucket) -> sfn.IChainable:
        """One path: fetch and store it, or delete the cached copy when the origin no longer has it."""
        record_failure = sfn.Pass(self, "RecordFailure", parameters={"result": "failed"})
        fetch = tasks.LambdaInvoke(
            self,
            "FetchAndStorePage",
            lambda_function=self.fetcher.function,
            payload=sfn.TaskInput.from_object({"path": sfn.JsonPath.string_at("$.path")}),
            payload_response_only=True,
            retry_on_service_exceptions=False,
        )
        _retry_with_backoff(fetch, RETRYABLE_ERRORS, self._config)
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
        _retry_with_backoff(delete, _S3_THROTTLING, self._config)
        delete.add_catch(record_failure, errors=["States.ALL"], result_path="$.failure")
        # Each path's result is one fixed word: the batch's state does not grow with paths, errors or causes.
        return fetch.next(
            sfn.Choice(self, "FoundAtOrigin")
            .when(
                sfn.Condition.string_equals("$.result", "not_found"),
                delete.next(sfn.Pass(self, "Deleted", parameters={"result": "deleted"})),
            )
            .otherwise(sfn.Pass(self, "Stored", parameters={"result": "stored"}))
        )

    def _build_batch(self, bucket: s3.IBucket, distribution: cloudfront.IDistribution) -> sfn.IChainable:
        """One batch ({"Items": [paths]}, a child execution): publish each path, invalidate them, count failures."""
        each = sfn.Map(
            self,
            "PublishEach",
            items_path="$.Items",
            item_selector={"path": sfn.JsonPath.string_at("$$.Map.Item.Value")},
            max_concurrency=self._config.publish_concurrency,
            result_path="$.results",
        )
        each.item_processor(self._build_path(bucket))
        invalidate = self._build_invalidation(distribution)
        failures = sfn.Pass(self, "CountFailures", parameters={"failures.$": "$.results[?(@.result == 'failed')]"})
        summary = (
            sfn.Choice(self, "BatchHadFailures")
            .when(
                sfn.Condition.is_present("$.failures[0]"),
                sfn.Pass(
                    self,
                    "SomeFailed",
                    parameters={
                        "result": "failed",
                        "failed": sfn.JsonPath.array_length(sfn.JsonPath.string_at("$.failures")),
                    },
                ),
            )
            .otherwise(sfn.Pass(self, "AllPublished", parameters={"result": "published", "failed": 0}))
        )
        # Failed paths are invalidated too: their cache keeps its previous copy, which CloudFront refetches.
        return each.next(invalidate).next(failures).next(summary)

    def _build_invalidation(self, distribution: cloudfront.IDistribution) -> tasks.CallAwsService:
        """Invalidate a batch's paths in one request, retried while CloudFront throttles."""
        invalidate = tasks.CallAwsService(
            self,
            "InvalidateBatch",
            service="cloudfront",
            action="createInvalidation",
            parameters={
                "DistributionId": distribution.distribution_id,
                "InvalidationBatch": {
                    # The child execution's name: unique per batch, and the same when a retry resends it.
                    "CallerReference": sfn.JsonPath.string_at("$$.Execution.Name"),
                    "Paths": {
                        "Quantity": sfn.JsonPath.array_length(sfn.JsonPath.string_at("$.Items")),
                        "Items": sfn.JsonPath.list_at("$.Items"),
                    },
                },
            },
            iam_resources=[
                Stack.of(self).format_arn(
                    service="cloudfront", region="", resource="distribution", resource_name=distribution.distribution_id
                )
            ],
            iam_action="cloudfront:CreateInvalidation",
            result_path=sfn.JsonPath.DISCARD,
        )
        invalidate.add_retry(
            errors=_INVALIDATION_RETRY,
            interval=Duration.seconds(30),
            backoff_rate=2,
            max_attempts=5,
            max_delay=Duration.minutes(5),
            jitter_strategy=sfn.JitterType.FULL,
        )
        return invalidate

    def _build_definition(self, batch: sfn.IChainable) -> sfn.IChainable:
        limit = self._config.publish_max_paths
        batches = sfn.DistributedMap(
            self,
            "PublishBatches",
            items_path="$.paths",
            item_batcher=sfn.ItemBatcher(max_items_per_batch=BATCH_PATHS, max_input_bytes_per_batch=BATCH_BYTES),
            max_concurrency=1,  # one batch at a time: publish_concurrency bounds the concurrent fetches
            map_execution_type=sfn.StateMachineType.STANDARD,
        )
        batches.item_processor(batch)
        failed = sfn.Pass(self, "FindFailedBatches", parameters={"failed.$": "$[?(@.result == 'failed')]"})
        verdict = (
            sfn.Choice(self, "AnyPathFailed")
            .when(
                sfn.Condition.is_present("$.failed[0]"),
                sfn.Fail(
                    self,
                    "SomePathsFailed",
                    error="PublishFailed",
                    cause_path=sfn.JsonPath.format(
                        "{} batch(es) had paths that failed after retries; see this execution's map run",
                        sfn.JsonPath.array_length(sfn.JsonPath.string_at("$.failed")),
                    ),
                ),
            )
            .otherwise(sfn.Succeed(self, "Published"))
        )
        # Every path is checked before anything is fetched or invalidated: a batch invalidates all its paths,
        # and `/*` among them would purge the site.
        validate = tasks.LambdaInvoke(
            self,
            "ValidatePaths",
            lambda_function=self.fetcher.function,
            payload=sfn.TaskInput.from_object({"validate": sfn.JsonPath.list_at("$.paths")}),
            payload_response_only=True,
            retry_on_service_exceptions=False,
            result_path=sfn.JsonPath.DISCARD,
        )
        _retry_with_backoff(validate, RETRYABLE_ERRORS[1:], self._config)
        validate.add_catch(
            sfn.Fail(self, "InvalidPaths", error="InvalidPaths", cause_path="$.failure.Cause"),
            errors=["InvalidPath"],
            result_path="$.failure",
        )
        return (
            sfn.Choice(self, "BatchSizeAllowed")
            .when(
                # An item at index `limit` means more than `limit` paths.
                sfn.Condition.is_present(f"$.paths[{limit}]"),
                sfn.Fail(self, "TooManyPaths", error="TooManyPaths", cause=f"At most {limit} paths per execution"),
            )
            .otherwise(validate.next(batches).next(failed).next(verdict))
        )

    def _acknowledge(self, bucket: s3.IBucket) -> None:
        stack = Stack.of(self)
        pages = f"Resource::<{stack.get_logical_id(bucket.node.default_child)}.Arn>/pages/*"  # type: ignore[arg-type]
        fetcher = f"Resource::<{stack.get_logical_id(self.fetcher.function.node.default_child)}.Arn>:*"  # type: ignore[arg-type]
        machine = stack.get_logical_id(self.state_machine.node.default_child)  # type: ignore[arg-type]
        account = printed_account(self)
        name = f'{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{machine}"}}]}}]}}'
        executions = f"arn:aws:states:{stack.region}:{account}:execution:{name}"
        for construct, rule, reason in (
            (self.fetcher.role, f"AwsSolutions-IAM5[{pages}]", "The publisher writes cached pages under pages/ only."),
            (
                self.fetcher.role,
                "AwsSolutions-IAM5[Action::s3:Abort*]",
                "grant_put adds AbortMultipartUpload so large uploads can be cleaned up; scoped to pages/.",
            ),
            (
                self.state_machine,
                f"AwsSolutions-IAM5[{pages}]",
                "The not-found branch deletes the cached copy of a page, under pages/ only.",
            ),
            (
                self.state_machine,
                f"AwsSolutions-IAM5[{fetcher}]",
                "Step Functions invokes the fetch function by any of its versions; it is one function.",
            ),
            (
                self.state_machine.node.find_child("DistributedMapPolicy"),
                f"AwsSolutions-IAM5[Resource::{executions}:*]",
                "The distributed Map describes and stops the child executions of this state machine only.",
            ),
            (
                self.state_machine.node.find_child("DistributedMapPolicy"),
                f"AwsSolutions-IAM5[Resource::{executions}/*:*]",
                "The distributed Map's child executions (one per batch) belong to this state machine only.",
            ),
            (
                self.state_machine,
                "AwsSolutions-IAM5[Resource::*]",
                "On '*' only actions that take no resource: X-Ray's, and the CloudWatch Logs delivery actions "
                "Step Functions logging needs (tests/test_security_properties.py checks each).",
            ),
        ):
            acknowledge(construct, rule, reason)


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
