"""Command line of the local sandbox (see docs/local-sandbox.md).

up | down | status        start, stop, or ask about LocalStack on 127.0.0.1
env                       shell lines that point the README's targets at it (eval "$(... env)")
parameters --assembly D   create stand-ins for the public SSM parameters of the stacks in D;
                          prints the CDK CLI arguments that use them (for CDK_ARGS)
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from tools.cdk_stage import assembly
from tools.local_sandbox import environment, runtime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.local_sandbox", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["up", "down", "status", "env", "parameters", "api-url"])
    parser.add_argument("--assembly", type=Path, help="the synthesized cloud assembly (default cdk.out.<stage>)")
    parser.add_argument("--stage", default="sandbox", help="the stage whose stacks to cover")
    parser.add_argument("--stacks", default="", help="parameters: only these stacks (as STACKS= of the targets)")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            began = time.monotonic()
            pid = runtime.start()
            print(
                f"LocalStack is ready on {runtime.endpoint()} after {time.monotonic() - began:.0f} s "
                f"(pid {pid}, Lambda executor {runtime.lambda_executor()}); log: {runtime.Paths().log_file}"
            )
        elif args.command == "down":
            for line in runtime.stop() or ["LocalStack was not running; nothing to clean up"]:
                print(line)
        elif args.command == "env":
            print(environment.exports())
        elif args.command == "parameters":
            if not runtime.healthy():
                raise runtime.SandboxError(f"LocalStack does not answer on {runtime.endpoint()}: `make local-up` first")
            folder = args.assembly or Path(f"cdk.out.{args.stage}")
            chosen = assembly.select(assembly.read_assembly(folder), args.stage, args.stacks).chosen
            print(shlex.join(environment.public_parameter_arguments(chosen)))
        elif args.command == "api-url":
            outputs = (args.assembly or Path(f"cdk.out.{args.stage}")) / "outputs.json"
            if not outputs.is_file():
                raise runtime.SandboxError(f"{outputs} not found: `make deploy` writes it")
            url = json.loads(outputs.read_text()).get(f"{args.stage}-Chat", {}).get("ApiUrl")
            if not url:
                raise runtime.SandboxError(
                    f"{outputs} holds no ApiUrl of {args.stage}-Chat: was the chat stack deployed?"
                )
            print(environment.local_api_url(url))
        else:
            running = runtime.running_pid()
            print(f"running (pid {running}) on {runtime.endpoint()}" if running else "not running")
    except (runtime.SandboxError, assembly.SelectionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
