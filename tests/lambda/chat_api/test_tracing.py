"""The API handler's X-Ray traces, as Lambda active tracing receives them, against DynamoDB Local.

A fresh interpreter runs the handler with Lambda's environment (LAMBDA_TASK_ROOT, a sampled trace header)
and tracing on, as deployed; the X-Ray SDK sends its subsegments to the daemon address, here a UDP
socket on 127.0.0.1 that the test reads.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.chat_backend import ChatBackend
from tests.support.synth import ROOT

BUNDLE = ROOT / "lambda" / "chat_api"
_RUN_ONE_REQUEST = """
import json, sys
from chat_api.handler import handler
from tests.support.events import FakeLambdaContext, rest_event
response = handler(rest_event("GET", "/rooms/{room}/comments", {"room": sys.argv[1]}), FakeLambdaContext())
assert response["statusCode"] == 200, response
"""


def _segments(sock: socket.socket) -> list[dict[str, Any]]:
    """Every (sub)segment the SDK sent: each datagram is a JSON header line, then the document."""
    sock.settimeout(0.5)
    found = []
    while True:
        try:
            datagram = sock.recv(65_536)
        except TimeoutError:
            return found
        found.append(json.loads(datagram.split(b"\n", 1)[1]))


def _flatten(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    flat, todo = [], list(documents)
    while todo:
        document = todo.pop()
        flat.append(document)
        todo += document.get("subsegments", [])
    return flat


def test_a_traced_request_keeps_the_handler_segment_and_its_dynamodb_calls(chat: ChatBackend, room: str) -> None:
    chat.post(room, "tracy", "traced", 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        env = {
            **{k: v for k, v in chat.env.items() if k != "POWERTOOLS_TRACE_DISABLED"},
            "PATH": os.environ["PATH"],
            "PYTHONPATH": os.pathsep.join([str(BUNDLE), str(ROOT)]),
            "LAMBDA_TASK_ROOT": str(BUNDLE),
            "AWS_LAMBDA_FUNCTION_NAME": "chat-api",
            "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{sock.getsockname()[1]}",
            "AWS_XRAY_CONTEXT_MISSING": "RUNTIME_ERROR",
        }
        done = subprocess.run(
            [sys.executable, "-c", _RUN_ONE_REQUEST, room],
            env=env,
            cwd=Path(BUNDLE),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        documents = _flatten(_segments(sock))

    (handler_segment,) = [d for d in documents if d.get("name") == "## handler"]
    assert handler_segment["annotations"]["ColdStart"] is True
    assert handler_segment["annotations"]["Service"] == chat.env["POWERTOOLS_SERVICE_NAME"]
    dynamodb_calls = {d["aws"]["operation"] for d in documents if d.get("namespace") == "aws"}
    assert {"GetItem", "Query"} <= dynamodb_calls  # the room's view, then the index it falls back to
