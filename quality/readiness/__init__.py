"""The deploy-readiness rule pack: a cdk-nag NagPack of our own (what constructs declare to it: quality.declare)."""

from quality.readiness.pack import PACK_NAME, DeployReadinessChecks

__all__ = ["PACK_NAME", "DeployReadinessChecks"]
