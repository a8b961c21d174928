"""make bench times the suite exactly as `make test` and `make test-fast` run it."""

from __future__ import annotations

import re
import shlex

import pytest

from bench.timing import FAST_ARGS, SUITE_ARGS
from tests.support.synth import ROOT


@pytest.mark.parametrize(("target", "args"), [("test", SUITE_ARGS), ("test-fast", FAST_ARGS)])
def test_the_benchmark_runs_the_suite_as_the_make_target_does(target: str, args: tuple[str, ...]) -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(rf"^{re.escape(target)}: .*\n\t(.+)$", makefile, re.MULTILINE)
    assert recipe is not None
    assert shlex.split(recipe[1]) == ["pytest", *args]
