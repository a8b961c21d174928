"""Synthesized cloud assemblies, cached on disk across processes and runs, keyed by what synthesis reads.

An entry's key hashes every input of a synthesis (`INPUT_DIRS`, `INPUT_FILES`, the recipe's own source,
the installed CDK packages, the interpreter, Node and the CDK_*/JSII_* environment): an unchanged tree
reuses the assembly of the last run, any change synthesizes afresh. `prefetch` starts the builds a session
needs in background processes as soon as its tests are collected; a lock per entry makes sure two pytest
workers (or two runs) never build the same entry twice.

    python -m tests.support.assemblies build app [variants ...]   # what prefetch runs
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# Read by every synthesis: the app's code and assets, its context, and the pins it is installed from.
INPUT_DIRS = ("stage", "shared", "quality", "chat", "web", "edge", "deploy", "tools/power_tune")
INPUT_FILES = (
    "app.py",
    "cdk.json",
    "cdk.context.json",
    "requirements.txt",
    "requirements-dev.txt",
    "package.json",
    "package-lock.json",
    "tests/support/assemblies.py",
    "tests/support/synth.py",
)
DISTRIBUTIONS = ("aws-cdk-lib", "constructs", "cdk-nag", "jsii", "pydantic", "pydantic-core")
_SKIPPED_PARTS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
# The harness's own variables (CDK_TEST_*) are no input of a synthesis.
CACHE_ENV = "CDK_TEST_CACHE"  # another cache folder (bench uses an empty one to measure a cold run)
RUN_ENV = "CDK_TEST_RUN"  # one id per pytest run, shared by its workers and builders
KEEP_PER_RECIPE = 3


@dataclass(frozen=True)
class Recipe:
    """How to synthesize one assembly: `builder` ("module:function") synthesizes into the folder it is given
    and returns facts (JSON) the tests may read besides the assembly. `fixtures` name the pytest fixtures
    that need it, so a session knows what to prefetch."""

    name: str
    builder: str
    fixtures: tuple[str, ...]
    inputs: str = ""  # "module:function" listing more files the builder reads (the test apps' modules)

    def function(self) -> Callable[[Path], dict[str, Any]]:
        return _attribute(self.builder)  # type: ignore[no-any-return]

    def source_files(self) -> list[Path]:
        module = importlib.util.find_spec(self.builder.partition(":")[0])
        found = [Path(module.origin)] if module and module.origin else []
        return found + (list(_attribute(self.inputs)()) if self.inputs else [])


def _attribute(reference: str) -> Any:
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


RECIPES: dict[str, Recipe] = {
    # The app as `cdk synth` builds it: every stack of every stage, cdk-nag attached.
    "app": Recipe("app", "tests.support.synth:build_app_assembly", ("synth",)),
    # Settings no stage uses by default, all in one app (tests/support/variants.py).
    "variants": Recipe("variants", "tests.support.variants:build_variants", ("variants",)),
    # A small app with constructs the gates must flag (not the shipped app).
    "canary": Recipe("canary", "tests.support.variants:build_canary", ("canary",)),
    # The rule tests' test apps, one per module that calls findings_fixture (tests/support/readiness.py).
    "test_apps": Recipe(
        "test_apps", "tests.support.readiness:build_test_apps", ("test_apps",), "tests.support.readiness:app_modules"
    ),
}


def cache_root() -> Path:
    """The test cache: assemblies/ here, and what other gates cache beside it (cfn-lint/)."""
    return Path(os.environ.get(CACHE_ENV) or ROOT / ".cache")


def _entries() -> Path:
    return cache_root() / "assemblies"


def run_id() -> str:
    """This run's id (set once by the first process of a run, inherited by workers and builders)."""
    return os.environ.setdefault(RUN_ENV, uuid.uuid4().hex)


# --- the key -------------------------------------------------------------------------------------


def _files(root: Path, extra: Iterable[Path]) -> Iterator[Path]:
    for name in INPUT_DIRS:
        folder = root / name
        if folder.is_dir():
            yield from (
                p
                for p in sorted(folder.rglob("*"))
                if p.is_file() and not _SKIPPED_PARTS & set(p.parts) and p.suffix != ".pyc"
            )
    for name in INPUT_FILES:
        if (root / name).is_file():
            yield root / name
    yield from sorted(extra)


def installed_versions() -> dict[str, str]:
    return dict(_installed_versions())


@functools.cache
def _installed_versions() -> tuple[tuple[str, str], ...]:
    """Read once a process, like node_version: each read parses every distribution's metadata (a key was 12 ms
    of it, and a run computes dozens of keys)."""
    found = []
    for name in DISTRIBUTIONS:
        try:
            found.append((name, version(name)))
        except PackageNotFoundError:
            found.append((name, "absent"))
    return tuple(found)


@functools.cache
def node_version() -> str:
    node = shutil.which("node")
    if node is None:
        return "absent"
    return subprocess.run([node, "--version"], capture_output=True, text=True, check=False, timeout=30).stdout.strip()


