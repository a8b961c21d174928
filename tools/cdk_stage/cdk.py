"""Running the project's CDK CLI: synthesize once into a folder, then act on that assembly (`--app DIR`)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_DIFF_COUNT = re.compile(r"Number of stacks with differences:\s*(\d+)")


class CliError(RuntimeError):
    """The CDK CLI failed; what it printed has already been shown."""


@dataclass(frozen=True)
class CdkArgs:
    """Extra CLI arguments (CDK_ARGS): `-c key=value` settings go to the synth, the rest to the command."""

    context: tuple[str, ...] = ()
    command: tuple[str, ...] = ()

    def overrides(self) -> dict[str, str]:
        """The `-c key=value` settings as a dict (what app.py reads as stage overrides)."""
        found: dict[str, str] = {}
        words = list(self.context)
        while words:
            word = words.pop(0)
            pair = word.removeprefix("--context=") if word.startswith("--context=") else words.pop(0) if words else ""
            key, _, value = pair.partition("=")
            if key and key != "stage":
                found[key] = value
        return found

    @classmethod
    def parse(cls, text: str) -> CdkArgs:
        try:
            words = shlex.split(text)
        except ValueError as error:  # an unbalanced quote: one line, before anything else runs
            raise CliError(f"CDK_ARGS: {error} in {text!r}") from None
        context: list[str] = []
        command: list[str] = []
        while words:
            word = words.pop(0)
            if word in {"-c", "--context"} and words:
                context += [word, words.pop(0)]
            elif word.startswith("--context="):
                context.append(word)
            else:
                command.append(word)
        return cls(tuple(context), tuple(command))


def executable() -> str:
    return os.environ.get("CDK", "cdk")


def _environment() -> dict[str, str]:
    return {**os.environ, "CDK_DISABLE_CLI_TELEMETRY": "true"}


def synth(stage: str, outdir: Path, context: tuple[str, ...] = ()) -> float:
    """Synthesize one stage into `outdir`; returns the seconds it took. Its output shows only on failure."""
    began = time.monotonic()
    run = subprocess.run(
        [executable(), "synth", "-c", f"stage={stage}", *context, "--output", str(outdir), "--quiet"],
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode:
        sys.stdout.write(run.stdout)
        sys.stderr.write(run.stderr)
        raise CliError(f"cdk synth of stage '{stage}' failed (exit {run.returncode})")
    return time.monotonic() - began


def run(args: list[str], *, tee: bool = False) -> str:
    """Run `cdk ARGS` in the project folder with its output shown as it comes; returns it when `tee`."""
    argv = [executable(), *args]
    if not tee:
        code = subprocess.run(argv, cwd=ROOT, env=_environment(), check=False).returncode
        if code:
            raise CliError(f"cdk {args[0]} failed (exit {code})")
        return ""
    with subprocess.Popen(
        argv, cwd=ROOT, env=_environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            sys.stdout.write(line)
            lines.append(line)
    if process.returncode:
        raise CliError(f"cdk {args[0]} failed (exit {process.returncode})")
    return "".join(lines)


def differences(output: str) -> int:
    """How many stacks `cdk diff` found different, from its closing summary line."""
    found = _DIFF_COUNT.findall(output)
    if not found:
        raise CliError("cdk diff printed no 'Number of stacks with differences' summary")
    return sum(int(n) for n in found)


def quoted(args: list[str] | tuple[str, ...]) -> str:
    return shlex.join(args)
