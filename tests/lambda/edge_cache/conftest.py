"""Local AWS for the edge cache handlers: moto's S3 on 127.0.0.1 and a web origin played by http.server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import boto3
import pytest

from tests.support.servers import moto_server, restore_env, set_env

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


class _Origin(BaseHTTPRequestHandler):
    """A web origin with one route per behaviour the publisher must handle."""

    routes: ClassVar[dict[str, tuple[int, dict[str, str], bytes]]] = {
        "/news/today": (
            200,
            {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "max-age=60"},
            b"<h1>Today</h1>",
        ),
        "/": (200, {"Content-Type": "text/html"}, b"<h1>Home</h1>"),
        "/gone": (410, {}, b""),
        "/busy": (503, {}, b"try later"),
        "/slow-down": (429, {"Retry-After": "1"}, b""),
        "/moved": (301, {"Location": "/news/today"}, b""),
        "/private": (403, {}, b""),
    }

    requested: ClassVar[list[str]] = []  # every path with its query string, in order

    def do_GET(self) -> None:
        self.requested.append(self.path)
        path = self.path.split("?", 1)[0]  # a web app ignores query parameters it does not know
        status, headers, body = self.routes.get(path, (404, {"Content-Type": "text/plain"}, b"not found"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def origin_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Origin)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def origin_requests(origin_url: str) -> list[str]:
    """Paths (with query strings) the local origin has received, oldest first."""
    return _Origin.requested
