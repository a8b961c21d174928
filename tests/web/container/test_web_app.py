"""The web container's app against a real PostgreSQL: health, database reads, failures, process lifecycle."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.servers import free_port
from tests.web.container.conftest import WEB_APP_ROOT, Postgres
from web_app.database import REQUIRED, DbSettings, MissingSettings, read_status
from web_app.server import WebServer, make_server


@pytest.fixture
def server() -> Iterator[WebServer]:
    server = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


class AuthFailures:
    """Exits the server would have taken on a rotated password, read once the request thread has finished.

    The server answers before it exits, so a client sees the response while the handler thread may still be
    running: reading the calls straight after the response is a race.
    """

    def __init__(self, server: WebServer, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[bool] = []
        self._finished = threading.Semaphore(0)
        shutdown_request = server.shutdown_request

        def finished(request: Any) -> None:
            shutdown_request(request)
            self._finished.release()

        monkeypatch.setattr(server, "on_auth_failure", lambda: self.calls.append(True))
        monkeypatch.setattr(server, "shutdown_request", finished)

    def after_request(self) -> list[bool]:
        assert self._finished.acquire(timeout=10), "the request thread did not finish"
        return self.calls


@pytest.fixture
def auth_failures(server: WebServer, monkeypatch: pytest.MonkeyPatch) -> AuthFailures:
    return AuthFailures(server, monkeypatch)


def get(server: WebServer, path: str) -> tuple[int, dict[str, Any]]:
    url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def use_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name in (*REQUIRED, "DB_SSLMODE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_health_answers_without_a_database(server: WebServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no database settings at all (liveness must not depend on the database)
    use_env(monkeypatch, {})
    # Then the health check still passes
    assert get(server, "/health") == (200, {"status": "ok"})


def test_db_endpoint_reads_postgres_with_injected_credentials(
    server: WebServer, postgres: Postgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_env(monkeypatch, postgres.env())
    status, body = get(server, "/db")
    assert status == 200
    database = body["database"]
    assert database["database"] == "app"
    assert database["writer"] is True
    assert database["server_version"][:2].isdigit()
    assert "T" in database["time"]


def test_db_endpoint_is_unavailable_when_the_database_is_down(
    server: WebServer, postgres: Postgres, monkeypatch: pytest.MonkeyPatch, auth_failures: AuthFailures
) -> None:
    use_env(monkeypatch, postgres.env(DB_PORT=str(free_port())))
    assert get(server, "/db") == (503, {"error": "database unavailable"})
    assert auth_failures.after_request() == []  # a database outage is not a reason to replace the task


def test_rotated_password_makes_the_task_exit_for_fresh_secrets(
    server: WebServer, postgres: Postgres, monkeypatch: pytest.MonkeyPatch, auth_failures: AuthFailures
) -> None:
    use_env(monkeypatch, postgres.env(DB_PASSWORD="password-before-rotation"))
    status, body = get(server, "/db")
    assert status == 503
    assert "password" not in json.dumps(body)  # no detail that helps a caller
    assert auth_failures.after_request() == [True]


def test_db_endpoint_names_missing_settings_but_not_values(server: WebServer, monkeypatch: pytest.MonkeyPatch) -> None:
    use_env(monkeypatch, {"DB_HOST": "db.internal", "DB_PASSWORD": "s3cret"})
    status, body = get(server, "/db")
    assert status == 500
    assert body == {"error": "missing database settings: DB_PORT, DB_NAME, DB_USER"}


def _request(server: WebServer, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, dict(response.headers), response.read()
    finally:
        connection.close()


def test_head_and_options_are_answered_as_cloudfront_may_send_them(server: WebServer) -> None:
    """The page behaviours allow GET, HEAD and OPTIONS, and a page not yet cached comes from here."""
    _, _, body = _request(server, "GET", "/health")
    status, headers, empty = _request(server, "HEAD", "/health")
    assert (status, empty, headers["Content-Length"]) == (200, b"", str(len(body)))
    status, headers, _ = _request(server, "OPTIONS", "/")
    assert (status, headers["Allow"]) == (204, "GET, HEAD, OPTIONS")


def test_unknown_paths_are_404(server: WebServer) -> None:
    assert get(server, "/nope")[0] == 404
    assert get(server, "/")[0] == 200


def test_a_burst_of_new_connections_is_queued_not_dropped() -> None:
    """Every response closes its connection, so the load balancer opens one per request: the listen backlog
    must hold a burst of them (with socketserver's default of 5 the rest were dropped and retried 1 s later)."""
    server = make_server("127.0.0.1", 0)  # listening, not yet accepting: the backlog alone holds the connections
    clients = []
    try:
        for _ in range(64):
            client = socket.socket()
            client.settimeout(0.5)
            client.connect(server.server_address)  # times out once the backlog is full
            clients.append(client)
    except TimeoutError:
        pass
    finally:
        for client in clients:
            client.close()
        server.server_close()
    assert len(clients) == 64


def test_settings_default_to_tls_and_hide_the_password() -> None:
    env = {"DB_HOST": "h", "DB_PORT": "5432", "DB_NAME": "app", "DB_USER": "u", "DB_PASSWORD": "s3cret"}
    settings = DbSettings.from_env(env)
    assert settings.sslmode == "verify-full"
    assert "s3cret" not in repr(settings)
    with pytest.raises(MissingSettings, match="DB_PASSWORD"):
        DbSettings.from_env({k: v for k, v in env.items() if k != "DB_PASSWORD"})


def test_read_status_directly(postgres: Postgres) -> None:
    settings = DbSettings.from_env(postgres.env())
    assert read_status(settings)["writer"] is True


def test_module_entry_point_serves_and_stops_on_sigterm() -> None:
    # Given the command the task definition runs
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(WEB_APP_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "web_app", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                    assert response.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        # When ECS stops the task
        process.send_signal(signal.SIGTERM)
        # Then it exits cleanly
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
