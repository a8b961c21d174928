"""One stage's synthesized templates as a graph of resources and the references between them.

A reference is what CloudFormation resolves: `Ref`, `Fn::GetAtt`, `${...}` in `Fn::Sub`, and across stacks
`Fn::ImportValue` (an export) or `Fn::GetStackOutput` (an output of a stack of the same stage). `DependsOn`
is ordering, not a reference, and is not followed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

_SUB_NAMES = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


@dataclass(frozen=True, order=True)
class ResourceId:
    stack: str  # the stack's id in its stage: "Chat"
    logical_id: str


@dataclass(frozen=True)
class Resource:
    id: ResourceId
    type: str
    properties: Mapping[str, Any]

    @property
    def stack(self) -> str:
        return self.id.stack

    @property
    def logical_id(self) -> str:
        return self.id.logical_id


@dataclass
class StageGraph:
    """The stacks of one stage: `templates` by stack id, `stack_names` (CloudFormation names) by stack id."""

    templates: Mapping[str, Mapping[str, Any]]
    stack_names: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def resources(self) -> dict[ResourceId, Resource]:
        found = {}
        for stack in sorted(self.templates):
            for logical_id, body in sorted(self.templates[stack].get("Resources", {}).items()):
                rid = ResourceId(stack, logical_id)
                found[rid] = Resource(rid, body["Type"], body.get("Properties", {}))
        return found

    def of_type(self, resource_type: str) -> list[Resource]:
        return [r for r in self.resources.values() if r.type == resource_type]

    @cached_property
    def _stack_by_name(self) -> dict[str, str]:
        return {name: stack for stack, name in self.stack_names.items()}

    @cached_property
    def _exports(self) -> dict[str, tuple[str, Any]]:
        exports = {}
        for stack, template in self.templates.items():
            for output in template.get("Outputs", {}).values():
                name = output.get("Export", {}).get("Name")
                if isinstance(name, str):
                    exports[name] = (stack, output["Value"])
        return exports

    def references(self, resource: Resource) -> set[ResourceId]:
        """The resources `resource`'s properties name, in its own stack or (through outputs) another."""
        return set(self._walk(resource.stack, resource.properties))

    def _walk(self, stack: str, value: Any) -> Iterator[ResourceId]:
        if isinstance(value, list):
            for item in value:
                yield from self._walk(stack, item)
        elif isinstance(value, dict):
            if len(value) == 1:
                yield from self._intrinsic(stack, *next(iter(value.items())))
            for item in value.values():
                yield from self._walk(stack, item)

    def _intrinsic(self, stack: str, name: str, argument: Any) -> Iterator[ResourceId]:
        if name == "Ref" and isinstance(argument, str):
            yield from self._local(stack, argument)
        elif name == "Fn::GetAtt":
            target = argument[0] if isinstance(argument, list) else str(argument).split(".", 1)[0]
            yield from self._local(stack, target)
        elif name == "Fn::Sub":
            text = argument[0] if isinstance(argument, list) else argument
            for target in _SUB_NAMES.findall(text if isinstance(text, str) else ""):
                yield from self._local(stack, target)
        elif name == "Fn::ImportValue" and isinstance(argument, str) and argument in self._exports:
            yield from self._walk(*self._exports[argument])
        elif name == "Fn::GetStackOutput" and argument.get("StackName") in self._stack_by_name:
            other = self._stack_by_name[argument["StackName"]]
            output = self.templates[other].get("Outputs", {}).get(argument.get("OutputName"), {})
            yield from self._walk(other, output.get("Value"))

    def _local(self, stack: str, logical_id: str) -> Iterator[ResourceId]:
        rid = ResourceId(stack, logical_id)
        if rid in self.resources:
            yield rid

    def subnet_kind(self, subnet: ResourceId) -> str:
        """'public' (a route to an internet gateway), 'private' (a route through NAT) or 'isolated' (neither)."""
        tables = {
            ref
            for association in self.of_type("AWS::EC2::SubnetRouteTableAssociation")
            if subnet in self.references(association)
            for ref in self.references(association)
            if self.resources[ref].type == "AWS::EC2::RouteTable"
        }
        kinds = set()
        for route in self.of_type("AWS::EC2::Route"):
            if tables & self.references(route):
                targets = {self.resources[ref].type for ref in self.references(route)}
                public = "AWS::EC2::InternetGateway" in targets or "GatewayId" in route.properties
                kinds.add("public" if public else "private")
        return "public" if "public" in kinds else "private" if kinds else "isolated"
