"""One LocalStack and one deployment of the sandbox stage for the whole end-to-end session.

LocalStack is started here unless `make local-up` already runs it, and then stopped here, whatever the
tests did (SIGTERM from a CI timeout included): a failing test leaves no process behind.
"""

from __future__ import annotations

import json
import signal
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from tools.local_sandbox import deploy, runtime

STAGE = "sandbox"
CHAT = f"{STAGE}/Chat"


def local_client(service: str, region: str) -> Any:
    """A boto3 client for LocalStack on 127.0.0.1 (dummy credentials)."""
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=runtime.endpoint(),
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


class Api:
    """A tiny JSON-over-HTTP client for one API base URL (loopback only, no proxies)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, raw: bytes | None = None
    ) -> Reply:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(f"{self.base_url}{path}", data=data, method=method)  # noqa: S310 - loopback http
        request.add_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with self._opener.open(request, timeout=30) as response:
                status, payload, reply_headers = response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            status, payload, reply_headers = error.code, error.read(), dict(error.headers)
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = payload.decode(errors="replace")
        return Reply(status, parsed, reply_headers)

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.request("POST", path, body, **kwargs)


@pytest.fixture(scope="session")
def localstack() -> Iterator[None]:
    started = runtime.running_pid() is None
    previous = signal.getsignal(signal.SIGTERM)

    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")  # unwinds through the teardown below

    signal.signal(signal.SIGTERM, _terminate)
    try:
        if started:
            try:
                runtime.start()
            except runtime.SandboxError as error:
                pytest.exit(f"local sandbox: {error}", returncode=1)  # one clear message, not one per test
        yield
    finally:
        if started:
            runtime.stop()
        signal.signal(signal.SIGTERM, previous)
    if started:  # only after a clean run: nothing of ours may outlive the session
        assert runtime.leftover_pids() == [], "processes of the local sandbox survived local-down"
        assert not runtime.S3_STORAGE.exists(), f"{runtime.S3_STORAGE} survived local-down"
        runtime.ensure_port_free(runtime.port())


@pytest.fixture(scope="session")
def deployment(localstack: None) -> dict[str, deploy.StackResult]:
    """Every stack of the stage, deployed (or failed) one by one, by display name."""
    return {result.name: result for result in deploy.deploy(STAGE)}


@pytest.fixture(scope="session")
def chat_stack(deployment: dict[str, deploy.StackResult]) -> deploy.StackResult:
    result = deployment[CHAT]
    assert result.status == "deployed", f"{CHAT} failed to deploy:\n{result.error}"
    return result


@pytest.fixture(scope="session")
def api(chat_stack: deploy.StackResult) -> Api:
    url = chat_stack.outputs["ApiUrl"]
    assert url.startswith(f"{runtime.endpoint()}/"), f"API URL {url} is not on the loopback gateway"
    return Api(url)
