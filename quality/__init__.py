"""Template analysers outside the architectures: the deploy-readiness rule pack and the synth gate.

An architecture imports only quality.declare (acknowledgements, checkov skips, what a rule must know).
"""
