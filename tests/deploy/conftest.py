"""The deploy-access tests read the variants app (tests/support/variants.py): the sandbox stage with GitHub
deploys on in its own account (through the builder, as `cdk synth -c github.repository=... -c account=...`
builds it), and the stack alone with every option turned the other way ('options')."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from stage.builder import GITHUB_DEPLOY_ID
from tests.support.synth import Synthesized
from tests.support.variants import GITHUB_OPTIONS, GITHUB_OPTIONS_REGIONS, PROVIDER, REPOSITORY, SANDBOX_ACCOUNT

__all__ = ["OPTIONS", "OPTIONS_REGIONS", "PROVIDER", "REPOSITORY", "SANDBOX_ACCOUNT", "DeploySynth"]
OPTIONS, OPTIONS_REGIONS = GITHUB_OPTIONS, GITHUB_OPTIONS_REGIONS
KEYS = {"default": f"sandbox/{GITHUB_DEPLOY_ID}", "options": f"options/{GITHUB_DEPLOY_ID}"}


@dataclass
class DeploySynth:
    templates: dict[str, dict[str, Any]]  # "default" (sandbox/GitHubDeploy) and "options"
    regions: dict[str, list[str]]  # regions the sandbox stage's other stacks deploy to
    keys: dict[str, str]  # the stacks' display names ('stage/Stack')
    variants: Synthesized


@pytest.fixture(scope="session")
def deploy_synth(variants: Synthesized) -> DeploySynth:
    others = [key for key in variants.templates if key.startswith("sandbox/") and key != KEYS["default"]]
    return DeploySynth(
        templates={name: variants.templates[key] for name, key in KEYS.items()},
        regions={"default": sorted({variants.regions[key] for key in others})},
        keys=KEYS,
        variants=variants,
    )
