"""The synthesized assembly is reused while its inputs are unchanged, and synthesized afresh after any change."""

from __future__ import annotations

import json
import multiprocessing
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import assemblies
from tests.support.synth import read_assembly

# One file of each input a synthesis reads, and an edit of it.
INPUTS = [
    "chat/api.py",  # the app's code
    "chat/new_module.py",  # a file added
    "chat/runtime/chat_api/chat_api/handler.py",  # an asset's content
    "web/container/Dockerfile",  # the web image's build context
    "app.py",
    "cdk.json",  # feature flags and context
    "cdk.context.json",
    "requirements.txt",  # the pins
    "requirements-dev.txt",
    "package.json",
    "package-lock.json",
    "tests/support/synth.py",  # the builder of the app recipe
    "tests/support/assemblies.py",
    *(f"{folder}/added_module.py" for folder in assemblies.INPUT_DIRS),  # a file added to each input folder
]
NOT_INPUTS = ["README.md", "tests/chat/test_chat_stack.py", "stage/__pycache__/config.cpython-313.pyc"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the files the key reads (and of a few it must not). One per module: every test compares the
    key right before and after its own edit, so edits of earlier tests do not matter."""
    root = tmp_path_factory.mktemp("app")
    for name in assemblies.INPUT_DIRS:
        shutil.copytree(assemblies.ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in [*assemblies.INPUT_FILES, "README.md", "tests/chat/test_chat_stack.py"]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(assemblies.ROOT / name, root / name)
    return root


def _edit(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as handle:
        handle.write(b"\n# edited\n")


@pytest.mark.parametrize("name", INPUTS)
def test_a_change_to_any_input_changes_the_key(tree: Path, name: str) -> None:
    before = assemblies.input_key(tree)
    _edit(tree / name)
    assert assemblies.input_key(tree) != before


@pytest.mark.parametrize("name", NOT_INPUTS)
def test_other_files_leave_the_key_alone(tree: Path, name: str) -> None:
    before = assemblies.input_key(tree)
    _edit(tree / name)
    assert assemblies.input_key(tree) == before


def test_installed_versions_interpreter_node_and_cdk_environment_are_inputs(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = {"CDK_CONTEXT_JSON": "{}", "JSII_DEPRECATED": "fail", "HOME": "/root"}
    before = assemblies.input_key(tree, environ=environ)
    assert assemblies.input_key(tree, environ={**environ, "CDK_CONTEXT_JSON": '{"stage": "prod"}'}) != before
    assert assemblies.input_key(tree, environ={**environ, "JSII_DEPRECATED": "warn"}) != before
    # The harness's own variables and the rest of the environment are not.
    assert assemblies.input_key(tree, environ={**environ, "CDK_TEST_RUN": "another run", "HOME": "/x"}) == before
    versions = assemblies.installed_versions()
    monkeypatch.setattr(assemblies, "installed_versions", lambda: {**versions, "aws-cdk-lib": "2.999.0"})
    assert assemblies.input_key(tree, environ=environ) != before
    monkeypatch.undo()
    monkeypatch.setattr(assemblies, "node_version", lambda: "v99.0.0")
    assert assemblies.input_key(tree, environ=environ) != before
    monkeypatch.undo()
    monkeypatch.setattr(assemblies.sys, "version", "3.99.0")
    assert assemblies.input_key(tree, environ=environ) != before


def test_every_recipe_keys_on_its_own_builder_and_the_files_it_reads(tree: Path) -> None:
    for recipe in assemblies.RECIPES.values():
        sources = recipe.source_files()
        assert sources and sources[0].name == f"{recipe.builder.partition(':')[0].rsplit('.', 1)[1]}.py"
        copies = [tree / source.relative_to(assemblies.ROOT) for source in sources]
        for source, copied in zip(sources, copies, strict=True):
            copied.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copied)
        for copied in copies:
            before = assemblies.input_key(tree, copies)
            _edit(copied)
            assert assemblies.input_key(tree, copies) != before, (recipe.name, copied)


def test_the_test_apps_are_read_from_every_module_that_builds_one() -> None:
    sources = {p.relative_to(assemblies.ROOT).as_posix() for p in assemblies.RECIPES["test_apps"].source_files()}
    assert {
        "tests/support/readiness.py",
        "tests/quality/readiness/test_readiness_github.py",
        "tests/edge/test_publisher_limits.py",
    } <= sources
    assert "tests/chat/test_chat_stack.py" not in sources


# --- the cache itself, with a recipe that writes a one-stack assembly in a few milliseconds ---------

FAKE = assemblies.Recipe("fake", "tests.test_synth_cache:build_fake", ("fake",))


def build_fake(outdir: Path) -> dict[str, Any]:
    """Counts its builds in the cache folder; slow enough for two processes to overlap where a test asks
    (`fake-slow` in the cache folder): the other tests wait for no overlap."""
    counter = assemblies.cache_root() / "fake-builds"
    builds = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(builds))
    if (assemblies.cache_root() / "fake-fails").exists():
        raise RuntimeError("the synthesis failed")
    if (assemblies.cache_root() / "fake-slow").exists():
        time.sleep(0.5)
    template = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}
    (outdir / "Stack.template.json").write_text(json.dumps(template))
    stack = {
        "type": "aws:cloudformation:stack",
        "environment": "aws://unknown-account/eu-west-1",
        "properties": {"templateFile": "Stack.template.json", "stackName": "Stack"},
        "displayName": "Stack",
    }
    (outdir / "manifest.json").write_text(json.dumps({"version": "55.0.0", "artifacts": {"Stack": stack}}))
    return {"build": builds}


@pytest.fixture
def cache(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(assemblies.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(assemblies, "ROOT", tree)
    monkeypatch.setitem(assemblies.RECIPES, "fake", FAKE)
    return tmp_path / "cache"


def _builds(cache: Path) -> int:
    return int((cache / "fake-builds").read_text())


def test_an_unchanged_tree_reuses_the_assembly_and_a_change_builds_afresh(cache: Path, tree: Path) -> None:
    first, facts = assemblies.assembly_folder("fake")
    assert facts == {"build": 1} and read_assembly(first).templates["Stack"]["Resources"]
    again, _ = assemblies.assembly_folder("fake")
    assert (again, _builds(cache)) == (first, 1)
    _edit(tree / "chat" / "api.py")
    changed, facts = assemblies.assembly_folder("fake")
    assert changed != first and facts == {"build": 2}
    assert first.is_dir()  # the previous entry stays (a branch switch back reuses it)


def _load_in_another_process(cache: str, root: str) -> str:
    import os

    os.environ[assemblies.CACHE_ENV] = cache
    assemblies.ROOT = Path(root)
    assemblies.RECIPES["fake"] = FAKE
    return str(assemblies.assembly_folder("fake")[0])


def test_two_processes_that_need_the_same_assembly_synthesize_it_once(cache: Path, tree: Path) -> None:
    cache.mkdir(parents=True)
    (cache / "fake-slow").touch()  # the second process asks while the first still builds
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(2) as pool:
        folders = pool.starmap(_load_in_another_process, [(str(cache), str(tree))] * 2)
    assert folders[0] == folders[1]
    assert _builds(cache) == 1


def test_a_failed_synthesis_is_reported_once_per_run_and_retried_by_the_next(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache.mkdir(parents=True)
    (cache / "fake-fails").touch()
    with pytest.raises(RuntimeError, match="the synthesis failed"):
        assemblies.assembly_folder("fake")
    with pytest.raises(RuntimeError, match="failed in this run"):  # the other tests of this run: no second try
        assemblies.assembly_folder("fake")
    assert _builds(cache) == 1
    (cache / "fake-fails").unlink()
    monkeypatch.setenv(assemblies.RUN_ENV, "the next run")
    assert assemblies.assembly_folder("fake")[1] == {"build": 2}


def test_prefetch_starts_one_builder_for_the_app_and_one_for_the_rest_of_what_is_stale(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[list[str]] = []
    monkeypatch.setattr(assemblies.subprocess, "Popen", lambda command, **_: started.append(command))
    needed = assemblies.recipes_for(["synth", "variants", "canary", "test_apps", "fake", "tmp_path"])
    assert [r.name for r in needed] == [*assemblies.RECIPES]
    assemblies.assembly_folder("fake")  # fresh: nothing to build
    assemblies.prefetch(needed)
    assert [command[3:] for command in started] == [["build", "app"], ["build", "variants", "canary", "test_apps"]]
