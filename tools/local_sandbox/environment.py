"""Point the README's targets at the local LocalStack: the environment, and stand-ins for public SSM parameters.

The targets (`make bootstrap/deploy/diff-deployed/destroy`, tools/cdk_stage) run unchanged; only the
environment differs, as `cdklocal` does it: the AWS endpoints on the loopback gateway and LocalStack's
dummy credentials, never a real profile.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import zipfile
from typing import Any

import boto3

from tools.cdk_stage.assembly import StackArtifact
from tools.local_sandbox.runtime import endpoint

ACCOUNT = "000000000000"  # LocalStack's default account for the dummy credentials
PLACEHOLDER_LAYER = "host-provided-dependencies"
STAND_IN_PREFIX = "/local-sandbox"
_API_URL = re.compile(r"^https?://(?P<id>[a-z0-9]+)\.execute-api\.[^/]+/(?P<stage>[^/]+)/?$")


def cdk_environment() -> dict[str, str]:
    """The variables that point the CDK CLI and boto3 at LocalStack (dummy credentials, no config files)."""
    return {
        "AWS_ENDPOINT_URL": endpoint(),
        "AWS_ENDPOINT_URL_S3": endpoint(),
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def local_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) without any AWS setting of its own, plus LocalStack's."""
    source = os.environ if base is None else base
    kept = {k: v for k, v in source.items() if not k.startswith(("AWS_", "CDK_DEFAULT_"))}
    return {**kept, **cdk_environment()}


def exports() -> str:
    """Shell lines for `eval "$(python -m tools.local_sandbox env)"`."""
    unset = "unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE AWS_CA_BUNDLE"
    return "\n".join([unset, *(f"export {k}={shlex.quote(v)}" for k, v in cdk_environment().items())])


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


def public_parameter_arguments(stacks: list[StackArtifact]) -> list[str]:
    """Stand-ins for the public SSM parameters (`/aws/service/...`) the templates resolve at deploy time,
    as CDK CLI arguments for CDK_ARGS.

    The emulator reserves the `/aws/` prefix, so each value goes under `/local-sandbox/aws/service/...`
    in the stack's region and the stack's parameter is pointed there (`--parameters STACK:PARAM=name`);
    the templates deploy unchanged.
    """
    arguments: list[str] = []
    layers: dict[str, str] = {}
    for stack in stacks:
        for logical_id, parameter in stack.template.get("Parameters", {}).items():
            name = str(parameter.get("Default", ""))
            if not parameter.get("Type", "").startswith("AWS::SSM::Parameter::Value") or not name.startswith(
                "/aws/service/"
            ):
                continue
            if "/powertools/" in name or "layer" in name:
                value = layers.get(stack.region) or _placeholder_layer(stack.region)
                layers[stack.region] = value
            elif "ami" in name:
                value = "ami-0123456789abcdef0"
            else:
                value = "placeholder"
            local_name = f"{STAND_IN_PREFIX}{name}"
            _client("ssm", stack.region).put_parameter(Name=local_name, Value=value, Type="String", Overwrite=True)
            arguments += ["--parameters", f"{stack.stack_name}:{logical_id}={local_name}"]
    return arguments


def local_api_url(url: str) -> str:
    """An API Gateway URL as LocalStack serves it on the loopback gateway."""
    match = _API_URL.match(url)
    if not match:
        return url
    return f"{endpoint()}/_aws/execute-api/{match['id']}/{match['stage']}/"
