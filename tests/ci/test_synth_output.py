"""What `make synth` prints: every stack of every stage named and their warnings shown, so .ci/run's warning check
sees a warning on a stack inside a stage; then the summary of tools/cdk_stage/summary.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.synth import ROOT, Synthesized
from tools.cdk_stage import assembly, summary

PROBE_APP = """
from aws_cdk import Annotations, App, Stack, Stage

app = App()
for name in ("one", "two"):
    stack = Stack(Stage(app, name), "Chat")
    if name == "two":
        Annotations.of(stack).add_warning_v2("probe:warning", "a warning on a stack inside a stage")
app.synth()
"""


def _makefile_variable(name: str) -> str:
    found = re.search(rf"^{name} := (?P<value>.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert found is not None, name
    return found["value"]


def _makefile_synth_command() -> list[str]:
    """`make synth`'s recipe line as its shell runs it (the Makefile's SHELL and flags: bash, pipefail)."""
    line = _makefile_variable("CDK_SYNTH_SHOWN")
    for name in ("CDK_SYNTH_HINT", "CDK_SYNTH"):
        line = line.replace(f"$({name})", _makefile_variable(name))
    assert "$(" not in line
    return ["bash", "-eu", "-o", "pipefail", "-c", line.replace("$$", "$")]


def _ci_warning_pattern() -> re.Pattern[str]:
    found = re.search(r'grep -Ei "(?P<pattern>[^"]+)" "\$synth_log"', (ROOT / ".ci" / "run").read_text())
    assert found is not None
    return re.compile(found["pattern"], re.IGNORECASE | re.MULTILINE)


@pytest.mark.slow
def test_the_synth_command_names_the_stacks_in_stages_and_ci_sees_their_warnings(tmp_path: Path) -> None:
    context = json.loads((ROOT / "cdk.json").read_text())["context"]  # the app's flags: no flags banner
    (tmp_path / "app.py").write_text(PROBE_APP)
    (tmp_path / "cdk.json").write_text(json.dumps({"app": f"{sys.executable} app.py", "context": context}))
    env = {
        **os.environ,
        "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "CDK_VALIDATION": "false",  # the library's own CloudFormation validation: 2-3 s of CPU, nothing to find here
        "CI": "true",  # as .ci/run and GitHub Actions run it: the CLI then logs to stdout, not stderr
    }
    done = subprocess.run(
        _makefile_synth_command(), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Supply a stack id" not in output  # the CLI's hint: the summary lists the stacks and templates instead
    manifest = json.loads((tmp_path / "cdk.out" / "manifest.json").read_text())
    assert {"one", "two"} <= {name.removeprefix("assembly-") for name in manifest["artifacts"]}
    flagged = [match.group(0) for match in _ci_warning_pattern().finditer(output)]
    assert flagged, output
    warning_lines = [line for line in output.splitlines() if "a warning on a stack inside a stage" in line]
    assert warning_lines and all(_ci_warning_pattern().search(line) for line in warning_lines), output


def test_the_summary_lists_every_stack_of_every_stage_in_deploy_order_with_its_template(synth: Synthesized) -> None:
    printed = summary.summary(synth.outdir).splitlines()
    stacks = assembly.read_assembly(synth.outdir)
    assert printed[0].startswith(f"Synthesized {len(stacks)} stacks of 2 stages (sandbox, prod) into ")
    rows = [line.split() for line in printed[2:-1]]
    assert [(row[0], row[1]) for row in rows] == [(s.stage, s.stack_id) for s in stacks]
    for row, stack in zip(rows, stacks, strict=True):
        assert row[2] == stack.region
        assert int(row[3]) == len(stack.template["Resources"])
        assert Path(row[4]).resolve() == stack.template_file.resolve()
    assert [row[1] for row in rows if row[0] == "sandbox"] == ["Chat", "Web", "Edge"]
    assert [row[1] for row in rows if row[0] == "prod"] == ["Chat", "Web", "EdgeFunctions", "Edge"]
    assert printed[-1].startswith("Next: make test")


@pytest.mark.parametrize("stream", ["stderr", "stdout"])
def test_the_synth_recipe_keeps_the_cli_s_status_and_every_other_line(tmp_path: Path, stream: str) -> None:
    """A failing CLI fails `make synth` with its own status; only the hint line is dropped from what it printed,
    on the stream the CLI logs to (stderr, or stdout when CI is set)."""
    log = ">&2" if stream == "stderr" else ""
    cli = tmp_path / "cdk"
    cli.write_text(
        f"#!/bin/sh\necho 'Error: a finding' {log}\necho 'Supply a stack id (one/Chat) to display its template.' "
        f"{log}\necho 'on stdout'\nexit 3\n"
    )
    cli.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(_makefile_synth_command(), env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 3
    printed = {"stderr": done.stderr, "stdout": done.stdout}
    assert printed[stream].startswith("Error: a finding\n") and "Supply a stack id" not in done.stdout + done.stderr
    assert done.stdout.endswith("on stdout\n")
