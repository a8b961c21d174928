"""The deploy-readiness rule pack: a cdk-nag NagPack of our own (quality.readiness.pack; what constructs declare
to it: quality.declare). This package imports nothing itself, so the template readers (quality.readiness.template)
load without aws-cdk-lib and its node process."""
