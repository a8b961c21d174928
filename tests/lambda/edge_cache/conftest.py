"""Local AWS for the edge cache handlers: moto's S3 on 127.0.0.1 and a web origin played by http.server."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import boto3
import pytest
from moto.server import ThreadedMotoServer

REGION = "eu-west-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3 HTTP API; boto3 clients created without an endpoint also reach it (AWS_ENDPOINT_URL_S3)."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.update(
        {"AWS_ENDPOINT_URL_S3": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    )
    yield endpoint
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


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

    def do_GET(self) -> None:
        status, headers, body = self.routes.get(self.path, (404, {"Content-Type": "text/plain"}, b"not found"))
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
