"""The publisher's task: one path per invocation (the state machine's Map state fans out)."""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from edge_cache.publishing import BucketWriter, fetch, publish

logger = Logger()
tracer = Tracer()
_writer = BucketWriter(boto3.client("s3"), os.environ.get("CACHE_BUCKET", ""))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], _context: LambdaContext) -> dict[str, str]:
    timeout = float(os.environ.get("FETCH_TIMEOUT_S", "10"))
    result = publish(
        event["path"],
        origin_url=os.environ["ORIGIN_URL"],
        fetcher=lambda url: fetch(url, timeout_s=timeout),
        writer=_writer,
    )
    logger.info("published", extra=result)
    return result
