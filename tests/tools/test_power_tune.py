"""`make power-tune`: what it refuses before touching AWS, and the flow against stubs (no real AWS, no CDK CLI).

The refusals run as the user runs them (`make power-tune ...`) with no credentials anywhere; the flow runs
`main()` with the CDK CLI, CloudFormation and Step Functions replaced by recorders that answer as AWS
documents it, and the stage's assembly taken from the variants app (its sandbox stage is built with
power_tuning on, as the command's synth builds it).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bench import tune
from tests.support import make_targets
from tests.support.synth import Synthesized
from tools.cdk_stage import aws, cdk
from tools.power_tune import POWER_VALUES
from tools.power_tune import __main__ as power_tune
from tools.power_tune.stack import TUNABLE_STACKS

ACCOUNT = "123456789012"
CHAT_FUNCTION = "sandbox-Chat-CommentsHandlerFunctionD9A5-AbC123xyz"
STREAM_FUNCTION = "sandbox-Chat-RoomStatsHandlerFunctionE5AE-Qr5tUv"
VISUALIZATION = "https://lambda-power-tuning.show/#gAAAAQACAAQABsAL;ZooQR4yvkUa/pQRGRC5zRaADHUVjOftE"


def make(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {**make_targets.aws_free_environment(), **extra_env}
    return make_targets.make("power-tune", *args, env=env, timeout_s=120)


def _last_line(done: subprocess.CompletedProcess[str]) -> str:
    """The command's one error line; fails if it printed more."""
    (line,) = make_targets.error_lines(done)
    return line


def test_without_credentials_it_stops_in_one_line() -> None:
    done = make("STAGE=sandbox", "FUNCTION=chat-api")
    assert done.returncode != 0
    assert _last_line(done) == (
        "error: make power-tune STAGE=sandbox needs AWS access: no AWS credentials found (set AWS_PROFILE, or "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
    )
    assert "Traceback" not in done.stderr


def test_prod_is_refused_before_anything_else_unless_allowed() -> None:
    done = make("STAGE=prod", "FUNCTION=chat-api")
    assert done.returncode != 0
    assert _last_line(done).startswith("error: refusing to power-tune prod: it keeps its data")
    assert "ALLOW_PROD=1" in _last_line(done)
    # Then the credentials are what it lacks. The instance metadata service is off here only: botocore waits
    # seconds for it to time out, and the test above already runs that path as a laptop does.
    allowed = make("STAGE=prod", "FUNCTION=chat-api", "ALLOW_PROD=1", AWS_EC2_METADATA_DISABLED="true")
    assert "needs AWS access: no AWS credentials found" in _last_line(allowed)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--function", "origin-request"], "FUNCTION: must be one of chat-api, chat-stream, publisher-fetch"),
        (["--function", ""], "FUNCTION: must be one of chat-api, chat-stream, publisher-fetch (got nothing)"),
        (["--function", "chat-stream"], "PAYLOAD: chat-stream has no default payload"),
        (["--function", "chat-api", "--num", "4"], "NUM: Power Tuning needs at least 5 invocations per size"),
        (["--function", "chat-api", "--stage", "qa"], "Unknown stage 'qa'"),
        (["--function", "chat-api", "--payload", "/nonexistent/payload.json"], "PAYLOAD: cannot read"),
        (["--function", "chat-api", "--payload", __file__], "PAYLOAD: cannot read"),  # not JSON
    ],
)
def test_bad_arguments_are_refused_in_one_line_naming_what_to_fix(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aws, "check_access", _no_aws)
    assert power_tune.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def _no_aws(_region: str) -> str:
    raise AssertionError("AWS was reached before the arguments were checked")


