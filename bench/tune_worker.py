"""One Lambda execution environment for bench/tune.py: import a handler cold, then invoke it with a plan's events.

Run as `python -S bench/tune_worker.py HANDLER PLAN RESULTS MEMORY_MB FUNCTION_NAME` with only the function's
bundle and the Lambda package set on PYTHONPATH (it imports nothing of this repository), inside the cgroup
of its memory size. Each event goes through what the runtime does per invocation: the JSON body decoded,
a context, the trace header set (sampled as the plan says), the handler called, its result encoded. It
writes the timings (wall and this process's CPU) and each result's check to RESULTS as JSON; the handler's
own output (logs, metrics) goes to stdout as in Lambda.
"""

import importlib
import json
import os
import sys
import time
import uuid

STARTED_WALL = time.time()  # the parent compares it with when it started the interpreter


class Context:
    """The fields of Lambda's context object the handlers read."""

    def __init__(self, name: str, memory_mb: int, request_id: str) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{os.environ.get('AWS_REGION', '')}:123456789012:function:{name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "tune"
        self._deadline = time.monotonic() + 900

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def matches(result: object, expect: object) -> bool:
    """`expect` is a subset of `result`; the string "*" stands for any value that is present."""
    if expect == "*":
        return result is not None
    if isinstance(expect, dict):
        return isinstance(result, dict) and all(k in result and matches(result[k], v) for k, v in expect.items())
    return result == expect


def invoke(handler: object, step: dict, expect: dict, name: str, memory_mb: int) -> dict:
    os.environ["_X_AMZN_TRACE_ID"] = step["trace"]
    wall, cpu = time.perf_counter(), time.process_time()
    error = None
    try:
        result = handler(json.loads(step["body"]), Context(name, memory_mb, str(uuid.uuid4())))  # type: ignore[operator]
        json.dumps(result)
    except Exception as exc:  # recorded as the invocation's error, as Lambda reports it
        result, error = None, f"{type(exc).__name__}: {exc}"
    return {
        "type": step["type"],
        "ms": (time.perf_counter() - wall) * 1000,
        "cpu_ms": (time.process_time() - cpu) * 1000,
        "ok": error is None and matches(result, expect[step["type"]]),
        "error": error,
        "result": None if error is None and matches(result, expect[step["type"]]) else repr(result)[:300],
    }


def peak_rss_mib() -> float:
    """This interpreter's peak resident set (VmHWM: its own, unlike getrusage's maxrss, which a process keeps
    across exec from whatever forked it)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    spec, plan_path, results_path, memory_mb, name = sys.argv[1:6]
    with open(plan_path) as handle:
        plan = json.load(handle)
    module, _, attribute = spec.rpartition(".")
    wall, cpu = time.perf_counter(), time.process_time()
    handler = getattr(importlib.import_module(module), attribute)
    imported = {"import_ms": (time.perf_counter() - wall) * 1000, "import_cpu_ms": (time.process_time() - cpu) * 1000}
    invocations = [invoke(handler, step, plan["expect"], name, int(memory_mb)) for step in plan["steps"]]
    with open(results_path, "w") as handle:
        json.dump(
            {
                "started_wall": STARTED_WALL,
                **imported,
                "invocations": invocations,
                "max_rss_mib": peak_rss_mib(),
            },
            handle,
        )


if __name__ == "__main__":
    main()
