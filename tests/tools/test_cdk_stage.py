"""The README's AWS and diff targets, run as the user runs them (`make ...`), without AWS.

AWS is this process's moto server (STS, CloudFormation, IAM; tests/support/servers.py) or a closed port on
127.0.0.1; the CDK CLI is a recorder that writes down the arguments a target gives it. What the real CLI
then does with those arguments is what `make test-e2e` shows on LocalStack.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest

from stage.config import STAGES
from tests.support.make_targets import aws_free_environment as _aws_free_environment
from tests.support.make_targets import error_lines as _errors
from tests.support.make_targets import make
from tests.support.servers import free_port, moto_server
from tests.support.synth import ROOT, Synthesized
from tools.cdk_stage import __main__ as targets
from tools.cdk_stage import assembly, aws, execution_policy, hotswap
from tools.cdk_stage import diff as offline_diff

MOTO_ACCOUNT = "123456789012"
SANDBOX = ["sandbox/Chat", "sandbox/Web", "sandbox/Edge"]  # dependency order (no web ACL: no us-east-1 stack)
RECORDER = """import json, os, sys
with open(os.environ["CDK_RECORD"], "a") as record:
    record.write(json.dumps(sys.argv[1:]) + "\\n")
if sys.argv[1] == "diff":  # as the CLI counts: a stack not deployed differs
    print(f"Number of stacks with differences: {len([a for a in sys.argv[2:] if '/' in a and a[0] not in '-/'])}")
"""


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with moto_server() as endpoint:
        # moto loads a service's backend on its first request (seconds each): once, here, not in a test.
        _client(endpoint, "sts", "eu-west-1").get_caller_identity()
        _client(endpoint, "cloudformation", "eu-west-1").list_stacks()
        _client(endpoint, "iam", "us-east-1").list_policies(Scope="Local")
        yield endpoint


def _client(moto: str, service: str, region: str) -> Any:
    return boto3.client(
        service, region_name=region, endpoint_url=moto, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def _recording_cli(folder: Path) -> dict[str, str]:
    """The settings that make the targets run a CDK CLI recording its arguments in folder/calls.jsonl."""
    recorder = folder / "cdk"
    recorder.write_text(f"#!{sys.executable}\n{RECORDER}")
    recorder.chmod(0o755)
    return {"CDK": str(recorder), "CDK_RECORD": str(folder / "calls.jsonl")}


@pytest.fixture
def recorded(moto: str, tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose AWS is moto and whose CDK CLI records its arguments; and the record file."""
    env = {
        **_aws_free_environment(),
        "AWS_ENDPOINT_URL": moto,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        **_recording_cli(tmp_path),
    }
    return env, Path(env["CDK_RECORD"])


def _calls(record: Path) -> list[list[str]]:
    return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []


# --- which stacks each target acts on ---


def test_the_assembly_holds_every_stack_with_its_region_and_dependencies(synth: Synthesized) -> None:
    stacks = {s.display_name: s for s in assembly.read_assembly(synth.outdir)}
    assert set(stacks) == set(synth.templates)
    assert stacks["sandbox/Chat"].stack_name == "sandbox-Chat"
    assert stacks["prod/EdgeFunctions"].region == "us-east-1" == synth.regions["prod/EdgeFunctions"]
    assert set(stacks["prod/Edge"].dependencies) == {"prod/Web", "prod/EdgeFunctions"}
    assert set(stacks["sandbox/Edge"].dependencies) == {"sandbox/Web"}
    assert stacks["sandbox/Chat"].template == synth.templates["sandbox/Chat"]


@pytest.mark.parametrize(
    ("patterns", "chosen"),
    [
        ("", SANDBOX),
        ("Chat", ["sandbox/Chat"]),
        ("Edge Chat", ["sandbox/Chat", "sandbox/Edge"]),  # dependency order, whatever the order asked
        ("Edge*", ["sandbox/Edge"]),
        ("sandbox/Web,Chat", ["sandbox/Chat", "sandbox/Web"]),
    ],
)
def test_stacks_selects_stacks_of_the_stage_in_dependency_order(
    synth: Synthesized, patterns: str, chosen: list[str]
) -> None:
    selection = assembly.select(assembly.read_assembly(synth.outdir), "sandbox", patterns)
    assert selection.names == chosen
    assert [s.display_name for s in selection.left_out] == [n for n in SANDBOX if n not in chosen]


