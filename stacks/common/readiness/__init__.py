"""The deploy-readiness rule pack (a cdk-nag NagPack of our own) and the helpers constructs use with it."""

from stacks.common.readiness.limits import declare_bounds
from stacks.common.readiness.pack import PACK_NAME, DeployReadinessChecks
from stacks.common.readiness.security import declare_table_access

__all__ = ["PACK_NAME", "DeployReadinessChecks", "declare_bounds", "declare_table_access"]
