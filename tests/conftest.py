"""Session fixtures: one synth of the whole app, shared by every template test."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Every lambda/<bundle> folder is importable as its package, as it is inside Lambda.
for bundle in sorted((ROOT / "lambda").iterdir()):
    if bundle.is_dir() and str(bundle) not in sys.path:
        sys.path.insert(0, str(bundle))
# The project's Node 22 first, as in the Makefile, so running pytest directly shows no Node banner either.
node_bin = ROOT / "node_modules" / ".bin"
if node_bin.is_dir() and not os.environ.get("PATH", "").startswith(str(node_bin)):
    os.environ["PATH"] = f"{node_bin}{os.pathsep}{os.environ.get('PATH', '')}"
# A deprecated CDK API used anywhere fails the synth (and so the suite).
os.environ.setdefault("JSII_DEPRECATED", "fail")

from tests.support.postgres import postgres  # noqa: E402, F401 (one server per session, for every folder)
from tests.support.synth import Synthesized, synthesize  # noqa: E402

E2E = ROOT / "tests" / "e2e"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--e2e", action="store_true", help="run tests/e2e: start LocalStack, deploy, test over HTTP (make test-e2e)"
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """tests/e2e runs only when asked (--e2e, or named on the command line): it deploys to LocalStack."""
    if collection_path != E2E and E2E not in collection_path.parents:
        return None
    asked = config.getoption("--e2e") or any(
        Path(arg.split("::")[0]).resolve() == E2E or E2E in Path(arg.split("::")[0]).resolve().parents
        for arg in config.args
    )
    return None if asked else True


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk.out"))
