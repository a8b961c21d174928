"""Dependencies are pinned with hashes, installed only from their locks, and kept current by Dependabot.

- Every requirements*.in (top-level pins) has its pip-compile lock beside it: every package pinned to one
  version with the hashes of its files, the top-level pins unchanged, no machine-local index in it.
- Every `pip install` of the Makefile and the Dockerfile installs from a lock with --require-hashes.
- The container's base image is pinned by digest.
- .github/dependabot.yml covers every manifest of the repository with the ecosystem that updates it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support.locks import PIN, locked, normal
from tests.support.repo import tracked_files
from tests.support.synth import ROOT

INPUTS = sorted(path for path in tracked_files() if re.search(r"(^|/)requirements[^/]*\.in$", path))


def test_the_locks_are_found() -> None:
    assert len(INPUTS) >= 6, INPUTS


@pytest.mark.parametrize("source", INPUTS)
def test_each_input_has_a_lock_with_hashes_for_every_package(source: str) -> None:
    lock = ROOT / source.removesuffix(".in")
    lock = lock.with_suffix(".txt")
    text = lock.read_text()
    assert "--generate-hashes" in text.split("\n\n", 1)[0], f"{lock.name} was not made by make lock"
    assert "--index-url" not in text and "--find-links" not in text, "a machine's own index in the lock"
    packages = locked(lock)
    assert packages
    assert {name: count for name, (_, count) in packages.items() if count == 0} == {}, "packages without hashes"
    for line in (ROOT / source).read_text().splitlines():
        pin = PIN.match(line)
        if pin:
            assert packages.get(normal(pin[1]), ("missing",))[0] == pin[2], f"{pin[0]}: not as locked in {lock}"


def test_every_pip_install_uses_a_hash_checked_lock() -> None:
    commands = [
        line
        for path in ("Makefile", "web/container/Dockerfile")
        for line in (ROOT / path).read_text().splitlines()
        if "pip install" in line and not line.lstrip().startswith("#")
    ]
    assert commands
    for command in commands:
        local_project = "--no-deps" in command and "./" in command  # the host executor: our own code
        assert local_project or "--require-hashes" in command, command


def test_the_base_image_is_pinned_by_digest() -> None:
    froms = re.findall(r"^FROM\s+(\S+)", (ROOT / "web/container/Dockerfile").read_text(), re.MULTILINE)
    assert froms
    for image in froms:
        assert re.fullmatch(r"[^@\s]+:[^@\s]+@sha256:[0-9a-f]{64}", image), image


def _ecosystem(path: str) -> str | None:
    name = Path(path).name
    if re.fullmatch(r"requirements[^/]*\.(in|txt)", name) or name == "pyproject.toml":
        return "pip"
    if name == "package.json":
        return "npm"
    if name == "Dockerfile":
        return "docker"
    if path.startswith(".github/workflows/") and name.endswith((".yml", ".yaml")):
        return "github-actions"
    return None


def test_dependabot_covers_every_manifest() -> None:
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    assert config["version"] == 2
    covered = {(u["package-ecosystem"], u["directory"].rstrip("/") or "/") for u in config["updates"]}
    manifests = {(e, p) for p in tracked_files() if (e := _ecosystem(p))}
    assert {e for e, _ in manifests} == {"pip", "npm", "docker", "github-actions"}
    missing = []
    for ecosystem, path in sorted(manifests):
        # GitHub Actions updates read .github/workflows from the directory "/".
        directory = "/" if ecosystem == "github-actions" else "/" + str(Path(path).parent).removeprefix(".")
        if (ecosystem, directory.rstrip("/") or "/") not in covered:
            missing.append(f"{ecosystem}: {path}")
    assert missing == []
