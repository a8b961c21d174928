"""LocalStack Lambda executor that runs each execution environment as a host process (no Docker).

Selected with `LAMBDA_RUNTIME_EXECUTOR=host`. Python runtimes only. The function runs with the
interpreter named by `LAMBDA_HOST_EXECUTOR_PYTHON` (default: the one running LocalStack). With
`LAMBDA_HOST_EXECUTOR_RUNTIME` (a folder holding the Lambda runtime's own packages) it runs isolated as on
Lambda (`-I -S`): its code, then `LAMBDA_HOST_EXECUTOR_LAYER` (a folder standing in for its layers' content,
used when the function has layers; layers are accepted by the API but not mounted), then the runtime's
packages, and nothing of any venv. Everything listens and connects on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from localstack import config
from localstack.services.lambda_.invocation.executor_endpoint import ExecutorEndpoint
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin
from localstack.services.lambda_.invocation.runtime_executor import LambdaRuntimeException, RuntimeExecutor
from localstack.utils.net import get_free_tcp_port

LOG = logging.getLogger(__name__)
LOOPBACK = "127.0.0.1"
WORKER = Path(__file__).with_name("worker.py")
STOP_GRACE_S = 5


def function_python() -> str:
    return os.environ.get("LAMBDA_HOST_EXECUTOR_PYTHON") or sys.executable


def worker_environment(env_vars: dict[str, object], *, code_dir: str, gateway_port: int) -> dict[str, str]:
    """The function's environment: LocalStack's Lambda variables (the function's own among them), and the
    endpoint that sends its SDK calls to the loopback gateway. Nothing of the host's but PATH, HOME and the
    locale; the worker's own settings (port, import path) go on its command line, not here.
    """
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") if key in os.environ}
    env.update({key: str(value) for key, value in env_vars.items()})
    env.update({"AWS_ENDPOINT_URL": f"http://{LOOPBACK}:{gateway_port}", "LAMBDA_TASK_ROOT": code_dir})
    return env


def worker_command(worker: Path, *, port: int, has_layers: bool) -> list[str]:
    """How the worker starts: isolated with the Lambda package folders when they are configured."""
    runtime = os.environ.get("LAMBDA_HOST_EXECUTOR_RUNTIME")
    if not runtime:
        return [function_python(), "-u", str(worker), str(port), "[]"]
    layer = os.environ.get("LAMBDA_HOST_EXECUTOR_LAYER")
    paths = [*([layer] if has_layers and layer else []), runtime]
    return [function_python(), "-I", "-S", "-B", "-u", str(worker), str(port), json.dumps(paths)]


class HostRuntimeExecutor(RuntimeExecutor):
    """One execution environment = one `worker.py` process on a free loopback port."""

    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self.port = get_free_tcp_port()
        self.executor_endpoint = ExecutorEndpoint(self.id, container_address=LOOPBACK, container_port=self.port)
        self.process: subprocess.Popen[bytes] | None = None
        self.log_dir = Path(tempfile.mkdtemp(prefix=f"lambda-host-{self.id}-"))
        self.log_file = self.log_dir / "environment.log"

    def start(self, env_vars: dict[str, str]) -> None:
        self.executor_endpoint.start()
        code_dir = str(self.function_version.config.code.get_unzipped_code_location())
        env = worker_environment(env_vars, code_dir=code_dir, gateway_port=config.GATEWAY_LISTEN[0].port)
        command = worker_command(WORKER, port=self.port, has_layers=bool(self.function_version.config.layers))
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                command,
                cwd=code_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() ends whatever it spawned too
            )
        LOG.debug("Started host environment %s (pid %s, port %s)", self.id, self.process.pid, self.port)
        self.executor_endpoint.wait_for_startup()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            except ProcessLookupError:
                pass
        try:
            self.executor_endpoint.shutdown()
        except Exception as error:  # already unregistered after a failed start
            LOG.debug("Error while stopping executor endpoint of %s: %s", self.id, error)
        shutil.rmtree(self.log_dir, ignore_errors=True)

    def get_address(self) -> str:
        return LOOPBACK

    def get_endpoint_from_executor(self) -> str:
        return LOOPBACK

    def get_runtime_endpoint(self) -> str:
        port = config.GATEWAY_LISTEN[0].port
        return f"http://{LOOPBACK}:{port}{self.executor_endpoint.get_endpoint_prefix()}"

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        return self.executor_endpoint.invoke(payload)

    def get_logs(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        runtime = str(function_version.config.runtime or "")
        if not runtime.startswith("python"):
            raise LambdaRuntimeException(
                f"The host executor runs Python functions only; {function_version.id.function_name} uses "
                f"{runtime or 'a container image'}"
            )
        if function_version.config.code:
            function_version.config.code.prepare_for_execution()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        pass

    @classmethod
    def validate_environment(cls) -> bool:
        python = function_python()
        if not (shutil.which(python) or os.access(python, os.X_OK)):
            LOG.error("LAMBDA_HOST_EXECUTOR_PYTHON=%s is not an executable interpreter", python)
            return False
        return True


class HostRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = "host"

    def load(self, *args: object, **kwargs: object) -> type[HostRuntimeExecutor]:
        return HostRuntimeExecutor