def test_dependencies_come_first_whatever_the_manifest_order(tmp_path: Path) -> None:
    def stack(name: str, *needs: str) -> assembly.StackArtifact:
        return assembly.StackArtifact(name, name.replace("/", "-"), "eu-west-1", tmp_path / "t.json", needs)

    listed = [
        stack("qa/Edge", "qa/Web", "qa/Functions"),
        stack("qa/Web", "qa/Net"),
        stack("qa/Functions"),
        stack("qa/Net"),
    ]
    ordered = [s.display_name for s in assembly.dependency_order(listed)]
    assert ordered == ["qa/Net", "qa/Web", "qa/Functions", "qa/Edge"]
    with pytest.raises(assembly.SelectionError, match="dependency cycle: qa/A -> qa/B -> qa/A"):
        assembly.dependency_order([stack("qa/A", "qa/B"), stack("qa/B", "qa/A")])


def test_stacks_naming_no_stack_fails_with_the_stacks_there_are(synth: Synthesized) -> None:
    with pytest.raises(assembly.SelectionError, match=r"^STACKS: 'Api' matches no stack of sandbox \(its stacks: Chat"):
        assembly.select(assembly.read_assembly(synth.outdir), "sandbox", "Chat Api")


def test_a_selection_names_the_dependencies_it_leaves_out(synth: Synthesized) -> None:
    selection = assembly.select(assembly.read_assembly(synth.outdir), "prod", "Web Edge")
    assert selection.unselected_dependencies() == {"prod/Edge": ["prod/EdgeFunctions"]}
    assert assembly.select(assembly.read_assembly(synth.outdir), "sandbox", "Web").unselected_dependents() == {
        "sandbox/Web": ["sandbox/Edge"]
    }


def _app(synth: Synthesized) -> str:
    return str(synth.outdir)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("bootstrap", ["bootstrap", f"aws://{MOTO_ACCOUNT}/eu-west-1"]),
        ("deploy", ["deploy", *SANDBOX, "--exclusively", "--outputs-file", "{app}/outputs.json"]),
        ("diff-deployed", ["diff", *SANDBOX, "--exclusively"]),
    ],
)
def test_each_target_runs_the_cli_on_exactly_the_stacks_of_the_stage(
    synth: Synthesized, recorded: tuple[dict[str, str], Path], target: str, expected: list[str]
) -> None:
    env, record = recorded
    run = make(target, "STAGE=sandbox", f"ASSEMBLY={_app(synth)}", env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    command, *rest = [part.format(app=_app(synth)) for part in expected]
    assert _calls(record) == [[command, "--app", _app(synth), *rest]]
    for name in SANDBOX:
        assert name in run.stdout
    assert "prod/" not in run.stdout


def test_stacks_and_cdk_args_reach_the_cli(synth: Synthesized, recorded: tuple[dict[str, str], Path]) -> None:
    env, record = recorded
    env = {**env, "CDK_ARGS": "--require-approval never --parameters 'sandbox-Chat:P=/a b'"}
    run = make("deploy", "STAGE=sandbox", "STACKS=Edge* Chat", f"ASSEMBLY={_app(synth)}", env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    (call,) = _calls(record)
    chosen = ["sandbox/Chat", "sandbox/Edge"]
    outputs = f"{_app(synth)}/outputs.json"
    assert call == ["deploy", "--app", _app(synth), *chosen, "--exclusively", "--outputs-file", outputs,
                    "--require-approval", "never", "--parameters", "sandbox-Chat:P=/a b"]  # fmt: skip
    assert "left out (STACKS='Edge* Chat'): sandbox/Web" in run.stdout
    assert "note: sandbox/Edge needs sandbox/Web, which must already be deployed" in run.stdout


@pytest.fixture
def deployed_sandbox(moto: str) -> Iterator[None]:
    """Stand-in stacks named like the sandbox's in moto's CloudFormation (one queue each)."""
    template = json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}})
    stacks = [("sandbox-Chat", "eu-west-1"), ("sandbox-Web", "eu-west-1"), ("sandbox-Edge", "eu-west-1")]
    for name, region in stacks:
        _client(moto, "cloudformation", region).create_stack(StackName=name, TemplateBody=template)
    yield
    for name, region in stacks:
        _client(moto, "cloudformation", region).delete_stack(StackName=name)


