"""One LocalStack and one deployment of the sandbox stage for the whole end-to-end session, made with the
README's own targets: `make bootstrap` and `make deploy`, pointed at the emulator the way cdklocal does it
(AWS_ENDPOINT_URL and dummy credentials, tools/local_sandbox/environment.py).

The first target synthesizes the stage into the session's assembly folder; every later one reuses it
(ASSEMBLY=...), so the app is synthesized once. LocalStack is started here unless `make local-up` already
runs it, and stopped here whatever the tests did (SIGTERM from a CI timeout included).
"""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from stage.builder import stack_ids
from stage.config import load_stage
from tools.cdk_stage.assembly import StackArtifact, read_assembly
from tools.local_sandbox import environment, runtime

ROOT = Path(__file__).resolve().parents[2]
STAGE = "sandbox"
CHAT = f"{STAGE}/Chat"
# The stacks of the stage the emulator cannot run, and why; test_2 derives these reasons from the
# templates, checks each against the running emulator, and fails if another stack would need leaving out.
NODE_FUNCTIONS = "Node.js Lambda functions (CDK custom-resource providers): the host executor runs Python only"
LEFT_OUT: dict[str, tuple[str, ...]] = {
    "Web": (
        "CodeBuild is not in LocalStack's free edition",
        "ECR is not in LocalStack's free edition",
        "ECS is not in LocalStack's free edition",
        "ElasticLoadBalancingV2 is not in LocalStack's free edition",
        "RDS is not in LocalStack's free edition",
        NODE_FUNCTIONS,
    ),
    "Edge": (
        "CloudFront is not in LocalStack's free edition",
        NODE_FUNCTIONS,
        "depends on sandbox/Web, which is left out",
    ),
}
STACK_IDS = stack_ids(load_stage(STAGE))  # the stage's stacks, in dependency order
DEPLOYED = tuple(stack_id for stack_id in STACK_IDS if stack_id not in LEFT_OUT)
STACKS = " ".join(DEPLOYED)  # the STACKS= value every target of the session gets
MAKE_TIMEOUT_S = 900


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
class Run:
    """One `make` run: its exit code and everything it printed (stdout and stderr, interleaved)."""

    command: str
    code: int
    output: str

    def __str__(self) -> str:
        return f"$ {self.command}\n(exit {self.code})\n{self.output[-6000:]}"


def make(target: str, cwd: Path = ROOT, **variables: str) -> Run:
    """Run `make TARGET VAR=value ...` in the project (or a copy of it at `cwd`), pointed at LocalStack."""
    argv = ["make", "--no-print-directory", target, *(f"{k}={v}" for k, v in variables.items())]
    done = subprocess.run(
        argv,
        cwd=cwd,
        env=environment.local_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=MAKE_TIMEOUT_S,
        check=False,
    )
    return Run(shlex.join(argv[2:]), done.returncode, done.stdout)


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


@dataclass(frozen=True)
class Deployment:
    """What `make bootstrap` and `make deploy` did, and the assembly they acted on."""

    assembly: Path
    bootstrap: Run
    deploy: Run
    outputs: dict[str, dict[str, str]]  # CloudFormation stack name -> output -> value

    @property
    def stacks(self) -> dict[str, StackArtifact]:
        """Every stack of the assembly (the whole stage), by display name."""
        return {s.display_name: s for s in read_assembly(self.assembly)}

    def stack(self, stack_id: str) -> StackArtifact:
        return self.stacks[f"{STAGE}/{stack_id}"]


@pytest.fixture(scope="session")
def deployment(localstack: None, tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    """The stage's emulated stacks bootstrapped and deployed by the README's targets (synthesized once)."""
    folder = tmp_path_factory.mktemp("e2e") / "cdk.out"  # absent: the first target synthesizes into it
    bootstrap = make("bootstrap", STAGE=STAGE, STACKS=STACKS, ASSEMBLY=str(folder))
    assert bootstrap.code == 0, bootstrap
    chosen = [s for s in read_assembly(folder) if s.stage == STAGE and s.stack_id in DEPLOYED]
    stand_ins = environment.public_parameter_arguments(chosen)
    deploy = make(
        "deploy",
        STAGE=STAGE,
        STACKS=STACKS,
        ASSEMBLY=str(folder),
        CDK_ARGS=shlex.join(["--require-approval", "never", *stand_ins]),
    )
    assert deploy.code == 0, deploy
    outputs = json.loads((folder / "outputs.json").read_text())
    return Deployment(folder, bootstrap, deploy, outputs)


@pytest.fixture(scope="session")
def api(deployment: Deployment) -> Api:
    url = environment.local_api_url(deployment.outputs[deployment.stack("Chat").stack_name]["ApiUrl"])
    assert url.startswith(f"{runtime.endpoint()}/"), f"API URL {url} is not on the loopback gateway"
    return Api(url)
