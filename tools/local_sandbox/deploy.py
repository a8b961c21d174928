"""Deploy every stack of a stage onto the local LocalStack with the real CDK toolchain (cdklocal).

Stacks come from the synthesized cloud assembly, so stacks added later deploy without changes here.
Each stack is deployed on its own (dependencies first) and its outcome recorded, so one stack using a
service the emulator lacks does not hide whether the others work.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3

from stacks.config import load_stage
from tools.local_sandbox.runtime import LOCAL, ROOT, SandboxError, endpoint, healthy

ACCOUNT = "000000000000"  # LocalStack's default account for the dummy credentials
ASSEMBLY = LOCAL / "cdk.out"
RESULTS = LOCAL / "deployment.json"
PLACEHOLDER_LAYER = "host-provided-dependencies"
_API_URL = re.compile(r"^https?://(?P<id>[a-z0-9]+)\.execute-api\.[^/]+/(?P<stage>[^/]+)/?$")


@dataclass
class StackResult:
    """What happened to one stack: 'deployed' or 'failed' (with the CLI's last lines)."""

    name: str
    stack_name: str
    region: str
    status: str = "pending"
    outputs: dict[str, str] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class StackArtifact:
    display_name: str  # "sandbox/Chat", what the CLI selects
    stack_name: str  # "sandbox-Chat", the CloudFormation name
    region: str
    template: dict[str, Any]


def cdk_environment() -> dict[str, str]:
    """Environment for cdk/cdklocal: the loopback endpoint and dummy credentials, never a real profile."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_DEFAULT_"))}
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint(),
            "AWS_ENDPOINT_URL_S3": endpoint(),
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "CDK_DISABLE_CLI_TELEMETRY": "true",
            "CDK_DEFAULT_ACCOUNT": ACCOUNT,
        }
    )
    return env


def cdklocal() -> str:
    found = os.environ.get("CDKLOCAL") or shutil.which("cdklocal")
    if not found:
        raise SandboxError("cdklocal not found: run `make setup` (it installs aws-cdk-local from package.json)")
    return found


def run_cli(args: list[str], *, capture: bool = False, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `cdklocal ARGS` in the project folder; raise SandboxError with its output when it fails."""
    LOCAL.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=LOCAL, prefix="cdk-tmp-") as scratch:  # jsii leaves files in TMPDIR
        result = subprocess.run(  # noqa: S603
            [cdklocal(), *args],
            cwd=ROOT,
            env={**cdk_environment(), "TMPDIR": scratch},
            text=True,
            capture_output=capture,
            check=False,
        )
    if check and result.returncode:
        tail = "\n".join(((result.stdout or "") + (result.stderr or "")).splitlines()[-25:])
        raise SandboxError(f"cdklocal {' '.join(args[:2])} failed (exit {result.returncode})\n{tail}")
    return result


def synth(stage: str, outdir: Path = ASSEMBLY, context: dict[str, str] | None = None) -> Path:
    """Synthesize STAGE into OUTDIR (the account is LocalStack's, so bootstrap and deploy line up)."""
    extra = [arg for key, value in (context or {}).items() for arg in ("-c", f"{key}={value}")]
    run_cli(["synth", "-c", f"stage={stage}", *extra, "-o", str(outdir), "--quiet"], capture=True)
    return outdir


def stacks(outdir: Path = ASSEMBLY) -> list[StackArtifact]:
    """Every CloudFormation stack in the assembly (nested stage assemblies included), dependencies first."""
    found: list[StackArtifact] = []

    def visit(folder: Path) -> None:
        manifest = json.loads((folder / "manifest.json").read_text())
        for artifact in manifest.get("artifacts", {}).values():
            if artifact["type"] == "cdk:cloud-assembly":
                visit(folder / artifact["properties"]["directoryName"])
            elif artifact["type"] == "aws:cloudformation:stack":
                props = artifact["properties"]
                found.append(
                    StackArtifact(
                        display_name=artifact.get("displayName", props.get("stackName")),
                        stack_name=props.get("stackName"),
                        region=artifact["environment"].rsplit("/", 1)[-1],
                        template=json.loads((folder / props["templateFile"]).read_text()),
                    )
                )

    visit(outdir)
    return found


def _client(service: str, region: str) -> Any:
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint(),
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 - LocalStack's dummy credentials
    )


