"""`make diff-deployed` and `make destroy` on the emulated sandbox: what is deployed matches the app, a changed
setting and an undeployed stack both count as differences, and destroy leaves nothing but what it says it
keeps (a second run finds nothing left)."""

from __future__ import annotations

import pytest

from stage.config import load_stage
from tools.local_sandbox import runtime

from .conftest import DEPLOYED, STACKS, STAGE, Deployment, local_client, make

WORKER = "localstack_host_executor/worker.py"


def test_diff_deployed_finds_no_differences(deployment: Deployment) -> None:
    run = make("diff-deployed", STAGE=STAGE, STACKS=STACKS, ASSEMBLY=str(deployment.assembly), FAIL="1")
    assert run.code == 0, run
    compared = ", ".join(f"{STAGE}/{i}" for i in DEPLOYED)
    summary = (
        f"diff-deployed {STAGE}: 0 of {len(DEPLOYED)} stack(s) differ; compared with the deployed stack: {compared}"
    )
    assert f"{summary}\n" in run.output, run
    assert run.output.count("There were no differences") == len(DEPLOYED), run


def test_diff_deployed_shows_a_changed_setting(
    deployment: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> None:
    rate = load_stage(STAGE).chat.throttle_rate_limit + 1
    changed = str(tmp_path_factory.mktemp("changed") / "cdk.out")  # absent: synthesized with the setting
    shown = make(
        "diff-deployed", STAGE=STAGE, STACKS="Chat", ASSEMBLY=changed, CDK_ARGS=f"-c chat.throttle_rate_limit={rate}"
    )
    assert shown.code == 0, shown  # differences alone are no failure
    assert "ThrottlingRateLimit" in shown.output or "RateLimit" in shown.output, shown
    assert str(rate) in shown.output, shown
    assert (
        f"diff-deployed {STAGE}: 1 of 1 stack(s) differ; compared with the deployed stack: {STAGE}/Chat" in shown.output
    )
    failing = make("diff-deployed", STAGE=STAGE, STACKS="Chat", ASSEMBLY=changed, FAIL="1")
    assert failing.code != 0, failing
    assert "using the cloud assembly in" in failing.output, failing  # the changed assembly, not synthesized again


def test_diff_deployed_counts_a_stack_that_is_not_deployed(deployment: Deployment) -> None:
    run = make("diff-deployed", STAGE=STAGE, STACKS="Web", ASSEMBLY=str(deployment.assembly))
    assert run.code == 0, run
    assert f"  {STAGE}/Web: not deployed: every resource shows as new\n" in run.output, run
    assert (
        f"diff-deployed {STAGE}: 1 of 1 stack(s) differ; compared with the deployed stack: none; "
        f"not deployed (counted as differing): {STAGE}/Web"
    ) in run.output, run


def _workers() -> list[int]:
    pids = []
    for pid in runtime.leftover_pids():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if WORKER.encode() in cmdline.read():
                    pids.append(pid)
        except OSError:
            continue
    return pids


def _functions(region: str, prefix: str) -> list[str]:
    return [
        f["FunctionName"]
        for f in local_client("lambda", region).list_functions()["Functions"]
        if f["FunctionName"].startswith(prefix)
    ]


def test_destroy_removes_the_stage_but_what_it_says_it_keeps(deployment: Deployment) -> None:
    stacks = [deployment.stack(i) for i in DEPLOYED]
    physical = {
        s.display_name: {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in local_client("cloudformation", s.region).list_stack_resources(StackName=s.stack_name)[
                "StackResourceSummaries"
            ]
        }
        for s in stacks
    }
    functions = {s.stack_name: _functions(s.region, f"{s.stack_name}-") for s in stacks}
    assert all(functions.values()), f"expected every deployed stack to hold Lambda functions: {functions}"

    run = make("destroy", STAGE=STAGE, STACKS=STACKS, ASSEMBLY=str(deployment.assembly), FORCE="1")

    assert run.code == 0, run
    kept = [
        f"  {s.display_name}: kept: {r['Type']} {logical_id} = {physical[s.display_name][logical_id]}"
        for s in stacks
        for logical_id, r in s.resources_with_policy("Retain").items()
        if not r["Type"].startswith("AWS::Lambda::")
    ]
    assert kept, "the sandbox keeps the account-wide API Gateway logging role"
    assert f"Kept by their DeletionPolicy ({len(kept)}; " in run.output, run
    assert "\n".join(kept) in run.output, run
    for stack in stacks:
        cfn = local_client("cloudformation", stack.region)
        live = [
            s["StackName"]
            for s in cfn.list_stacks()["StackSummaries"]
            if s["StackName"] == stack.stack_name and s["StackStatus"] != "DELETE_COMPLETE"
        ]
        assert live == [], f"{stack.display_name} still exists"
        assert _functions(stack.region, f"{stack.stack_name}-") == [], f"functions of {stack.display_name} remain"
        tables = local_client("dynamodb", stack.region).list_tables()["TableNames"]
        assert [t for t in tables if t.startswith(stack.stack_name)] == []
    role = physical[f"{STAGE}/Chat"]["CommentsApiCloudWatchRoleA69396F7"]
    assert local_client("iam", "us-east-1").get_role(RoleName=role)["Role"]["RoleName"] == role  # kept, as said
    assert _workers() == [], "Lambda execution environments still run after destroy"


def test_a_second_destroy_finds_nothing_left(deployment: Deployment) -> None:
    run = make("destroy", STAGE=STAGE, STACKS=STACKS, ASSEMBLY=str(deployment.assembly), FORCE="1")
    assert run.code == 0, run
    for stack_id in DEPLOYED:
        assert f"  {STAGE}/{stack_id}: not deployed, nothing to delete\n" in run.output, run
