"""Local AWS for the edge cache's domain tests, in this process: moto's S3 on 127.0.0.1 and the web origin's
stand-in (tests/support/web_origin.py). The function itself runs as deployed in test_publisher_as_deployed.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.support.servers import moto_server, restore_env, set_env
from tests.support.web_origin import LocalOrigin, web_origin

REGION = "eu-west-1"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3 HTTP API; boto3 clients created without an endpoint also reach it (AWS_ENDPOINT_URL_S3)."""
    with moto_server() as endpoint:
        previous = set_env(
            {"AWS_ENDPOINT_URL_S3": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        )
        try:
            yield endpoint
        finally:
            restore_env(previous)


@pytest.fixture(scope="session")
def s3(s3_endpoint: str) -> Any:
    return boto3.client("s3", region_name=REGION, endpoint_url=s3_endpoint)


@pytest.fixture
def bucket(s3: Any, request: pytest.FixtureRequest) -> str:
    """A fresh bucket per test."""
    name = "cache-" + str(abs(hash(request.node.nodeid)))[:12]
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


@pytest.fixture(scope="session")
def origin() -> Iterator[LocalOrigin]:
    with web_origin() as served:
        yield served


@pytest.fixture(scope="session")
def origin_url(origin: LocalOrigin) -> str:
    return origin.url
