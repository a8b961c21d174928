"""The publisher's task: one path per invocation (the state machine's Map state fans out), and the check of a
whole request's paths before anything is fetched or invalidated ({"validate": [paths]})."""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from edge_cache.pages import BucketWriter, InvalidPath, fetch, invalid_paths, publish, within

logger = Logger()
tracer = Tracer()
_writer = BucketWriter(boto3.client("s3"), os.environ.get("CACHE_BUCKET", ""))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], _context: LambdaContext) -> dict[str, str]:
    if "validate" in event:
        return validate(event["validate"])
    timeout = float(os.environ.get("FETCH_TIMEOUT_S", "10"))
    tls_name = os.environ.get("ORIGIN_TLS_NAME")  # with HTTPS: the name the load balancer's certificate covers
    result = publish(
        event["path"],
        origin_url=os.environ["ORIGIN_URL"],
        fetcher=lambda url: within(timeout, lambda: fetch(url, timeout_s=timeout, tls_name=tls_name)),
        writer=_writer,
    )
    logger.info("published", extra=result)
    return result


def validate(paths: Any) -> dict[str, str]:
    """Refuse the whole request when one path is no page path: `/*` would purge the site (the burst the
    capacity model shows viewers get 503s from), and a path without its leading slash fails CreateInvalidation."""
    if not isinstance(paths, list) or not paths:
        raise InvalidPath("paths: a non-empty list of page paths is required")
    bad = invalid_paths(paths)
    if bad:
        shown = ", ".join(repr(p) for p in bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise InvalidPath(
            f"paths: {len(bad)} of {len(paths)} are no cacheable page path ({shown}); wildcards and paths "
            "without a leading slash are refused, so nothing was fetched or invalidated"
        )
    return {"result": "valid", "paths": str(len(paths))}
