"""A deployed function as its synthesized template describes it, and the environment it runs with.

The environment has exactly three parts, kept apart so a test can check each:
- `template`: the function's `Environment.Variables`, references resolved to the local resources that stand
  in for the stack's (`Resolver`);
- `runtime`: what the Lambda runtime itself sets (`LAMBDA_DEFINED`, from Lambda's documentation);
- `transport`: `AWS_ENDPOINT_URL_<SERVICE>`, which sends the SDK's calls to the local emulators instead of
  AWS. botocore reads the service-specific endpoint variables ("Service-specific endpoints", AWS SDKs and
  Tools Reference Guide, https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html); the code
  under test neither reads nor sees the difference, so this is the one addition that is not Lambda's.
Nothing else: tests/test_as_deployed.py fails when a worker's process holds any other variable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.synth import Synthesized

# The variables Lambda's runtimes set ("Defined runtime environment variables", Lambda Developer Guide,
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html: "Lambda runtimes set several
# environment variables during initialization"). Reserved ones, and the unreserved ones the python3.13
# runtime sets (LANG, PATH, LD_LIBRARY_PATH, TZ; AWS_XRAY_* "for X-Ray tracing", set when tracing is
# active). AWS_LAMBDA_LOG_FORMAT/AWS_LAMBDA_LOG_LEVEL carry the function's LoggingConfig ("Configuring
# advanced logging controls", https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-
# advanced.html); Powertools' Logger reads AWS_LAMBDA_LOG_LEVEL. _X_AMZN_TRACE_ID "changes with each
# invocation": the worker sets it per invocation, as the runtime does.
LAMBDA_DEFINED = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_LOG_FORMAT",
        "AWS_LAMBDA_LOG_LEVEL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
        "TZ",
        "LANG",
        "PATH",
        "LD_LIBRARY_PATH",
        "AWS_XRAY_CONTEXT_MISSING",
        "AWS_XRAY_DAEMON_ADDRESS",
    }
)
TRANSPORT_PREFIX = "AWS_ENDPOINT_URL_"
# The local account every emulator's ARNs use (moto's default), and credentials that sign for nothing real.
ACCOUNT = "123456789012"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}
_DYNAMIC = re.compile(r"\{\{resolve:(?P<service>secretsmanager|ssm|ssm-secure):(?P<spec>[^}]+)\}\}")


class Unresolved(LookupError):
    """A reference to a resource that has no local stand-in."""


@dataclass(frozen=True)
class DeployedFunction:
    """One AWS::Lambda::Function of a synthesized stack."""

    stack: str  # 'stage/Stack'
    logical_id: str
    template: dict[str, Any]
    region: str
    task_root: Path  # the function's staged code asset: exactly what deploys

    @property
    def properties(self) -> dict[str, Any]:
        return self.template["Resources"][self.logical_id]["Properties"]  # type: ignore[no-any-return]

    @property
    def handler(self) -> str:
        return str(self.properties["Handler"])

    @property
    def role(self) -> str:
        """The logical id of the function's execution role."""
        return str(self.properties["Role"]["Fn::GetAtt"][0])

    @property
    def name(self) -> str:
        """A stand-in for the physical name CloudFormation generates (stack name, logical id, suffix)."""
        return f"{self.stack.replace('/', '-')}-{self.logical_id}"[:64]

    @property
    def timeout_s(self) -> int:
        return int(self.properties.get("Timeout", 3))

    @property
    def tracing(self) -> bool:
        return bool(self.properties.get("TracingConfig", {}).get("Mode") == "Active")


def deployed_function(synth: Synthesized, stack: str, handler: str) -> DeployedFunction:
    """The function of `stack` ('stage/Stack') whose Handler is `handler`, with its staged code asset."""
    template = synth.templates[stack]
    found = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function" and resource["Properties"].get("Handler") == handler
    ]
    if len(found) != 1:
        raise LookupError(f"{stack} has {len(found)} functions with handler {handler}, not one")
    code = template["Resources"][found[0]]["Properties"]["Code"]
    asset_hash = str(code["S3Key"]).removesuffix(".zip")
    source = synth.assets[stack]["files"][asset_hash]["source"]["path"]
    stage_folder = next(synth.outdir.glob(f"assembly-{stack.split('/', maxsplit=1)[0]}"))
    return DeployedFunction(stack, found[0], template, synth.regions[stack], (stage_folder / source).resolve())


