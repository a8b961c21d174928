"""Where the Lambda bundles live: `<architecture>/runtime/<bundle>`, beside the constructs that deploy them.

Standard library only: tests and benches find the bundles through it without loading the CDK.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURES = ("chat", "web", "edge", "deploy")


def bundle_dirs() -> dict[str, Path]:
    """Every Lambda bundle folder by its name (the package it holds), e.g. "chat_api": chat/runtime/chat_api."""
    return {
        path.name: path
        for architecture in ARCHITECTURES
        for path in sorted((ROOT / architecture / "runtime").glob("*"))
        if (path / path.name / "__init__.py").is_file()
    }


def bundle_dir(bundle: str) -> Path:
    """The folder of the bundle `bundle` (a ValueError names the ones there are when it does not exist)."""
    found = bundle_dirs()
    if bundle not in found:
        raise ValueError(f"no Lambda bundle {bundle!r} under <architecture>/runtime/ (there are: {sorted(found)})")
    return found[bundle]
