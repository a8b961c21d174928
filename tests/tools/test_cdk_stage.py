"""The README's AWS and diff targets, run as the user runs them (`make ...`), without AWS.

AWS is moto's server in its own process (STS, CloudFormation) or a closed port on
127.0.0.1; the CDK CLI is a recorder that writes down the arguments a target gives it. What the real CLI
then does with those arguments is what `make test-e2e` shows on LocalStack.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest

from tests.support.servers import free_port, moto_process
from tests.support.synth import ROOT, Synthesized
from tools.cdk_stage import __main__ as targets
from tools.cdk_stage import assembly, aws
from tools.cdk_stage import diff as offline_diff

MOTO_ACCOUNT = "123456789012"
SANDBOX = ["sandbox/Chat", "sandbox/Web", "sandbox/Edge"]  # dependency order (no web ACL: no us-east-1 stack)
RECORDER = """import json, os, sys
with open(os.environ["CDK_RECORD"], "a") as record:
    record.write(json.dumps(sys.argv[1:]) + "\\n")
if sys.argv[1] == "diff":  # as the CLI counts: a stack not deployed differs
    print(f"Number of stacks with differences: {len([a for a in sys.argv[2:] if '/' in a and a[0] not in '-/'])}")
"""


def _aws_free_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_DEFAULT_", "CDK_ARGS"))}
    return {**env, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}


def make(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with moto_process() as endpoint:
        # moto loads a service's backend on its first request (seconds each): once, here, not in a test.
        _client(endpoint, "sts", "eu-west-1").get_caller_identity()
        _client(endpoint, "cloudformation", "eu-west-1").list_stacks()
        yield endpoint


def _client(moto: str, service: str, region: str) -> Any:
    return boto3.client(
        service, region_name=region, endpoint_url=moto, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@pytest.fixture
def recorded(moto: str, tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose AWS is moto and whose CDK CLI records its arguments; and the record file."""
    recorder = tmp_path / "cdk"
    recorder.write_text(f"#!{sys.executable}\n{RECORDER}")
    recorder.chmod(0o755)
    record = tmp_path / "calls.jsonl"
    env = {
        **_aws_free_environment(),
        "AWS_ENDPOINT_URL": moto,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "CDK": str(recorder),
        "CDK_RECORD": str(record),
    }
    return env, record


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
    """moto's CloudFormation as a caller that may only assume CDK's bootstrap roles sees it (GitHubDeploy's)."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        def denied(*args: Any, **kwargs: Any) -> None:
            error = {"Code": "AccessDenied", "Message": f"not authorized to perform: cloudformation:{name}"}
            raise botocore.exceptions.ClientError({"Error": error}, name)

        return denied if name in {"describe_stacks", "get_paginator"} else getattr(self._real, name)


def test_diff_deployed_reads_the_stacks_through_the_lookup_role_when_the_credentials_may_not(
    synth: Synthesized,
    recorded: tuple[dict[str, str], Path],
    deployed_sandbox: None,
    run_recorded: Run,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    record = recorded[1]
    real_client, assumed = aws.client, []

    def client(service: str, region: str, credentials: dict[str, str] | None = None) -> Any:
        found = real_client(service, region, credentials)
        if service == "cloudformation" and credentials is None:
            return _MayOnlyAssumeRoles(found)
        if service == "sts":
            assume = found.assume_role
            found.assume_role = lambda **kwargs: assumed.append(kwargs["RoleArn"]) or assume(**kwargs)
        return found

    monkeypatch.setattr(aws, "client", client)
    code, out, _ = run_recorded(["diff-deployed", "--stage", "sandbox", "--assembly", _app(synth)])
    assert code == 0
    for name in SANDBOX:
        assert f"  {name}: CREATE_COMPLETE\n" in out
    role = f"arn:aws:iam::{MOTO_ACCOUNT}:role/cdk-hnb659fds-lookup-role-{MOTO_ACCOUNT}-eu-west-1"
    assert role in assumed
    assert len(_calls(record)) == 1


def test_destroy_skips_the_stacks_that_are_not_deployed(
    synth: Synthesized, recorded: tuple[dict[str, str], Path], run_recorded: Run
) -> None:
    code, out, _ = run_recorded(["destroy", "--stage", "sandbox", "--stacks", "Chat", "--assembly", _app(synth)])
    record = recorded[1]
    assert code == 0
    assert "  sandbox/Chat: not deployed, nothing to delete\n" in out
    assert _calls(record) == []


# --- no credentials, no endpoint: one line, nothing done ---


def _errors(run: subprocess.CompletedProcess[str]) -> list[str]:
    """What the target printed on stderr, without make's own 'make[N]: *** ... Error' line."""
    return [line for line in run.stderr.splitlines() if not re.match(r"make(\[\d+\])?: ", line)]


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
    run = make("diff", f"ASSEMBLY={_app(synth)}", f"BASE_DIR={baseline}", "FAIL=1", env=_offline_env())
    assert run.returncode != 0
    assert "1 of" in run.stdout and "Traceback" not in run.stderr


def test_make_diff_without_differences_exits_0_in_fail_mode_too(synth: Synthesized, tmp_path: Path) -> None:
    run = make("diff", f"ASSEMBLY={_app(synth)}", f"BASE_DIR={_app(synth)}", "FAIL=1", env=_offline_env())
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"make diff: no differences from {_app(synth)} ({len(synth.templates)} stacks)\n" in run.stdout


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