@dataclass
class Resolver:
    """CloudFormation's intrinsic functions over a template, with local stand-ins for its resources.

    `resources` maps a logical id to its attributes: "Ref" (what Ref returns), "Arn", and any other
    Fn::GetAtt attribute; `dynamic` answers a dynamic reference ('{{resolve:secretsmanager:...}}');
    `stacks` are the resolvers of the other stacks whose outputs this one reads (Fn::GetStackOutput, CDK's weak
    cross-stack reference), by stack name: an output resolves as its producing stack's template writes it,
    through that stack's stand-ins.
    """

    template: dict[str, Any]
    region: str
    resources: dict[str, dict[str, str]] = field(default_factory=dict)
    dynamic: Callable[[str, str], str] | None = None
    account: str = ACCOUNT
    stacks: dict[str, Resolver] = field(default_factory=dict)

    def resolve(self, value: Any) -> str:
        if isinstance(value, str):
            return _DYNAMIC.sub(lambda m: self._dynamic(m["service"], m["spec"]), value)
        if isinstance(value, dict) and len(value) == 1:
            ((function, argument),) = value.items()
            intrinsic = {
                "Ref": lambda: self._ref(str(argument)),
                "Fn::GetAtt": lambda: self._attribute(*_attribute_of(argument)),
                "Fn::Join": lambda: str(argument[0]).join(self.resolve(part) for part in argument[1]),
                "Fn::Select": lambda: self.resolve(argument[1][int(argument[0])]),
                "Fn::Sub": lambda: re.sub(r"\$\{([^}]+)\}", lambda m: self._sub(m[1]), self._text(argument)),
                "Fn::GetStackOutput": lambda: self._stack_output(argument),
            }.get(function)
            if intrinsic is not None:
                return intrinsic()
        raise Unresolved(f"cannot resolve {json.dumps(value)}")

    @staticmethod
    def _text(argument: Any) -> str:
        if not isinstance(argument, str):
            raise Unresolved(f"cannot resolve Fn::Sub with variables: {json.dumps(argument)}")
        return argument

    def _stack_output(self, reference: dict[str, str]) -> str:
        producer = self.stacks.get(reference["StackName"])
        if producer is None or producer.region != reference.get("Region", self.region):
            raise Unresolved(f"no local stand-in for the stack {reference['StackName']} in {reference.get('Region')}")
        output = producer.template.get("Outputs", {}).get(reference["OutputName"])
        if output is None:
            raise Unresolved(f"{reference['StackName']} has no output {reference['OutputName']}")
        return producer.resolve(output["Value"])

    def _sub(self, name: str) -> str:
        logical_id, _, attribute = name.partition(".")
        return self._attribute(logical_id, attribute) if attribute else self._ref(logical_id)

    def _ref(self, name: str) -> str:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        return self._attribute(name, "Ref")

    def _attribute(self, logical_id: str, attribute: str) -> str:
        try:
            return self.resources[logical_id][attribute]
        except KeyError:
            kind = self.template.get("Resources", {}).get(logical_id, {}).get("Type", "no such resource")
            raise Unresolved(f"{logical_id} ({kind}) has no local stand-in for {attribute}") from None

    def _dynamic(self, service: str, spec: str) -> str:
        if self.dynamic is None:
            raise Unresolved(f"no local source for the dynamic reference {{{{resolve:{service}:{spec}}}}}")
        return self.dynamic(service, spec)


def _attribute_of(argument: Any) -> tuple[str, str]:
    logical_id, attribute = argument if isinstance(argument, list) else str(argument).split(".", 1)
    return str(logical_id), str(attribute)


@dataclass(frozen=True)
class FunctionEnvironment:
    """What a worker process runs with: the three parts, never anything else."""

    template: dict[str, str]
    runtime: dict[str, str]
    transport: dict[str, str]

    def __post_init__(self) -> None:
        if not set(self.runtime) <= LAMBDA_DEFINED:
            raise ValueError(f"not Lambda-defined: {sorted(set(self.runtime) - LAMBDA_DEFINED)}")
        if any(not key.startswith(TRANSPORT_PREFIX) for key in self.transport):
            raise ValueError(f"transport holds more than {TRANSPORT_PREFIX}*: {sorted(self.transport)}")
        overlap = (set(self.template) & set(self.runtime)) | (set(self.template) & set(self.transport))
        if overlap:
            raise ValueError(f"set twice: {sorted(overlap)}")

    def variables(self) -> dict[str, str]:
        return {**self.template, **self.runtime, **self.transport}

    def key(self) -> str:
        """Identifies the environment (one worker per function and environment)."""
        return json.dumps(self.variables(), sort_keys=True)


def template_variables(function: DeployedFunction, resolver: Resolver) -> dict[str, str]:
    variables = function.properties.get("Environment", {}).get("Variables", {})
    return {name: resolver.resolve(value) for name, value in variables.items()}


def lambda_runtime_variables(
    function: DeployedFunction, *, xray_daemon: str | None, memory_mb: int | None = None
) -> dict[str, str]:
    """What the python3.13 runtime sets for `function` (values as Lambda's, paths the local ones); `memory_mb`
    in place of the template's MemorySize (the tuner's size under test)."""
    logging_config = function.properties.get("LoggingConfig", {})
    log_format = str(logging_config.get("LogFormat", "Text"))
    name = function.name
    variables = {
        "_HANDLER": function.handler,
        "AWS_REGION": function.region,
        "AWS_DEFAULT_REGION": function.region,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb or function.properties.get("MemorySize", 128)),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
        "LAMBDA_TASK_ROOT": str(function.task_root),
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": "/usr/local/bin:/usr/bin:/bin",  # Lambda's adds /var/lang/bin and /opt/bin, absent here
        "LD_LIBRARY_PATH": "/usr/local/lib:/usr/lib:/lib",
        **CREDENTIALS,
    }
    if log_format == "JSON":
        variables["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
        variables["AWS_LAMBDA_LOG_LEVEL"] = str(logging_config.get("ApplicationLogLevel", "INFO"))
    if function.tracing and xray_daemon:
        variables |= {"AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR", "AWS_XRAY_DAEMON_ADDRESS": xray_daemon}
    return variables


def transport_variables(endpoints: Mapping[str, str]) -> dict[str, str]:
    """AWS_ENDPOINT_URL_<SERVICE> for each botocore service id ('secrets manager' -> SECRETS_MANAGER)."""
    return {
        f"{TRANSPORT_PREFIX}{service.upper().replace(' ', '_').replace('-', '_')}": url
        for service, url in endpoints.items()
    }


def function_environment(
    function: DeployedFunction,
    resolver: Resolver,
    endpoints: Mapping[str, str],
    *,
    xray_daemon: str | None,
    memory_mb: int | None = None,
) -> FunctionEnvironment:
    return FunctionEnvironment(
        template=template_variables(function, resolver),
        runtime=lambda_runtime_variables(function, xray_daemon=xray_daemon, memory_mb=memory_mb),
        transport=transport_variables(endpoints),
    )
