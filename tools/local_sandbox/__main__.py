"""Command line of the local sandbox (see docs/local-sandbox.md)."""

from __future__ import annotations

import argparse
import sys
import time

from tools.local_sandbox import deploy, runtime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.local_sandbox", description=__doc__)
    parser.add_argument("command", choices=["up", "deploy", "destroy", "down", "status"])
    parser.add_argument("--stage", default="sandbox")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            began = time.monotonic()
            pid = runtime.start()
            print(
                f"LocalStack is ready on {runtime.endpoint()} after {time.monotonic() - began:.0f} s "
                f"(pid {pid}, Lambda executor {runtime.lambda_executor()}); log: {runtime.Paths().log_file}"
            )
        elif args.command == "deploy":
            results = deploy.deploy(args.stage)
            for result in results:
                print(f"{result.name}: {result.status} in {result.seconds:.0f} s")
                for key, value in result.outputs.items():
                    print(f"  {key} = {value}")
                if result.error:
                    print("  " + result.error.replace("\n", "\n  "))
            if any(r.status != "deployed" for r in results):
                return 1
        elif args.command == "destroy":
            deploy.destroy()
            print("destroyed every stack of the last local deployment")
        elif args.command == "down":
            for line in runtime.stop() or ["LocalStack was not running; nothing to clean up"]:
                print(line)
        else:
            running = runtime.running_pid()
            print(f"running (pid {running}) on {runtime.endpoint()}" if running else "not running")
    except runtime.SandboxError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
