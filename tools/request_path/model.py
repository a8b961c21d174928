"""What a request-path picture is made of: nodes (constructs of the synthesized stacks, or parties outside them)
and links (drawn only where the templates hold a reference between the two ends)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tools.request_path.graph import Resource, StageGraph

# A short fact read from a node's resources in one stage: a phrase, or (name, value) where stages may differ in
# the value ("tasks", "1-2").
Fact = str | tuple[str, str]
Facts = Callable[[list[Resource], StageGraph], list[Fact]]


@dataclass(frozen=True)
class Node:
    """One box. `constructs` are "Stack/LogicalIdPrefix" (a construct's path as CloudFormation names its
    resources; each resource belongs to the node with the longest matching prefix). No constructs: a party
    outside the stacks (the viewer, GitHub), drawn when a link joins it to a node that is there."""

    id: str
    title: str
    constructs: tuple[str, ...] = ()
    facts: Facts | None = None
    shape: str = "box"  # box | store | party


@dataclass(frozen=True)
class Link:
    """An arrow in the direction a request or message goes. Drawn when a resource of one end references a
    resource of the other (either way; a party outside the stacks needs no reference)."""

    source: str
    target: str
    label: str = ""
    dotted: bool = False  # out of band: a filter, a failure path, a background job


@dataclass(frozen=True)
class View:
    """The picture of one architecture. Every resource of `checked_types` in `stacks` must land in a node or
    in `ignored` (with the reason it is not on the request path), so a new resource cannot go unseen."""

    name: str
    stacks: tuple[str, ...]
    nodes: tuple[Node, ...]
    links: tuple[Link, ...]
    checked_types: frozenset[str]
    ignored: tuple[tuple[str, str], ...] = ()  # ("Stack/LogicalIdPrefix", why it is not drawn)
    direction: str = "LR"

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)


class UnplacedResource(ValueError):
    """A resource of a checked type belongs to no node and is not ignored."""


@dataclass
class Placement:
    """The resources of each node in one stage."""

    members: dict[str, list[Resource]] = field(default_factory=dict)

    def present(self, node: Node) -> bool:
        return bool(self.members.get(node.id))


def place(view: View, graph: StageGraph, stage: str) -> Placement:
    """Each resource to the node (or ignore entry) whose construct prefix is its longest match."""
    prefixes: list[tuple[str, str | None]] = [(c, n.id) for n in view.nodes for c in n.constructs]
    prefixes += [(c, None) for c, _ in view.ignored]
    placement = Placement({n.id: [] for n in view.nodes})
    for resource in graph.resources.values():
        key = f"{resource.stack}/{resource.logical_id}"
        matches = [(len(prefix), owner) for prefix, owner in prefixes if key.startswith(prefix)]
        owner = max(matches, key=lambda m: m[0])[1] if matches else None
        if owner is not None:
            placement.members[owner].append(resource)
        elif not matches and resource.stack in view.stacks and resource.type in view.checked_types:
            raise UnplacedResource(
                f"{view.name}: {stage}/{key} ({resource.type}) is in no node of the request-path picture; "
                "place it in tools/request_path/views.py (a node, or `ignored` with the reason)"
            )
    return placement


def linked(graph: StageGraph, ends: Sequence[list[Resource]]) -> bool:
    """A resource of one end references a resource of the other."""
    first, second = ({r.id for r in end} for end in ends)
    return any(graph.references(r) & second for r in ends[0]) or any(graph.references(r) & first for r in ends[1])
