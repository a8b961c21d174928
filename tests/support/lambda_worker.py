"""A deployed function run as Lambda runs it, for the handler tests: its code asset, the packages Lambda gives
it, its template's environment, a Lambda context per invocation, and its calls checked against its role.

`LambdaWorker` runs tests/support/lambda_worker_process.py in an interpreter of its own (`-I -S`: nothing
of the development venv), which imports the handler once and serves invocations over a pipe. The
interpreter is forked from this process's zygote, which has imported boto3 from the Lambda runtime's
packages and nothing else (every function imports it; test_as_deployed checks where it comes from): a
test's cold environment pays its handler's own imports, not the SDK's again (about 0.2 s of CPU each).

An invocation comes back as an `Invocation`: the handler's result or error, the log lines it wrote, the AWS
calls it made and the X-Ray documents it sent. By default an invocation fails the test that made it when the
function raised, wrote an ERROR log line, or made a call its role does not allow; a test about such a failure
says which one it expects.

Tracing is on where the template turns it on: the worker's X-Ray daemon address is a UDP socket here, read
after each invocation, as Lambda's daemon would receive the segments.

The memory tuner (bench/tune.py) runs functions through the same worker: one worker per execution environment
(a fresh interpreter, `fresh=True`: INIT is what it measures), the memory size under test in place of the
template's (`memory_mb`), started inside that size's cgroup (`launch` wraps the command), with each
invocation's trace header as its plan samples it, its CPU time, and the interpreter's peak resident memory
(`usage`).
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support import lambda_packages
from tests.support.lambda_environment import (
    ACCOUNT,
    DeployedFunction,
    FunctionEnvironment,
    Resolver,
    deployed_function,
    function_environment,
)
from tests.support.role_policy import Denied, RolePolicy
from tests.support.synth import Synthesized

PROCESS = Path(__file__).with_name("lambda_worker_process.py")
# What the zygote imports from the runtime's packages before it forks environments of any function.
ZYGOTE_PRELOAD = ("boto3", "botocore.client")
# What a fan-out's zygote imports before it forks the containers (each still imports the handler itself).
PRELOAD = (
    "boto3",
    "botocore.client",
    "aws_xray_sdk.core",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.idempotency",
    "aws_lambda_powertools.utilities.parameters",
    "pydantic",
)


@contextmanager
def deployed_worker(
    synth: Synthesized,
    stack: str,
    handler: str,
    *,
    resources: dict[str, dict[str, str]],
    endpoints: Mapping[str, str],
) -> Iterator[LambdaWorker]:
    """A started worker of the function of `stack` whose Handler is `handler`: `resources` are the local
    stand-ins of the template's resources its environment and role name (logical id -> {"Ref": ..., "Arn":
    ...}), `endpoints` the emulators (botocore service id -> URL). Stops it on exit."""
    function = deployed_function(synth, stack, handler)
    resolver = Resolver(synth.templates[stack], synth.regions[stack], resources)
    with closing(LambdaWorker(function, resolver, endpoints).start()) as worker:
        yield worker


class FunctionFailed(AssertionError):
    """An invocation failed in a way its test did not expect (an error, an ERROR log line, a denied call)."""


@dataclass
class Invocation:
    result: Any
    error: dict[str, Any] | None
    logs: list[str]
    calls: list[dict[str, Any]]
    duration_ms: float
    cpu_ms: float = 0.0  # the worker process's CPU time during the handler call
    segments: list[dict[str, Any]] = field(default_factory=list)
    denied: list[Denied] = field(default_factory=list)

    def operations(self, service: str | None = None) -> list[str]:
        return [c["operation"] for c in self.calls if service is None or c["service"] == service]

    def error_lines(self) -> list[str]:
        """Log lines at ERROR or above, and tracebacks (what a log-based alarm or a reader would see)."""
        found = []
        for line in self.logs:
            try:
                level = str(json.loads(line).get("level", "")).upper()
            except (ValueError, AttributeError):
                level = "ERROR" if "Traceback (most recent call last)" in line else ""
            if level in ("ERROR", "CRITICAL", "FATAL"):
                found.append(line)
        return found


class LambdaWorker:
    """One execution environment of `function` with `environment`; start() once, invoke() many times.

    `memory_mb` stands for the function's MemorySize (the tuner's size under test); `launch` turns the worker's
    command into the one that starts it (the tuner's: inside a cgroup)."""

    def __init__(
        self,
        function: DeployedFunction,
        resolver: Resolver,
        endpoints: Mapping[str, str],
        *,
        mode: str = "serve",
        memory_mb: int | None = None,
        launch: Callable[[list[str]], list[str]] | None = None,
        fresh: bool = False,
    ) -> None:
        self.function = function
        self.policy = RolePolicy.of(function, resolver)
        self._daemon: socket.socket | None = None
        if function.tracing:
            self._daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._daemon.bind(("127.0.0.1", 0))
            self._daemon.setblocking(False)
        daemon = f"127.0.0.1:{self._daemon.getsockname()[1]}" if self._daemon else None
        self.environment: FunctionEnvironment = function_environment(
            function, resolver, endpoints, xray_daemon=daemon, memory_mb=memory_mb
        )
        layers = lambda_packages.layer_folders(function.template, function.properties.get("Layers", []))
        self.import_path = lambda_packages.import_path(function.task_root, layers)
        self.mode = mode
        self._launch = launch or (lambda argv: argv)
        # A fan-out forks its own containers; a launched command (a cgroup) is a fresh interpreter.
        self._forked = not fresh and launch is None and mode == "serve"
        self.init: Invocation | None = None
        self.init_wall_ms = 0.0  # from starting the interpreter to the handler imported: INIT as the host sees it
        self.exit_code: int | None = None  # once closed (negative: the signal that ended it)
        self._process: subprocess.Popen[bytes] | Forked | None = None
        # What the interpreter itself writes outside the capture (closed in close()).
        self._log = tempfile.TemporaryFile()  # noqa: SIM115

    def start(self) -> LambdaWorker:
        requests_read, requests_write = os.pipe()
        replies_read, replies_write = os.pipe()
        settings = {
            "path": self.import_path,
            "handler": self.function.handler,
            "timeout_s": self.function.timeout_s,
            "mode": self.mode,
            "preload": [m for m in PRELOAD if self.mode == "fan-out"],
        }
        started = time.perf_counter()
        self._process = self._spawn(settings, requests_read, replies_write)
        os.close(requests_read)
        os.close(replies_write)
        self._requests = os.fdopen(requests_write, "w", buffering=1)
        self._replies = os.fdopen(replies_read)
        self.init = self._invocation(self._read())
        self.init_wall_ms = (time.perf_counter() - started) * 1000
        if self.init.error:
            raise FunctionFailed(f"{self.function.logical_id} failed to initialize: {self.init.error}")
        self._check(self.init, expect_error=False, allow_error_logs=False)
        return self

    def _spawn(
        self, settings: dict[str, Any], requests_read: int, replies_write: int
    ) -> subprocess.Popen[bytes] | Forked:
        if self._forked:
            return Zygote.shared().spawn(
                settings,
                self.environment.variables(),
                self.function.task_root,
                (requests_read, replies_write, self._log.fileno()),
            )
        return subprocess.Popen(
            self._launch(
                [
                    sys.executable,
                    "-I",
                    "-S",
                    "-B",
                    str(PROCESS),
                    str(requests_read),
                    str(replies_write),
                    json.dumps(settings),
                ]
            ),
            env=self.environment.variables(),
            cwd=self.function.task_root,
            pass_fds=(requests_read, replies_write),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
        )

    def invoke(
        self, event: Any, *, expect_error: bool = False, allow_error_logs: bool = False, trace: str | None = None
    ) -> Invocation:
        """One invocation. Fails unless it ran clean: no error (or one, if `expect_error`), no ERROR log line
        (unless `allow_error_logs`), and every AWS call allowed by the function's role. `trace` is its
        _X_AMZN_TRACE_ID (default: a new, sampled one)."""
        self._send({"op": "invoke", "event": event, "trace": trace})
        invocation = self._invocation(self._read())
        self._check(invocation, expect_error=expect_error, allow_error_logs=allow_error_logs)
        return invocation

    def fan_out(self, batches: list[list[Any]]) -> list[list[Invocation]]:
        """Each batch of events in a container of its own, all at once (a fan-out worker only)."""
        self._send({"op": "fan-out", "batches": batches})
        results = []
        for replies in self._read()["batches"]:
            if replies and "init_ms" in replies[0]:
                raise FunctionFailed(f"a container failed to initialize: {replies[0]['error']}")
            invocations = [self._invocation(reply) for reply in replies]
            for invocation in invocations:
                self._check(invocation, expect_error=False, allow_error_logs=False)
            results.append(invocations)
        return results

    def environ(self) -> dict[str, Any]:
        """What the function's process sees: its environment, sys.path, the file of each top-level module it
        has imported, and the name of every module loaded (`loaded`)."""
        self._send({"op": "environ"})
        return self._read()

    def usage(self) -> dict[str, float]:
        """The process's peak resident memory so far (max_rss_mib)."""
        self._send({"op": "usage"})
        return self._read()

    def close(self) -> None:
        if self._process is None:
            return
        self._requests.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self.exit_code = self._process.returncode
        self._replies.close()
        self._log.close()
        if self._daemon:
            self._daemon.close()
        self._process = None

    def _send(self, request: dict[str, Any]) -> None:
        if self._process is None:
            raise RuntimeError("the worker is not running: start() it first")
        self._requests.write(json.dumps(request) + "\n")

    def _read(self) -> dict[str, Any]:
        line = self._replies.readline()
        if not line:
            self._log.seek(0)
            raise FunctionFailed(
                f"the worker of {self.function.logical_id} exited:\n{self._log.read().decode(errors='replace')[-4000:]}"
            )
        return json.loads(line)  # type: ignore[no-any-return]

    def _invocation(self, reply: dict[str, Any]) -> Invocation:
        invocation = Invocation(
            result=reply.get("result"),
            error=reply.get("error"),
            logs=reply.get("logs", []),
            calls=reply.get("calls", []),
            duration_ms=float(reply.get("duration_ms", reply.get("init_ms", 0.0))),
            cpu_ms=float(reply.get("cpu_ms", 0.0)),
            segments=self._segments(),
        )
        invocation.denied = self.policy.denied(invocation.calls, ACCOUNT)
        return invocation

    def _segments(self) -> list[dict[str, Any]]:
        """The X-Ray documents received so far: each datagram is a JSON header line, then the document."""
        found = []
        while self._daemon is not None:
            try:
                datagram = self._daemon.recv(65_536)
            except BlockingIOError:
                break
            found.append(json.loads(datagram.split(b"\n", 1)[1]))
        return found

    def _check(self, invocation: Invocation, *, expect_error: bool, allow_error_logs: bool) -> None:
        name = f"{self.function.stack}/{self.function.logical_id}"
        if invocation.denied:
            raise FunctionFailed(f"{name}: " + "; ".join(str(d) for d in invocation.denied))
        if invocation.error and not expect_error:
            raise FunctionFailed(f"{name} raised {invocation.error['errorType']}: {invocation.error['errorMessage']}")
        if expect_error and not invocation.error:
            raise FunctionFailed(f"{name} was expected to fail, and returned {invocation.result!r}")
        errors = invocation.error_lines()
        if errors and not (allow_error_logs or expect_error):
            raise FunctionFailed(f"{name} logged at ERROR:\n" + "\n".join(errors))


class Forked:
    """An environment the zygote forked: not a child of this process, so it is waited for through a pidfd
    (readable once it has ended); its exit status goes to the zygote, so `returncode` stays None."""

    returncode: int | None = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        try:
            self._pidfd: int | None = os.pidfd_open(pid)
        except ProcessLookupError:  # already ended
            self._pidfd = None

    def wait(self, timeout: float | None = None) -> None:
        if self._pidfd is None:
            return
        ready, _, _ = select.select([self._pidfd], [], [], timeout)
        if not ready:
            raise subprocess.TimeoutExpired(f"environment {self.pid}", timeout or 0)
        os.close(self._pidfd)
        self._pidfd = None

    def kill(self) -> None:
        if self._pidfd is not None:
            signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)


class Zygote:
    """This process's fork server of Lambda environments (tests/support/lambda_worker_process.py --zygote),
    started on first use and ended with the process."""

    _lock = threading.Lock()
    _instance: Zygote | None = None

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        settings = {"path": [str(lambda_packages.RUNTIME)], "preload": list(ZYGOTE_PRELOAD)}
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed with the zygote)
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-B", str(PROCESS), "--zygote", str(theirs.fileno()), json.dumps(settings)],
            env={},
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
        )
        theirs.close()
        self._control = ours
        atexit.register(self.close)

    @classmethod
    def shared(cls) -> Zygote:
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def spawn(self, settings: dict[str, Any], env: dict[str, str], cwd: Path, fds: tuple[int, int, int]) -> Forked:
        request = json.dumps({"settings": settings, "env": env, "cwd": str(cwd)}).encode()
        with self._lock:
            socket.send_fds(self._control, [request], list(fds))
            reply = self._control.recv(4096)
        if not reply:
            self._log.seek(0)
            raise RuntimeError(f"the Lambda zygote exited:\n{self._log.read().decode(errors='replace')[-4000:]}")
        return Forked(json.loads(reply)["pid"])

    def close(self) -> None:
        self._control.close()  # the zygote ends at the end of its control socket
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()