def test_destroy_deletes_the_deployed_stacks_of_the_stage_in_reverse_order(
    synth: Synthesized, recorded: tuple[dict[str, str], Path], deployed_sandbox: None
) -> None:
    env, record = recorded
    run = make("destroy", "STAGE=sandbox", f"ASSEMBLY={_app(synth)}", "FORCE=1", env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert _calls(record) == [["destroy", "--app", _app(synth), *reversed(SANDBOX), "--exclusively", "--force"]]


def in_process(
    argv: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """`python -m tools.cdk_stage ARGV` in this process (faster than make) with exactly `env`'s AWS settings."""
    for key in [k for k in os.environ if k.startswith(("AWS_", "CDK"))]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code = targets.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


Run = Callable[[list[str]], tuple[int, str, str]]


@pytest.fixture
def run_recorded(
    recorded: tuple[dict[str, str], Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Run:
    """in_process with moto as AWS and the recording CLI."""
    return lambda argv: in_process(argv, recorded[0], monkeypatch, capsys)


def test_destroy_without_a_terminal_asks_for_force(
    synth: Synthesized, recorded: tuple[dict[str, str], Path], deployed_sandbox: None, run_recorded: Run
) -> None:
    record = recorded[1]
    code, _, err = run_recorded(["destroy", "--stage", "sandbox", "--assembly", _app(synth)])
    assert code == 2
    assert err == "error: destroy asks for confirmation and no terminal is attached; pass FORCE=1 to go ahead\n"
    assert _calls(record) == []


class _MayOnlyAssumeRoles:
    """moto's CloudFormation as a caller that may only assume roles sees it (the old GitHubDeploy roles)."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        def denied(*args: Any, **kwargs: Any) -> None:
            error = {"Code": "AccessDenied", "Message": f"not authorized to perform: cloudformation:{name}"}
            raise botocore.exceptions.ClientError({"Error": error}, name)

        return denied if name in {"describe_stacks", "get_paginator"} else getattr(self._real, name)


def test_diff_deployed_reads_stacks_with_the_credentials_given_and_never_through_a_role(
    synth: Synthesized,
    recorded: tuple[dict[str, str], Path],
    deployed_sandbox: None,
    run_recorded: Run,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A role that may not read the stacks gets one line saying which permission the target needs; the
    lookup role (ReadOnlyAccess: it reads what resources echo, secrets included) is not assumed instead."""
    record = recorded[1]
    real_client, assumed = aws.client, []

    def client(service: str, region: str, credentials: dict[str, str] | None = None) -> Any:
        found = real_client(service, region, credentials)
        if service == "cloudformation":
            return _MayOnlyAssumeRoles(found)
        if service == "sts":
            assume = found.assume_role
            found.assume_role = lambda **kwargs: assumed.append(kwargs["RoleArn"]) or assume(**kwargs)
        return found

    monkeypatch.setattr(aws, "client", client)
    code, _, err = run_recorded(["diff-deployed", "--stage", "sandbox", "--assembly", _app(synth)])
    assert code == 2
    assert err.startswith("error: the credentials may not read stack sandbox-Chat in eu-west-1: not authorized")
    assert "cloudformation:DescribeStacks" in err and err.count("\n") == 1
    assert assumed == []
    assert _calls(record) == []


def test_diff_deployed_template_method_reaches_the_cli(
    synth: Synthesized, recorded: tuple[dict[str, str], Path], deployed_sandbox: None
) -> None:
    """`make diff-deployed DIFF_METHOD=template`: what the pull-request workflow runs with its diff role."""
    env, record = recorded
    run = make("diff-deployed", "STAGE=sandbox", f"ASSEMBLY={_app(synth)}", "DIFF_METHOD=template", env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert _calls(record) == [["diff", "--app", _app(synth), *SANDBOX, "--exclusively", "--method=template"]]
    for name in SANDBOX:
        assert f"  {name}: CREATE_COMPLETE\n" in run.stdout


def _with_accounts(monkeypatch: pytest.MonkeyPatch, **accounts: str) -> None:
    for stage, account in accounts.items():
        monkeypatch.setitem(STAGES, stage, {**STAGES[stage], "account": account})


def test_a_stage_deploys_only_to_the_account_it_names(
    synth: Synthesized, run_recorded: Run, recorded: tuple[dict[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_accounts(monkeypatch, sandbox="999999999999")
    code, out, err = run_recorded(["deploy", "--stage", "sandbox", "--assembly", _app(synth)])
    assert (code, out) == (2, "")
    assert err == (
        "error: stage sandbox deploys to account 999999999999 (its `account` in stage/config.py), but the current "
        f"credentials are for account {MOTO_ACCOUNT}\n"
    )
    assert _calls(recorded[1]) == []


def test_a_stage_that_names_no_account_may_not_deploy_to_another_stage_account(
    synth: Synthesized, run_recorded: Run, recorded: tuple[dict[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_accounts(monkeypatch, prod=MOTO_ACCOUNT)
    code, _, err = run_recorded(["deploy", "--stage", "sandbox", "--assembly", _app(synth)])
    assert code == 2
    assert err.startswith(f"error: the current credentials are for account {MOTO_ACCOUNT}, stage prod's own; stage ")
    assert _calls(recorded[1]) == []
    _with_accounts(monkeypatch, sandbox=MOTO_ACCOUNT, prod="222222222222")  # its own account: it deploys
    code, _, err = run_recorded(["deploy", "--stage", "sandbox", "--assembly", _app(synth)])
    assert (code, err) == (0, "")
    assert len(_calls(recorded[1])) == 1


def test_a_stage_deployed_from_github_in_a_shared_account_is_warned_about(
    synth: Synthesized, run_recorded: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    github = {"repository": "my-org/my-app", "shared_account": True}
    monkeypatch.setitem(STAGES, "sandbox", {**STAGES["sandbox"], "github": github})
    code, out, _ = run_recorded(["diff-deployed", "--stage", "sandbox", "--assembly", _app(synth)])
    assert code == 0
    assert out.startswith("warning: stage 'sandbox' is deployed from GitHub into whatever account its credentials")
    assert "could deploy or destroy the other stage's stacks" in out.splitlines()[0]


def test_destroy_skips_the_stacks_that_are_not_deployed(
    synth: Synthesized, recorded: tuple[dict[str, str], Path], run_recorded: Run
) -> None:
    code, out, _ = run_recorded(["destroy", "--stage", "sandbox", "--stacks", "Chat", "--assembly", _app(synth)])
    record = recorded[1]
    assert code == 0
    assert "  sandbox/Chat: not deployed, nothing to delete\n" in out
    assert _calls(record) == []


# --- make hotswap: cdk deploy --hotswap on deployed stacks, for stages whose config allows it ---


def test_make_hotswap_runs_cdk_deploy_hotswap_on_the_deployed_stacks_and_says_what_it_can_push(
    synth: Synthesized, recorded: tuple[dict[str, str], Path], deployed_sandbox: None
) -> None:
    env, record = recorded
    run = make("hotswap", "STAGE=sandbox", f"ASSEMBLY={_app(synth)}", env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    outputs = f"{_app(synth)}/outputs.json"
    # --hotswap, never --hotswap-fallback: a change it cannot hotswap is skipped, not deployed by CloudFormation
    assert _calls(record) == [
        ["deploy", "--app", _app(synth), *SANDBOX, "--exclusively", "--hotswap", "--outputs-file", outputs]
    ]
    assert f"hotswap in account {MOTO_ACCOUNT}, 3 stack(s) of sandbox, in this order:\n" in run.stdout
    lines = run.stdout.splitlines()
    # Resources by logical id: the tests' assembly has no path metadata (the CLI's has, test_hotswap shows it)
    assert (
        "  sandbox/Chat: the code and environment of 2 Lambda function(s): CommentsHandlerFunctionD9A5571D, "
        "RoomStatsHandlerFunctionE5AEF1A6"
    ) in lines
    (image,) = [line for line in lines if line.startswith("  sandbox/Web: NOT the image of AppTask786C7957: ")]
    assert "web.image_build='codebuild'" in image and "`make deploy STAGE=sandbox STACKS=Web`" in image
    assert "now drifts from the CloudFormation templates of sandbox/Chat, sandbox/Web" in run.stdout


def test_hotswap_stacks_and_cdk_args_reach_the_cli(
    synth: Synthesized,
    recorded: tuple[dict[str, str], Path],
    deployed_sandbox: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env, record = recorded
    argv = ["hotswap", "--stage", "sandbox", "--stacks", "Chat", "--assembly", _app(synth)]
    env = {**env, "CDK_ARGS": "--hotswap-ecs-minimum-healthy-percent 100"}
    code, out, _ = in_process(argv, env, monkeypatch, capsys)
    assert code == 0
    outputs = f"{_app(synth)}/outputs.json"
    assert _calls(record) == [
        ["deploy", "--app", _app(synth), "sandbox/Chat", "--exclusively", "--hotswap", "--outputs-file", outputs,
         "--hotswap-ecs-minimum-healthy-percent", "100"]
    ]  # fmt: skip
    assert "left out (STACKS='Chat'): sandbox/Web, sandbox/Edge" in out


def test_make_hotswap_refuses_prod_in_one_line_before_anything_else(tmp_path: Path) -> None:
    # No credentials and no CLI: the refusal must come before the credentials check, the synth and the CLI.
    env = {**_aws_free_environment(), "AWS_EC2_METADATA_DISABLED": "true", "CDK": str(tmp_path / "no-cli-may-run")}
    run = make("hotswap", "STAGE=prod", env=env)
    assert run.returncode != 0
    (line,) = _errors(run)
    assert line.startswith("error: make hotswap STAGE=prod refused: stage prod sets allow_hotswap=false"), line
    assert "drift from their templates" in line and "the task count can drop to 0" in line
    assert "synthesized" not in run.stdout and "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("stage", "cdk_args", "error"),
    [
        # the stage's setting decides, not its name
        ("sandbox", "-c allow_hotswap=false", "error: make hotswap STAGE=sandbox refused: stage sandbox sets"),
        ("prod", "-c allow_hotswap=true", "error: Invalid configuration for stage 'prod': allow_hotswap: a stage"),
        # CDK_ARGS a shell would refuse, and a misspelt section: one line, before the credentials are checked
        ("sandbox", "--foo 'unterminated", "error: CDK_ARGS: No closing quotation"),
        ("sandbox", "-c chats.throttle_rate_limit=5", "error: Unknown setting 'chats.throttle_rate_limit'"),
    ],
)
def test_hotswap_follows_the_stage_setting_with_its_overrides(  # noqa: PLR0917
    stage: str,
    cdk_args: str,
    error: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env, _ = _unreachable(tmp_path)
    code, out, err = in_process(["hotswap", "--stage", stage], {**env, "CDK_ARGS": cdk_args}, monkeypatch, capsys)
    assert (code, out) == (2, "")
    assert err.startswith(error) and err.count("\n") == 1, err


def test_hotswap_of_a_stack_that_is_not_deployed_fails_before_the_cli_runs(
    synth: Synthesized, recorded: tuple[dict[str, str], Path], run_recorded: Run
) -> None:
    code, _, err = run_recorded(["hotswap", "--stage", "sandbox", "--stacks", "Chat Web", "--assembly", _app(synth)])
    assert code == 2
    assert err == (
        "error: a hotswap updates the resources of deployed stacks, and these are not deployed and stable: "
        "sandbox/Chat (not deployed), sandbox/Web (not deployed); run `make deploy STAGE=sandbox STACKS='Chat Web'` "
        "first\n"
    )
    assert _calls(recorded[1]) == []


def _reach(synthesized: Synthesized, name: str) -> list[str]:
    (stack,) = [s for s in assembly.read_assembly(synthesized.outdir) if s.display_name == name]
    return hotswap.reach(stack)


def test_hotswap_says_what_it_can_push_of_each_stack(synth: Synthesized) -> None:
    assert _reach(synth, "prod/EdgeFunctions") == ["prod/EdgeFunctions: nothing a hotswap can push"]  # the web ACL
    edge = _reach(synth, "sandbox/Edge")
    assert "sandbox/Edge: the definition of 1 state machine(s): PublisherStateMachine9EFBE98A" in edge
    assert any("PublisherFetchAndStoreFunctionFCE62AD7" in line for line in edge)
    (image,) = [line for line in _reach(synth, "prod/Web") if "AppTask786C7957" in line]
    assert image.startswith("prod/Web: NOT the image of AppTask786C7957: CodeBuild builds it while CloudFormation")


def test_hotswap_can_push_the_web_image_when_it_is_a_docker_asset(variants: Synthesized) -> None:
    (image,) = [line for line in _reach(variants, "docker/Web") if "AppTask786C7957" in line]
    assert image.startswith("docker/Web: the image of AppTask786C7957 (a Docker image asset: your Docker engine")
    assert "minimum healthy percent of 0" in image and "--hotswap-ecs-minimum-healthy-percent 100" in image


# --- dependencies first, whatever order the manifest lists the stacks in ---

STACK = "aws:cloudformation:stack"


def _stage_manifest(outdir: Path, stage: str) -> Path:
    top = json.loads((outdir / "manifest.json").read_text())["artifacts"]
    (folder,) = [
        a["properties"]["directoryName"] for a in top.values() if a.get("properties", {}).get("displayName") == stage
    ]
    return outdir / folder / "manifest.json"


def _needs(manifest: Path) -> dict[str, set[str]]:
    """Each stack of a stage manifest -> the stacks it depends on, read from the manifest itself."""
    artifacts = json.loads(manifest.read_text())["artifacts"]
    name = {key: a.get("displayName", key) for key, a in artifacts.items()}
    return {
        name[key]: {name[d] for d in a.get("dependencies", []) if artifacts.get(d, {}).get("type") == STACK}
        for key, a in artifacts.items()
        if a["type"] == STACK
    }


def _list_stacks_in(manifest: Path, order: list[str]) -> None:
    """Rewrite a stage manifest so that its stacks are listed in `order` (display names), each stack's other
    artifacts where they were."""
    data = json.loads(manifest.read_text())
    artifacts: dict[str, Any] = data["artifacts"]
    stacks = {a.get("displayName", k): k for k, a in artifacts.items() if a["type"] == STACK}
    queue = iter([stacks[name] for name in order])
    keys = [next(queue) if artifacts[k]["type"] == STACK else k for k in artifacts]
    data["artifacts"] = {k: artifacts[k] for k in keys}
    manifest.write_text(json.dumps(data))
    assert [a["displayName"] for a in data["artifacts"].values() if a["type"] == STACK] == order


def _dependencies_first(order: list[str], needs: dict[str, set[str]]) -> bool:
    return sorted(order) == sorted(needs) and all(needs[n] <= set(order[:i]) for i, n in enumerate(order))


@pytest.fixture
def reordered(synth: Synthesized, tmp_path: Path) -> tuple[Path, Path, dict[str, set[str]]]:
    """A copy of the synthesized assembly (the stacks' order in it is the tool's to find), its sandbox manifest,
    and the dependencies that manifest records."""
    copy = tmp_path / "assembly"
    shutil.copytree(synth.outdir, copy)
    manifest = _stage_manifest(copy, "sandbox")
    needs = _needs(manifest)
    assert needs["sandbox/Edge"] == {"sandbox/Web"}  # something to order
    return copy, manifest, needs


def test_the_stacks_are_read_dependencies_first_in_every_manifest_order(
    reordered: tuple[Path, Path, dict[str, set[str]]],
) -> None:
    """Every order the 3 sandbox stacks can be listed in: read and selected, each comes after what it needs."""
    copy, manifest, needs = reordered
    orders = [list(order) for order in itertools.permutations(sorted(needs))]
    assert any(not _dependencies_first(order, needs) for order in orders)
    for order in orders:
        _list_stacks_in(manifest, order)
        for stacks in (assembly.read_assembly(copy), assembly.select(assembly.read_assembly(copy), "sandbox").chosen):
            found = [s.display_name for s in stacks if s.stage == "sandbox"]
            assert _dependencies_first(found, needs), f"listed {order}, read {found}"


def _stacks_given_to(call: list[str]) -> list[str]:
    """The stacks of one recorded CLI call: between `--app DIR` and `--exclusively`."""
    return call[3 : call.index("--exclusively")]


def test_deploy_and_destroy_act_dependencies_first_when_the_manifest_lists_them_the_other_way(
    reordered: tuple[Path, Path, dict[str, set[str]]],
    recorded: tuple[dict[str, str], Path],
    deployed_sandbox: None,
    run_recorded: Run,
) -> None:
    copy, manifest, needs = reordered
    listed = list(reversed(SANDBOX))  # every stack after the ones that need it
    assert not _dependencies_first(listed, needs)
    _list_stacks_in(manifest, listed)
    for argv in (["deploy"], ["destroy", "--force"]):
        code, out, err = run_recorded([*argv, "--stage", "sandbox", "--assembly", str(copy)])
        assert code == 0, out + err
    deploy, destroy = _calls(recorded[1])
    assert (deploy[0], destroy[0]) == ("deploy", "destroy")
    assert _dependencies_first(_stacks_given_to(deploy), needs), deploy
    assert _stacks_given_to(destroy) == list(reversed(_stacks_given_to(deploy))), destroy


# --- no credentials, no endpoint: one line, nothing done ---


def _unreachable(tmp_path: Path) -> tuple[dict[str, str], int]:
    port = free_port()  # nothing listens there
    env = {**_aws_free_environment(), "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "x",
           "AWS_SECRET_ACCESS_KEY": "y", "CDK": str(tmp_path / "no-cli-may-run")}  # fmt: skip
    return env, port


def test_make_deploy_with_an_unreachable_endpoint_fails_in_one_line_before_anything_runs(tmp_path: Path) -> None:
    env, port = _unreachable(tmp_path)
    run = make("deploy", "STAGE=sandbox", env=env)
    assert run.returncode != 0
    (line,) = _errors(run)
    assert line.startswith("error: make deploy STAGE=sandbox needs AWS access: cannot reach AWS: "), line
    assert f"127.0.0.1:{port}" in line
    assert "Traceback" not in run.stdout + run.stderr
    assert "synthesized" not in run.stdout


@pytest.mark.parametrize("target", sorted(targets.TARGETS))
def test_every_target_with_an_unreachable_endpoint_fails_in_one_line(
    target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env, port = _unreachable(tmp_path)
    code, out, err = in_process([target, "--stage", "sandbox"], env, monkeypatch, capsys)
    assert code == 2
    assert out == ""  # nothing synthesized, nothing run
    assert err.startswith(f"error: make {target} STAGE=sandbox needs AWS access: cannot reach AWS: ")
    assert f"127.0.0.1:{port}" in err and err.count("\n") == 1


def test_make_diff_deployed_without_credentials_fails_in_one_line_naming_the_fix(tmp_path: Path) -> None:
    env = {**_aws_free_environment(), "AWS_EC2_METADATA_DISABLED": "true", "CDK": str(tmp_path / "no-cli-may-run")}
    run = make("diff-deployed", "STAGE=sandbox", env=env)
    assert run.returncode != 0
    assert _errors(run) == [
        "error: make diff-deployed STAGE=sandbox needs AWS access: no AWS credentials found "
        "(set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
    ]
    assert "Number of stacks with differences" not in run.stdout


def test_an_unknown_stage_fails_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = in_process(["deploy", "--stage", "qa"], {}, monkeypatch, capsys)
    assert (code, out, err) == (2, "", "error: Unknown stage 'qa'; known stages: prod, sandbox\n")


# --- make diff, offline ---


@pytest.fixture(scope="module")
def baseline(synth: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The assembly as it was before the sandbox's Edge stack (which depends on another) got its alarm."""
    folder = tmp_path_factory.mktemp("baseline") / "cdk.out"
    shutil.copytree(synth.outdir, folder, ignore=shutil.ignore_patterns("asset.*"))
    (edge,) = [s for s in assembly.read_assembly(folder) if s.display_name == "sandbox/Edge"]
    template = json.loads(edge.template_file.read_text())
    (alarm,) = [k for k in template["Resources"] if k.startswith("MonitoringPublisherFailed")]
    del template["Resources"][alarm]
    edge.template_file.write_text(json.dumps(template))
    return folder


def _offline_env() -> dict[str, str]:
    """No credentials and an endpoint where nothing listens: `make diff` must not need AWS at all."""
    return {**_aws_free_environment(), "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}", "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "y", "AWS_EC2_METADATA_DISABLED": "true"}  # fmt: skip


def test_make_diff_compares_a_stack_with_dependencies_and_succeeds(
    synth: Synthesized, baseline: Path, tmp_path: Path
) -> None:
    run = make("diff", f"ASSEMBLY={_app(synth)}", f"BASE_DIR={baseline}", env=_offline_env())
    assert run.returncode == 0, run.stdout + run.stderr
    assert "[+] AWS::CloudWatch::Alarm Edge/Monitoring/PublisherFailed" in run.stdout
    assert f"make diff: 1 of {len(synth.templates)} stack(s) differ from {baseline}: sandbox/Edge\n" in run.stdout
    assert run.stdout.count("no differences (identical template)") == len(synth.templates) - 1


def test_make_diff_fail_mode_fails_on_differences(synth: Synthesized, baseline: Path, tmp_path: Path) -> None:
    """What the CLI's diff reports is the test above's; here the recorder reports it (one difference)."""
    env = {**_offline_env(), **_recording_cli(tmp_path)}
    run = make("diff", f"ASSEMBLY={_app(synth)}", f"BASE_DIR={baseline}", "FAIL=1", env=env)
    assert run.returncode != 0
    assert "1 of" in run.stdout and "Traceback" not in run.stderr
    ((command, *_),) = _calls(Path(env["CDK_RECORD"]))
    assert command == "diff"


def test_make_diff_without_differences_exits_0_in_fail_mode_too(
    synth: Synthesized, capsys: pytest.CaptureFixture[str]
) -> None:
    """In this process: FAIL=1's way through make is the test above's."""
    assert offline_diff.main(["--templates", _app(synth), "--assembly", _app(synth), "--fail"]) == 0
    assert f"make diff: no differences from {_app(synth)} ({len(synth.templates)} stacks)\n" in capsys.readouterr().out


def test_make_diff_against_a_missing_folder_fails_in_one_line(
    synth: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert offline_diff.main(["--assembly", _app(synth), "--templates", str(tmp_path / "nothing")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'nothing'} is not a cloud assembly (no manifest.json)\n"


# --- what destroy keeps ---


def test_prod_destroy_names_the_data_it_keeps_and_sandbox_keeps_no_data(synth: Synthesized) -> None:
    stacks = {s.display_name: s for s in assembly.read_assembly(synth.outdir)}
    kept = {
        name: {line.split(" = ")[0] for line in targets._kept(stack, {k: "id" for k in stack.template["Resources"]})}
        for name, stack in stacks.items()
    }
    prod = set().union(*(lines for name, lines in kept.items() if name.startswith("prod/")))
    assert {
        "prod/Chat: kept: AWS::DynamoDB::Table DataComments205BAF48",
        "prod/Chat: kept: AWS::DynamoDB::Table DataRoomStats98CA9737",
        "prod/Chat: kept: AWS::DynamoDB::Table DataIdempotency4AE02808",
        "prod/Web: kept: AWS::RDS::DBCluster DatabaseCluster5B53A178",
        "prod/Web: kept: AWS::SecretsManager::Secret DatabaseSecret3B817195",
        "prod/Edge: kept: AWS::S3::Bucket StorageCacheEC0123D0",
    } <= prod
    sandbox = set().union(*(lines for name, lines in kept.items() if name.startswith("sandbox/")))
    assert sandbox == {
        # account-wide, shared by every REST API of the account and region
        "sandbox/Chat: kept: AWS::IAM::Role CommentsApiCloudWatchRoleA69396F7",
        "sandbox/Chat: kept: AWS::ApiGateway::Account CommentsApiAccount1157D815",
        # delivered logs keep arriving after the stack is gone; their lifecycle rules empty them
        "sandbox/Web: kept: AWS::S3::Bucket LoadBalancerAccessLogsBucket38E275E7",
        "sandbox/Edge: kept: AWS::S3::Bucket StorageAccessLogs96FB524C",
    }


def test_a_snapshot_policy_is_reported_as_a_final_snapshot(tmp_path: Path) -> None:
    template = {
        "Resources": {
            "Db": {"Type": "AWS::RDS::DBCluster", "DeletionPolicy": "Snapshot"},
            "Q": {"Type": "AWS::SQS::Queue"},
        }
    }
    (tmp_path / "t.json").write_text(json.dumps(template))
    stack = assembly.StackArtifact("qa/Data", "qa-Data", "eu-west-1", tmp_path / "t.json")
    assert targets._kept(stack, {"Db": "qa-data-db", "Q": "q"}) == [
        "qa/Data: a final snapshot of AWS::RDS::DBCluster Db = qa-data-db"
    ]
    assert targets._kept(stack, {}) == []  # nothing of it was deployed


# --- bootstrap with the stage's execution policy ---


def test_bootstrap_with_the_execution_policy_creates_it_and_hands_it_to_the_cli(
    synth: Synthesized,
    recorded: tuple[dict[str, str], Path],
    moto: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`make bootstrap EXECUTION_POLICY=1`: managed policies with the stage's actions, then `cdk bootstrap
    --cloudformation-execution-policies` with their ARNs; run again (here in this process), each gets a new
    default version."""
    env, record = recorded
    run = make("bootstrap", "STAGE=sandbox", f"ASSEMBLY={_app(synth)}", "EXECUTION_POLICY=1", env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    argv = ["bootstrap", "--stage", "sandbox", "--assembly", _app(synth), "--execution-policy"]
    assert in_process(argv, env, monkeypatch, capsys)[0] == 0
    first, second = _calls(record)
    assert first == second
    flag = first.index("--cloudformation-execution-policies")
    arns = first[flag + 1].split(",")
    iam = _client(moto, "iam", "us-east-1")
    granted: set[str] = set()
    for number, arn in enumerate(arns, 1):
        assert arn == f"arn:aws:iam::{MOTO_ACCOUNT}:policy/cdk-reference-app-sandbox-cfn-exec-{number}"
        policy = iam.get_policy(PolicyArn=arn)["Policy"]
        assert policy["DefaultVersionId"] == "v2"  # the second run's
        version = iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]["Document"]
        document = json.loads(version) if isinstance(version, str) else version
        (statement,) = document["Statement"]
        granted |= set(statement["Action"])
    stacks = assembly.select(assembly.read_assembly(synth.outdir), "sandbox").chosen
    assert granted == set(execution_policy.actions(stacks))
    assert f"execution policy: {len(granted)} actions for" in run.stdout


# --- what a target loads before it says anything ---


def test_the_aws_targets_start_without_loading_the_cdk() -> None:
    """The stage config and boto3 only: not the CDK (importing it starts jsii's Node runtime), cdk-nag or
    cfn-lint's schemas, which cost a second of CPU before the first line, and on every test of a target."""
    probe = (
        "import sys, tools.cdk_stage.__main__, tools.power_tune.__main__; "
        "print(sorted(m for m in ('aws_cdk', 'cdk_nag', 'cfnlint', 'jsii') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert (done.returncode, done.stdout) == (0, "[]\n"), done.stderr
