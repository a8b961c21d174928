"""One Lambda execution environment for the handler tests: the child process of tests/support/lambda_worker.py.

Run as `python -I -S -B lambda_worker_process.py <requests fd> <replies fd> <json settings>`: no site
packages, no PYTHON* variables, nothing on sys.path but the standard library until it adds the function's
import path (tests/support/lambda_packages.py). Standard library only until then. Or as a fork server
(`--zygote <control fd> <json settings>`): an interpreter started the same way that imports what every
function imports from the Lambda runtime's packages (boto3), then forks one environment per request, which
takes its pipes, log, working folder and environment from the request and goes on as the first form does.

Like Lambda's runtime it imports the handler once (the init phase), then runs invocations one at a time with
a Lambda context and a trace header of their own, and the root logger set up as the function's LoggingConfig
says. Requests and replies are JSON lines on their own pipes, so whatever the function prints stays its log.

Every AWS API call any botocore client makes (any session, the handler's or a library's) is recorded below
the client (`BaseClient._make_api_call`) with the identifiers of what it names, and returned with the
invocation for the parent to check against the function's role.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from typing import Any

_calls: list[dict[str, Any]] = []
_calls_lock = threading.Lock()
_RESOURCE_KEYS = ("RequestItems",)


class _Capture(io.TextIOBase):
    """The function's stdout and stderr: what it writes goes to the current invocation's log."""

    def __init__(self) -> None:
        self.buffer_: list[str] = []
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        self.buffer_.extend(lines)
        return len(text)

    def drain(self) -> list[str]:
        if self._pending:
            self.buffer_.append(self._pending)
            self._pending = ""
        lines, self.buffer_ = self.buffer_, []
        return lines


_out = _Capture()


def _named(params: dict[str, Any]) -> dict[str, Any]:
    """What a call's parameters name (tables, indexes, secrets, buckets, keys, ARNs), not its data."""
    named: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, str) and len(value) <= 2048:
            named[key] = value
        elif key == "RequestItems" and isinstance(value, dict):
            named[key] = sorted(value)
        elif key == "TransactItems" and isinstance(value, list):
            named[key] = [[kind, body.get("TableName", "")] for item in value for kind, body in item.items()]
    return named


def _record_calls() -> None:
    import botocore.client

    original = botocore.client.BaseClient._make_api_call

    def recorded(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        model = self.meta.service_model
        call = {
            "service": model.service_name,
            "signing_name": model.signing_name,
            "operation": operation_name,
            "region": self.meta.region_name,
            "client": id(self),
            "params": _named(api_params),
        }
        with _calls_lock:
            _calls.append(call)
        return original(self, operation_name, api_params)

    botocore.client.BaseClient._make_api_call = recorded


def _taken_calls() -> list[dict[str, Any]]:
    with _calls_lock:
        taken = list(_calls)
        _calls.clear()
    return taken


class _JsonLogFormatter(logging.Formatter):
    """The shape Lambda's Python runtime gives root-logger records when the log format is JSON."""

    request_id = ""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + "Z",
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "requestId": self.request_id,
        }
        if record.exc_info:
            document["errorType"] = record.exc_info[0].__name__ if record.exc_info[0] else ""
            document["stackTrace"] = traceback.format_exception(*record.exc_info)
        return json.dumps(document)


_formatter = _JsonLogFormatter()


def _configure_root_logger() -> None:
    """As Lambda's runtime does for the function's LoggingConfig (advanced logging controls)."""
    handler = logging.StreamHandler(_out)
    if os.environ.get("AWS_LAMBDA_LOG_FORMAT") == "JSON":
        handler.setFormatter(_formatter)
        logging.getLogger().setLevel(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "INFO"))
    else:
        handler.setFormatter(logging.Formatter("[%(levelname)s]\t%(asctime)s\t%(message)s"))
    logging.getLogger().addHandler(handler)


