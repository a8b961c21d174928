"""`make power-tune STAGE=sandbox FUNCTION=chat-api`: AWS Lambda Power Tuning on a deployed function of a stage.

    python -m tools.power_tune --stage sandbox --function chat-api [--num 50] [--strategy balanced]
                               [--payload FILE] [--allow-prod] [--no-deploy]

Steps: refuse prod unless --allow-prod (below); check the credentials (one line and exit 2 without them);
synthesize the stage with the PowerTuning stack (`-c power_tuning=true`) into cdk.out.<stage>.power-tune; read
the function's physical name from its deployed stack (its logical id from the assembly); deploy the
PowerTuning stack with that function's ARN as its only target; start an execution, wait for it, print the
sizes it measured, the one its strategy picks and the visualization URL. It changes no configured memory
(autoOptimize off): the size you choose goes into the stage config or the construct, as `make tune`'s do.

Why prod is refused: while it runs, Power Tuning sets the function's $LATEST memory to each size in turn to
publish a version per size (the API and the event sources call $LATEST, so live traffic runs at the test
sizes meanwhile), invokes it num x sizes times with the payload (the chat API's default payload posts real
comments), and an interrupted run leaves $LATEST at a test size. Exit codes: 0 done; 2 refused or failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.exceptions

from stage.config import ConfigError, load_stage
from tools.cdk_stage import assembly, aws, cdk
from tools.power_tune import POWER_VALUES

POWER_TUNING_STACK = "PowerTuning"
STRATEGIES = ("cost", "speed", "balanced")
POLL_S = 5.0
WAIT_S = 3600.0


@dataclass(frozen=True)
class Tunable:
    stack: str
    handler: str
    payload: Any  # the default payload, or None when the function needs one of the user's


# The same keys as bench/tune.py's functions (a test keeps them equal).
_ROOM = "power-tuning"
TUNABLE = {
    "chat-api": Tunable(
        "Chat",
        "chat_api.handler.handler",
        # Weighted payloads (README-INPUT-OUTPUT.md): the cost model's mix, 80% reads and 20% posts.
        [
            {
                "weight": 80,
                "payload": {
                    "resource": "/rooms/{room}/comments",
                    "path": f"/rooms/{_ROOM}/comments",
                    "httpMethod": "GET",
                    "headers": {},
                    "pathParameters": {"room": _ROOM},
                    "requestContext": {"requestId": "power-tuning", "stage": "v1"},
                },
            },
            {
                "weight": 20,
                "payload": {
                    "resource": "/rooms/{room}/comments",
                    "path": f"/rooms/{_ROOM}/comments",
                    "httpMethod": "POST",
                    "headers": {"Content-Type": "application/json"},
                    "pathParameters": {"room": _ROOM},
                    "requestContext": {"requestId": "power-tuning", "stage": "v1"},
                    "body": json.dumps(
                        {"name": "power-tuning", "comment": "a comment of the tuning run", "position": 1}
                    ),
                },
            },
        ],
    ),
    # One batch replayed is counted once, then skipped as duplicates: bring a batch that stands for yours.
    "chat-stream": Tunable("Chat", "chat_stream.handler.handler", None),
    "publisher-fetch": Tunable("Edge", "edge_cache.publisher.handler", {"path": "/"}),
}


class Refused(RuntimeError):
    """The command cannot go on; the message is one line saying why."""


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.power_tune", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default="sandbox")
    parser.add_argument("--function", required=True, help=f"one of {', '.join(TUNABLE)}")
    parser.add_argument("--num", type=int, default=50, help="invocations per size (at least 5)")
    parser.add_argument("--strategy", choices=STRATEGIES, default="balanced")
    parser.add_argument("--payload", type=Path, help="JSON file: the payload (or weighted payloads) to invoke with")
    parser.add_argument("--allow-prod", action="store_true", help="run against a stage that keeps its data")
    parser.add_argument("--no-deploy", action="store_true", help="the PowerTuning stack is deployed for FUNCTION")
    return parser.parse_args(argv)


def check_request(args: argparse.Namespace) -> tuple[Any, Tunable, Any]:
    """Everything decidable without AWS: the stage, the function, prod, the payload. Cheapest failure first."""
    if not args.function or args.function not in TUNABLE:
        raise Refused(f"FUNCTION: must be one of {', '.join(TUNABLE)} (got {args.function or 'nothing'})")
    try:
        stage = load_stage(args.stage)
    except ConfigError as error:
        raise Refused(str(error)) from None
    if stage.deletion_protection and not args.allow_prod:
        raise Refused(
            f"refusing to power-tune {stage.name}: it keeps its data, and Power Tuning sets the function's $LATEST "
            "memory to each test size while live traffic calls $LATEST, and invokes it with real payloads; set "
            "ALLOW_PROD=1 (--allow-prod) to run it anyway"
        )
    if args.num < 5:
        raise Refused(f"NUM: Power Tuning needs at least 5 invocations per size, got {args.num}")
    tunable = TUNABLE[args.function]
    try:
        payload = json.loads(args.payload.read_text()) if args.payload else tunable.payload
    except (OSError, ValueError) as error:  # missing, unreadable, not JSON: one line naming the file
        raise Refused(f"PAYLOAD: cannot read {args.payload} as JSON: {error}") from None
    if payload is None:
        raise Refused(f"PAYLOAD: {args.function} has no default payload; pass PAYLOAD=file.json with an event of yours")
    return stage, tunable, payload


def function_arn(outdir: Path, stage: Any, tunable: Tunable, account: str) -> str:
    """The deployed function's ARN: its logical id from the assembly, its physical name from CloudFormation."""
    stacks = {s.stack_id: s for s in assembly.read_assembly(outdir) if s.stage == stage.name}
    if tunable.stack not in stacks or POWER_TUNING_STACK not in stacks:
        raise Refused(
            f"the assembly in {outdir} has no {stage.name}/{tunable.stack} or {stage.name}/{POWER_TUNING_STACK}"
        )
    stack = stacks[tunable.stack]
    (logical_id,) = [
        logical_id
        for logical_id, resource in stack.template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function" and resource["Properties"].get("Handler") == tunable.handler
    ]
    deployed = aws.physical_ids(stack.stack_name, stack.region)
    if logical_id not in deployed:
        raise Refused(
            f"{stack.display_name} is not deployed (no {logical_id}): run make deploy STAGE={stage.name} first"
        )
    return f"arn:{aws.partition(stack.region)}:lambda:{stack.region}:{account}:function:{deployed[logical_id]}"