def input_key(root: Path | None = None, extra: Iterable[Path] = (), *, environ: dict[str, str] | None = None) -> str:
    """sha256 of every input of a synthesis: file paths and contents, versions, interpreter, environment."""
    root = root or ROOT
    digest = hashlib.sha256()
    for path in _files(root, extra):
        digest.update(str(path.relative_to(root) if path.is_relative_to(root) else path).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    environ = dict(os.environ if environ is None else environ)
    settings = {
        "versions": installed_versions(),
        "python": sys.version,
        "node": node_version(),
        "env": {
            k: v
            for k, v in sorted(environ.items())
            if k.startswith(("CDK_", "JSII_")) and not k.startswith("CDK_TEST_") and k != "CDK_DISABLE_CLI_TELEMETRY"
        },
    }
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()


# --- entries -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    recipe: Recipe
    key: str

    @property
    def folder(self) -> Path:
        return _entries() / f"{self.recipe.name}-{self.key[:20]}"

    @property
    def index(self) -> Path:
        return self.folder / "index.json"

    @property
    def failure(self) -> Path:
        return _entries() / f"{self.recipe.name}-{self.key[:20]}.failed.json"

    @contextlib.contextmanager
    def lock(self, *, wait: bool) -> Iterator[bool]:
        """Hold the entry's build lock; yields False (at once) if `wait` is off and another process holds it."""
        _entries().mkdir(parents=True, exist_ok=True)
        with open(_entries() / f"{self.recipe.name}-{self.key[:20]}.lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def build(self) -> None:
        """Synthesize into a fresh folder and move it into place whole (readers never see half an entry)."""
        work = _entries() / f".building-{self.recipe.name}-{os.getpid()}"
        shutil.rmtree(work, ignore_errors=True)
        (work / "assembly").mkdir(parents=True)
        try:
            facts = self.recipe.function()(work / "assembly")
            index = {"recipe": self.recipe.name, "key": self.key, "facts": facts, "built_at": time.time()}
            (work / "index.json").write_text(json.dumps(index))
            shutil.rmtree(self.folder, ignore_errors=True)
            work.rename(self.folder)
        except BaseException:
            # This run's tests report the failure instead of synthesizing again; a later run retries.
            self.failure.write_text(json.dumps({"run": run_id(), "traceback": traceback.format_exc()}))
            raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
        self.failure.unlink(missing_ok=True)
        _prune(self.recipe, keep=self.folder)

    def failed_in_this_run(self) -> str | None:
        if not self.failure.exists():
            return None
        failure = json.loads(self.failure.read_text())
        return str(failure["traceback"]) if failure.get("run") == run_id() else None


def entry(recipe: Recipe | str) -> Entry:
    recipe = RECIPES[recipe] if isinstance(recipe, str) else recipe
    return Entry(recipe, input_key(extra=recipe.source_files()))


def _prune(recipe: Recipe, keep: Path) -> None:
    """Keep the newest few entries of the recipe (a branch switched back to reuses its own), and the lock
    files of those only."""
    others = sorted(
        (p for p in _entries().glob(f"{recipe.name}-*") if p.is_dir() and p != keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in others[KEEP_PER_RECIPE - 1 :]:
        shutil.rmtree(old, ignore_errors=True)
    for lock in _entries().glob(f"{recipe.name}-*.lock"):
        if not lock.with_suffix("").is_dir():
            lock.unlink(missing_ok=True)


def assembly_folder(recipe: Recipe | str) -> tuple[Path, dict[str, Any]]:
    """The entry's assembly folder and facts: from the cache, from a build under way, or built here."""
    found = entry(recipe)
    if not found.index.exists():
        with found.lock(wait=True):
            failed = found.failed_in_this_run()
            if failed is not None:
                raise RuntimeError(f"synthesis of {found.recipe.name!r} failed in this run:\n{failed}")
            if not found.index.exists():
                found.build()
    os.utime(found.folder)  # recently used: pruned last
    return found.folder / "assembly", json.loads(found.index.read_text())["facts"]


# --- background builds ---------------------------------------------------------------------------


def recipes_for(fixturenames: Iterable[str]) -> list[Recipe]:
    wanted = set(fixturenames)
    return [recipe for recipe in RECIPES.values() if wanted & set(recipe.fixtures)]


def stale(recipes: Iterable[Recipe]) -> list[str]:
    """The recipes whose assembly for today's inputs is not built yet."""
    return [r.name for r in recipes if not entry(r).index.exists()]


def prefetch(recipes: Iterable[Recipe]) -> list[subprocess.Popen[bytes]]:
    """Start building every stale entry in the background: the app in one process, the rest in another
    (two cores). A builder that finds its entry locked leaves it to the process holding the lock."""
    stale_names = stale(recipes)
    groups = [[n for n in stale_names if n == "app"], [n for n in stale_names if n != "app"]]
    _entries().mkdir(parents=True, exist_ok=True)
    started = []
    for names in filter(None, groups):
        started.append(
            subprocess.Popen(  # a failure is recorded for the tests to report (Entry.failure)
                [sys.executable, "-m", "tests.support.assemblies", "build", *names],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={**os.environ, RUN_ENV: run_id()},
            )
        )
    return started


def _build_unless_locked(name: str) -> None:
    found = entry(name)
    with found.lock(wait=False) as mine:
        if mine and not found.index.exists():
            found.build()


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "build" or not set(argv[1:]) <= set(RECIPES):
        print(f"usage: python -m tests.support.assemblies build {'|'.join(RECIPES)} ...", file=sys.stderr)
        return 2
    status = 0
    for name in argv[1:]:
        try:
            _build_unless_locked(name)
        except Exception:
            traceback.print_exc()
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