class LambdaContext:
    """The context object's attributes and method, as the Python runtime passes them."""

    def __init__(self, request_id: str, deadline: float) -> None:
        name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        region = os.environ.get("AWS_REGION", "")
        self.aws_request_id = request_id
        self.function_name = name
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{name}"
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _error(error: BaseException) -> dict[str, Any]:
    return {
        "errorType": type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


def _trace_header() -> str:
    root = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
    return f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled=1"


def _invoke(handler: Any, event: Any, timeout_s: float, trace: str | None = None) -> dict[str, Any]:
    request_id = str(uuid.uuid4())
    os.environ["_X_AMZN_TRACE_ID"] = trace or _trace_header()
    _formatter.request_id = request_id
    context = LambdaContext(request_id, time.monotonic() + timeout_s)
    reply: dict[str, Any] = {"request_id": request_id}
    started, cpu = time.perf_counter(), time.process_time()
    try:
        reply["result"] = handler(event, context)
    except Exception as error:  # the runtime reports it as the invocation's error, and logs it
        reply["error"] = _error(error)
        print(json.dumps({"level": "ERROR", "requestId": request_id, **reply["error"]}), file=_out)
    reply["duration_ms"] = (time.perf_counter() - started) * 1000
    reply["cpu_ms"] = (time.process_time() - cpu) * 1000
    reply["logs"] = _out.drain()
    reply["calls"] = _taken_calls()
    return reply


def _init(handler_spec: str) -> tuple[Any, dict[str, Any]]:
    """The init phase: import the handler's module, as the runtime does before the first invocation."""
    import importlib

    module_name, _, function_name = handler_spec.rpartition(".")
    started = time.perf_counter()
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
        error = None
    except Exception as failure:
        handler, error = None, _error(failure)
        print(json.dumps({"level": "ERROR", "phase": "init", **error}), file=_out)
    return handler, {
        "init_ms": (time.perf_counter() - started) * 1000,
        "error": error,
        "logs": _out.drain(),
        "calls": _taken_calls(),
    }


def _fan_out(handler_spec: str, batches: list[list[Any]], timeout_s: float) -> list[list[dict[str, Any]]]:
    """Each batch in a forked process of its own that imports the handler itself (a container each)."""
    import selectors

    children = []
    for batch in batches:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the container: its own module state, clients and connections
            os.close(read_end)
            handler, init = _init(handler_spec)
            replies = [init] if init["error"] else [_invoke(handler, event, timeout_s) for event in batch]
            with os.fdopen(write_end, "w") as out:
                out.write(json.dumps(replies))
            os._exit(0)
        os.close(write_end)
        children.append((pid, read_end))
    chunks: dict[int, list[bytes]] = {fd: [] for _, fd in children}
    selector = selectors.DefaultSelector()
    for _, fd in children:
        selector.register(fd, selectors.EVENT_READ)
    open_fds = len(children)
    while open_fds:
        for key, _ in selector.select():
            data = os.read(key.fd, 1 << 16)
            if data:
                chunks[key.fd].append(data)
            else:
                selector.unregister(key.fd)
                os.close(key.fd)
                open_fds -= 1
    for pid, _ in children:
        os.waitpid(pid, 0)
    return [json.loads(b"".join(chunks[fd])) for _, fd in children]


def main() -> int:
    if sys.argv[1] == "--zygote":
        return _zygote(int(sys.argv[2]), json.loads(sys.argv[3]))
    return _serve(int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3]))


