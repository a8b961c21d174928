"""The host executor's worker against a fake LocalStack executor endpoint (no LocalStack needed)."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import textwrap
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import free_port

WORKER = (
    Path(__file__).resolve().parents[2]
    / "tools"
    / "localstack_host_executor"
    / "localstack_host_executor"
    / "worker.py"
)
RUNTIME_ID = "env1"
FUNCTIONS = """
import time

def echo(event, context):
    print("hello from the function")
    return {"event": event, "name": context.function_name, "left_ms": context.get_remaining_time_in_millis()}

def boom(event, context):
    raise ValueError("bad input")

def slow(event, context):
    time.sleep(30)
"""


class FakeEndpoint:
    """Records what the worker POSTs to LocalStack's executor endpoint: (path, json body)."""

    def __init__(self) -> None:
        self.posts: queue.Queue[tuple[str, Any]] = queue.Queue()
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                posts.put((self.path, json.loads(body) if body else None))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/_localstack_lambda/{RUNTIME_ID}"

    def next(self) -> tuple[str, Any]:
        return self.posts.get(timeout=15)


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Any]:
    (tmp_path / "functions.py").write_text(textwrap.dedent(FUNCTIONS))
    started: list[subprocess.Popen[bytes]] = []

    def start(handler: str, timeout_s: str = "3") -> tuple[FakeEndpoint, int, subprocess.Popen[bytes]]:
        endpoint, port = FakeEndpoint(), free_port()
        env = {
            "PATH": os.environ["PATH"],
            "LOCALSTACK_RUNTIME_ENDPOINT": endpoint.url,
            "LOCALSTACK_RUNTIME_ID": RUNTIME_ID,
            "_HANDLER": handler,
            "LAMBDA_TASK_ROOT": str(tmp_path),
            "AWS_LAMBDA_FUNCTION_NAME": "fn",
            "AWS_LAMBDA_FUNCTION_TIMEOUT": timeout_s,
        }
        argv = [sys.executable, "-I", "-S", str(WORKER), str(port), "[]"]
        process = subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL)
        started.append(process)
        return endpoint, port, process

    yield start
    for process in started:
        process.kill()
        process.wait()


def _invoke(port: int, request_id: str, event: Any) -> None:
    payload = {"invoke-id": request_id, "invoked-function-arn": "arn:fn", "payload": json.dumps(event), "trace-id": ""}
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/invoke", data=json.dumps(payload).encode(), method="POST"
    )
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=10) as response:
        assert response.status == 202


def test_reports_ready_then_returns_the_handler_result_and_logs(start_worker: Any) -> None:
    endpoint, port, _ = start_worker("functions.echo")
    assert endpoint.next() == (f"/_localstack_lambda/{RUNTIME_ID}/status/{RUNTIME_ID}/ready", {})

    _invoke(port, "req-1", {"a": 1})

    path, logs = endpoint.next()
    assert path.endswith("/invocations/req-1/logs")
    assert "hello from the function" in logs["logs"]
    path, result = endpoint.next()
    assert path.endswith("/invocations/req-1/response")
    assert result["event"] == {"a": 1}
    assert result["name"] == "fn"
    assert 0 < result["left_ms"] <= 3000


def test_a_raising_handler_reports_an_error_document(start_worker: Any) -> None:
    endpoint, port, _ = start_worker("functions.boom")
    endpoint.next()
    _invoke(port, "req-2", {})
    assert "ValueError" in endpoint.next()[1]["logs"]  # the traceback is in the logs
    path, error = endpoint.next()
    assert path.endswith("/invocations/req-2/error")
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "bad input"


def test_an_import_error_is_reported_as_a_startup_error(start_worker: Any) -> None:
    endpoint, _, process = start_worker("functions.missing")
    path, error = endpoint.next()
    assert path.endswith(f"/status/{RUNTIME_ID}/error")
    assert error["errorType"] == "AttributeError"
    assert process.wait(10) == 1


def test_a_timed_out_invocation_reports_timeout_and_ends_the_environment(start_worker: Any) -> None:
    endpoint, port, process = start_worker("functions.slow", timeout_s="0.2")  # seconds, as the worker reads it
    endpoint.next()
    _invoke(port, "req-3", {})
    endpoint.next()  # logs
    path, error = endpoint.next()
    assert path.endswith("/invocations/req-3/error")
    assert error["errorType"] == "Sandbox.Timedout"
    assert process.wait(10) == 1
