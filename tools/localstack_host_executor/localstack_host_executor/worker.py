"""One Lambda execution environment as a host process: the part LocalStack's Docker image would run.

Started by the plugin with the interpreter that has the function's dependencies (not LocalStack's), so
it uses the standard library only. It speaks LocalStack's executor protocol, the one its runtime-init
binary speaks inside a container:

- on start, import the handler and POST `<endpoint>/status/<runtime id>/ready` (or `/error`);
- serve `POST /invoke` on 127.0.0.1:<port> ({"invoke-id", "invoked-function-arn", "payload", "trace-id"}),
  answer 202 at once, run the handler, then POST its logs to `<endpoint>/invocations/<id>/logs` and its
  result to `.../response` (or an error document to `.../error`).

A handler that outlives the function's timeout gets a timeout error and ends this process, as Lambda
ends a timed-out sandbox. Invocations run one at a time: LocalStack sends one per environment.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import sys
import threading
import time
import traceback
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ENDPOINT = os.environ.get("LOCALSTACK_RUNTIME_ENDPOINT", "")
RUNTIME_ID = os.environ.get("LOCALSTACK_RUNTIME_ID", "")
TIMEOUT_S = float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3"))
_lock = threading.Lock()


def post(path: str, body: bytes) -> None:
    """POST to LocalStack's executor endpoint (loopback only, never a proxy)."""
    request = urllib.request.Request(f"{ENDPOINT}{path}", data=body, method="POST")  # noqa: S310 - http endpoint from LocalStack
    request.add_header("Content-Type", "application/json")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as response:
        response.read()


def error_document(error: BaseException) -> dict[str, Any]:
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


def load_handler(spec: str) -> Any:
    """`package.module.function` (the Lambda `Handler` setting) -> the function."""
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        raise ValueError(f"Bad handler {spec!r}: expected module.function")
    return getattr(importlib.import_module(module_name.replace("/", ".")), function_name)


class LambdaContext:
    """The attributes and method of the Lambda context object that handlers and Powertools read."""

    def __init__(self, request_id: str, function_arn: str, deadline: float) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _Tee(io.TextIOBase):
    """Writes to the process's stream (the environment's log) and keeps a copy for this invocation."""

    def __init__(self, stream: Any, copy: io.StringIO) -> None:
        self._stream = stream
        self._copy = copy

    def write(self, text: str) -> int:
        self._copy.write(text)
        self._stream.write(text)
        self._stream.flush()
        return len(text)


def run_invocation(handler: Any, invoke: dict[str, Any]) -> tuple[str, bytes, str]:
    """Run the handler once; ("response" | "error", body, logs)."""
    request_id = invoke["invoke-id"]
    deadline = time.monotonic() + TIMEOUT_S
    os.environ["_X_AMZN_TRACE_ID"] = invoke.get("trace-id") or ""
    logs = io.StringIO()
    outcome: dict[str, Any] = {}

    def target() -> None:
        with (
            contextlib.redirect_stdout(_Tee(sys.__stdout__, logs)),
            contextlib.redirect_stderr(_Tee(sys.__stderr__, logs)),
        ):
            try:
                event = json.loads(invoke.get("payload") or "{}")
                context = LambdaContext(request_id, invoke.get("invoked-function-arn", ""), deadline)
                outcome["result"] = json.dumps(handler(event, context)).encode()
            except Exception as error:
                traceback.print_exc()
                outcome["error"] = json.dumps(error_document(error)).encode()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(TIMEOUT_S)
    if thread.is_alive():
        message = f"Task timed out after {TIMEOUT_S:.2f} seconds"
        return "error", json.dumps({"errorMessage": message, "errorType": "Sandbox.Timedout"}).encode(), message
    if "error" in outcome:
        return "error", outcome["error"], logs.getvalue()
    return "response", outcome["result"], logs.getvalue()


def serve(handler: Any, port: int) -> ThreadingHTTPServer:
    """Start the invoke listener on 127.0.0.1:port in a background thread."""

    class Invoke(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path != "/invoke":
                self.send_error(404)
                return
            invoke = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()
            threading.Thread(target=self._complete, args=(invoke,), daemon=True).start()

        def _complete(self, invoke: dict[str, Any]) -> None:
            with _lock:
                kind, body, logs = run_invocation(handler, invoke)
                request_id = invoke["invoke-id"]
                post(f"/invocations/{request_id}/logs", json.dumps({"logs": logs}).encode())
                post(f"/invocations/{request_id}/{kind}", body)
                if kind == "error" and b"Sandbox.Timedout" in body:
                    os._exit(1)  # the handler thread cannot be stopped; Lambda discards such a sandbox too

        def log_message(self, *args: Any) -> None:  # keep the function's log free of access lines
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Invoke)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> int:
    """`worker.py PORT PATHS`: serve on 127.0.0.1:PORT; PATHS (JSON) follow the function's code on sys.path."""
    port, paths = int(sys.argv[1]), json.loads(sys.argv[2]) if len(sys.argv) > 2 else []
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    sys.path[:0] = [task_root, *paths]
    try:
        handler = load_handler(os.environ["_HANDLER"])
    except Exception as error:
        traceback.print_exc()
        post(f"/status/{RUNTIME_ID}/error", json.dumps(error_document(error)).encode())
        return 1
    server = serve(handler, port)
    post(f"/status/{RUNTIME_ID}/ready", b"{}")
    try:
        threading.Event().wait()  # until the plugin terminates the process
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
