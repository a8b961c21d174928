"""`make hotswap` on the emulated sandbox: a code change to the chat API reaches the deployed function through
the function's own API, and CloudFormation never hears of it.

As a user makes it, without touching the working tree: a copy of the project (its code copied, its installed
.venv and node_modules linked), a real change to the chat API's bundle there, then the README's command
`make hotswap STAGE=sandbox STACKS=Chat` in the copy. Runs after test_1 and test_2 and before test_3, which
still passes: `make diff-deployed` compares templates, and the hotswap left the stack's template as it was
(that blind spot is what the target's closing note and the README say).
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, STAGE, Api, Deployment, Run, local_client, make

# The copy holds the working tree's files but what git ignores (so a new input of the build is never left
# out); what `make setup` installed is linked.
LINKED = (".venv", "node_modules", ".lambda")
HANDLER = Path("chat/runtime/chat_api/chat_api/handler.py")
BUILD_HEADER = "X-Chat-Build"
# Appended to the handler module in the copy: every reply names the build (the template still names the
# module's `handler`, which this rebinds).
CHANGE = """

_handler_before_the_change = handler


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    reply = _handler_before_the_change(event, context)
    reply.setdefault("multiValueHeaders", {})["{header}"] = ["{build}"]
    return reply
"""


def _function(deployment: Deployment, path: str) -> str:
    """The physical name of the chat stack's function at construct path `path` ('Comments/Handler/Function')."""
    stack = deployment.stack("Chat")
    (logical_id,) = [
        k
        for k, r in stack.template["Resources"].items()
        if r["Metadata"].get("aws:cdk:path") == f"{STAGE}/Chat/{path}/Resource"
    ]
    resource = local_client("cloudformation", stack.region).describe_stack_resource(
        StackName=stack.stack_name, LogicalResourceId=logical_id
    )
    return str(resource["StackResourceDetail"]["PhysicalResourceId"])


def _state(deployment: Deployment) -> dict[str, Any]:
    """What CloudFormation says of the chat stack, and the code each of its functions runs."""
    stack = deployment.stack("Chat")
    cfn = local_client("cloudformation", stack.region)
    described = cfn.describe_stacks(StackName=stack.stack_name)["Stacks"][0]
    events = [
        event["EventId"]
        for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack.stack_name)
        for event in page["StackEvents"]
    ]
    lam = local_client("lambda", stack.region)
    code = {
        path: lam.get_function(FunctionName=_function(deployment, path))["Configuration"]["CodeSha256"]
        for path in ("Comments/Handler/Function", "RoomStats/Handler/Function")
    }
    return {
        "status": described["StackStatus"],
        "last_updated": described.get("LastUpdatedTime"),
        "events": events,
        "template": cfn.get_template(StackName=stack.stack_name)["TemplateBody"],
        "code": code,
    }


@pytest.fixture(scope="module")
def build() -> str:
    return uuid.uuid4().hex[:12]


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory: pytest.TempPathFactory, build: str) -> Path:
    """The project copied, with the change made to the chat API's handler in the copy only."""
    copy = tmp_path_factory.mktemp("project")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        if not (ROOT / name).is_file():  # deleted in the working tree
            continue
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, copy / name)  # mtimes kept: `make setup` sees the linked installs up to date
    for name in LINKED:
        (copy / name).symlink_to(ROOT / name)
    handler = copy / HANDLER
    handler.write_text(handler.read_text() + CHANGE.replace("{header}", BUILD_HEADER).replace("{build}", build))
    return copy


@pytest.fixture(scope="module")
def hotswapped(deployment: Deployment, api: Api, project_copy: Path) -> tuple[dict[str, Any], Run, dict[str, Any]]:
    """The chat stack's state before, the `make hotswap` run in the copy, and the state after."""
    before = _state(deployment)
    assert BUILD_HEADER.lower() not in _headers(api), "the deployed API already serves the changed code"
    run = make("hotswap", cwd=project_copy, STAGE=STAGE, STACKS="Chat")
    return before, run, _state(deployment)


def _headers(api: Api) -> dict[str, str]:
    """The headers of a chat API reply (names in lower case)."""
    reply = api.get(f"/rooms/hotswap-{uuid.uuid4().hex[:8]}/stats")
    assert reply.status == 200, reply
    assert reply.body["comment_count"] == 0
    return {key.lower(): value for key, value in reply.headers.items()}


def test_make_hotswap_pushed_the_chat_functions_code_only(
    hotswapped: tuple[dict[str, Any], Run, dict[str, Any]], deployment: Deployment
) -> None:
    _, run, _ = hotswapped
    assert run.code == 0, run
    assert f"hotswap in account 000000000000, 1 stack(s) of {STAGE}, in this order:\n  {STAGE}/Chat (" in run.output
    assert (
        f"  {STAGE}/Chat: the code and environment of 2 Lambda function(s): Chat/Comments/Handler/Function, "
        "Chat/RoomStats/Handler/Function\n"
    ) in run.output, run
    swapped = [line for line in run.output.splitlines() if "hotswapped!" in line]
    # The API function, and, since the API invokes its live alias (chat/api.py), the version the hotswap
    # publishes and the alias it moves there; the stream consumer's bundle did not change.
    kinds = sorted(line.split("AWS::Lambda::", 1)[1].split(" ", 1)[0] for line in swapped)
    assert kinds == ["Alias", "Function", "Version"], run
    assert all(_function(deployment, "Comments/Handler/Function") in line for line in swapped), run
    assert "drifts from the CloudFormation templates of sandbox/Chat" in run.output, run


def test_cloudformation_did_not_update_the_stack(hotswapped: tuple[dict[str, Any], Run, dict[str, Any]]) -> None:
    before, _, after = hotswapped
    for key in ("status", "last_updated", "events", "template"):
        assert after[key] == before[key], key


def test_the_changed_function_runs_new_code_and_the_other_its_old(
    hotswapped: tuple[dict[str, Any], Run, dict[str, Any]],
) -> None:
    before, _, after = hotswapped
    api, stream = "Comments/Handler/Function", "RoomStats/Handler/Function"
    assert after["code"][api] != before["code"][api]
    assert after["code"][stream] == before["code"][stream]


def test_the_api_serves_the_change(
    hotswapped: tuple[dict[str, Any], Run, dict[str, Any]], api: Api, build: str
) -> None:
    assert _headers(api).get(BUILD_HEADER.lower()) == build


def test_the_working_tree_is_untouched(hotswapped: tuple[dict[str, Any], Run, dict[str, Any]]) -> None:
    assert "_handler_before_the_change" not in (ROOT / HANDLER).read_text()
