"""Template normalization so a snapshot changes only when the infrastructure does."""

from __future__ import annotations

import copy
import re
from typing import Any

# Where a synthesized template carries a hash of code or assets (each changes with any edit of a runtime/ or
# container/ folder), and nowhere else: a 64-hex string anywhere else is infrastructure and stays.
_ASSET_KEY = re.compile(r"^[0-9a-f]{64}(\.zip|\.json)$")  # Properties.Code.S3Key and the like
_IMAGE_TAG = re.compile(r"^(.*/cdk-[a-z0-9]+-container-assets-.+:)[0-9a-f]{64}$")  # an ECS image's Fn::Sub
_ASSET_URL = re.compile(
    r"^(s3://cdk-[a-z0-9]+-assets-[^/]+/)[0-9a-f]{64}(\.zip|\.json)$"
)  # an object in the assets bucket
# A Lambda version's logical id ends in a hash of the function's code and settings; it is a key of Resources
# and the whole of a reference to it (Ref, GetAtt, a cross-region reader's RefreshToken).
_VERSION_ID = re.compile(r"^(\w+CurrentVersion[0-9A-F]{8})[0-9a-f]{32}$")


def normalize(template: dict[str, Any]) -> dict[str, Any]:
    """Drop CDK's version metadata; replace asset keys and URLs, image tags and Lambda version ids."""
    result = copy.deepcopy(template)
    resources = result.get("Resources", {})
    for logical_id in [k for k, v in resources.items() if v["Type"] == "AWS::CDK::Metadata"]:
        del resources[logical_id]
    result.get("Conditions", {}).pop("CDKMetadataAvailable", None)
    if not result.get("Conditions", True):
        del result["Conditions"]
    return _replace(result, "")  # type: ignore[no-any-return]


def _string(value: str) -> str:
    value = _VERSION_ID.sub(r"\1<code-hash>", value)
    value = _ASSET_KEY.sub(r"<asset-hash>\1", value)
    value = _ASSET_URL.sub(r"\1<asset-hash>\2", value)
    return _IMAGE_TAG.sub(r"\1<asset-hash>", value)


def _replace(value: Any, path: str) -> Any:
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return [_replace(v, path) for v in value]
    if isinstance(value, dict):
        replaced = {_string(k): _replace(v, f"{path}/{k}") for k, v in value.items()}
        if len(replaced) != len(value):  # two versions of one function, say: a snapshot would keep only one
            merged = sorted(k for k in value if [_string(o) for o in value].count(_string(k)) > 1)
            raise ValueError(f"normalizing would merge the keys {merged} at {path or '/'}")
        return replaced
    return value
