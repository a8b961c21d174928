"""The docs describe the tree as it is: every relative link resolves, and no text names a folder the layout
move (issue 22) removed. Dated reports are records of their day and keep the paths they were written with."""

from __future__ import annotations

import re

from tests.support.repo import tracked_files
from tests.support.synth import ROOT

_LINK = re.compile(r"\]\(([^)\s]+)\)")
# stacks/, lambda/ and containers/ where a path starts (not /aws/lambda/ or a docs URL's .../lambda/...).
_OLD_FOLDER = re.compile(r"(?<![\w/.-])(stacks|lambda|containers)/")
# The cold-start baseline is an old revision: bench/handler.py looks for its bundle where it was then; this
# file names the old folders to find them.
_KEEPS_OLD_PATH = {"bench/handler.py", "tests/docs/test_links.py"}


def _tracked(*patterns: str) -> list[str]:
    return [name for name in tracked_files(*patterns) if not name.startswith("reports/")]


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives a Markdown file's headings: lower case, punctuation dropped, spaces as hyphens."""
    found: set[str] = set()
    for line in markdown.splitlines():
        heading = re.match(r"#{1,6} (.+)", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading[1].strip().lower()).replace(" ", "-")
            found.add(
                slug if slug not in found else next(f"{slug}-{n}" for n in range(1, 99) if f"{slug}-{n}" not in found)
            )
    return found


def broken_links(name: str, text: str) -> list[str]:
    broken = []
    for match in _LINK.finditer(text):
        target, _, anchor = match[1].partition("#")
        if "://" in target or target.startswith("mailto:"):
            continue
        path = (ROOT / name).parent.joinpath(target) if target else ROOT / name
        if not path.exists() or (anchor and path.suffix == ".md" and anchor not in anchors(path.read_text())):
            broken.append(f"{name}: {match[1]}")
    return broken


def old_folders(name: str, text: str) -> list[str]:
    return [f"{name}:{n}: {line.strip()}" for n, line in enumerate(text.splitlines(), 1) if _OLD_FOLDER.search(line)]


def test_every_relative_link_of_the_docs_resolves() -> None:
    assert [b for name in _tracked("*.md") for b in broken_links(name, (ROOT / name).read_text())] == []


def test_no_text_names_a_folder_the_move_removed() -> None:
    names = _tracked("*.md", "*.py", "*.yml", "*.yaml", "*.toml", "*.json", "Makefile", "Dockerfile")
    found = [
        hit
        for name in names
        if name not in _KEEPS_OLD_PATH and "__snapshots__" not in name and name != "package-lock.json"
        for hit in old_folders(name, (ROOT / name).read_text())
    ]
    assert found == []


def test_the_checks_see_a_broken_link_and_an_old_folder() -> None:
    assert broken_links("chat/README.md", "see [the stack](../stacks/chat/stack.py)") == [
        "chat/README.md: ../stacks/chat/stack.py"
    ]
    assert broken_links("chat/README.md", "[stack](stack.py), [AWS](https://aws.amazon.com/lambda/)") == []
    assert broken_links("README.md", "[x](docs/ci.md#no-such-heading)") == ["README.md: docs/ci.md#no-such-heading"]
    assert anchors("# A (`web/image.py`): b\n## A (`web/image.py`): b") == {"a-webimagepy-b", "a-webimagepy-b-1"}
    assert old_folders("x.md", "the code in `lambda/chat_api`\n/aws/lambda/fn and docs.aws.amazon.com/lambda/x") == [
        "x.md:1: the code in `lambda/chat_api`"
    ]
