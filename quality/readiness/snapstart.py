"""SnapStart: a function that turns it on gets snapshots, and its invokers get them, only as documented.

https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html ("Supported features and limitations",
"Supported Regions"):
- "SnapStart supports the Java 11 and later, Python 3.12 and later, and .NET 8 and later managed runtimes.
  Other managed runtimes ..., OS-only runtimes, and container images are not supported."
- "SnapStart does not support provisioned concurrency, Amazon Elastic File System (Amazon EFS), or
  ephemeral storage greater than 512 MB."
- "You can use SnapStart only on published function versions and aliases that point to versions. You
  can't use SnapStart on a function's unpublished version ($LATEST)." So the template must publish a
  version, and whatever invokes the function must name a version or an alias: an integration, event source
  or permission on the unqualified function runs $LATEST, initialized from scratch every cold start.
- "Lambda SnapStart is available in all commercial Regions except Asia Pacific (New Zealand) and Asia
  Pacific (Taipei)." (arm64 is no longer among the limitations: the chat API runs SnapStart on arm64.)
"""

from __future__ import annotations

import re
from typing import Any

from quality.declare import SNAPSTART_DOCS, snap_start_region_problem
from quality.readiness.base import Check, Context, Finding
from quality.readiness.template import StackTemplate, as_list, refs

MAX_EPHEMERAL_MB = 512
_MIN_RUNTIME = {"python": (3, 12), "java": (11,), "dotnet": (8,)}
_QUALIFIER = r"^:[A-Za-z0-9$_-]+"  # :<version> or :<alias> after the function's ARN
_RUNTIME = re.compile(r"^(python|java|dotnet)(\d+)(?:\.(\d+))?")
# Where a resource names the function it invokes.
_INVOKERS = {
    "AWS::ApiGateway::Method": ("Integration", "Uri"),
    "AWS::ApiGatewayV2::Integration": ("IntegrationUri",),
    "AWS::Lambda::Permission": ("FunctionName",),
    "AWS::Lambda::EventSourceMapping": ("FunctionName",),
    "AWS::Lambda::Url": ("TargetFunctionArn",),
    "AWS::Events::Rule": ("Targets",),
    "AWS::Scheduler::Schedule": ("Target",),
    "AWS::SNS::Subscription": ("Endpoint",),
}


def _runtime_supported(runtime: str | None) -> bool:
    match = _RUNTIME.match(runtime or "")
    if not match:
        return False
    family, major, minor = match[1], int(match[2]), int(match[3] or 0)
    version = (major, minor) if family == "python" else (major,)
    return version >= _MIN_RUNTIME[family]


def _unqualified(value: Any, function: str) -> bool:
    """Whether `value` names the function's ARN or name with no version or alias after it."""
    if isinstance(value, list):
        return any(_unqualified(item, function) for item in value)
    if not isinstance(value, dict):
        return False
    if _names(value, function):
        return True
    if "Fn::Join" in value:
        return _unqualified_in_join(as_list(value["Fn::Join"][1]), function)
    if "Fn::Sub" in value:
        text = value["Fn::Sub"][0] if isinstance(value["Fn::Sub"], list) else value["Fn::Sub"]
        named = rf"\$\{{{re.escape(function)}(\.Arn)?\}}(?!{_QUALIFIER[1:]})"
        return isinstance(text, str) and re.search(named, text) is not None
    return any(_unqualified(item, function) for item in value.values())


def _unqualified_in_join(parts: list[Any], function: str) -> bool:
    for index, part in enumerate(parts):
        if not _names(part, function):
            if _unqualified(part, function):
                return True
            continue
        following = parts[index + 1] if index + 1 < len(parts) else None
        if not (isinstance(following, str) and re.match(_QUALIFIER, following)):
            return True
    return False


def _names(value: Any, function: str) -> bool:
    """`value` is the function itself: its name (Ref) or ARN (Fn::GetAtt Arn)."""
    if not isinstance(value, dict):
        return False
    if value.get("Ref") == function:
        return True
    target = value.get("Fn::GetAtt")
    return isinstance(target, list) and target == [function, "Arn"]


def _of_function(stack: StackTemplate, function: str, kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [(i, r) for i, r in stack.of_type(kind) if function in refs(r.get("Properties", {}).get("FunctionName"))]


def _snap_start(context: Context, logical_id: str) -> list[Finding]:
    stack = context.stack
    props = stack.props(logical_id)
    if props.get("SnapStart", {}).get("ApplyOn") != "PublishedVersions":
        return []
    findings = []
    if props.get("PackageType") == "Image" or not _runtime_supported(props.get("Runtime")):
        findings.append(
            Finding(
                "Runtime",
                f"runtime {props.get('Runtime') or 'container image'}: SnapStart supports Java 11+, Python 3.12+ "
                ".NET 8+ managed runtimes; not other runtimes, OS-only runtimes or container images.",
            )
        )
    size = props.get("EphemeralStorage", {}).get("Size", MAX_EPHEMERAL_MB)
    if isinstance(size, int) and size > MAX_EPHEMERAL_MB:
        findings.append(Finding("EphemeralStorage", f"{size} MB of /tmp: SnapStart supports at most 512 MB."))
    if props.get("FileSystemConfigs"):
        findings.append(Finding("FileSystem", "an EFS file system: SnapStart does not support Amazon EFS."))
    versions = _of_function(stack, logical_id, "AWS::Lambda::Version")
    aliases = _of_function(stack, logical_id, "AWS::Lambda::Alias")
    for other, resource in versions + aliases:
        if resource["Properties"].get("ProvisionedConcurrencyConfig"):
            findings.append(
                Finding(
                    f"ProvisionedConcurrency:{other}",
                    f"{other} has provisioned concurrency: SnapStart does not support it on the same function.",
                )
            )
    if not versions:
        findings.append(
            Finding(
                "NoPublishedVersion",
                "the template publishes no version: SnapStart snapshots published versions only, never $LATEST.",
            )
        )
    for kind, path in _INVOKERS.items():
        for other, resource in stack.of_type(kind):
            value: Any = resource.get("Properties", {})
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            if _unqualified(value, logical_id):
                findings.append(
                    Finding(
                        f"Unqualified:{other}",
                        f"{other} ({kind}) invokes the unqualified function, i.e. $LATEST, which never gets the "
                        "snapshot: point it at a version or an alias.",
                    )
                )
    if not stack.region.startswith("unknown") and (problem := snap_start_region_problem(stack.region)):
        findings.append(Finding("Region", problem + "."))
    return findings


CHECKS = [
    Check(
        name="SnapStartAsDocumented",
        info="A function turns on SnapStart where Lambda does not apply it:",
        explanation=(
            "SnapStart applies to published versions (and aliases of them) of Java 11+, Python 3.12+ and .NET 8+ "
            "managed-runtime functions without provisioned concurrency, EFS or more than 512 MB of ephemeral "
            f"storage, in every commercial Region but Asia Pacific (New Zealand) and (Taipei) ({SNAPSTART_DOCS}). "
            "An invoker of the unqualified function runs $LATEST, initialized from scratch on every cold start."
        ),
        resource_types=frozenset({"AWS::Lambda::Function"}),
        findings=_snap_start,
    )
]