class _StepFunctions:
    """Step Functions as the command sees it: one execution, running once, then ending as told."""

    def __init__(self, status: str, output: dict[str, Any] | None = None, cause: str = "") -> None:
        self.status, self.output, self.cause = status, output, cause
        self.started: list[dict[str, Any]] = []
        self.polls = 0

    def start_execution(self, *, stateMachineArn: str, input: str) -> dict[str, str]:
        self.started.append({"stateMachineArn": stateMachineArn, "input": json.loads(input)})
        return {"executionArn": f"{stateMachineArn.replace(':stateMachine:', ':execution:')}:run-1"}

    def describe_execution(self, *, executionArn: str) -> dict[str, Any]:
        self.polls += 1
        if self.polls == 1:
            return {"executionArn": executionArn, "status": "RUNNING"}
        found: dict[str, Any] = {"executionArn": executionArn, "status": self.status}
        if self.output is not None:
            found["output"] = json.dumps(self.output)
        if self.cause:
            found["cause"] = self.cause
        return found


class _CloudFormation:
    """The PowerTuning stack's outputs: as last deployed (by the recorded CLI), else as `tuned_arn` says."""

    def __init__(self, tuned_arn: str, cli: list[list[str]] | None = None) -> None:
        self.tuned_arn, self.cli = tuned_arn, cli or []

    def describe_stacks(self, *, StackName: str) -> dict[str, Any]:
        assert StackName == "sandbox-PowerTuning"
        deployed = [args[args.index("--parameters") + 1] for args in self.cli if "--parameters" in args]
        outputs = {
            "StateMachineArn": f"arn:aws:states:eu-west-1:{ACCOUNT}:stateMachine:powerTuningStateMachine-1a2b",
            "TunedFunctionArnOutput": deployed[-1].removeprefix("TunedFunctionArn=") if deployed else self.tuned_arn,
        }
        return {"Stacks": [{"Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]}]}


RESULTS = {
    "results": {
        "power": "1024",
        "cost": 3.36e-07,
        "duration": 2.1,
        "stateMachine": {"executionCost": 0.0003, "lambdaCost": 0.0001, "visualization": VISUALIZATION},
        "stats": [{"value": 512, "averagePrice": 3.2e-07, "averageDuration": 4.0}],
    }
}


@pytest.fixture
def stubbed(tmp_path: Path, variants: Synthesized, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Credentials, synth, the deployed Chat stack, the CLI and Step Functions, all answered locally."""
    calls: dict[str, Any] = {"synth": [], "cli": []}
    arn = f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:{CHAT_FUNCTION}"
    sfn = _StepFunctions("SUCCEEDED", RESULTS)

    def synth(stage: str, outdir: Path, context: tuple[str, ...] = ()) -> float:
        calls["synth"].append((stage, outdir, context))
        outdir.symlink_to(variants.outdir)  # the variants app: its sandbox stage has the PowerTuning stack
        return 0.0

    def physical_ids(stack_name: str, region: str, lookup_role: str = "") -> dict[str, str]:
        assert (stack_name, region) == ("sandbox-Chat", "eu-west-1")
        return {"CommentsHandlerFunctionD9A5571D": CHAT_FUNCTION, "RoomStatsHandlerFunctionE5AEF1A6": STREAM_FUNCTION}

    def client(service: str, region: str, credentials: Any = None) -> Any:
        return {"cloudformation": _CloudFormation(arn, calls["cli"]), "stepfunctions": sfn}[service]

    monkeypatch.setattr(cdk, "ROOT", tmp_path)
    monkeypatch.setattr(cdk, "synth", synth)
    monkeypatch.setattr(cdk, "run", lambda args, tee=False: calls["cli"].append(args) or "")
    monkeypatch.setattr(aws, "check_access", lambda region: ACCOUNT)
    monkeypatch.setattr(aws, "partition", lambda region: "aws")
    monkeypatch.setattr(aws, "physical_ids", physical_ids)
    monkeypatch.setattr(aws, "client", client)
    monkeypatch.setattr(power_tune, "POLL_S", 0.0)
    monkeypatch.delenv("CDK_ARGS", raising=False)
    return {**calls, "arn": arn, "sfn": sfn, "outdir": tmp_path / "cdk.out.sandbox.power-tune"}


def test_it_deploys_the_stack_for_that_function_runs_it_and_prints_the_result(
    stubbed: dict[str, Any], variants: Synthesized, capsys: pytest.CaptureFixture[str]
) -> None:
    assert power_tune.main(["--stage", "sandbox", "--function", "chat-api"]) == 0
    assert stubbed["synth"] == [("sandbox", stubbed["outdir"], ("-c", "power_tuning=true"))]
    arn = stubbed["arn"]
    assert stubbed["cli"] == [
        [
            "deploy",
            "--app",
            str(stubbed["outdir"]),
            "sandbox/PowerTuning",
            "--exclusively",
            "--parameters",
            f"TunedFunctionArn={arn}",
        ]
    ]
    # The ARN it deploys with is one the stack's parameter admits.
    pattern = variants.templates["sandbox/PowerTuning"]["Parameters"]["TunedFunctionArn"]["AllowedPattern"]
    assert re.fullmatch(pattern, arn)
    (started,) = stubbed["sfn"].started
    request = started["input"]
    assert started["stateMachineArn"].endswith(":stateMachine:powerTuningStateMachine-1a2b")
    assert (request["lambdaARN"], request["powerValues"], request["num"]) == (arn, list(POWER_VALUES), 50)
    assert (request["strategy"], request["autoOptimize"]) == ("balanced", False)  # it changes no configuration
    assert [p["weight"] for p in request["payload"]] == [80, 20]
    out = capsys.readouterr().out
    assert "picked: 1024 MB, 2.1 ms, 0.336 USD per million invocations" in out
    assert f"visualization: {VISUALIZATION}" in out
    assert "512 MB: 4.0 ms, 0.320 USD per million" in out


def test_a_failed_execution_ends_in_one_line_with_its_cause(
    stubbed: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    sfn = stubbed["sfn"]
    sfn.status, sfn.output, sfn.cause = "FAILED", None, "Lambda.AWSLambdaException: AccessDenied"
    assert power_tune.main(["--stage", "sandbox", "--function", "chat-api", "--num", "10"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: execution arn:aws:states:eu-west-1:") and err.endswith(
        "ended FAILED: Lambda.AWSLambdaException: AccessDenied"
    )


def test_without_deploying_it_refuses_a_stack_deployed_for_another_function(
    stubbed: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    other = f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:sandbox-Edge-PublisherFetch-Zz9"
    monkeypatch.setattr(aws, "client", lambda service, region, credentials=None: _CloudFormation(other))
    assert power_tune.main(["--stage", "sandbox", "--function", "chat-api", "--no-deploy"]) == 2
    assert stubbed["cli"] == []
    assert f"is deployed for {other}" in capsys.readouterr().err


def test_a_payload_file_replaces_the_default(stubbed: dict[str, Any], tmp_path: Path) -> None:
    payload = tmp_path / "batch.json"
    payload.write_text(json.dumps({"Records": []}))
    assert power_tune.main(["--function", "chat-stream", "--payload", str(payload), "--strategy", "cost"]) == 0
    (started,) = stubbed["sfn"].started
    assert started["input"]["lambdaARN"].endswith(f":function:{STREAM_FUNCTION}")
    assert (started["input"]["payload"], started["input"]["strategy"]) == ({"Records": []}, "cost")


def test_the_functions_it_offers_are_the_tuners_in_the_stacks_it_may_reach() -> None:
    tuned = {f.key: f for f in tune.FUNCTIONS}
    for key, tunable in power_tune.TUNABLE.items():
        assert (tuned[key].stack, tuned[key].handler) == (tunable.stack, tunable.handler)
        assert tunable.stack in TUNABLE_STACKS
    assert set(tuned) == set(power_tune.TUNABLE)
