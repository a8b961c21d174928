"""What is deployed matches what the app synthesizes; a changed setting shows; destroy leaves nothing."""

from __future__ import annotations

from stacks.config import load_stage
from tools.local_sandbox import deploy, runtime

from .conftest import CHAT, STAGE, local_client

WORKER = "localstack_host_executor/worker.py"


def _diff(assembly: str) -> tuple[int, str]:
    run = deploy.run_cli(["diff", "--app", assembly, CHAT, "--fail"], capture=True, check=False)
    return run.returncode, run.stdout + run.stderr


def test_diff_against_the_deployed_stack_is_empty(chat_stack: deploy.StackResult) -> None:
    code, output = _diff(str(deploy.ASSEMBLY))
    assert code == 0, output
    assert "There were no differences" in output


def test_a_changed_setting_shows_in_the_diff(chat_stack: deploy.StackResult) -> None:
    rate = load_stage(STAGE).chat.throttle_rate_limit + 1
    changed = deploy.synth(STAGE, deploy.LOCAL / "cdk.out-changed", {"chat.throttle_rate_limit": str(rate)})
    code, output = _diff(str(changed))
    assert code == 1, output
    assert "ThrottlingRateLimit" in output or "RateLimit" in output, output
    assert str(rate) in output, output


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


def test_destroy_leaves_nothing_running(deployment: dict[str, deploy.StackResult]) -> None:
    deployed = [r for r in deployment.values() if r.status == "deployed"]
    function_names = {
        r.stack_name: [
            f["FunctionName"]
            for f in local_client("lambda", r.region).list_functions()["Functions"]
            if f["FunctionName"].startswith(r.stack_name)
        ]
        for r in deployed
    }
    assert any(function_names.values()), "expected the deployment to hold Lambda functions"

    deploy.destroy()

    for result in deployed:
        cfn = local_client("cloudformation", result.region)
        live = [
            s["StackName"]
            for s in cfn.list_stacks()["StackSummaries"]
            if s["StackName"] == result.stack_name and s["StackStatus"] != "DELETE_COMPLETE"
        ]
        assert live == [], f"{result.name} still exists"
        lam = local_client("lambda", result.region)
        left = [
            f["FunctionName"]
            for f in lam.list_functions()["Functions"]
            if f["FunctionName"].startswith(result.stack_name)
        ]
        assert left == [], f"functions of {result.name} still exist: {left}"
        tables = local_client("dynamodb", result.region).list_tables()["TableNames"]
        assert [t for t in tables if t.startswith(result.stack_name)] == []
    assert _workers() == [], "Lambda execution environments still run after destroy"
