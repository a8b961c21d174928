"""A view drawn over every stage at once: what only some stages have is marked with their names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tools.request_path.graph import StageGraph
from tools.request_path.model import Link, Node, View, linked, place

SHAPES = {"box": ('["', '"]'), "store": ('[("', '")]'), "party": ('(["', '"])')}


@dataclass
class Seen:
    """Per node, link and fact: the stages it holds in (insertion order: the view's, then the stages')."""

    nodes: dict[str, list[str]] = field(default_factory=dict)
    # node -> fact name -> value ("" for a phrase) -> stages
    facts: dict[str, dict[str, dict[str, list[str]]]] = field(default_factory=dict)
    links: dict[int, list[str]] = field(default_factory=dict)


def _stage(view: View, graph: StageGraph, stage: str, seen: Seen) -> None:
    placement = place(view, graph, stage)
    present = {n.id for n in view.nodes if n.constructs and placement.present(n)}
    parties = {n.id for n in view.nodes if not n.constructs}
    # A party is there when a link joins it to a node that is.
    present |= {end for link in view.links for end in (link.source, link.target) if end in parties} & {
        other
        for link in view.links
        for end, other in ((link.source, link.target), (link.target, link.source))
        if end in present
    }
    for node in view.nodes:
        if node.id not in present:
            continue
        seen.nodes.setdefault(node.id, []).append(stage)
        members = placement.members.get(node.id, [])
        for fact in node.facts(members, graph) if node.facts else []:
            name, value = (fact, "") if isinstance(fact, str) else fact
            seen.facts.setdefault(node.id, {}).setdefault(name, {}).setdefault(value, []).append(stage)
    for index, link in enumerate(view.links):
        ends = (link.source, link.target)
        if not set(ends) <= present:
            continue
        if set(ends) & parties or linked(graph, [placement.members[end] for end in ends]):
            seen.links.setdefault(index, []).append(stage)


def _only(stages: list[str], every: list[str]) -> str:
    return "" if stages == every else f" ({' and '.join(stages)} only)"


def _text(text: str) -> str:
    return text.replace('"', "#quot;")


def _fact(name: str, values: dict[str, list[str]], where: list[str]) -> str:
    """A phrase, or 'name: value', or 'name: value (stage); other (stage)' where the stages differ."""
    if list(values) == [""]:
        return f"{name}{_only(values[''], where)}"
    if len(values) == 1:
        ((value, stages),) = values.items()
        return f"{name}: {value}{_only(stages, where)}"
    return f"{name}: " + "; ".join(f"{value} ({' and '.join(stages)})" for value, stages in values.items())


def _node_line(node: Node, seen: Seen, every: list[str]) -> str:
    where = seen.nodes[node.id]  # a node only some stages have says so once, in its title
    lines = [f"<b>{_text(node.title)}</b>{_only(where, every)}"]
    lines += [_text(_fact(name, values, where)) for name, values in seen.facts.get(node.id, {}).items()]
    opening, closing = SHAPES[node.shape]
    return f"    {node.id}{opening}{'<br/>'.join(lines)}{closing}"


def _link_line(link: Link, stages: list[str], every: list[str]) -> str:
    label = f"{link.label}{_only(stages, every)}".strip()
    if link.dotted:
        return (
            f'    {link.source} -. "{_text(label)}" .-> {link.target}'
            if label
            else f"    {link.source} -.-> {link.target}"
        )
    return (
        f'    {link.source} -- "{_text(label)}" --> {link.target}' if label else f"    {link.source} --> {link.target}"
    )


def render(view: View, stages: Mapping[str, StageGraph]) -> str:
    """The Mermaid flowchart of `view` over `stages` (drawn in sorted stage order, so the text is stable)."""
    every = sorted(stages)
    seen = Seen()
    for stage in every:
        _stage(view, stages[stage], stage, seen)
    lines = [f"flowchart {view.direction}"]
    lines += [_node_line(node, seen, every) for node in view.nodes if node.id in seen.nodes]
    lines += [_link_line(view.links[i], seen.links[i], every) for i in sorted(seen.links)]
    return "\n".join(lines) + "\n"