def outputs(stack_name: str, region: str) -> dict[str, str]:
    found = aws.client("cloudformation", region).describe_stacks(StackName=stack_name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}


def execute(state_machine: str, region: str, request: dict[str, Any]) -> dict[str, Any]:
    """Start an execution, wait for its end, return its parsed output (Refused when it did not succeed)."""
    sfn = aws.client("stepfunctions", region)
    execution = sfn.start_execution(stateMachineArn=state_machine, input=json.dumps(request))["executionArn"]
    print(f"execution {execution} started; waiting (num={request['num']}, {len(request['powerValues'])} sizes)")
    deadline = time.monotonic() + WAIT_S
    while True:
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            break
        if time.monotonic() > deadline:
            raise Refused(f"execution {execution} still running after {WAIT_S:.0f} s; see the Step Functions console")
        time.sleep(POLL_S)
    if described["status"] != "SUCCEEDED":
        cause = described.get("cause") or described.get("error") or "no cause given"
        raise Refused(f"execution {execution} ended {described['status']}: {cause}")
    output: dict[str, Any] = json.loads(described.get("output") or "{}")
    return output.get("results", output)  # type: ignore[no-any-return]


def report(results: dict[str, Any], arn: str, strategy: str) -> None:
    print(f"\nPower Tuning of {arn} (strategy {strategy}):")
    for row in results.get("stats", []):
        print(
            f"  {row['value']:>6} MB: {row['averageDuration']:.1f} ms, {row['averagePrice'] * 1e6:.3f} USD per million"
        )
    print(
        f"picked: {results['power']} MB, {float(results['duration']):.1f} ms, "
        f"{float(results['cost']) * 1e6:.3f} USD per million invocations"
    )
    machine = results.get("stateMachine", {})
    print(f"visualization: {machine.get('visualization', 'none given')}")


def run(args: argparse.Namespace) -> int:
    stage, tunable, payload = check_request(args)
    try:
        account = aws.check_access(stage.region)
    except aws.NoAccess as error:
        raise Refused(f"make power-tune STAGE={stage.name} needs AWS access: {error}") from None
    extra = cdk.CdkArgs.parse(os.environ.get("CDK_ARGS", ""))
    outdir = cdk.ROOT / f"cdk.out.{stage.name}.power-tune"
    seconds = cdk.synth(stage.name, outdir, (*extra.context, "-c", "power_tuning=true"))
    print(f"synthesized stage {stage.name} with the {POWER_TUNING_STACK} stack into {outdir} in {seconds:.0f} s")
    arn = function_arn(outdir, stage, tunable, account)
    tuning = next(s for s in assembly.read_assembly(outdir) if s.display_name == f"{stage.name}/{POWER_TUNING_STACK}")
    if not args.no_deploy:
        parameter = f"TunedFunctionArn={arn}"
        cdk.run(
            [
                "deploy",
                "--app",
                str(outdir),
                tuning.display_name,
                "--exclusively",
                "--parameters",
                parameter,
                *extra.command,
            ]
        )
    found = outputs(tuning.stack_name, tuning.region)
    if found.get("TunedFunctionArnOutput") != arn:
        raise Refused(
            f"{tuning.display_name} is deployed for {found.get('TunedFunctionArnOutput')}, not {arn}: drop --no-deploy"
        )
    request = {
        "lambdaARN": arn,
        "powerValues": list(POWER_VALUES),
        "num": args.num,
        "payload": payload,
        "strategy": args.strategy,
        "autoOptimize": False,
        "includeOutputResults": True,
    }
    report(execute(found["StateMachineArn"], tuning.region, request), arn, args.strategy)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        return run(args)
    except (Refused, cdk.CliError) as error:
        print(f"error: {error}", file=sys.stderr)
    except botocore.exceptions.BotoCoreError as error:
        print(f"error: AWS call failed: {error}", file=sys.stderr)
    except botocore.exceptions.ClientError as error:
        print(f"error: AWS refused: {error}", file=sys.stderr)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
