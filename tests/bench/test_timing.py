"""make bench times the suite exactly as `make test` runs it."""

from __future__ import annotations

import re

from bench.timing import SUITE_ARGS
from tests.support.synth import ROOT


def test_the_benchmark_runs_the_suite_as_make_test_does() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^test: .*\n\t(.+)$", makefile, re.MULTILINE)
    assert recipe is not None
    assert recipe[1].split() == ["pytest", *SUITE_ARGS]
