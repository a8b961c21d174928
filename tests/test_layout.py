"""The layout keeps code readable: no function outside tests is over 60 lines.

A constructor names its parts in order and calls `_build_*` steps; a long function elsewhere (a bench, a tool)
is split into helpers. A function's length runs from its `def` line to the last line of its body (decorators
excluded), so a nested function counts inside its parent and again on its own.
"""

from __future__ import annotations

import ast

from tests.support.repo import tracked_files
from tests.support.synth import ROOT

MAX_FUNCTION_LINES = 60


def _tracked_python_outside_tests() -> list[str]:
    return sorted(path for path in tracked_files("*.py") if not path.startswith("tests/"))


def _function_lengths(source: str, path: str) -> list[tuple[str, int]]:
    tree = ast.parse(source, filename=path)
    return [
        (f"{path}:{node.lineno} {node.name}", (node.end_lineno or node.lineno) - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def test_the_walk_sees_the_app_and_its_tooling() -> None:
    top_folders = {path.split("/", 1)[0] for path in _tracked_python_outside_tests()}
    expected = {"app.py", "stage", "shared", "quality", "chat", "web", "edge", "deploy", "tools", "bench"}
    assert expected <= top_folders, top_folders


def test_the_length_counts_from_def_to_the_end_of_the_body() -> None:
    source = "\n".join(
        (
            "@decorator",
            "async def f(",
            "    a: int,",
            ") -> int:",
            "    def g() -> int:",
            "        return a",
            "",
            "    return g()",
        )
    )
    assert _function_lengths(source, "x.py") == [("x.py:2 f", 7), ("x.py:5 g", 2)]


def test_no_function_outside_tests_is_over_60_lines() -> None:
    offenders = [
        f"{where} ({length} lines)"
        for path in _tracked_python_outside_tests()
        for where, length in _function_lengths((ROOT / path).read_text(), path)
        if length > MAX_FUNCTION_LINES
    ]
    assert not offenders, "split these into named steps or helpers:\n" + "\n".join(offenders)
