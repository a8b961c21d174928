#!/usr/bin/env python3
"""CDK entry point, and the only place that reads context or the environment.

cdk synth                                   # every stage (sandbox and prod)
cdk synth -c stage=sandbox                  # one stage
make deploy STAGE=sandbox                   # not `cdk deploy --all`: it selects no stack inside a Stage
cdk synth -c stage=prod -c chat.throttle_rate_limit=200   # override a setting (validated)
cdk synth -c stage=sandbox -c account=123456789012       # the account a stage deploys to (its `account`)
"""

from __future__ import annotations

import os
import sys

from aws_cdk import App

from stage.config import STAGES, ConfigError, load_stage, shared_account_warning, stage_overrides


def main(app: App | None = None) -> None:
    """Synthesize `app` (by default the App the CDK CLI's context and environment describe)."""
    app = app or App()
    context = app.node.get_all_context()
    requested = context.get("stage")
    names = [requested] if requested else list(STAGES)
    try:
        overrides = stage_overrides(context)
        configs = [load_stage(name, overrides) for name in names]
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    for config in configs:
        if config.github is not None and config.github.shared_account:
            print(f"warning: {shared_account_warning(config.facts)}", file=sys.stderr)
    # The constructs load once the config is known to be valid: an invalid one fails in a second, not three.
    from quality.gate import exit_on_findings  # noqa: PLC0415
    from stage.builder import build_app  # noqa: PLC0415

    # A stage that names its account deploys there; the others go where the CLI's credentials are.
    build_app(app, configs, account=os.environ.get("CDK_DEFAULT_ACCOUNT"))
    app.synth()
    # The CLI leaves validation to the app for stacks inside stages: stop on any finding of either pack.
    exit_on_findings(app.outdir)


if __name__ == "__main__":
    main()
