"""Each architecture stands on its own: nothing under stacks/<arch>/ imports another architecture, directly or
through what it imports (the stage's StageConfig in stacks/config.py imports every architecture's config, so
a stack takes its own section and the StageFacts of stacks/config_base.py instead).

The one crossing between two architectures is the web-to-edge seam, and it lives in stacks/common/origin.py
(WebOrigin, OriginFetchAccess): the web stack builds it, the edge stack takes it.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

from tests.support.synth import ROOT

ARCHITECTURES = ("chat", "web", "edge", "deploy", "tuning")
# Importing any of these is importing every architecture.
WHOLE_STAGE = ("stacks.config", "stacks.app_builder")
SEAM = "stacks.common.origin"


def _module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _with_packages(name: str) -> set[str]:
    """A module and the packages that importing it runs (their __init__)."""
    parts = name.split(".")
    return {".".join(parts[:n]) for n in range(1, len(parts) + 1)}


@cache
def direct_imports(module: str) -> frozenset[str]:
    """The first-party (stacks.*) modules a module imports anywhere in it, resolved to module files."""
    path = ROOT.joinpath(*module.split("."))
    source = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from stacks.chat import access` imports the module stacks.chat.access.
            names = [
                f"{node.module}.{a.name}" if _is_module(f"{node.module}.{a.name}") else node.module for a in node.names
            ]
        for name in names:
            if name.split(".")[0] == "stacks":
                found |= _with_packages(name)
    return frozenset(found - {module})


def reached(module: str) -> set[str]:
    seen: set[str] = set()
    todo = [module]
    while todo:
        for name in direct_imports(todo.pop()):
            if name not in seen:
                seen.add(name)
                todo.append(name)
    return seen


def _architecture_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "stacks" and parts[1] in ARCHITECTURES else None


def _modules(architecture: str) -> list[str]:
    return sorted(_module_of(path) for path in (ROOT / "stacks" / architecture).rglob("*.py"))


def test_the_walk_follows_imports_through_other_modules() -> None:
    """stacks.config imports every architecture's config; stacks.app_builder reaches every stack through it."""
    assert {"stacks.chat.config", "stacks.web.config", "stacks.edge.config"} <= reached("stacks.config")
    assert {f"stacks.{a}.stack" for a in ARCHITECTURES} <= reached("stacks.app_builder")


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_an_architecture_imports_no_other_architecture(architecture: str) -> None:
    modules = _modules(architecture)
    assert f"stacks.{architecture}.stack" in modules
    crossings = sorted(
        f"{module} -> {name}"
        for module in modules
        for name in reached(module)
        if name in WHOLE_STAGE or _architecture_of(name) not in (None, architecture)
    )
    assert crossings == [], f"stacks/{architecture} reaches another architecture"


def test_the_web_edge_seam_lives_in_common_origin() -> None:
    assert SEAM in direct_imports("stacks.web.stack") and SEAM in direct_imports("stacks.edge.stack")
    assert not {name for name in reached(SEAM) if _architecture_of(name) or name in WHOLE_STAGE}
