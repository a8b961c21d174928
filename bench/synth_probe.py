"""One synthesis in a fresh interpreter, timed by phase; prints one JSON line. Run by bench/synth.py.

python -m bench.synth_probe app|trivial OUTDIR [--no-nag]

Validation on/off is chosen by the caller through CDK_VALIDATION (read by aws-cdk-lib at synth time),
so the probe synthesizes exactly as `cdk synth` and the test fixture do otherwise.
"""

from __future__ import annotations

import json
import sys
import time

START = time.perf_counter()


def main() -> None:
    kind, outdir = sys.argv[1], sys.argv[2]
    nag = "--no-nag" not in sys.argv
    t0 = time.perf_counter()
    from aws_cdk import App, Stack, aws_sqs  # starts the jsii node process and loads aws-cdk-lib

    from tests.support.synth import cdk_context

    t_import = time.perf_counter()
    app = App(outdir=outdir, context=cdk_context())
    if kind == "trivial":
        stack = Stack(app, "Trivial")
        aws_sqs.CfnQueue(stack, "Queue")  # one resource, nothing else
        stacks = 1
    else:
        from stage.builder import build_app, build_stage
        from stage.config import STAGES, load_stage

        configs = [load_stage(name) for name in STAGES]
        # With cdk-nag: the very builder app.py and the tests call. Without: its stages, minus the plugin.
        built = build_app(app, configs) if nag else [build_stage(app, config) for config in configs]
        stacks = sum(len(stage.all) for stage in built)
    t_build = time.perf_counter()
    try:
        app.synth()
    except RuntimeError as error:  # unacknowledged cdk-nag findings: still a complete synth
        if "Validation failed" not in str(error):
            raise
    t_synth = time.perf_counter()
    print(
        json.dumps(
            {
                "python_start_s": t0 - START,
                "import_s": t_import - t0,
                "build_s": t_build - t_import,
                "synth_s": t_synth - t_build,
                "stacks": stacks,
            }
        )
    )


if __name__ == "__main__":
    main()
