"""The request-path pictures in <arch>/README.md are those tools/request_path draws from the shared synth, and
the drawing follows the templates: a resource or a reference removed leaves the picture, one added that no
node holds stops it."""

from __future__ import annotations

import copy
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.synth import ROOT, Synthesized
from tools import request_path
from tools.request_path.model import UnplacedResource

ARCHITECTURES = ["chat", "deploy", "edge", "web"]


@dataclass
class Edited:
    """A copy of an assembly's templates to break on purpose."""

    templates: dict[str, dict[str, Any]]
    stack_names: dict[str, str]

    @classmethod
    def of(cls, synthesized: Synthesized) -> Edited:
        return cls(copy.deepcopy(synthesized.templates), dict(synthesized.stack_names))

    def resources(self, key: str) -> dict[str, Any]:
        return self.templates[key]["Resources"]  # type: ignore[no-any-return]

    def remove(self, stack: str, prefix: str) -> None:
        """Every resource of `prefix` (a construct) from the stack in every stage."""
        for key in [k for k in self.templates if k.endswith(f"/{stack}")]:
            for logical_id in [i for i in self.resources(key) if i.startswith(prefix)]:
                del self.resources(key)[logical_id]


@pytest.fixture(scope="module")
def drawn(synth: Synthesized, variants: Synthesized) -> dict[str, str]:
    return request_path.pictures(synth, variants)


def test_every_architecture_readme_holds_the_picture_drawn_from_the_synth(drawn: dict[str, str]) -> None:
    assert sorted(drawn) == ARCHITECTURES
    assert request_path.stale(drawn) == [], "run `make diagrams`"


@pytest.fixture
def copy_of_readmes(tmp_path: Path) -> Path:
    for name in ARCHITECTURES:
        (tmp_path / name).mkdir()
        shutil.copy(request_path.readme(name), tmp_path / name / "README.md")
    return tmp_path


def test_an_edited_picture_is_stale_until_make_diagrams_writes_it(drawn: dict[str, str], copy_of_readmes: Path) -> None:
    page = request_path.readme("edge", copy_of_readmes)
    page.write_text(page.read_text().replace("invalidate each batch", "invalidate everything", 1))
    assert request_path.stale(drawn, copy_of_readmes) == [page]
    assert request_path.write(drawn, copy_of_readmes) == [page]
    assert request_path.stale(drawn, copy_of_readmes) == []
    assert page.read_text() == request_path.readme("edge").read_text()


def test_a_readme_without_the_block_is_stale_and_not_written(drawn: dict[str, str], copy_of_readmes: Path) -> None:
    page = request_path.readme("web", copy_of_readmes)
    page.write_text("# Web service\n")
    assert request_path.stale(drawn, copy_of_readmes) == [page]
    with pytest.raises(ValueError, match=r"no .*request-path:start.* block"):
        request_path.write(drawn, copy_of_readmes)


def test_a_removed_resource_leaves_the_picture(
    synth: Synthesized, variants: Synthesized, copy_of_readmes: Path
) -> None:
    app = Edited.of(synth)
    app.remove("Chat", "RoomStatsDeadLetters")
    drawn = request_path.pictures(app, variants)
    assert "failed[" not in drawn["chat"] and "on failure" not in drawn["chat"]
    assert request_path.stale(drawn, copy_of_readmes) == [request_path.readme("chat", copy_of_readmes)]


def test_what_one_stage_lacks_is_marked_with_the_other(synth: Synthesized, variants: Synthesized) -> None:
    """prod alone has the chat API's web ACL; without it, the picture has none."""
    assert 'waf["<b>AWS WAF web ACL</b> (prod only)' in request_path.pictures(synth, variants)["chat"]
    app = Edited.of(synth)
    app.remove("Chat", "CommentsWebAcl")
    assert "waf" not in request_path.pictures(app, variants)["chat"]


def test_a_link_is_drawn_only_where_a_template_references_it(synth: Synthesized, variants: Synthesized) -> None:
    """The publisher's function reaches the load balancer by the URL in its environment, and only by it."""
    assert 'fetch -- "GET the page" --> alb' in request_path.pictures(synth, variants)["edge"]
    app = Edited.of(synth)
    for key in ("prod/Edge", "sandbox/Edge"):
        for logical_id, resource in app.resources(key).items():
            if logical_id.startswith("PublisherFetchAndStoreFunction"):
                del resource["Properties"]["Environment"]["Variables"]["ORIGIN_URL"]
    edge = request_path.pictures(app, variants)["edge"]
    assert "fetch[" in edge and "alb[" in edge and "GET the page" not in edge


def test_a_resource_no_node_holds_stops_the_drawing(synth: Synthesized, variants: Synthesized) -> None:
    app = Edited.of(synth)
    app.resources("sandbox/Chat")["ExtraQueue0A1B2C3D"] = {"Type": "AWS::SQS::Queue", "Properties": {}}
    with pytest.raises(UnplacedResource, match=re.escape("sandbox/Chat/ExtraQueue0A1B2C3D (AWS::SQS::Queue)")):
        request_path.pictures(app, variants)


def test_pictures_name_no_logical_id_asset_hash_or_repository(synth: Synthesized, drawn: dict[str, str]) -> None:
    text = "\n".join(drawn.values())
    assert not re.search(r"[0-9a-f]{32}", text)
    ids = {logical_id for template in synth.templates.values() for logical_id in template["Resources"]}
    assert [i for i in ids if i in text] == []
    assert "my-org" not in drawn["deploy"] and "repo:OWNER/NAME:environment:sandbox" in drawn["deploy"]


def test_make_diagrams_writes_the_pictures() -> None:
    makefile = (ROOT / "Makefile").read_text()
    (recipe,) = re.findall(r"^diagrams:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert "python -m tools.request_path" in recipe
