"""HTTP routes: GET /health (the process serves) and GET /db (the database answers); HEAD of each, and OPTIONS.

CloudFront's page behaviours allow GET, HEAD and OPTIONS and send a request for a page not yet in the cache
bucket here (edge/distribution.py): each method they allow gets an answer, not the standard library's 501."""

from __future__ import annotations

import json
import logging
import os
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg

from web_app.database import DbSettings, MissingSettings, read_status

log = logging.getLogger("web_app")


def on_auth_failure() -> None:
    """Rotation replaced the password this task was started with: exit so ECS starts a task with the new one."""
    os._exit(3)


ALLOWED = "GET, HEAD, OPTIONS"


class Handler(BaseHTTPRequestHandler):
    server_version = "web_app"
    sys_version = ""
    head = False  # a HEAD request: the GET's status and headers, no body

    def do_HEAD(self) -> None:
        self.head = True
        self.do_GET()

    def do_OPTIONS(self) -> None:
        self.send_response(HTTPStatus.NO_CONTENT)
        self.send_header("Allow", ALLOWED)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/health":
            # Liveness only: a paused or failing-over database must not make the ALB drain every task.
            self._send(HTTPStatus.OK, {"status": "ok"})
        elif path == "/db":
            self._db()
        elif path == "/":
            self._send(HTTPStatus.OK, {"service": "web_app", "endpoints": ["/health", "/db"]})
        else:
            self._send(HTTPStatus.NOT_FOUND, {"error": "not found"})

    def _db(self) -> None:
        try:
            status = read_status(DbSettings.from_env())
        except MissingSettings as error:
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": str(error)})
        except psycopg.OperationalError as error:
            log.warning("database unavailable: %s", error)
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, {"error": "database unavailable"})
            if "password authentication failed" in str(error):
                self.server.on_auth_failure()  # type: ignore[attr-defined]
        else:
            self._send(HTTPStatus.OK, {"database": status})

    def _send(self, status: HTTPStatus, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if not self.head:
            self.wfile.write(payload)
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)


class WebServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default listen backlog is 5: every response closes its connection (HTTP/1.0), so a burst
    # of new connections overflowed it and the dropped SYNs came back a second later (bench/origin.py saw it).
    request_queue_size = 128
    on_auth_failure = staticmethod(on_auth_failure)


def make_server(host: str, port: int) -> WebServer:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    return WebServer((host, port), Handler)
