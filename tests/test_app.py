"""app.py: invalid configuration stops before synthesis with one clear message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import App

from app import main
from tests.support.synth import ROOT

INVALID = [
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
    ({"stage": "prod", "chats.throttle_rate_limit": "5"}, "error: Unknown setting 'chats.throttle_rate_limit'"),
    ({"stage": "prod", "edge": '{"price_class": "PriceClass_100"}'}, "error: Invalid override 'edge': a section"),
]


def _check(code: object, stderr: str, message: str, outdir: Path) -> None:
    assert code == 1
    assert stderr.strip().splitlines()[-1].startswith(message)
    assert "Traceback" not in stderr
    assert not (outdir / "manifest.json").exists()


def test_app_py_run_as_the_cli_runs_it_stops_on_invalid_configuration_before_synth(tmp_path: Path) -> None:
    """As `cdk synth -c stage=qa` runs it: the context in CDK_CONTEXT_JSON, a fresh interpreter."""
    context, message = INVALID[0]
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    _check(result.returncode, result.stderr, message, tmp_path)


@pytest.mark.parametrize(("context", "message"), INVALID)
def test_invalid_configuration_fails_before_synth(
    context: dict[str, str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each kind of invalid setting, through app.py's main in this process (one CDK runtime for all)."""
    with pytest.raises(SystemExit) as stopped:
        main(App(context=context, outdir=str(tmp_path)))
    _check(stopped.value.code, capsys.readouterr().err, message, tmp_path)