def _zygote(control_fd: int, settings: dict[str, Any]) -> int:
    """Import `preload` from `path`, then fork an environment for each request on the control socket (a JSON
    message with the requests, replies and log descriptors); reply with its pid. The parent waits for a
    forked environment through a pidfd: the kernel reaps them (SIGCHLD ignored here)."""
    import signal
    import socket

    sys.path[:0] = settings["path"]
    for module in settings["preload"]:
        __import__(module)
    del sys.path[: len(settings["path"])]  # an environment's path is its own, as in a fresh interpreter
    preloaded = {
        name: str(module.__file__)
        for name, module in sys.modules.items()
        if "." not in name and any(str(getattr(module, "__file__", "")).startswith(p) for p in settings["path"])
    }
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    control = socket.socket(fileno=control_fd)
    while True:
        message, fds, _, _ = socket.recv_fds(control, 1 << 20, 3)
        if not message:
            return 0
        request = json.loads(message)
        pid = os.fork()
        if pid == 0:  # the environment
            control.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            requests_fd, replies_fd, log_fd = fds
            os.dup2(log_fd, 1)
            os.dup2(log_fd, 2)
            os.close(log_fd)
            os.chdir(request["cwd"])
            os.environ.clear()
            os.environ.update(request["env"])
            return _serve(requests_fd, replies_fd, request["settings"], preloaded)
        for fd in fds:
            os.close(fd)
        control.send(json.dumps({"pid": pid}).encode())


def _shadowed(preloaded: dict[str, str]) -> list[str]:
    """Modules the zygote loaded that this environment's path would load from another file (its asset or a
    layer bringing its own copy): such an environment cannot be forked from the zygote."""
    from importlib.machinery import PathFinder

    found = []
    for name, file in preloaded.items():
        spec = PathFinder.find_spec(name, sys.path)
        if spec is None or spec.origin != file:
            found.append(f"{name} ({file}, the path has {spec.origin if spec else None})")
    return found


def _serve(requests_fd: int, replies_fd: int, settings: dict[str, Any], preloaded: dict[str, str] | None = None) -> int:
    sys.path[:0] = settings["path"]
    sys.stdout = sys.stderr = _out  # what the function prints is its log, per invocation
    _record_calls()
    _configure_root_logger()
    timeout_s = float(settings["timeout_s"])
    replies = os.fdopen(replies_fd, "w", buffering=1)

    def reply(document: Any) -> None:
        replies.write(json.dumps(document, default=_undumpable) + "\n")

    handler = None
    shadowed = _shadowed(preloaded or {})
    if shadowed:
        error = {"errorType": "HarnessError", "errorMessage": "forked with other copies of: " + ", ".join(shadowed)}
        reply({"init_ms": 0, "error": error, "logs": [], "calls": []})
        return 1
    if settings["mode"] == "serve":
        handler, init = _init(settings["handler"])
        reply(init)
    else:  # "fan-out": preload what every container imports, then fork containers on request
        for module in settings.get("preload", []):
            with contextlib.suppress(ImportError):  # not among this function's packages: nor its containers'
                __import__(module)
        reply({"init_ms": 0, "error": None, "logs": _out.drain(), "calls": _taken_calls()})
    with os.fdopen(requests_fd) as requests:
        for line in requests:
            request = json.loads(line)
            if request["op"] == "invoke" and handler is not None:
                reply(_invoke(handler, request["event"], timeout_s, request.get("trace")))
            elif request["op"] == "fan-out":
                reply({"batches": _fan_out(settings["handler"], request["batches"], timeout_s)})
            elif request["op"] == "environ":
                files = {
                    name: getattr(module, "__file__", None) for name, module in sys.modules.items() if "." not in name
                }
                reply({"environ": dict(os.environ), "path": sys.path, "modules": files, "loaded": sorted(sys.modules)})
            elif request["op"] == "usage":
                reply({"max_rss_mib": _peak_rss_mib()})
            else:
                reply({"error": {"errorType": "HarnessError", "errorMessage": f"cannot {request['op']}"}})
    return 0


def _peak_rss_mib() -> float:
    """This interpreter's peak resident set (VmHWM: its own, unlike getrusage's maxrss, which a process keeps
    across exec from whatever forked it)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _undumpable(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode()}
    return repr(value)


if __name__ == "__main__":
    sys.exit(main())
