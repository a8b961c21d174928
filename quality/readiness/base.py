"""What a deploy-readiness rule is: the resource types it judges and a function from a template to findings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from quality.readiness.template import StackTemplate


@dataclass(frozen=True)
class Finding:
    """One reason a resource fails a rule: `token` goes into the rule id, `detail` into the message."""

    token: str
    detail: str


@dataclass(frozen=True)
class Context:
    """What a rule may look at: the node's stack, every stack of the app, and the stage's lifecycle."""

    stack: StackTemplate
    stacks: tuple[StackTemplate, ...]
    disposable: bool  # the stage deletes its data with its stacks (removal=destroy)


@dataclass(frozen=True)
class Check:
    """A rule: which resource types it judges ("*": all) and how. `findings` returns nothing when compliant."""

    name: str
    info: str
    explanation: str
    resource_types: frozenset[str]
    findings: Callable[[Context, str], list[Finding]]
