"""The deploy-readiness rule pack (a cdk-nag NagPack of our own) and the helpers constructs use with it.

Its names load on first use: stage config validation reads rule modules that need no CDK (snapstart's
region list, the cache-policy quota), and importing them must not load the pack, cdk-nag and the CDK with
them, so `make deploy` and the other AWS targets start without them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stacks.common.readiness.limits import declare_bounds
    from stacks.common.readiness.pack import PACK_NAME, DeployReadinessChecks
    from stacks.common.readiness.security import declare_table_access

__all__ = ["PACK_NAME", "DeployReadinessChecks", "declare_bounds", "declare_table_access"]
_MODULES = {
    "PACK_NAME": "pack",
    "DeployReadinessChecks": "pack",
    "declare_bounds": "limits",
    "declare_table_access": "security",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
