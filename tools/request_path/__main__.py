"""`make diagrams`: the request-path pictures from the synth the tests use (one synthesis per set of inputs,
cached in .cache/: tests/support/assemblies.py), written into each architecture's README."""

from __future__ import annotations

import os
import sys

from tests.support.synth import synthesized
from tools.request_path import ROOT, pictures, stale, write


def main(argv: list[str]) -> int:
    # As tests/conftest.py sets them, so this reads the very assembly the tests do (both are in its key).
    os.environ.setdefault("JSII_DEPRECATED", "fail")
    node_bin = str(ROOT / "node_modules" / ".bin")
    if not os.environ.get("PATH", "").startswith(node_bin):
        os.environ["PATH"] = f"{node_bin}{os.pathsep}{os.environ.get('PATH', '')}"
    drawn = pictures(synthesized("app"), synthesized("variants"))
    if "--check" in argv:
        problems = stale(drawn)
        for path in problems:
            print(f"stale: {path.relative_to(ROOT)} (run `make diagrams`)", file=sys.stderr)
        return 1 if problems else 0
    for path in write(drawn):
        print(f"wrote {path.relative_to(ROOT)}")
    print(f"{len(drawn)} request-path pictures are current")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
