"""The packages a deployed Python function imports besides its own bundle, installed by `make setup`.

Lambda's python3.13 runtime provides boto3 and its dependencies (requirements-lambda-runtime.in); the
official Powertools layer adds Powertools with every extra, without boto3 (requirements-lambda-layer.in).
`make setup` installs each hash-locked set (the .txt beside each .in) into a folder of its own under
.lambda/, so a handler runs here with what it has on AWS and nothing of the development venv. The handler
tests' worker, the cold-start bench and the LocalStack host executor all take their import path from
`import_path`.

The order is Lambda's: the function's code first ("By default, the runtime searches the $LAMBDA_TASK_ROOT
(/var/task) directory first"), then the layers (extracted to /opt, Python's at /opt/python), then the
runtime's own packages ("Python 3.11 and later: Runtime-included libraries ... are installed in the
/var/lang/lib/python3.x/site-packages directory"); "Deploy Python Lambda functions with container images",
https://docs.aws.amazon.com/lambda/latest/dg/python-image.html, and "Packaging your layer content",
https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / ".lambda"
RUNTIME = FOLDER / "runtime"  # what /var/lang/lib/python3.13/site-packages holds on Lambda
POWERTOOLS_LAYER = FOLDER / "layer" / "python"  # what the Powertools layer puts at /opt/python
REQUIREMENTS = (ROOT / "requirements-lambda-runtime.txt", ROOT / "requirements-lambda-layer.txt")
# The public SSM parameters AWS publishes the Powertools layer ARNs under (shared/python_function.py).
POWERTOOLS_PARAMETER_PREFIX = "/aws/service/powertools/python/"


class PackagesMissing(RuntimeError):
    """The folders are absent or older than their pins: `make setup` installs them."""


def ensure_installed() -> None:
    stamp = FOLDER / ".installed"
    if not stamp.is_file():
        raise PackagesMissing(f"{FOLDER} is not installed: run `make setup`")
    stale = [p.name for p in REQUIREMENTS if p.stat().st_mtime > stamp.stat().st_mtime]
    if stale:
        raise PackagesMissing(f"{FOLDER} is older than {', '.join(stale)}: run `make setup`")


def layer_folders(template: dict[str, Any], layers: Iterable[Any]) -> list[Path]:
    """The local copy of each layer a function's template attaches (only the Powertools layer has one)."""
    folders = []
    for layer in layers:
        parameter = template.get("Parameters", {}).get(layer.get("Ref", "") if isinstance(layer, dict) else "", {})
        if not str(parameter.get("Default", "")).startswith(POWERTOOLS_PARAMETER_PREFIX):
            raise ValueError(f"layer {layer!r} has no local copy (only the Powertools layer's public parameter has)")
        folders.append(POWERTOOLS_LAYER)
    return folders


def import_path(task_root: Path, layers: Iterable[Path]) -> list[str]:
    """sys.path for a function: its code, its layers, the runtime's packages (stdlib comes with -I -S)."""
    ensure_installed()
    return [str(task_root), *(str(layer) for layer in layers), str(RUNTIME)]


def distribution_version(folder: Path, name: str) -> str:
    """The version of distribution `name` installed in `folder` (from its .dist-info)."""
    normalized = name.lower().replace("-", "_")
    for info in folder.glob("*.dist-info"):
        dist, _, version = info.name.removesuffix(".dist-info").rpartition("-")
        if dist.lower().replace("-", "_") == normalized:
            return version
    raise LookupError(f"{name} is not installed in {folder}")
