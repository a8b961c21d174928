"""Each architecture stands on its own: nothing under chat/, web/, edge/ or deploy/ imports another architecture,
directly or through what it imports (stage/config.py's StageConfig imports every architecture's config, so a
stack takes its own section and the StageFacts of stage/config_base.py instead).

The one crossing between two architectures is the web-to-edge seam, and it lives in shared/origin.py
(WebOrigin, OriginFetchAccess): the web stack builds it, the edge stack takes it. From the tooling in quality/
(the rule pack and the synth gate) an architecture imports only quality.declare: acknowledgements, checkov
skips and what a rule must be told.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

from tests.support.synth import ROOT

ARCHITECTURES = ("chat", "web", "edge", "deploy")
FIRST_PARTY = (*ARCHITECTURES, "stage", "shared", "quality", "tools")
# Importing any of these is importing every architecture.
WHOLE_STAGE = ("stage.config", "stage.builder")
SEAM = "shared.origin"
DECLARATIONS = "quality.declare"


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
    """The first-party modules a module imports anywhere in it, resolved to module files."""
    path = ROOT.joinpath(*module.split("."))
    source = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from chat import access` imports the module chat.access.
            names = [
                f"{node.module}.{a.name}" if _is_module(f"{node.module}.{a.name}") else node.module for a in node.names
            ]
        for name in names:
            if name.split(".")[0] in FIRST_PARTY and _is_module(name.split(".")[0]):
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
    top = module.split(".", 1)[0]
    return top if top in ARCHITECTURES else None


def _modules(architecture: str) -> list[str]:
    """The infrastructure modules of an architecture (its runtime code is deployed, never imported by the app)."""
    folder = ROOT / architecture
    return sorted(
        _module_of(path)
        for path in folder.rglob("*.py")
        if not {"runtime", "container"} & set(path.relative_to(folder).parts[:-1])
    )


def test_the_walk_follows_imports_through_other_modules() -> None:
    """stage.config imports every architecture's config; stage.builder reaches every stack through it."""
    assert {"chat.config", "web.config", "edge.config"} <= reached("stage.config")
    assert {f"{a}.stack" for a in ARCHITECTURES} <= reached("stage.builder")


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_an_architecture_imports_no_other_architecture(architecture: str) -> None:
    modules = _modules(architecture)
    assert f"{architecture}.stack" in modules
    crossings = sorted(
        f"{module} -> {name}"
        for module in modules
        for name in reached(module)
        if name in WHOLE_STAGE or _architecture_of(name) not in (None, architecture)
    )
    assert crossings == [], f"{architecture}/ reaches another architecture"


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_an_architecture_imports_only_the_declarations_of_the_tooling(architecture: str) -> None:
    """The rule pack and the synth gate are a template analyser: an architecture only declares to it."""
    tooling = sorted(
        f"{module} -> {name}"
        for module in _modules(architecture)
        for name in direct_imports(module)
        if name.split(".")[0] in ("quality", "tools") and name not in ("quality", DECLARATIONS)
    )
    assert tooling == [], f"{architecture}/ imports tooling beyond {DECLARATIONS}"


def test_the_declarations_module_is_small_and_reaches_no_rule() -> None:
    assert len((ROOT / "quality" / "declare.py").read_text().splitlines()) <= 200
    assert not {name for name in reached(DECLARATIONS) if name.startswith("quality.readiness")}


def test_the_web_edge_seam_lives_in_shared_origin() -> None:
    assert SEAM in direct_imports("web.stack") and SEAM in direct_imports("edge.stack")
    assert not {name for name in reached(SEAM) if _architecture_of(name) or name in WHOLE_STAGE}
