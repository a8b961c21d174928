"""Template normalization so a snapshot changes only when the infrastructure does."""

from __future__ import annotations

import copy
import re
from typing import Any

_ASSET_HASH = re.compile(r"[0-9a-f]{64}")
# A Lambda version's logical id ends in a hash of the function's code and settings.
_VERSION_HASH = re.compile(r"(CurrentVersion[0-9A-F]{8})[0-9a-f]{32}")


def normalize(template: dict[str, Any]) -> dict[str, Any]:
    """Drop CDK's version metadata and replace asset hashes (they change with any code edit)."""
    result = copy.deepcopy(template)
    resources = result.get("Resources", {})
    for logical_id in [k for k, v in resources.items() if v["Type"] == "AWS::CDK::Metadata"]:
        del resources[logical_id]
    result.get("Conditions", {}).pop("CDKMetadataAvailable", None)
    if not result.get("Conditions", True):
        del result["Conditions"]
    return _replace_hashes(result)  # type: ignore[no-any-return]


def _replace_hashes(value: Any) -> Any:
    if isinstance(value, str):
        return _VERSION_HASH.sub(r"\1<code-hash>", _ASSET_HASH.sub("<asset-hash>", value))
    if isinstance(value, list):
        return [_replace_hashes(v) for v in value]
    if isinstance(value, dict):
        return {_replace_hashes(k): _replace_hashes(v) for k, v in value.items()}
    return value
