"""Running the Makefile's targets as a user does, with no AWS credentials or settings from this machine."""

from __future__ import annotations

import os
import re
import subprocess

from tests.support.synth import ROOT


def aws_free_environment() -> dict[str, str]:
    """This process's environment without any AWS credential, profile, CDK account or CDK_ARGS."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_DEFAULT_", "CDK_ARGS"))}
    return {**env, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}


def make(*args: str, env: dict[str, str], timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def error_lines(run: subprocess.CompletedProcess[str]) -> list[str]:
    """What the command printed on stderr, make's own "Error 2" lines aside."""
    return [line for line in run.stderr.splitlines() if not re.match(r"make(\[\d+\])?: ", line)]