def _placeholder_layer(region: str) -> str:
    """A real local layer version whose ARN stands in for public ones (LocalStack's free edition cannot
    fetch layers from other accounts). The host executor's interpreter provides what layers would."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("python/README.txt", "Dependencies come from the host executor's interpreter.\n")
    response = _client("lambda", region).publish_layer_version(
        LayerName=PLACEHOLDER_LAYER, Content={"ZipFile": archive.getvalue()}, CompatibleRuntimes=["python3.13"]
    )
    return str(response["LayerVersionArn"])


def public_parameter_overrides(artifacts: list[StackArtifact]) -> dict[str, list[str]]:
    """Stand-ins for the public SSM parameters (`/aws/service/...`) the templates resolve at deploy time.

    The emulator reserves the `/aws/` prefix, so each value goes under `/local-sandbox/aws/service/...`
    and the stack's parameter is pointed there (`--parameters Stack:Param=name`); the templates are
    deployed unchanged. Returns the `--parameters` arguments per stack display name.
    """
    overrides: dict[str, list[str]] = {}
    layers: dict[str, str] = {}
    for artifact in artifacts:
        for logical_id, parameter in artifact.template.get("Parameters", {}).items():
            name = str(parameter.get("Default", ""))
            if not parameter.get("Type", "").startswith("AWS::SSM::Parameter::Value") or not name.startswith(
                "/aws/service/"
            ):
                continue
            if "/powertools/" in name or "layer" in name:
                value = layers.get(artifact.region) or _placeholder_layer(artifact.region)
                layers[artifact.region] = value
            elif "ami" in name:
                value = "ami-0123456789abcdef0"
            else:
                value = "placeholder"
            local_name = f"/local-sandbox{name}"
            _client("ssm", artifact.region).put_parameter(Name=local_name, Value=value, Type="String", Overwrite=True)
            overrides.setdefault(artifact.display_name, []).extend(["--parameters", f"{logical_id}={local_name}"])
    return overrides


def bootstrap(regions: set[str]) -> None:
    """`cdklocal bootstrap` each region once (a CDKToolkit stack there means it is done)."""
    for region in sorted(regions):
        cfn = _client("cloudformation", region)
        try:
            cfn.describe_stacks(StackName="CDKToolkit")
            continue
        except cfn.exceptions.ClientError:
            pass
        # --app "": bootstrap the named environment without synthesizing the app again.
        run_cli(["bootstrap", f"aws://{ACCOUNT}/{region}", "--app", ""], capture=True)


def local_api_url(url: str) -> str:
    """An API Gateway URL as LocalStack serves it on the loopback gateway."""
    match = _API_URL.match(url)
    if not match:
        return url
    return f"{endpoint()}/_aws/execute-api/{match['id']}/{match['stage']}/"


def not_python_functions(template: dict[str, Any]) -> list[str]:
    """Logical ids of the template's Lambda functions the host executor cannot run (not a python runtime)."""
    return sorted(
        logical_id
        for logical_id, resource in template.get("Resources", {}).items()
        if resource["Type"] == "AWS::Lambda::Function"
        and not str(resource.get("Properties", {}).get("Runtime", "python")).startswith("python")
    )


def deploy(stage: str) -> list[StackResult]:
    """Synthesize STAGE and deploy each of its stacks; write the outcomes to .local/deployment.json."""
    if not healthy():
        raise SandboxError(f"LocalStack does not answer on {endpoint()}: run `make local-up` first")
    began = time.monotonic()
    # The stage's home region is known from its config: bootstrap it while the app synthesizes.
    with ThreadPoolExecutor(max_workers=1) as pool:
        home = pool.submit(bootstrap, {load_stage(stage).region})
        synth(stage)
        artifacts = stacks()
        home.result()
    bootstrap({a.region for a in artifacts})  # any other region (e.g. us-east-1 for edge functions)
    print(f"synthesized {stage} ({len(artifacts)} stacks) and bootstrapped in {time.monotonic() - began:.0f} s")
    parameters = public_parameter_overrides(artifacts)
    results = []
    for artifact in artifacts:
        result = StackResult(artifact.display_name, artifact.stack_name, artifact.region)
        unrunnable = not_python_functions(artifact.template)
        if unrunnable:
            # It would fail half way, and LocalStack cannot then delete what it never created: do not start it.
            result.status = "failed"
            result.error = (
                f"The host executor runs Python functions only; {', '.join(unrunnable)} use(s) another runtime"
            )
            results.append(result)
            continue
        outputs_file = LOCAL / f"outputs-{artifact.stack_name}.json"
        began = time.monotonic()
        run = run_cli(
            [
                "deploy",
                "--app",
                str(ASSEMBLY),
                artifact.display_name,
                "--exclusively",
                "--require-approval",
                "never",
                "--outputs-file",
                str(outputs_file),
                *parameters.get(artifact.display_name, []),
            ],
            capture=True,
            check=False,
        )
        if run.returncode == 0:
            result.status = "deployed"
            raw = json.loads(outputs_file.read_text()).get(artifact.stack_name, {}) if outputs_file.exists() else {}
            result.outputs = {k: local_api_url(str(v)) for k, v in raw.items()}
        else:
            result.status = "failed"
            result.error = "\n".join((run.stdout + run.stderr).splitlines()[-25:])
        outputs_file.unlink(missing_ok=True)
        result.seconds = round(time.monotonic() - began, 1)
        results.append(result)
    RESULTS.write_text(json.dumps([asdict(r) for r in results], indent=2))
    return results


def destroy() -> None:
    """Delete every stack of the last deployment (reverse order)."""
    for artifact in reversed(stacks()):
        run_cli(["destroy", "--app", str(ASSEMBLY), artifact.display_name, "--exclusively", "--force"], capture=True)
    RESULTS.unlink(missing_ok=True)


def load_results() -> list[StackResult]:
    if not RESULTS.exists():
        raise SandboxError("nothing deployed yet: run `make deploy-local`")
    return [StackResult(**item) for item in json.loads(RESULTS.read_text())]
