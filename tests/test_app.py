"""app.py: invalid configuration stops before synthesis with one clear message."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.synth import ROOT


def _run_app(context: dict[str, str], outdir: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": outdir}
    return subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"stage": "qa"}, "error: Unknown stage 'qa'; known stages: prod, sandbox"),
        (
            {"stage": "prod", "chat.throttle_burst_limit": "10"},
            "error: Invalid configuration for stage 'prod': chat.throttle_burst_limit: must be >= throttle_rate_limit",
        ),
        (
            {"stage": "sandbox", "github.repository": "my-org/my-app"},
            "error: Invalid configuration for stage 'sandbox': account: a stage that GitHub deploys (github is set) "
            "must name its own AWS account",
        ),
        (
            {"stage": "prod", "allow_hotswap": "true"},
            "error: Invalid configuration for stage 'prod': allow_hotswap: a stage that protects its data",
        ),
    ],
)
def test_invalid_configuration_fails_before_synth(context: dict[str, str], message: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = _run_app(context, str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(message)
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "manifest.json").exists()
